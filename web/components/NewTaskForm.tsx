"use client";

import { useRef, useState, type FormEvent } from "react";
import { tasks } from "@/lib/client";

type Props = { onCreate: (title: string, description: string | null, key: string) => Promise<boolean> };

/** Adds a task. One idempotency key per submission, so a double-click creates one task. */
export function NewTaskForm({ onCreate }: Props) {
  const [busy, setBusy] = useState(false);
  const key = useRef<string | null>(null);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    const title = String(data.get("title")).trim();
    const description = String(data.get("description") ?? "").trim() || null;
    if (!title) return;
    key.current ??= tasks.newKey();
    setBusy(true);
    if (await onCreate(title, description, key.current)) {
      form.reset();
      key.current = null;
      form.querySelector<HTMLInputElement>("input[name=title]")?.focus();
    }
    setBusy(false);
  }

  return (
    <form className="new-task" onSubmit={onSubmit} onChange={() => (key.current = null)}>
      <label className="grow">
        <span className="visually-hidden">New task</span>
        <input name="title" placeholder="What needs doing?" required maxLength={200} autoComplete="off" />
      </label>
      <label className="grow">
        <span className="visually-hidden">Notes (optional)</span>
        <input name="description" placeholder="Notes (optional)" maxLength={2000} autoComplete="off" />
      </label>
      <button type="submit" className="primary" disabled={busy}>
        Add task
      </button>
    </form>
  );
}
