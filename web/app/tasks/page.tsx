import type { Metadata } from "next";
import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { TaskBoard } from "@/components/TaskBoard";
import { firstPage } from "@/lib/api";
import { getSession } from "@/lib/auth";

export const metadata: Metadata = { title: "Tasks" };

/** Protected: the session is checked on the server, so a signed-out visitor never sees the page. */
export default async function TasksPage() {
  const requestHeaders = await headers();
  const session = await getSession(requestHeaders);
  if (!session) redirect("/sign-in");
  const page = await firstPage(session, requestHeaders);
  return (
    <TaskBoard
      user={{ name: session.user.name, email: session.user.email }}
      initial={"items" in page ? page : null}
    />
  );
}
