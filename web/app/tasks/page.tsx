import type { Metadata } from "next";
import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { TaskBoard } from "@/components/TaskBoard";
import { firstPage } from "@/lib/api";
import { getSession } from "@/lib/auth";
import { problemWords } from "@/lib/client";

export const metadata: Metadata = { title: "Tasks" };

/** Protected: the session is checked on the server, so a signed-out visitor never sees the page. */
export default async function TasksPage() {
  const requestHeaders = await headers();
  const session = await getSession(requestHeaders);
  if (!session) redirect("/sign-in");
  const page = await firstPage(session, requestHeaders);
  if ("status" in page && page.status === 401) redirect("/sign-in?notice=session-ended");
  return (
    <TaskBoard
      user={{ name: session.user.name, email: session.user.email }}
      initial={"items" in page ? page : null}
      initialError={
        "items" in page ? null : problemWords(page.status, page.kind, { fallback: "Your tasks could not be loaded. Try reloading the page." })
      }
    />
  );
}
