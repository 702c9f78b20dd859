import { isoTime } from "../clock";
import { newId } from "../ids";
import type { EventOrigin, EventRecord } from "../storage/types";

/**
 * buildEvent fixes the exact body subscribers will receive. `dataJson` is spliced in as text so the
 * sender's JSON is kept byte for byte; the other fields are hookd's own and serialised normally.
 */
export function buildEvent(type: string, dataJson: string, origin: EventOrigin, now: number, source: string | null = null): EventRecord {
  const id = newId("evt");
  const createdAt = isoTime(now);
  const body = `{"id":${JSON.stringify(id)},"type":${JSON.stringify(type)},"created_at":${JSON.stringify(createdAt)},"data":${dataJson}}`;
  return { id, type, origin, body, created_at: now, source };
}

/** withExtraFields appends hookd-side fields to a stored envelope without re-serialising its data. */
export function withExtraFields(body: string, extra: Record<string, unknown>): string {
  const tail = Object.entries(extra)
    .map(([k, v]) => `,${JSON.stringify(k)}:${JSON.stringify(v)}`)
    .join("");
  return `${body.slice(0, body.lastIndexOf("}"))}${tail}}`;
}
