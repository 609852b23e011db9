import { useEffect, useRef, useState } from "react";
import type { Task } from "@/lib/client";

/** How long a deleted task can be brought back. */
export const UNDO_MS = 5_000;

/** Sends a deletion; `leaving`: the page is being left, so the request must outlive it. */
type Commit = (task: Task, leaving: boolean) => Promise<unknown>;

/**
 * Delete with undo. `remove` hides a task at once (`pending`); it is deleted for real when the
 * undo time is over, when another task is deleted, before signing out (`flush`), or as the page is
 * left (before a reload's request, so the next page no longer lists it). `undo` keeps it.
 */
export function useUndoableDelete(commit: Commit) {
  const [pending, setPending] = useState<Task | null>(null);
  const latestCommit = useRef(commit);
  useEffect(() => {
    latestCommit.current = commit;
  });
  // The task waiting for its deletion, and how to stop waiting. Changed at once (state is
  // changed at the next render): two events in one moment still delete once.
  const waiting = useRef<{ task: Task; stopWaiting: () => void } | null>(null);

  function take(): Task | null {
    const entry = waiting.current;
    waiting.current = null;
    entry?.stopWaiting();
    setPending(null);
    return entry?.task ?? null;
  }

  function flush(leaving = false): Promise<unknown> {
    const task = take();
    return task ? latestCommit.current(task, leaving) : Promise.resolve();
  }

  function remove(task: Task) {
    void flush();
    const timer = window.setTimeout(() => void flush(), UNDO_MS);
    const leave = () => void flush(true);
    window.addEventListener("beforeunload", leave);
    window.addEventListener("pagehide", leave);
    waiting.current = {
      task,
      stopWaiting() {
        window.clearTimeout(timer);
        window.removeEventListener("beforeunload", leave);
        window.removeEventListener("pagehide", leave);
      },
    };
    setPending(task);
  }

  // Leaving the board some other way deletes too.
  useEffect(() => () => void flush(), []);

  return { pending, remove, undo: () => void take(), flush };
}
