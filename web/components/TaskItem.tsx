"use client";

import { useState, type FormEvent } from "react";
import type { Task } from "@/lib/client";

type Props = {
  task: Task;
  onToggle: () => Promise<boolean>;
  onSave: (title: string, description: string | null) => Promise<boolean>;
  onDelete: () => void;
};

/** One task: a checkbox to complete it, inline editing, delete. */
export function TaskItem({ task, onToggle, onSave, onDelete }: Props) {
  const [editing, setEditing] = useState(false);
  const [busy, setBusy] = useState(false);

  async function run(action: () => Promise<boolean>) {
    setBusy(true);
    const ok = await action();
    setBusy(false);
    return ok;
  }

  async function save(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    const title = String(data.get("title")).trim();
    const description = String(data.get("description") ?? "").trim() || null;
    if (title && (await run(() => onSave(title, description)))) setEditing(false);
  }

  if (editing) {
    return (
      <li className="task editing">
        <form onSubmit={save} onKeyDown={(e) => e.key === "Escape" && setEditing(false)}>
          <label>
            Title
            <input name="title" defaultValue={task.title} required maxLength={200} autoFocus />
          </label>
          <label>
            Notes
            <textarea name="description" defaultValue={task.description ?? ""} maxLength={2000} rows={2} />
          </label>
          <div className="actions">
            <button type="submit" className="primary" disabled={busy}>
              Save
            </button>
            <button type="button" className="secondary" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </div>
        </form>
      </li>
    );
  }

  return (
    <li className={task.completed ? "task done" : "task"}>
      <input
        type="checkbox"
        id={`done-${task.id}`}
        checked={task.completed}
        disabled={busy}
        onChange={() => void run(onToggle)}
      />
      <label htmlFor={`done-${task.id}`} className="body">
        <span className="title">{task.title}</span>
        {task.description && <span className="description">{task.description}</span>}
      </label>
      <div className="actions">
        <button type="button" className="ghost" disabled={busy} onClick={() => setEditing(true)} aria-label={`Edit “${task.title}”`}>
          Edit
        </button>
        <button type="button" className="ghost danger" disabled={busy} onClick={onDelete} aria-label={`Delete “${task.title}”`}>
          Delete
        </button>
      </div>
    </li>
  );
}
