import type { Metadata, Viewport } from "next";
import { connection } from "next/server";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "taskgate", template: "%s · taskgate" },
  description: "A simple task list.",
};

export const viewport: Viewport = { width: "device-width", initialScale: 1, themeColor: "#4f46e5" };

/**
 * Every page is rendered per request (`connection()`), never prerendered at build time: only then
 * does Next.js put the request's Content-Security-Policy nonce (web/proxy.ts) on its scripts.
 */
export default async function RootLayout({ children }: { children: React.ReactNode }) {
  await connection();
  return (
    <html lang="en">
      <body>
        <a className="skip-link" href="#main">
          Skip to content
        </a>
        {children}
      </body>
    </html>
  );
}
