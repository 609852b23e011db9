"use client";

import "./globals.css";

/**
 * What shows when the app itself fails to render. Next.js prerenders this page at build time, so
 * its scripts carry no Content-Security-Policy nonce and do not run: it is plain HTML, styled by
 * globals.css (Next.js's built-in one uses inline styles, which the policy refuses), and "try
 * again" is a link.
 */
export default function GlobalError() {
  return (
    <html lang="en">
      <body>
        <main id="main" className="auth">
          <div className="card">
            <p className="brand" aria-hidden="true">
              <span className="logo">✓</span> taskgate
            </p>
            <h1>Something went wrong</h1>
            <p className="switch">
              <a href="/tasks">Try again</a>
            </p>
          </div>
        </main>
      </body>
    </html>
  );
}
