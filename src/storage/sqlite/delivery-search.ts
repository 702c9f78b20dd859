import type { Database } from "bun:sqlite";
import { LANE_WAITING } from "../delivery-types";
import type { DeliveryFilter, DeliveryStatus, ReplayBatch, SearchPage, SearchPosition } from "../types";
import type { AfterCommit } from "./group-commit";
import type { LaneRows } from "./lanes";
import type { QueueRows } from "./queue";
import { examineCap, type RangeRead, edgesOf, mergeStep, newestFirst } from "../search-order";
import { type DeliveryRow, deliveryColumns, deliveryFromRow as fromRow } from "../delivery-row";

type Arg = string | number;

const COLUMNS = deliveryColumns("d");

/** WalkRow is one delivery a replay step looks at; `ok` = unleased and its endpoint active. */
interface WalkRow extends SearchPosition {
  webhook_id: string;
  lane: string | null;
  ok: number | null;
}

// The partial indexes' condition (migration 014), word for word: INDEXED BY a partial index is an error
// unless the query's WHERE has this very term (SQLite does not reason that `status = 'failed'` implies it).
const UNDELIVERED = "d.status IN ('failed', 'expired')";

/** isUndelivered: the statuses migration 014's partial indexes hold. */
const isUndelivered = (status: DeliveryStatus) => status === "failed" || status === "expired";

/**
 * indexFor names the index one status's range is read from. A failed or expired range filtered by
 * endpoint or type reads the partial index that starts with that column (migration 014); any other
 * range reads deliveries_status (status, created_at, id) and checks the endpoint and type on the way:
 * still one range in order, no sort (migration 014 says why those statuses have no indexes of their
 * own). The index is named in the statement (INDEXED BY), so the plan never falls back to a scan
 * whatever the planner's statistics; endpoint and type together read the endpoint's range.
 */
export function indexFor(filter: DeliveryFilter, status: DeliveryStatus): string {
  if (!isUndelivered(status)) return "deliveries_status";
  if (filter.webhookId !== undefined) return "deliveries_undelivered_webhook";
  if (filter.eventType !== undefined) return "deliveries_undelivered_type";
  return "deliveries_status";
}

/**
 * bounded: the range is read off deliveries_status while the filter names an endpoint or a type, which
 * that index lacks, so each entry's row is checked; such a read examines at most the cap's entries.
 */
export function bounded(filter: DeliveryFilter, status: DeliveryStatus): boolean {
  const index = indexFor(filter, status);
  if (index === "deliveries_status") return filter.webhookId !== undefined || filter.eventType !== undefined;
  // The endpoint's undelivered index with a type as well: the type is checked row by row over the endpoint's range.
  return index === "deliveries_undelivered_webhook" && filter.eventType !== undefined;
}

/** uncovered drops from a filter what the range's index cannot narrow by: the horizon counts over the index alone. */
function uncovered(filter: DeliveryFilter, status: DeliveryStatus): DeliveryFilter {
  return indexFor(filter, status) === "deliveries_undelivered_webhook" ? { ...filter, eventType: undefined } : { ...filter, webhookId: undefined, eventType: undefined };
}

/**
 * rangeOf builds one status's range: `desc` reads newest first from before `at`, else oldest first
 * from after it, up to `horizon` inclusive when given. Each side has one plain created_at bound, what
 * the index range uses (edgesOf keeps the tighter of a time and a position); the row comparisons settle ties.
 */
export function rangeOf(filter: DeliveryFilter, status: DeliveryStatus, desc: boolean, at: SearchPosition | undefined, horizon?: SearchPosition) {
  const index = indexFor(filter, status);
  const where = index === "deliveries_status" ? ["d.status = ?"] : [UNDELIVERED, "d.status = ?"];
  const args: Arg[] = [status];
  const add = (sql: string, ...values: Arg[]) => {
    where.push(sql);
    args.push(...values);
  };
  if (filter.webhookId !== undefined) add("d.webhook_id = ?", filter.webhookId);
  if (filter.eventType !== undefined) add("d.event_type = ?", filter.eventType);
  const { lower, upper } = edgesOf(filter, desc, at, horizon);
  if (lower?.id !== undefined) add(`d.created_at >= ? AND (d.created_at, d.id) ${lower.inclusive ? ">=" : ">"} (?, ?)`, lower.created_at, lower.created_at, lower.id);
  else if (lower) add("d.created_at >= ?", lower.created_at);
  if (upper?.id !== undefined) add(`d.created_at <= ? AND (d.created_at, d.id) ${upper.inclusive ? "<=" : "<"} (?, ?)`, upper.created_at, upper.created_at, upper.id);
  else if (upper) add("d.created_at < ?", upper.created_at);
  const order = desc ? "DESC" : "ASC";
  return {
    from: `FROM deliveries AS d INDEXED BY ${index}`,
    where: `WHERE ${where.join(" AND ")} ORDER BY d.created_at ${order}, d.id ${order} LIMIT ?`,
    args,
  };
}

/**
 * horizonSql finds a bounded range's horizon: the position of the cap-th entry from `at`, whatever the
 * endpoint and type, read from deliveries_status alone (a covering index: no table row is looked at).
 * Its arguments end with LIMIT 1 and OFFSET cap - 1, which the caller adds; no row: the range is shorter.
 */
export function horizonSql(filter: DeliveryFilter, status: DeliveryStatus, desc: boolean, at?: SearchPosition) {
  const r = rangeOf(uncovered(filter, status), status, desc, at);
  return { sql: `SELECT d.created_at, d.id ${r.from} ${r.where} OFFSET ?`, args: r.args };
}

/** searchSql is the statement one status's page is read with (exported for the query-plan test and the bench). */
export function searchSql(filter: DeliveryFilter, status: DeliveryStatus, before?: SearchPosition, horizon?: SearchPosition) {
  const r = rangeOf(filter, status, true, before, horizon);
  return { sql: `SELECT ${COLUMNS} ${r.from} ${r.where}`, args: r.args };
}

function walkSql(filter: DeliveryFilter, status: DeliveryStatus, from: SearchPosition | null, horizon?: SearchPosition) {
  const r = rangeOf(filter, status, false, from ?? undefined, horizon);
  return {
    sql: `SELECT d.id, d.created_at, d.webhook_id, d.lane,
            (d.lease_until IS NULL AND w.status = 'active' AND w.deleted_at IS NULL) AS ok
          ${r.from} LEFT JOIN webhooks AS w ON w.id = d.webhook_id ${r.where}`,
    args: r.args,
  };
}

/**
 * readRange reads one status's range with the statement `sql` builds, at most `limit` rows; a bounded
 * range first finds its horizon (index only) and reads no further, so it examines at most the cap's entries.
 */
function readRange<T extends SearchPosition>(
  db: Database, filter: DeliveryFilter, status: DeliveryStatus, desc: boolean, at: SearchPosition | undefined, limit: number,
  sql: (horizon: SearchPosition | undefined) => { sql: string; args: Arg[] },
): RangeRead<T> {
  let horizon: SearchPosition | null = null;
  if (bounded(filter, status)) {
    const cap = examineCap(filter);
    const h = horizonSql(filter, status, desc, at);
    horizon = db.query<SearchPosition, Arg[]>(h.sql).get(...h.args, 1, cap - 1) ?? null;
  }
  const q = sql(horizon ?? undefined);
  return { rows: db.query<T, Arg[]>(q.sql).all(...q.args, limit), horizon };
}

/**
 * deliverySearch lists deliveries across endpoints off the read connection and replays them in bounded
 * steps on the write connection. A page reads at most limit rows per status, newest first, and merges
 * them; a replay step walks at most `limit` per status oldest first, takes the first `limit` of them
 * and sends the eligible ones again in the caller's transaction. Either stops short at a bounded
 * range's horizon (src/storage/search-order.ts). Oldest first keeps FIFO lanes in
 * order across steps: a lane's positions follow its deliveries' creation, so a step never brings back
 * a position lower than one an earlier step made the head. Statements are prepared once per shape.
 */
export function deliverySearch(reader: Database, writer: Database, queue: QueueRows, lanes: LaneRows, onEnqueued: () => void) {
  const restart = writer.query<never, [number, number, string]>(
    `UPDATE deliveries SET status = 'pending', schedule_attempts = 0, next_attempt_at = ?, updated_at = ?
     WHERE id = ? AND lease_until IS NULL AND status <> 'pending'`,
  );
  const walk = (db: Database, filter: DeliveryFilter, from: SearchPosition | null, limit: number) =>
    mergeStep(
      filter.statuses.map((status) =>
        readRange<WalkRow>(db, filter, status, false, from ?? undefined, limit, (horizon) => walkSql(filter, status, from, horizon))),
      limit,
    );

  return {
    search(filter: DeliveryFilter, { limit, before }: { limit: number; before?: SearchPosition }): SearchPage {
      const ranges = filter.statuses.map((status) =>
        readRange<DeliveryRow>(reader, filter, status, true, before, limit, (horizon) => searchSql(filter, status, before, horizon)));
      const { rows, resumeAfter } = newestFirst(ranges, limit);
      return { rows: rows.map(fromRow), resumeAfter };
    },

    replayable(filter: DeliveryFilter, from: SearchPosition | null, limit: number): ReplayBatch {
      const { taken, next } = walk(reader, filter, from, limit);
      return { count: taken.filter((r) => r.ok).length, next };
    },

    /** replay runs on the writer inside the caller's transaction (one group-commit write). */
    replay(after: AfterCommit, filter: DeliveryFilter, from: SearchPosition | null, limit: number, now: number): ReplayBatch {
      const { taken, next } = walk(writer, filter, from, limit);
      const endpoints = new Set<string>();
      const laneKeys = new Map<string, { webhookId: string; lane: string }>();
      let count = 0;
      for (const row of taken) {
        if (!row.ok) continue;
        // As recover does: every lane delivery waits first, then each lane goes on from its lowest position.
        count += restart.run(row.lane === null ? now : LANE_WAITING, now, row.id).changes;
        endpoints.add(row.webhook_id);
        if (row.lane !== null) laneKeys.set(`${row.webhook_id}\u0000${row.lane}`, { webhookId: row.webhook_id, lane: row.lane });
      }
      for (const { webhookId, lane } of laneKeys.values()) lanes.settle(webhookId, lane, now);
      for (const webhookId of endpoints) queue.refresh(webhookId);
      if (count > 0) after(onEnqueued);
      return { count, next };
    },
  };
}
