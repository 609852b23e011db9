import type { Metadata } from "next";
import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { AuthForm } from "@/components/AuthForm";
import { getSession } from "@/lib/auth";

export const metadata: Metadata = { title: "Sign in" };

/** Why the visitor is here, from `?notice=` (set by the pages that send them here). */
const NOTICES = new Map([
  ["signed-out", "You have signed out."],
  ["session-ended", "Your session has ended. Please sign in again."],
]);

export default async function Page({ searchParams }: { searchParams: Promise<{ notice?: string | string[] }> }) {
  if (await getSession(await headers())) redirect("/tasks");
  const { notice } = await searchParams;
  return <AuthForm mode="sign-in" notice={typeof notice === "string" ? NOTICES.get(notice) : undefined} />;
}
