"use client";

import type { Task } from "@/lib/client";

/** "Deleted “X”. Undo" while a deleted task can still be brought back; a live region, so it is read out. */
export function UndoNotice({ task, onUndo }: { task: Task | null; onUndo: () => void }) {
  return (
    <div className="toast-region" role="status">
      {task && (
        <p className="toast">
          <span className="toast-text">Deleted “{task.title}”.</span>
          <button type="button" className="toast-action" onClick={onUndo}>
            Undo
          </button>
        </p>
      )}
    </div>
  );
}
