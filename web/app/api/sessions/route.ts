import { signOutEverywhere } from "@/lib/sessions";

export const dynamic = "force-dynamic";

/** Sign out everywhere: every session of the user, and every API token issued to them so far. */
export async function DELETE(request: Request) {
  return signOutEverywhere(request);
}
