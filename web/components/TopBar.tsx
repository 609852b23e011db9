"use client";

import Link from "next/link";
import { SignOutButton } from "./SignOutButton";

const PAGES = { tasks: { href: "/devices", label: "Devices" }, devices: { href: "/tasks", label: "Tasks" } };

/** The bar above every signed-in page: the app, who is signed in, the other page, sign out. */
export function TopBar({
  user,
  page,
  beforeSignOut,
}: {
  user: { name: string; email: string };
  page: keyof typeof PAGES;
  beforeSignOut?: () => Promise<unknown>;
}) {
  const other = PAGES[page];
  return (
    <header className="topbar">
      <p className="brand">
        <span className="logo" aria-hidden="true">
          ✓
        </span>{" "}
        <span className="brand-name">taskgate</span>
      </p>
      <div className="who">
        <span className="user" title={user.email}>
          <span className="visually-hidden">Signed in as </span>
          {user.name || user.email}
        </span>
        <Link className="nav" href={other.href}>
          {other.label}
        </Link>
        <SignOutButton beforeSignOut={beforeSignOut} />
      </div>
    </header>
  );
}
