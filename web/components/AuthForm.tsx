"use client";

import Link from "next/link";
import { useState, type FormEvent } from "react";
import { AuthCard } from "./AuthCard";

type Mode = "sign-in" | "sign-up";

const COPY = {
  "sign-in": {
    title: "Sign in",
    submit: "Sign in",
    busy: "Signing in…",
    other: "/sign-up",
    otherText: "Create an account",
    failed: "That did not work. Try again.",
  },
  "sign-up": {
    title: "Create your account",
    submit: "Create account",
    busy: "Creating account…",
    other: "/sign-in",
    otherText: "Sign in instead",
    // The same words whether or not the email already has an account.
    failed: "Your account could not be created with these details. Check them and try again, or sign in instead.",
  },
} as const;

/**
 * Our words for the Better Auth error codes a person can fix. Its own messages are never shown:
 * one of them says whether an email has an account.
 */
const ERRORS = new Map([
  ["INVALID_EMAIL_OR_PASSWORD", "Wrong email or password."],
  ["INVALID_EMAIL", "Enter a valid email address."],
  ["PASSWORD_TOO_SHORT", "Use a password of at least 8 characters."],
  ["PASSWORD_TOO_LONG", "That password is too long: use at most 128 characters."],
]);

/** Email and password, posted to Better Auth's own routes; the session arrives as an httpOnly cookie. */
export function AuthForm({ mode, notice }: { mode: Mode; notice?: string }) {
  const copy = COPY[mode];
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const form = new FormData(event.currentTarget);
    const body: Record<string, string> = { email: String(form.get("email")), password: String(form.get("password")) };
    if (mode === "sign-up") body.name = String(form.get("name"));
    try {
      const response = await fetch(`/api/auth/${mode}/email`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      if (response.ok) {
        window.location.assign("/tasks");
        return;
      }
      const { code } = (await response.json().catch(() => ({}))) as { code?: string };
      setError(
        response.status === 429 ? "Too many attempts. Wait a moment and try again." : (ERRORS.get(code ?? "") ?? copy.failed),
      );
    } catch {
      setError("The server cannot be reached. Try again in a moment.");
    }
    setBusy(false);
  }

  return (
    <AuthCard title={copy.title}>
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      <form onSubmit={onSubmit} aria-describedby={error ? "auth-error" : undefined}>
        {mode === "sign-up" && (
          <label>
            Name
            <input name="name" type="text" autoComplete="name" required maxLength={100} />
          </label>
        )}
        <label>
          Email
          <input name="email" type="email" autoComplete="email" required />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete={mode === "sign-up" ? "new-password" : "current-password"}
            required
            minLength={8}
          />
          {mode === "sign-up" && <span className="hint">At least 8 characters.</span>}
        </label>
        {error && (
          <p id="auth-error" className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? copy.busy : copy.submit}
        </button>
      </form>
      <p className="switch">
        <Link href={copy.other}>{copy.otherText}</Link>
      </p>
    </AuthCard>
  );
}
