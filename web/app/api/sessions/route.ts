import { withSecurityHeaders } from "@/lib/security-headers";
import { signOutEverywhere } from "@/lib/sessions";

export const dynamic = "force-dynamic";

/** Sign out everywhere: every session of the user, and every API token issued to them so far. */
export const DELETE = withSecurityHeaders(async (request: Request) => signOutEverywhere(request));
