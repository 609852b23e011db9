"use client";

import { useEffect, useState } from "react";

const format = (iso: string, timeZone?: string) =>
  new Intl.DateTimeFormat(timeZone ? "en-GB" : undefined, { dateStyle: "medium", timeStyle: "short", timeZone }).format(new Date(iso));

/** A time in the reader's own time zone and words; in UTC until the page runs (as the server renders it). */
export function LocalTime({ iso }: { iso: string }) {
  const [text, setText] = useState(() => `${format(iso, "UTC")} UTC`);
  useEffect(() => setText(format(iso)), [iso]);
  return <time dateTime={iso}>{text}</time>;
}
