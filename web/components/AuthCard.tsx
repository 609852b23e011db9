import type { ReactNode } from "react";

/** The centred card of the pages outside the app (sign-in, sign-up, not found): the brand, the
 * page's title, then `children`. */
export function AuthCard({ title, children }: { title: string; children: ReactNode }) {
  return (
    <main id="main" className="auth">
      <div className="card">
        <p className="brand" aria-hidden="true">
          <span className="logo">✓</span> taskgate
        </p>
        <h1>{title}</h1>
        {children}
      </div>
    </main>
  );
}
