import { type DeliveryFilter, type DeliveryStatus, LANE_WAITING, type ReplayBatch, type SearchPage, type SearchPosition } from "../types";
import { examineCap, type Edge, type RangeRead, edgesOf, mergeStep, newestFirst } from "../search-order";
import { type Db, rows } from "./client";
import type { AfterCommit } from "./group-commit";
import { byLane, type LaneRef, laneRows } from "./lanes";
import { queueRows } from "./queue";
import { type DeliveryRow, deliveryColumns, deliveryFromRow as fromRow } from "../delivery-row";

type Arg = string | number;

const COLUMNS = deliveryColumns("d");

interface WalkRow extends SearchPosition {
  webhook_id: string;
  ok: boolean | null;
}

// The partial indexes' condition (migration 007). A failed or expired range filtered by endpoint or type
// carries it as a literal: a prepared statement's generic plan cannot tell that `status = $1` implies it,
// and would skip those indexes. Other ranges go without (deliveries_status serves them; the redundant
// term would only halve the planner's row estimate).
const UNDELIVERED = "d.status IN ('failed', 'expired')";

const isUndelivered = (status: DeliveryStatus) => status === "failed" || status === "expired";

/**
 * bounded: the range is read off deliveries_status (or whatever the planner picks) while the filter names
 * an endpoint or a type that no index of the status has, so rows are checked one by one; such a read
 * examines at most the cap's entries, as on SQLite, so both backends page alike.
 */
export function bounded(filter: DeliveryFilter, status: DeliveryStatus): boolean {
  if (!isUndelivered(status)) return filter.webhookId !== undefined || filter.eventType !== undefined;
  // The endpoint's undelivered index with a type as well: the type is checked row by row over the endpoint's range.
  return filter.webhookId !== undefined && filter.eventType !== undefined;
}

/**
 * rangeOf builds one status's range, ordered by (created_at, id): a failed or expired one over migration
 * 007's partial indexes (webhook_id or event_type, status, created_at, id) when filtered by endpoint or
 * type, any other over deliveries_status (status, created_at, id) or the endpoint's history, as the
 * planner prices them. `desc` reads newest first from before `at`, else oldest first after it, up to
 * `horizon` inclusive when given, one bound per side (edgesOf: the tighter of a time and a position,
 * so the scan starts and stops there). The row comparison is an index condition in PostgreSQL, so ties
 * within a millisecond cost nothing.
 */
export function rangeOf(filter: DeliveryFilter, status: DeliveryStatus, desc: boolean, at: SearchPosition | undefined, limit: number, horizon?: SearchPosition) {
  const args: Arg[] = [];
  const p = (value: Arg) => {
    args.push(value);
    return `$${args.length}`;
  };
  const where = [`d.status = ${p(status)}`];
  const narrowed = filter.webhookId !== undefined || filter.eventType !== undefined;
  if (narrowed && isUndelivered(status)) where.push(UNDELIVERED);
  if (filter.webhookId !== undefined) where.push(`d.webhook_id = ${p(filter.webhookId)}`);
  if (filter.eventType !== undefined) where.push(`d.event_type = ${p(filter.eventType)}`);
  const { lower, upper } = edgesOf(filter, desc, at, horizon);
  const row = (edge: Edge, op: string) => `(d.created_at, d.id) ${op}${edge.inclusive ? "=" : ""} (${p(edge.created_at)}::bigint, ${p(edge.id!)}::text)`;
  if (lower) where.push(lower.id !== undefined ? row(lower, ">") : `d.created_at >= ${p(lower.created_at)}`);
  if (upper) where.push(upper.id !== undefined ? row(upper, "<") : `d.created_at < ${p(upper.created_at)}`);
  const order = desc ? "DESC" : "ASC";
  return { where: `WHERE ${where.join(" AND ")} ORDER BY d.created_at ${order}, d.id ${order} LIMIT ${p(limit)}`, args };
}

/**
 * horizonSql finds a bounded range's horizon: the position of the cap-th entry from `at`, whatever the
 * endpoint and type, an index-only scan of deliveries_status (status, created_at, id). No row: the range is shorter.
 */
export function horizonSql(filter: DeliveryFilter, status: DeliveryStatus, desc: boolean, cap: number, at?: SearchPosition) {
  // Counted over what the range's index narrows by alone: the endpoint's undelivered index keeps the endpoint.
  const over = isUndelivered(status) ? { ...filter, eventType: undefined } : { ...filter, webhookId: undefined, eventType: undefined };
  const r = rangeOf(over, status, desc, at, 1);
  return { sql: `SELECT d.created_at, d.id FROM deliveries d ${r.where} OFFSET $${r.args.length + 1}`, args: [...r.args, cap - 1] };
}

/** searchSql is the statement one status's page is read with (exported for EXPLAIN in the contract suite). */
export function searchSql(filter: DeliveryFilter, status: DeliveryStatus, limit: number, before?: SearchPosition, horizon?: SearchPosition) {
  const r = rangeOf(filter, status, true, before, limit, horizon);
  return { sql: `SELECT ${COLUMNS} FROM deliveries d ${r.where}`, args: r.args };
}

/**
 * readRange reads one status's range with the statement `sql` builds; a bounded range first finds its
 * horizon and reads no further, so it examines at most the cap's entries.
 */
async function readRange<T extends SearchPosition>(
  db: Db, filter: DeliveryFilter, status: DeliveryStatus, desc: boolean, at: SearchPosition | undefined,
  sql: (horizon: SearchPosition | undefined) => { sql: string; args: Arg[] },
): Promise<RangeRead<T>> {
  let horizon: SearchPosition | null = null;
  if (bounded(filter, status)) {
    const h = horizonSql(filter, status, desc, examineCap(filter), at);
    horizon = (await rows<SearchPosition>(db, h.sql, h.args))[0] ?? null;
  }
  const q = sql(horizon ?? undefined);
  return { rows: await rows<T>(db, q.sql, q.args), horizon };
}

// Re-checked under the row lock: a claim or a retry may have got there between the walk and now.
const restart = (ids: readonly string[]) => `UPDATE deliveries SET status = 'pending', schedule_attempts = 0, updated_at = $1,
    next_attempt_at = CASE WHEN lane IS NULL THEN $1::bigint ELSE ${LANE_WAITING} END
  WHERE id IN (SELECT id FROM deliveries WHERE id IN (${ids.map((_, i) => `$${i + 2}`).join(", ")})
               AND lease_until IS NULL AND status <> 'pending' ORDER BY id FOR UPDATE SKIP LOCKED)
  RETURNING webhook_id, lane`;

/**
 * deliverySearch lists deliveries across endpoints off the pool and replays them in bounded steps, each
 * in one batch transaction, as SQLite's does (see there for why replay walks oldest first, and
 * src/storage/search-order.ts for where a bounded range's horizon stops a page or a step). Locks go
 * as in `requeue`: the deliveries, the endpoints' ready rows in id order, then the lanes by `byLane`.
 */
export function deliverySearch(pool: Db, onEnqueued: () => void) {
  const walk = async (db: Db, filter: DeliveryFilter, from: SearchPosition | null, limit: number) => {
    const walks: RangeRead<WalkRow>[] = [];
    for (const status of filter.statuses) {
      walks.push(await readRange<WalkRow>(db, filter, status, false, from ?? undefined, (horizon) => {
        const r = rangeOf(filter, status, false, from ?? undefined, limit, horizon);
        return {
          sql: `SELECT d.id, d.created_at, d.webhook_id, (d.lease_until IS NULL AND w.status = 'active' AND w.deleted_at IS NULL) AS ok
                FROM deliveries d LEFT JOIN webhooks w ON w.id = d.webhook_id ${r.where}`,
          args: r.args,
        };
      }));
    }
    return mergeStep(walks, limit);
  };

  return {
    async search(filter: DeliveryFilter, { limit, before }: { limit: number; before?: SearchPosition }): Promise<SearchPage> {
      const ranges = await Promise.all(filter.statuses.map((status) =>
        readRange<DeliveryRow>(pool, filter, status, true, before, (horizon) => searchSql(filter, status, limit, before, horizon))));
      const { rows: found, resumeAfter } = newestFirst(ranges, limit);
      return { rows: found.map(fromRow), resumeAfter };
    },

    async replayable(filter: DeliveryFilter, from: SearchPosition | null, limit: number): Promise<ReplayBatch> {
      const { taken, next } = await walk(pool, filter, from, limit);
      return { count: taken.filter((r) => r.ok).length, next };
    },

    async replay(db: Db, after: AfterCommit, filter: DeliveryFilter, from: SearchPosition | null, limit: number, now: number): Promise<ReplayBatch> {
      const { taken, next } = await walk(db, filter, from, limit);
      const ids = taken.filter((r) => r.ok).map((r) => r.id);
      if (ids.length === 0) return { count: 0, next };
      const restarted = await rows<{ webhook_id: string; lane: string | null }>(db, restart(ids), [now, ...ids]);
      const endpoints = [...new Set(restarted.map((r) => r.webhook_id))].sort();
      const laneKeys = new Map<string, LaneRef>();
      for (const r of restarted) if (r.lane !== null) laneKeys.set(`${r.webhook_id}\u0000${r.lane}`, { webhook_id: r.webhook_id, lane: r.lane });
      const queue = queueRows(db);
      for (const webhookId of endpoints) await queue.lock(webhookId);
      // Each lane touched goes on from its lowest waiting position unless its head is still running.
      for (const lane of [...laneKeys.values()].sort(byLane)) await laneRows(db).resend(lane, now);
      for (const webhookId of endpoints) await queue.refresh(webhookId);
      if (restarted.length > 0) after(onEnqueued);
      return { count: restarted.length, next };
    },
  };
}
