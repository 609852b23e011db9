import { signOutDevice } from "@/lib/sessions";

export const dynamic = "force-dynamic";

/** Signs out one of the user's sessions (a device on the devices page), and its API tokens. */
export async function DELETE(request: Request, { params }: { params: Promise<{ id: string }> }) {
  return signOutDevice(request, (await params).id);
}
