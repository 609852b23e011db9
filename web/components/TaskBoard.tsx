"use client";

import { useState } from "react";
import { ApiError, tasks, type Task, type TaskPage } from "@/lib/client";
import { NewTaskForm } from "./NewTaskForm";
import { TaskItem } from "./TaskItem";
import { TopBar } from "./TopBar";
import { UndoNotice } from "./UndoNotice";
import { useUndoableDelete } from "./useUndoableDelete";

type Filter = "all" | "pending" | "completed";
const FILTERS: { value: Filter; label: string }[] = [
  { value: "all", label: "All" },
  { value: "pending", label: "To do" },
  { value: "completed", label: "Done" },
];

function message(error: unknown): string {
  return error instanceof ApiError ? error.message : "Something went wrong. Try again.";
}

function fits(task: Task, filter: Filter): boolean {
  return filter === "all" || (filter === "completed") === task.completed;
}

/**
 * The signed-in user's tasks: filter, create, edit, toggle, delete (with undo), load more.
 * `initial` is null when the first page could not be loaded, and `initialError` then says why.
 * A filter takes effect once its first page has arrived: a page that could not be loaded leaves
 * the list and its filter as they were, and an empty list is called empty only when the API said so.
 */
export function TaskBoard({
  user,
  initial,
  initialError,
}: {
  user: { name: string; email: string };
  initial: TaskPage | null;
  initialError: string | null;
}) {
  const [items, setItems] = useState<Task[]>(initial?.items ?? []);
  const [cursor, setCursor] = useState<string | null>(initial?.next_cursor ?? null);
  const [filter, setFilter] = useState<Filter>("all");
  const [error, setError] = useState<string | null>(initialError);
  const [loading, setLoading] = useState(false);
  /** Whether `items` came from the API for `filter` (false while the first page is missing). */
  const [listed, setListed] = useState(initial !== null);

  async function load(next: Filter, after: string | null = null) {
    setLoading(true);
    try {
      const page = await tasks.list(next, after);
      setFilter(next);
      setItems((current) => (after ? [...current, ...page.items] : page.items));
      setCursor(page.next_cursor);
      setListed(true);
      setError(null);
    } catch (e) {
      setError(message(e));
    }
    setLoading(false);
  }

  /** Runs a change; on 412 the task is reloaded from the API and the user told why. */
  async function change(task: Task, action: () => Promise<Task | undefined>) {
    try {
      const updated = await action();
      setItems((current) =>
        updated === undefined
          ? current.filter((t) => t.id !== task.id)
          : current.map((t) => (t.id === task.id ? updated : t)).filter((t) => fits(t, filter)),
      );
      setError(null);
      return true;
    } catch (e) {
      setError(message(e));
      if (e instanceof ApiError && (e.status === 412 || e.status === 404)) {
        const fresh = await tasks.get(task.id).catch(() => undefined);
        setItems((current) =>
          fresh ? current.map((t) => (t.id === task.id ? fresh : t)) : current.filter((t) => t.id !== task.id),
        );
      }
      return false;
    }
  }

  async function create(title: string, description: string | null, key: string) {
    try {
      const task = await tasks.create(title, description, key);
      if (fits(task, filter)) setItems((current) => [task, ...current.filter((t) => t.id !== task.id)]);
      setError(null);
      return true;
    } catch (e) {
      setError(message(e));
      return false;
    }
  }

  const deletions = useUndoableDelete((task, leaving) => change(task, () => tasks.remove(task, { keepalive: leaving })));
  const shown = items.filter((t) => t.id !== deletions.pending?.id);
  const remaining = shown.filter((t) => !t.completed).length;

  return (
    <>
      <TopBar user={user} page="tasks" beforeSignOut={deletions.flush} />
      <main id="main" className="board">
        <h1>Your tasks</h1>
        <NewTaskForm onCreate={create} />
        <div className="toolbar">
          <div className="filters" role="group" aria-label="Show">
            {FILTERS.map((f) => (
              <button
                key={f.value}
                type="button"
                className="chip"
                aria-pressed={filter === f.value}
                onClick={() => void load(f.value)}
              >
                {f.label}
              </button>
            ))}
          </div>
          <p className="count" aria-live="polite">
            {filter === "all" ? `${remaining} to do` : `${shown.length} shown`}
          </p>
        </div>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        {shown.length === 0 && !loading ? (
          listed && <p className="empty">{filter === "all" ? "No tasks yet. Add your first one above." : "Nothing here."}</p>
        ) : (
          <ul className="tasks" aria-busy={loading}>
            {shown.map((task) => (
              <TaskItem
                key={task.id}
                task={task}
                onToggle={() => change(task, () => tasks.toggle(task))}
                onSave={(title, description) => change(task, () => tasks.update(task, title, description))}
                onDelete={() => deletions.remove(task)}
              />
            ))}
          </ul>
        )}
        {cursor && (
          <button type="button" className="secondary more" disabled={loading} onClick={() => void load(filter, cursor)}>
            {loading ? "Loading…" : "Load more"}
          </button>
        )}
      </main>
      <UndoNotice task={deletions.pending} onUndo={deletions.undo} />
    </>
  );
}
