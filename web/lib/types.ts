/** A task as the API returns it. */
export type Task = {
  id: string;
  user_id: string;
  title: string;
  description: string | null;
  completed: boolean;
  created_at: string;
  updated_at: string;
  version: number;
};

/** One page of the list: `next_cursor` loads the next. */
export type TaskPage = { items: Task[]; next_cursor: string | null };
