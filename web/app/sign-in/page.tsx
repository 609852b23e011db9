import type { Metadata } from "next";
import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { AuthForm } from "@/components/AuthForm";
import { getSession } from "@/lib/auth";

export const metadata: Metadata = { title: "Sign in" };

export default async function Page() {
  if (await getSession(await headers())) redirect("/tasks");
  return <AuthForm mode="sign-in" />;
}
