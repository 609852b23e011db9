// Runs before every page (Next.js "proxy", formerly middleware). One job today: a page asked for
// by the other loopback name (127.0.0.1 when the app is http://localhost:3000, or the reverse)
// answers with where the app is, and the browser goes there at once: the app's own origin is the
// only one Better Auth accepts. The API routes are left alone: servers and scripts call them by
// either name (the API fetches the JWKS by 127.0.0.1).
import type { NextRequest } from "next/server";
import { NextResponse } from "next/server";

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

export function proxy(request: NextRequest) {
  const origin = appOrigin(request.headers.get("host"));
  if (origin) {
    const target = new URL(origin);
    target.pathname = request.nextUrl.pathname;
    target.search = request.nextUrl.search;
    return goElsewhere(target);
  }
  return NextResponse.next();
}

export const config = {
  // Pages only: not the API routes, not the build's static files.
  matcher: ["/((?!api/|_next/static/|_next/image|favicon.ico).*)"],
};
