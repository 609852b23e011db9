import { withSecurityHeaders } from "@/lib/security-headers";
import { signOutDevice } from "@/lib/sessions";

export const dynamic = "force-dynamic";

/** Signs out one of the user's sessions (a device on the devices page), and its API tokens. */
export const DELETE = withSecurityHeaders(async (request: Request, { params }: { params: Promise<{ id: string }> }) =>
  signOutDevice(request, (await params).id),
);
