import { LANE_WAITING } from "../types";
import { type Db, one, rows, run } from "./client";

// ready_at = GREATEST(due, served_at, paced_until) while the endpoint has room and work; NULL otherwise.
// PostgreSQL's GREATEST ignores NULLs (SQLite's MAX does not), so a NULL due time is spelled out, and a
// NULL paced_until (no rate limit, or room in the window) simply drops out.
const readyAt = (due: string, inFlight = "in_flight", max = "max_in_flight", served = "served_at", paced = "paced_until") =>
  `CASE WHEN ${inFlight} < ${max} AND ${due} IS NOT NULL THEN GREATEST(${due}, ${served}, ${paced}) END`;
// Due work: FIFO deliveries waiting behind their lane's head (LANE_WAITING) are unfinished but never due.
const dueOf = `(SELECT MIN(next_attempt_at) AS t FROM deliveries
  WHERE webhook_id = $1 AND next_attempt_at IS NOT NULL AND next_attempt_at < ${LANE_WAITING}) AS d`;
const minDue = `(SELECT MIN(next_attempt_at) FROM deliveries d
  WHERE d.webhook_id = delivery_queues.webhook_id AND d.next_attempt_at IS NOT NULL AND d.next_attempt_at < ${LANE_WAITING})`;

const ADJUST = `UPDATE delivery_queues SET in_flight = GREATEST(0, in_flight + $2), next_due_at = d.t,
  ready_at = ${readyAt("d.t", "GREATEST(0, in_flight + $2)")}
  FROM ${dueOf} WHERE webhook_id = $1`;
// A claim also writes the endpoint's rate window ($5 paced_until, $6 rate_log; both NULL without a rate limit).
const TOOK = `UPDATE delivery_queues SET in_flight = in_flight + $2, served_at = $3, max_in_flight = $4, next_due_at = d.t,
  paced_until = $5, rate_log = $6, ready_at = ${readyAt("d.t", "in_flight + $2", "$4", "$3", "$5::bigint")}
  FROM ${dueOf} WHERE webhook_id = $1`;
// A changed rate_limit: whatever the old one paced is void, and the next claim weighs the window anew.
const REPACE = `UPDATE delivery_queues SET paced_until = NULL, rate_log = CASE WHEN $2 THEN rate_log END, next_due_at = d.t,
  ready_at = ${readyAt("d.t", "in_flight", "max_in_flight", "served_at", "NULL::bigint")}
  FROM ${dueOf} WHERE webhook_id = $1`;
const OPEN = `INSERT INTO delivery_queues (webhook_id, in_flight, served_at)
  VALUES ($1, (SELECT COUNT(*) FROM deliveries WHERE webhook_id = $1 AND lease_until IS NOT NULL), 0)
  ON CONFLICT (webhook_id) DO NOTHING`;
const OPEN_MISSING = `INSERT INTO delivery_queues (webhook_id, in_flight, served_at)
  SELECT w.id, (SELECT COUNT(*) FROM deliveries d WHERE d.webhook_id = w.id AND d.lease_until IS NOT NULL), 0
  FROM webhooks w WHERE w.status = 'active' AND w.deleted_at IS NULL
  ON CONFLICT (webhook_id) DO NOTHING`;
// Only rows whose limit changes are written: once another node applied the same limit, this is a read.
const LIMIT_ALL = `UPDATE delivery_queues SET max_in_flight = $1, next_due_at = ${minDue}, ready_at = ${readyAt(minDue, "in_flight", "$1")}
  WHERE max_in_flight <> $1`;
// Rows another node is claiming from right now are skipped: a claim holds its endpoints' ready rows
// until it commits, and that is what keeps two claimers from serving one endpoint at once.
const READY = `SELECT webhook_id, in_flight, rate_log FROM delivery_queues WHERE ready_at IS NOT NULL AND ready_at <= $1
  ORDER BY ready_at LIMIT $2 FOR UPDATE SKIP LOCKED`;

/** ReadyRow is an endpoint a claim may take from, locked until the claim commits. */
export interface ReadyRow {
  webhook_id: string;
  in_flight: number;
  rate_log: string | null;
}

/**
 * queueRows keeps `delivery_queues` as on SQLite (src/storage/sqlite/queue.ts has the why): one ready
 * row per active endpoint, changed in the same transaction as the deliveries it summarises. On
 * PostgreSQL the row is also the endpoint's claim lock: `ready` takes it FOR UPDATE SKIP LOCKED, so
 * claims for one endpoint are serialised across nodes and its in_flight count and rate window cannot
 * be raced past their limits.
 */
export function queueRows(db: Db) {
  return {
    /**
     * served: which of `webhookIds` have a ready row (active, as this transaction sees it), with their
     * due times. `lock` takes the rows (in id order) before any lane row, as every transaction does.
     */
    async served(webhookIds: readonly string[], lock = false): Promise<Map<string, number | null>> {
      if (webhookIds.length === 0) return new Map();
      const list = webhookIds.map((_, i) => `$${i + 1}`).join(", ");
      const found = await rows<{ webhook_id: string; next_due_at: number | null }>(
        db,
        `SELECT webhook_id, next_due_at FROM delivery_queues WHERE webhook_id IN (${list})${lock ? " ORDER BY webhook_id FOR UPDATE" : ""}`,
        webhookIds,
      );
      return new Map(found.map((r) => [r.webhook_id, r.next_due_at]));
    },
    /**
     * enqueue: deliveries due at `dueAt` were added for `webhookIds` (whose due times `served` read).
     * One statement whatever the number of endpoints; rows are locked in id order, the order every
     * multi-row change here takes, so two nodes storing events cannot deadlock on them.
     */
    async enqueue(webhookIds: readonly string[], dueAt: number, dueTimes: ReadonlyMap<string, number | null>): Promise<void> {
      // With work already due no later, a row would not change: a read is cheaper than a no-op write.
      const later = webhookIds.filter((id) => {
        const due = dueTimes.get(id);
        return due === null || (due !== undefined && due > dueAt);
      });
      if (later.length === 0) return;
      const ids = later.map((_, i) => `$${i + 2}`).join(", ");
      await run(
        db,
        `UPDATE delivery_queues SET next_due_at = LEAST(COALESCE(next_due_at, $1), $1), ready_at = ${readyAt("LEAST(COALESCE(next_due_at, $1), $1)")}
         WHERE webhook_id IN (SELECT webhook_id FROM delivery_queues WHERE webhook_id IN (${ids}) ORDER BY webhook_id FOR UPDATE)`,
        [dueAt, ...later],
      );
    },
    /** lock takes an endpoint's ready row before its lane rows (lock order: ready row, then lanes). */
    lock: async (webhookId: string) => void (await run(db, "SELECT 1 FROM delivery_queues WHERE webhook_id = $1 FOR UPDATE", [webhookId])),
    refresh: async (webhookId: string) => void (await run(db, ADJUST, [webhookId, 0])),
    returned: async (webhookId: string, n: number) => void (await run(db, ADJUST, [webhookId, -n])),
    /** repace: the endpoint's rate_limit changed; `keepLog` unless it was cleared (claims so far still count against a new one). */
    repace: async (webhookId: string, keepLog: boolean) => void (await run(db, REPACE, [webhookId, keepLog])),
    async open(webhookId: string) {
      await run(db, OPEN, [webhookId]);
      await run(db, ADJUST, [webhookId, 0]);
    },
    close: async (webhookId: string) => void (await run(db, "DELETE FROM delivery_queues WHERE webhook_id = $1", [webhookId])),
    /** took: a claim leased `n` more; `paced`/`log` are the endpoint's rate window after it (null without a rate limit). */
    took: async (webhookId: string, n: number, now: number, perEndpoint: number, paced: number | null = null, log: string | null = null) =>
      void (await run(db, TOOK, [webhookId, n, now, perEndpoint, paced, log])),
    /** openMissing gives any active endpoint without a ready row one (start). */
    openMissing: async () => void (await run(db, OPEN_MISSING)),
    /** limit applies a new per-endpoint limit to every row still under another one (config changed): O(endpoints) once per change. */
    limit: async (perEndpoint: number) => void (await run(db, LIMIT_ALL, [perEndpoint])),
    ready: (now: number, limit: number) => rows<ReadyRow>(db, READY, [now, limit]),
    firstReady: async (): Promise<number | null> =>
      (await one<{ t: number | null }>(db, "SELECT MIN(ready_at) AS t FROM delivery_queues WHERE ready_at IS NOT NULL"))?.t ?? null,
  };
}

/** QueueRows is the ready-row bookkeeping on one client (a batch's transaction, or the pool for reads). */
export type QueueRows = ReturnType<typeof queueRows>;
