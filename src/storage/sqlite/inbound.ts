import type { Database } from "bun:sqlite";
import type { AcceptOutcome, AcceptRequest, InboundQuery, InboundRecord } from "../types";
import type { AfterCommit } from "./group-commit";
import { whereClause } from "./where";

interface InboundRow extends Omit<InboundRecord, "headers"> {
  headers: string;
}

const COLUMNS = "id, source, status, reason, event_id, client_ip, headers, body, body_hash AS body_sha256, size, received_at";

function fromRow(row: InboundRow): InboundRecord {
  return { ...row, headers: JSON.parse(row.headers) as Record<string, string> };
}

/** inboundReads answers the inbound log off the read connection. */
export function inboundReads(db: Database) {
  const getOne = db.query<InboundRow, [string]>(`SELECT ${COLUMNS} FROM inbound WHERE id = ?`);
  return {
    get: (id: string) => {
      const row = getOne.get(id);
      return row ? fromRow(row) : null;
    },
    list: ({ source, status, limit, before }: InboundQuery) => {
      const { clause, args } = whereClause([["source = ?", source], ["status = ?", status], ["id < ?", before]]);
      // The list leaves out bodies; GET /v1/inbound/:id shows one.
      return db
        .query<InboundRow, (string | number)[]>(
          `SELECT id, source, status, reason, event_id, client_ip, headers, NULL AS body, body_hash AS body_sha256, size, received_at FROM inbound ${clause} ORDER BY id DESC LIMIT ?`,
        )
        .all(...args, limit)
        .map(fromRow);
    },
  };
}

/** StoreEvent is the event writer accept() stores through (fan-out included). */
export type StoreEvent = (after: AfterCommit, event: AcceptRequest["event"]) => { deliveries: number };

/**
 * inboundWrites: `accept` checks dedupe and the rate limit and stores the request, its event and the
 * deliveries in one transaction, so concurrent repeats and a limit's last slot are decided in one
 * place and the answer is sent only once all of it is durable.
 */
export function inboundWrites(db: Database, storeEvent: StoreEvent) {
  const insert = db.query(
    `INSERT INTO inbound (id, source, status, reason, event_id, client_ip, headers, body, size, dedupe_key, body_hash, received_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const earlier = db.query<{ event_id: string | null; body_hash: string | null }, [string, string, number]>(
    `SELECT event_id, body_hash FROM inbound
     WHERE source = ? AND dedupe_key = ? AND status = 'accepted' AND received_at > ?
     ORDER BY received_at DESC LIMIT 1`,
  );
  const windowCount = db.query<{ count: number }, [string, number]>("SELECT count FROM rate_windows WHERE source = ? AND window_start = ?");
  const countOne = db.query(
    `INSERT INTO rate_windows (source, window_start, count) VALUES (?, ?, 1)
     ON CONFLICT (source, window_start) DO UPDATE SET count = count + 1`,
  );
  const write = (r: InboundRecord, dedupeKey: string | null, bodyHash: string | null) =>
    insert.run(r.id, r.source, r.status, r.reason, r.event_id, r.client_ip, JSON.stringify(r.headers), r.body, r.size, dedupeKey, bodyHash, r.received_at);

  return {
    accept(after: AfterCommit, q: AcceptRequest): AcceptOutcome {
      const { record, event, now } = q;
      if (q.dedupeKey !== null) {
        const seen = earlier.get(record.source, q.dedupeKey, now - q.dedupeWindowMs);
        if (seen) {
          if (seen.body_hash !== q.bodyHash) return { kind: "reused" };
          write({ ...record, status: "duplicate", event_id: seen.event_id, body: null }, null, q.bodyHash);
          return { kind: "duplicate", eventId: seen.event_id ?? "" };
        }
      }
      if (q.rateLimit !== null) {
        const start = Math.floor(now / q.rateLimit.windowMs) * q.rateLimit.windowMs;
        if ((windowCount.get(record.source, start)?.count ?? 0) >= q.rateLimit.count) {
          return { kind: "rate_limited", retryAfterSec: Math.max(1, Math.ceil((start + q.rateLimit.windowMs - now) / 1000)) };
        }
        countOne.run(record.source, start);
      }
      const { deliveries } = storeEvent(after, event);
      write(record, q.dedupeKey, q.bodyHash);
      return { kind: "accepted", eventId: event.id, deliveries };
    },
    logRejected(_after: AfterCommit, record: InboundRecord): void {
      write(record, null, record.body_sha256);
    },
  };
}
