"use client";

import { useState } from "react";

/** Ends the Better Auth session (and the server drops its cached API token). */
export function SignOutButton() {
  const [busy, setBusy] = useState(false);
  async function signOut() {
    setBusy(true);
    await fetch("/api/auth/sign-out", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    }).catch(() => undefined);
    window.location.assign("/sign-in");
  }
  return (
    <button type="button" className="secondary small" onClick={signOut} disabled={busy}>
      Sign out
    </button>
  );
}
