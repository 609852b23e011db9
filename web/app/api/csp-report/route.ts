// Where browsers report Content-Security-Policy violations (the pages' `report-to` and
// `report-uri`): each is logged as one structured line (lib/csp-reports.ts).
import { receiveReport } from "@/lib/csp-reports";
import { withSecurityHeaders } from "@/lib/security-headers";

export const dynamic = "force-dynamic";

export const POST = withSecurityHeaders(async (request: Request) => receiveReport(request));
