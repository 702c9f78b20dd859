import { LANE_WAITING } from "../types";
import { type Db, one, rows } from "./client";

/** LaneRef names one FIFO lane: an endpoint and a lane of it ("" = its single or "no key" lane). */
export interface LaneRef {
  webhook_id: string;
  lane: string;
}

/** LanePlace is what storing a delivery in a lane gave it: its position, and whether it is the head. */
export interface LanePlace {
  sequence: number;
  head: boolean;
}

/** byLane orders lanes (endpoint id, then lane) the way every transaction locks them, so two cannot deadlock on lane rows. */
export function byLane(a: LaneRef, b: LaneRef): number {
  if (a.webhook_id !== b.webhook_id) return a.webhook_id < b.webhook_id ? -1 : 1;
  return a.lane < b.lane ? -1 : a.lane > b.lane ? 1 : 0;
}

const laneKey = (l: LaneRef) => `${l.webhook_id}\u0000${l.lane}`;

// A live head is unfinished (next_attempt_at not NULL) and not itself waiting: a head sent again
// (retry, recover) waits at LANE_WAITING in this transaction until its lane is settled.
const LIVE = `next_attempt_at IS NOT NULL AND next_attempt_at <> ${LANE_WAITING}`;
const HEAD_LIVE = `SELECT 1 AS n FROM deliveries WHERE id = $1 AND ${LIVE}`;
const LOCK = "SELECT active_id FROM delivery_lanes WHERE webhook_id = $1 AND lane = $2 FOR UPDATE";
// The lane's lowest waiting position: the first entry of one range of deliveries_lane.
const PROMOTE_LOWEST = `WITH next AS (
    UPDATE deliveries SET next_attempt_at = $3, updated_at = $3
    WHERE id = (SELECT id FROM deliveries WHERE webhook_id = $1 AND lane = $2 AND next_attempt_at = ${LANE_WAITING}
                ORDER BY sequence LIMIT 1)
    RETURNING id)
  UPDATE delivery_lanes SET active_id = (SELECT id FROM next), updated_at = $3 WHERE webhook_id = $1 AND lane = $2
  RETURNING active_id`;
const PROMOTE_ONE = `WITH next AS (
    UPDATE deliveries SET next_attempt_at = $3, updated_at = $3 WHERE id = $4 RETURNING id)
  UPDATE delivery_lanes SET active_id = (SELECT id FROM next), updated_at = $3 WHERE webhook_id = $1 AND lane = $2
  RETURNING active_id`;

/**
 * laneRows keeps FIFO lanes (SPEC §9) inside a batch's transaction. Lock order, the same in every
 * transaction: the deliveries being finished or sent again, the endpoint's ready row, its lane rows
 * (by `byLane`), then the waiting delivery promoted. (Events stored in one batch still take ready rows
 * in event order, so PostgreSQL may break a rare deadlock between batches; that is a retried 503.) A head is current only while its delivery is unfinished:
 * a head that finished or was pruned without a successor (disabled endpoint, retention) heals itself
 * on the lane's next use, one primary-key read.
 */
export function laneRows(db: Db) {
  const hasHead = async (activeId: string | null, finished?: string) =>
    activeId !== null && activeId !== finished && (await one(db, HEAD_LIVE, [activeId])) !== null;
  return {
    /**
     * place gives each new delivery the next position of its lane (lanes distinct, sorted by
     * `byLane`). ON CONFLICT DO UPDATE takes each lane row's lock until COMMIT, so positions follow
     * commit order on every node. Whether a lane has an unfinished head is read in the next statement,
     * once the locks are held: a subquery of the upsert would see the head as it was when the
     * statement began, before a transaction it waited for promoted another. Three statements for all
     * of an event's lanes; the last two only for lanes that existed already.
     */
    async place(deliveries: readonly (LaneRef & { id: string })[], now: number): Promise<Map<string, LanePlace>> {
      if (deliveries.length === 0) return new Map();
      const params: (string | number)[] = [now];
      const values = deliveries.map((d) => {
        params.push(d.webhook_id, d.lane, d.id);
        const n = params.length;
        return `($${n - 2}, $${n - 1}, 2, $${n}, $1::bigint)`;
      });
      const placed = await rows<LaneRef & { sequence: number; active_id: string | null }>(
        db,
        `INSERT INTO delivery_lanes AS l (webhook_id, lane, next_sequence, active_id, updated_at) VALUES ${values.join(", ")}
         ON CONFLICT (webhook_id, lane) DO UPDATE SET next_sequence = l.next_sequence + 1, updated_at = EXCLUDED.updated_at
         RETURNING webhook_id, lane, next_sequence - 1 AS sequence, active_id`,
        params,
      );
      const byLaneKey = new Map(placed.map((p) => [laneKey(p), p]));
      const heads = [...new Set(placed.map((p) => p.active_id).filter((id) => id !== null && !deliveries.some((d) => d.id === id)))];
      const unfinished = new Set(
        heads.length === 0
          ? []
          : (await rows<{ id: string }>(
            db, `SELECT id FROM deliveries WHERE id IN (${heads.map((_, i) => `$${i + 1}`).join(", ")}) AND ${LIVE}`, heads,
          )).map((r) => r.id),
      );
      const result = new Map<string, LanePlace>();
      const taken: (LaneRef & { id: string })[] = [];
      for (const d of deliveries) {
        const p = byLaneKey.get(laneKey(d))!;
        const head = p.active_id === d.id || p.active_id === null || !unfinished.has(p.active_id);
        if (head && p.active_id !== d.id) taken.push(d);
        result.set(d.id, { sequence: p.sequence, head });
      }
      if (taken.length > 0) {
        const args: (string | number)[] = [now];
        const list = taken.map((d) => {
          args.push(d.webhook_id, d.lane, d.id);
          return `($${args.length - 2}, $${args.length - 1}, $${args.length})`;
        });
        await rows(
          db,
          `UPDATE delivery_lanes l SET active_id = v.id, updated_at = $1 FROM (VALUES ${list.join(", ")}) AS v (webhook_id, lane, id)
           WHERE l.webhook_id = v.webhook_id AND l.lane = v.lane`,
          args,
        );
      }
      return result;
    },

    /**
     * advance: `finished` (a delivery of the lane) was delivered or expired; the lowest waiting
     * position becomes the head, due at `now`. The lane row is locked first, in a statement of its
     * own, so the waiting rows read next include any stored by a transaction that held the lock.
     */
    async advance(lane: LaneRef, finished: string, now: number): Promise<void> {
      const row = await one<{ active_id: string | null }>(db, LOCK, [lane.webhook_id, lane.lane]);
      if (!row || (await hasHead(row.active_id, finished))) return;
      await rows(db, PROMOTE_LOWEST, [lane.webhook_id, lane.lane, now]);
    },

    /**
     * resend: deliveries of the lane were made pending again at LANE_WAITING (retry, recover). If
     * the lane has no unfinished head, `candidate` (retry) or else the lowest waiting position
     * (recover) becomes the head, due at `now`; otherwise they wait, keeping their positions.
     * Resolves true when the lane took a new head.
     */
    async resend(lane: LaneRef, now: number, candidate?: string): Promise<boolean> {
      // A lane row pruned while idle comes back numbering on after its highest stored position; the
      // upsert takes its lock as LOCK would, even if another transaction recreated it meanwhile.
      const row = (await one<{ active_id: string | null }>(db, LOCK, [lane.webhook_id, lane.lane])) ??
        (await one<{ active_id: string | null }>(
          db,
          `INSERT INTO delivery_lanes (webhook_id, lane, next_sequence, active_id, updated_at)
           SELECT $1, $2, COALESCE(MAX(sequence), 0) + 1, NULL, $3 FROM deliveries WHERE webhook_id = $1 AND lane = $2
           ON CONFLICT (webhook_id, lane) DO UPDATE SET updated_at = EXCLUDED.updated_at RETURNING active_id`,
          [lane.webhook_id, lane.lane, now],
        ));
      if (await hasHead(row?.active_id ?? null)) return false;
      if (candidate !== undefined) await rows(db, PROMOTE_ONE, [lane.webhook_id, lane.lane, now, candidate]);
      else await rows(db, PROMOTE_LOWEST, [lane.webhook_id, lane.lane, now]);
      return true;
    },
  };
}

/** IDLE_LANES: lane rows retention may drop: untouched since the cutoff, and nothing of the lane unfinished. */
export const IDLE_LANES = `DELETE FROM delivery_lanes WHERE (webhook_id, lane) IN (
  SELECT l.webhook_id, l.lane FROM delivery_lanes l WHERE l.updated_at < $1
    AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.webhook_id = l.webhook_id AND d.lane = l.lane AND d.next_attempt_at IS NOT NULL)
  LIMIT $2 FOR UPDATE OF l SKIP LOCKED)`;
