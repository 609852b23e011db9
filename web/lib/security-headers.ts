// The security headers that depend on how the app runs, set on every answer at run time: the
// pages' Content-Security-Policy (a fresh nonce per request, from web/proxy.ts) and
// Strict-Transport-Security when the app's URL (`BETTER_AUTH_URL`) is https. The headers that
// never change are set for every path in next.config.ts (read at build time).

/** Where browsers send Content-Security-Policy violation reports (`app/api/csp-report/route.ts`). */
export const CSP_REPORT_PATH = "/api/csp-report";

/** The app's origin, from `BETTER_AUTH_URL`, or null when it is not set (the start then fails anyway). */
function appOrigin(): URL | null {
  const configured = process.env.BETTER_AUTH_URL?.trim() ?? "";
  return URL.canParse(configured) ? new URL(new URL(configured).origin) : null;
}

/** True when the app is served over https: HSTS then, and `upgrade-insecure-requests`. */
function servedOverHttps(): boolean {
  return appOrigin()?.protocol === "https:";
}

/**
 * A page's policy, with `nonce` for Next.js's own scripts and styles (Next.js reads it from the
 * request's copy of this header and puts it on every script and style tag it renders).
 *
 * Production: scripts run only with the nonce, or when loaded by a script that has it
 * (`'strict-dynamic'`); no `'unsafe-inline'`, no `'unsafe-eval'`. `next dev` relaxes exactly what
 * its dev server needs, as Next.js documents: `'unsafe-eval'` for scripts (React rebuilds server
 * error stacks in the browser with eval) and `'unsafe-inline'` for styles (its dev overlay and
 * hot reloading insert styles without the nonce).
 */
export function contentSecurityPolicy(nonce: string, { development = process.env.NODE_ENV === "development" } = {}): string {
  const directives = [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${development ? " 'unsafe-eval'" : ""}`,
    `style-src 'self' ${development ? "'unsafe-inline'" : `'nonce-${nonce}'`}`,
    "img-src 'self'",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    // Over https, `report-to` for browsers with the Reporting API (which then ignore report-uri);
    // Chromium takes `Reporting-Endpoints` only from https answers, so over http (a loopback
    // development address) `report-uri` alone, which every browser sends.
    ...(servedOverHttps() ? ["upgrade-insecure-requests", "report-to csp"] : []),
    `report-uri ${CSP_REPORT_PATH}`,
  ];
  return directives.join("; ");
}

/** `Reporting-Endpoints` (https only), naming where `report-to csp` sends: the report endpoint on the app's origin. */
export function reportingEndpoints(): Record<string, string> {
  const origin = appOrigin();
  return origin && servedOverHttps() ? { "reporting-endpoints": `csp="${new URL(CSP_REPORT_PATH, origin).href}"` } : {};
}

/** Strict-Transport-Security for an https app: two years, subdomains included (not preloaded). */
export function transportSecurity(): Record<string, string> {
  return servedOverHttps() ? { "strict-transport-security": "max-age=63072000; includeSubDomains" } : {};
}

type RouteHandler<C> = (request: Request, context: C) => Response | Promise<Response>;

/**
 * A route handler whose answers carry the run-time headers (HSTS on an https app). Every route
 * handler is wrapped in it: the proxy, which sets them on pages, does not run for `/api/*`.
 */
export function withSecurityHeaders<C>(handler: RouteHandler<C>): (request: Request, context: C) => Promise<Response> {
  return async (request, context) => {
    const response = await handler(request, context);
    const extra = Object.entries(transportSecurity());
    if (extra.length === 0) return response;
    // An answer passed on from fetch has immutable headers: then a copy is made.
    const headers = new Headers(response.headers);
    for (const [name, value] of extra) headers.set(name, value);
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  };
}
