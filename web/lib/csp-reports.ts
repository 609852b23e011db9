// Content-Security-Policy violation reports, as browsers send them to the report endpoint
// (`app/api/csp-report/route.ts`): the Reporting API's (`report-to`, application/reports+json) and
// the older `report-uri` kind (application/csp-report). Each violation is logged as one JSON line
// with a few known fields, each bounded, URLs without their query or fragment (which could hold a
// secret); nothing of a report is ever sent back. Server only.
import "server-only";
import { problem, readBody } from "./api";

/** The largest report body read; a browser's batch of reports fits many times over. */
const MAX_REPORT_BYTES = 32 * 1024;
/** At most this many violations logged per request, and this many characters per field. */
const MAX_VIOLATIONS = 20;
const MAX_FIELD = 200;

const REPORT_TYPES = new Set(["application/reports+json", "application/csp-report", "application/json"]);

/** One violation as logged. */
type Violation = {
  document?: string;
  directive?: string;
  blocked?: string;
  disposition?: string;
  source?: string;
  line?: number;
  column?: number;
  status?: number;
};

type Fields = Record<string, unknown>;

function text(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value.slice(0, MAX_FIELD) : undefined;
}

function whole(value: unknown): number | undefined {
  return Number.isSafeInteger(value) ? (value as number) : undefined;
}

/** A URL without its query and fragment; a keyword such as `inline` or `eval` as it is. */
function place(value: unknown): string | undefined {
  if (typeof value !== "string" || value === "") return undefined;
  if (!URL.canParse(value)) return text(value);
  const url = new URL(value);
  return text(url.protocol === "http:" || url.protocol === "https:" ? `${url.origin}${url.pathname}` : url.protocol);
}

/** The Reporting API's `body` of a `csp-violation` report. */
function fromReportingApi(body: Fields): Violation {
  return {
    document: place(body.documentURL),
    directive: text(body.effectiveDirective),
    blocked: place(body.blockedURL),
    disposition: text(body.disposition),
    source: place(body.sourceFile),
    line: whole(body.lineNumber),
    column: whole(body.columnNumber),
    status: whole(body.statusCode),
  };
}

/** A `report-uri` report's `csp-report` member. */
function fromReportUri(report: Fields): Violation {
  return {
    document: place(report["document-uri"]),
    directive: text(report["effective-directive"]) ?? text(report["violated-directive"]),
    blocked: place(report["blocked-uri"]),
    disposition: text(report.disposition),
    source: place(report["source-file"]),
    line: whole(report["line-number"]),
    column: whole(report["column-number"]),
    status: whole(report["status-code"]),
  };
}

const isObject = (value: unknown): value is Fields => typeof value === "object" && value !== null && !Array.isArray(value);

/** The violations in a parsed report body, or null when it is neither kind of report. */
function violations(parsed: unknown): Violation[] | null {
  if (Array.isArray(parsed)) {
    return parsed
      .filter((report) => isObject(report) && report.type === "csp-violation" && isObject(report.body))
      .map((report) => fromReportingApi(report.body as Fields));
  }
  if (isObject(parsed) && isObject(parsed["csp-report"])) return [fromReportUri(parsed["csp-report"])];
  return null;
}

/** Reads a report request and logs its violations: 204, or a problem for a body that is not a report. */
export async function receiveReport(request: Request): Promise<Response> {
  const type = (request.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  if (!REPORT_TYPES.has(type)) return problem("invalid-report", "This is not a Content-Security-Policy violation report.");
  const body = await readBody(request, MAX_REPORT_BYTES);
  if (body === null) return problem("body-too-large", `A report body is at most ${MAX_REPORT_BYTES} bytes.`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(body));
  } catch {
    return problem("invalid-report", "The report is not JSON.");
  }
  const found = violations(parsed);
  if (found === null) return problem("invalid-report", "The body holds no Content-Security-Policy violation report.");
  for (const violation of found.slice(0, MAX_VIOLATIONS)) {
    console.warn(JSON.stringify({ event: "csp-violation", ...violation }));
  }
  return new Response(null, { status: 204, headers: { "cache-control": "no-store" } });
}
