import type { Metadata } from "next";
import Link from "next/link";

export const metadata: Metadata = { title: "Not found" };

/**
 * The app's own "not found" page, styled by globals.css: Next.js's built-in one uses inline
 * styles, which the pages' Content-Security-Policy refuses.
 */
export default function NotFound() {
  return (
    <main id="main" className="auth">
      <div className="card">
        <p className="brand" aria-hidden="true">
          <span className="logo">✓</span> taskgate
        </p>
        <h1>There is no such page</h1>
        <p className="switch">
          <Link href="/tasks">Go to your tasks</Link>
        </p>
      </div>
    </main>
  );
}
