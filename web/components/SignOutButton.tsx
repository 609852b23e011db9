"use client";

import { useState } from "react";

/**
 * Ends the Better Auth session (and the server drops its cached API token), after
 * `beforeSignOut` (what must still be sent as this user); the sign-in page then says so.
 */
export function SignOutButton({ beforeSignOut }: { beforeSignOut?: () => Promise<unknown> }) {
  const [busy, setBusy] = useState(false);
  async function signOut() {
    setBusy(true);
    await beforeSignOut?.();
    await fetch("/api/auth/sign-out", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    }).catch(() => undefined);
    window.location.assign("/sign-in?notice=signed-out");
  }
  return (
    <button type="button" className="secondary small" onClick={signOut} disabled={busy}>
      Sign out
    </button>
  );
}
