import type { Metadata } from "next";
import Link from "next/link";
import { AuthCard } from "@/components/AuthCard";

export const metadata: Metadata = { title: "Not found" };

/**
 * The app's own "not found" page, styled by globals.css: Next.js's built-in one uses inline
 * styles, which the pages' Content-Security-Policy refuses.
 */
export default function NotFound() {
  return (
    <AuthCard title="There is no such page">
      <p className="switch">
        <Link href="/tasks">Go to your tasks</Link>
      </p>
    </AuthCard>
  );
}
