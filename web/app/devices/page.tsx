import type { Metadata } from "next";
import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { DeviceList } from "@/components/DeviceList";
import { TopBar } from "@/components/TopBar";
import { getSession } from "@/lib/auth";
import { devices } from "@/lib/sessions";

export const metadata: Metadata = { title: "Devices" };

/** Where the user is signed in (protected like the task page). */
export default async function DevicesPage() {
  const session = await getSession(await headers());
  if (!session) redirect("/sign-in");
  return (
    <>
      <TopBar user={{ name: session.user.name, email: session.user.email }} page="devices" />
      <main id="main" className="board">
        <h1>Your devices</h1>
        <p className="lead">Where you are signed in. Signing out a device also ends its access to your tasks.</p>
        <DeviceList initial={await devices(session)} />
      </main>
    </>
  );
}
