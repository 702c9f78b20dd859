import { type DeliveryFilter, type DeliveryRecord, type DeliveryStatus, LANE_WAITING, type ReplayBatch, type SearchPosition } from "../types";
import { mergeStep, newestFirst } from "../search-order";
import { type Db, rows } from "./client";
import type { AfterCommit } from "./group-commit";
import { byLane, type LaneRef, laneRows } from "./lanes";
import { queueRows } from "./queue";

type Arg = string | number;

const COLUMNS = `d.id, d.event_id, d.webhook_id, d.event_type, d.status, d.attempts, d.next_attempt_at, d.lease_until,
  d.last_status_code, d.last_response, d.last_error, d.created_at, d.updated_at, d.delivered_at, d.lane, d.sequence`;

interface DeliveryRow extends Omit<DeliveryRecord, "leased"> {
  lease_until: number | null;
}

interface WalkRow extends SearchPosition {
  webhook_id: string;
  ok: boolean | null;
}

// The partial indexes' condition (migration 007). A failed or expired range filtered by endpoint or type
// carries it as a literal: a prepared statement's generic plan cannot tell that `status = $1` implies it,
// and would skip those indexes. Other ranges go without (deliveries_status serves them; the redundant
// term would only halve the planner's row estimate).
const UNDELIVERED = "d.status IN ('failed', 'expired')";

/**
 * rangeOf builds one status's range, ordered by (created_at, id): a failed or expired one over migration
 * 007's partial indexes (webhook_id or event_type, status, created_at, id) when filtered by endpoint or
 * type, any other over deliveries_status (status, created_at, id) or the endpoint's history, as the
 * planner prices them. `desc` reads newest first from before `at`, else oldest first after it. The row
 * comparison is an index condition in PostgreSQL, so ties within a millisecond cost nothing.
 */
export function rangeOf(filter: DeliveryFilter, status: DeliveryStatus, desc: boolean, at: SearchPosition | undefined, limit: number) {
  const args: Arg[] = [];
  const p = (value: Arg) => {
    args.push(value);
    return `$${args.length}`;
  };
  const where = [`d.status = ${p(status)}`];
  const narrowed = filter.webhookId !== undefined || filter.eventType !== undefined;
  if (narrowed && (status === "failed" || status === "expired")) where.push(UNDELIVERED);
  if (filter.webhookId !== undefined) where.push(`d.webhook_id = ${p(filter.webhookId)}`);
  if (filter.eventType !== undefined) where.push(`d.event_type = ${p(filter.eventType)}`);
  if (filter.since !== undefined) where.push(`d.created_at >= ${p(filter.since)}`);
  if (filter.until !== undefined) where.push(`d.created_at < ${p(filter.until)}`);
  if (at !== undefined) where.push(`(d.created_at, d.id) ${desc ? "<" : ">"} (${p(at.created_at)}::bigint, ${p(at.id)}::text)`);
  const order = desc ? "DESC" : "ASC";
  return { where: `WHERE ${where.join(" AND ")} ORDER BY d.created_at ${order}, d.id ${order} LIMIT ${p(limit)}`, args };
}

/** searchSql is the statement one status's page is read with (exported for EXPLAIN in the contract suite). */
export function searchSql(filter: DeliveryFilter, status: DeliveryStatus, limit: number, before?: SearchPosition) {
  const r = rangeOf(filter, status, true, before, limit);
  return { sql: `SELECT ${COLUMNS} FROM deliveries d ${r.where}`, args: r.args };
}

function fromRow(row: DeliveryRow): DeliveryRecord {
  const { lease_until, ...rest } = row;
  return { ...rest, leased: lease_until !== null };
}

// Re-checked under the row lock: a claim or a retry may have got there between the walk and now.
const restart = (ids: readonly string[]) => `UPDATE deliveries SET status = 'pending', schedule_attempts = 0, updated_at = $1,
    next_attempt_at = CASE WHEN lane IS NULL THEN $1::bigint ELSE ${LANE_WAITING} END
  WHERE id IN (SELECT id FROM deliveries WHERE id IN (${ids.map((_, i) => `$${i + 2}`).join(", ")})
               AND lease_until IS NULL AND status <> 'pending' ORDER BY id FOR UPDATE SKIP LOCKED)
  RETURNING webhook_id, lane`;

/**
 * deliverySearch lists deliveries across endpoints off the pool and replays them in bounded steps, each
 * in one batch transaction, as SQLite's does (see there for why replay walks oldest first). Locks go
 * as in `requeue`: the deliveries, the endpoints' ready rows in id order, then the lanes by `byLane`.
 */
export function deliverySearch(pool: Db, onEnqueued: () => void) {
  const walk = async (db: Db, filter: DeliveryFilter, from: SearchPosition | null, limit: number) => {
    const walks: WalkRow[][] = [];
    for (const status of filter.statuses) {
      const r = rangeOf(filter, status, false, from ?? undefined, limit);
      walks.push(await rows<WalkRow>(
        db,
        `SELECT d.id, d.created_at, d.webhook_id, (d.lease_until IS NULL AND w.status = 'active' AND w.deleted_at IS NULL) AS ok
         FROM deliveries d LEFT JOIN webhooks w ON w.id = d.webhook_id ${r.where}`,
        r.args,
      ));
    }
    return mergeStep(walks, limit);
  };

  return {
    async search(filter: DeliveryFilter, { limit, before }: { limit: number; before?: SearchPosition }): Promise<DeliveryRecord[]> {
      const pages = await Promise.all(filter.statuses.map((status) => {
        const { sql, args } = searchSql(filter, status, limit, before);
        return rows<DeliveryRow>(pool, sql, args);
      }));
      return newestFirst(pages, limit).map(fromRow);
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
