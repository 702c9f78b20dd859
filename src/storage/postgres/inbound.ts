import type { AcceptOutcome, AcceptRequest, InboundQuery, InboundRecord } from "../types";
import { type Db, one, rows, run } from "./client";
import type { AfterCommit } from "./group-commit";
import { whereClause } from "./where";

interface InboundRow extends Omit<InboundRecord, "headers"> {
  headers: string;
}

const COLUMNS = "id, source, status, reason, event_id, client_ip, headers, body, body_hash AS body_sha256, size, received_at";

function fromRow(row: InboundRow): InboundRecord {
  return { ...row, headers: JSON.parse(row.headers) as Record<string, string> };
}

/** inboundReads answers the inbound log off the pool. */
export function inboundReads(db: Db) {
  return {
    get: async (id: string) => {
      const row = await one<InboundRow>(db, `SELECT ${COLUMNS} FROM inbound WHERE id = $1`, [id]);
      return row ? fromRow(row) : null;
    },
    list: async ({ source, status, limit, before }: InboundQuery) => {
      const { clause, args, next } = whereClause([["source = ?", source], ["status = ?", status], ["id < ?", before]]);
      // The list leaves out bodies; GET /v1/inbound/:id shows one.
      const found = await rows<InboundRow>(
        db,
        `SELECT id, source, status, reason, event_id, client_ip, headers, NULL AS body, body_hash AS body_sha256, size, received_at
         FROM inbound ${clause} ORDER BY id DESC LIMIT $${next}`,
        [...args, limit],
      );
      return found.map(fromRow);
    },
  };
}

/** StoreEvent is the event writer accept() stores through (fan-out included). */
export type StoreEvent = (db: Db, after: AfterCommit, event: AcceptRequest["event"]) => Promise<{ deliveries: number }>;

const INSERT = `INSERT INTO inbound (id, source, status, reason, event_id, client_ip, headers, body, size, dedupe_key, body_hash, received_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`;
// Takes the key for this request: a new row, or one whose window has passed. No row back: it is taken.
const CLAIM_KEY = `INSERT INTO inbound_dedupe (source, dedupe_key, event_id, body_hash, received_at) VALUES ($1, $2, $3, $4, $5)
  ON CONFLICT (source, dedupe_key) DO UPDATE SET event_id = EXCLUDED.event_id, body_hash = EXCLUDED.body_hash, received_at = EXCLUDED.received_at
  WHERE inbound_dedupe.received_at <= $6
  RETURNING 1 AS claimed`;
// One slot of the window, taken only while one is left: concurrent requests on any node cannot overshoot.
const COUNT_ONE = `INSERT INTO rate_windows (source, window_start, count) VALUES ($1, $2, 1)
  ON CONFLICT (source, window_start) DO UPDATE SET count = rate_windows.count + 1 WHERE rate_windows.count < $3
  RETURNING count`;

/**
 * inboundWrites: `accept` decides dedupe and the rate limit on unique keys and stores the request,
 * its event and the deliveries in one transaction. The dedupe key is claimed first (INSERT … ON
 * CONFLICT), so of two nodes receiving the same key at once one stores and the other, once the first
 * committed, answers duplicate; a request then refused by the rate limit gives the key back.
 */
export function inboundWrites(storeEvent: StoreEvent) {
  const write = (db: Db, r: InboundRecord, dedupeKey: string | null, bodyHash: string | null) =>
    run(db, INSERT, [
      r.id, r.source, r.status, r.reason, r.event_id, r.client_ip, JSON.stringify(r.headers), r.body, r.size, dedupeKey, bodyHash, r.received_at,
    ]);

  return {
    async accept(db: Db, after: AfterCommit, q: AcceptRequest): Promise<AcceptOutcome> {
      const { record, event, now } = q;
      if (q.dedupeKey !== null) {
        const claimed = await one(db, CLAIM_KEY, [record.source, q.dedupeKey, event.id, q.bodyHash, now, now - q.dedupeWindowMs]);
        if (!claimed) {
          // `kept`: the original event may have been pruned since; the log row then points nowhere.
          const seen = await one<{ event_id: string; body_hash: string; kept: string | null }>(
            db,
            `SELECT d.event_id, d.body_hash, e.id AS kept FROM inbound_dedupe d LEFT JOIN events e ON e.id = d.event_id
             WHERE d.source = $1 AND d.dedupe_key = $2`,
            [record.source, q.dedupeKey],
          );
          if (seen && seen.body_hash !== q.bodyHash) return { kind: "reused" };
          const eventId = seen?.event_id ?? "";
          await write(db, { ...record, status: "duplicate", event_id: seen?.kept ?? null, body: null }, null, q.bodyHash);
          return { kind: "duplicate", eventId };
        }
      }
      if (q.rateLimit !== null) {
        const start = Math.floor(now / q.rateLimit.windowMs) * q.rateLimit.windowMs;
        if (!(await one(db, COUNT_ONE, [record.source, start, q.rateLimit.count]))) {
          if (q.dedupeKey !== null) await run(db, "DELETE FROM inbound_dedupe WHERE source = $1 AND dedupe_key = $2", [record.source, q.dedupeKey]);
          return { kind: "rate_limited", retryAfterSec: Math.max(1, Math.ceil((start + q.rateLimit.windowMs - now) / 1000)) };
        }
      }
      const { deliveries } = await storeEvent(db, after, event);
      await write(db, record, q.dedupeKey, q.bodyHash);
      return { kind: "accepted", eventId: event.id, deliveries };
    },
    logRejected: async (db: Db, record: InboundRecord) => void (await write(db, record, null, record.body_sha256)),
  };
}
