import type { SQL } from "bun";
import type { PruneCounts, PruneCutoffs } from "../types";
import { run } from "./client";
import { IDLE_LANES } from "./lanes";

// The advisory lock that keeps retention to one node at a time.
const RETENTION_LOCK = 0x686f6f6c; // "hool"

const FINISHED_DELIVERIES = `DELETE FROM deliveries WHERE id IN (
  SELECT id FROM deliveries WHERE status IN ('delivered', 'expired') AND created_at < $1 AND lease_until IS NULL LIMIT $2)`;
// An event still owed a delivery is kept whatever its age: retention never drops unfinished work.
const OLD_EVENTS = `DELETE FROM events WHERE id IN (
  SELECT e.id FROM events e WHERE e.created_at < $1
    AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.next_attempt_at IS NOT NULL)
  LIMIT $2)`;
const OLD_INBOUND = "DELETE FROM inbound WHERE id IN (SELECT id FROM inbound WHERE received_at < $1 LIMIT $2)";
// Dedupe keys go with the inbound log they stand for (the window is at most that long anyway).
const OLD_DEDUPE = `DELETE FROM inbound_dedupe WHERE (source, dedupe_key) IN (
  SELECT source, dedupe_key FROM inbound_dedupe WHERE received_at < $1 LIMIT $2)`;
const EXPIRED_KEYS = `DELETE FROM idempotency_keys WHERE (scope, idem_key) IN (
  SELECT scope, idem_key FROM idempotency_keys WHERE expires_at < $1 LIMIT $2)`;
const OLD_WINDOWS = `DELETE FROM rate_windows WHERE (source, window_start) IN (
  SELECT source, window_start FROM rate_windows WHERE window_start < $1 LIMIT $2)`;
const OLD_AUDIT = "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE time < $1 LIMIT $2)";

/**
 * postgresMaintenance: retention in small batches, each its own short transaction (ingest on any node
 * waits at most one batch), under a `pg_try_advisory_lock` held on one reserved connection (the pool
 * would give the unlock another session), so one node at a time prunes; a node that finds the lock
 * held skips the run and reports nothing removed. Backups are the operator's pg_dump.
 */
export function postgresMaintenance(pool: SQL) {
  return {
    async prune(c: PruneCutoffs, batch = 500): Promise<PruneCounts> {
      const none = { deliveries: 0, events: 0, inbound: 0, idempotencyKeys: 0, rateWindows: 0, audit: 0 };
      const conn = await pool.reserve();
      try {
        const [lock] = (await conn.unsafe("SELECT pg_try_advisory_lock($1) AS got", [RETENTION_LOCK])) as { got: boolean }[];
        if (!lock?.got) return none;
        try {
          const drain = async (statement: string, cutoff: number) => {
            let total = 0;
            for (;;) {
              const n = await run(conn, statement, [cutoff, batch]);
              total += n;
              if (n < batch) return total;
            }
          };
          // Deliveries first: their attempts go with them (ON DELETE CASCADE), and events then have none left.
          const deliveries = await drain(FINISHED_DELIVERIES, c.deliveriesBefore);
          // A lane row goes once the lane is idle that long: its numbering starts again at 1 afterwards.
          await drain(IDLE_LANES, c.deliveriesBefore);
          const events = await drain(OLD_EVENTS, c.eventsBefore);
          const inbound = await drain(OLD_INBOUND, c.inboundBefore);
          await drain(OLD_DEDUPE, c.inboundBefore);
          const idempotencyKeys = await drain(EXPIRED_KEYS, c.now);
          const rateWindows = await drain(OLD_WINDOWS, c.rateWindowsBefore);
          const audit = await drain(OLD_AUDIT, c.auditBefore);
          return { deliveries, events, inbound, idempotencyKeys, rateWindows, audit };
        } finally {
          await conn.unsafe("SELECT pg_advisory_unlock($1)", [RETENTION_LOCK]);
        }
      } finally {
        conn.release();
      }
    },
    async backupTo(_dest: string, _overwrite: boolean): Promise<void> {
      throw new Error("hookd backup works on SQLite only; back a PostgreSQL database up with pg_dump (or your usual PostgreSQL backups)");
    },
  };
}
