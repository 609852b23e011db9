// Runs before every page (Next.js "proxy", formerly middleware). Two jobs:
// - every page gets a Content-Security-Policy with a fresh nonce, following Next.js's documented
//   pattern: the policy goes on the request too, where Next.js finds the nonce and puts it on its
//   own scripts and styles (pages are rendered per request: app/layout.tsx), and on the answer,
//   with Strict-Transport-Security on an https app (lib/security-headers.ts);
// - a page asked for by the other loopback name (127.0.0.1 when the app is
//   http://localhost:3000, or the reverse) answers with where the app is, and the browser goes
//   there at once: the app's own origin is the only one Better Auth accepts.
// The API routes are left alone (the proxy would buffer their bodies): servers and scripts call
// them by either name (the API fetches the JWKS by 127.0.0.1), and each route handler sets its
// run-time headers itself (`withSecurityHeaders`).
import type { NextRequest } from "next/server";
import { NextResponse } from "next/server";
import { contentSecurityPolicy, reportingEndpoints, transportSecurity } from "./lib/security-headers";

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** Where a page asked for by `host` belongs instead: the app's origin (`BETTER_AUTH_URL`), or null. */
function appOrigin(host: string | null): string | null {
  const configured = process.env.BETTER_AUTH_URL?.trim() ?? "";
  if (!URL.canParse(configured) || !URL.canParse(`http://${host}`)) return null;
  const app = new URL(configured);
  const asked = new URL(`http://${host}`).hostname;
  return LOOPBACK.has(app.hostname) && LOOPBACK.has(asked) && asked !== app.hostname ? app.origin : null;
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * A page naming the address to use, with `Refresh` so a browser goes there at once. Not a 3xx:
 * Next.js treats every loopback name as one host and would make such a `Location` relative.
 */
function goElsewhere(target: URL): Response {
  const href = escapeHtml(target.href);
  return new Response(
    `<!doctype html><html lang="en"><meta charset="utf-8"><title>taskgate</title>` +
      `<p>taskgate is at <a href="${href}">${href}</a>.</p></html>\n`,
    {
      headers: {
        "content-type": "text/html; charset=utf-8",
        "cache-control": "no-store",
        refresh: `0; url=${target.href}`,
      },
    },
  );
}

/** The answer's run-time security headers: the page's policy with `nonce`, and HSTS on https. */
function secure(response: Response, policy: string): Response {
  response.headers.set("content-security-policy", policy);
  for (const [name, value] of Object.entries({ ...reportingEndpoints(), ...transportSecurity() })) response.headers.set(name, value);
  return response;
}

export function proxy(request: NextRequest) {
  const nonce = Buffer.from(crypto.randomUUID()).toString("base64");
  const policy = contentSecurityPolicy(nonce);
  const origin = appOrigin(request.headers.get("host"));
  if (origin) {
    const target = new URL(origin);
    target.pathname = request.nextUrl.pathname;
    target.search = request.nextUrl.search;
    return secure(goElsewhere(target), policy);
  }
  const requestHeaders = new Headers(request.headers);
  requestHeaders.set("x-nonce", nonce);
  requestHeaders.set("content-security-policy", policy);
  return secure(NextResponse.next({ request: { headers: requestHeaders } }), policy);
}

export const config = {
  // Pages only: not the API routes, not the build's static files.
  matcher: ["/((?!api/|_next/static/|_next/image|favicon.ico).*)"],
};
