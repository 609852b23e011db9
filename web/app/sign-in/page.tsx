import type { Metadata } from "next";
import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { AuthForm } from "@/components/AuthForm";
import { getSession, settings } from "@/lib/auth";

export const metadata: Metadata = { title: "Sign in" };

/** Why the visitor is here, from `?notice=` (set by the pages that send them here). */
function notices(): Map<string, string> {
  const minutes = Math.ceil(settings().tokenSeconds / 60);
  return new Map([
    ["signed-out", "You have signed out."],
    ["session-ended", "Your session has ended. Please sign in again."],
    ["signed-out-everywhere", "You have signed out on every device."],
    [
      "signed-out-everywhere-unconfirmed",
      `You have signed out on every device, but the task service could not be told: a device that was signed in may still reach your tasks for up to ${minutes} minutes.`,
    ],
  ]);
}

export default async function Page({ searchParams }: { searchParams: Promise<{ notice?: string | string[] }> }) {
  if (await getSession(await headers())) redirect("/tasks");
  const { notice } = await searchParams;
  return <AuthForm mode="sign-in" notice={typeof notice === "string" ? notices().get(notice) : undefined} />;
}
