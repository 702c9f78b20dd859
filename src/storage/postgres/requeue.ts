import { type DeliveryStatus, LANE_WAITING, type RetryOutcome } from "../types";
import { type Db, one, rows } from "./client";
import type { AfterCommit } from "./group-commit";
import { byLane, type LaneRef, laneRows } from "./lanes";
import { queueRows } from "./queue";

const IS_ACTIVE = "SELECT 1 AS n FROM webhooks WHERE id = $1 AND status = 'active' AND deleted_at IS NULL";
// A lane delivery sent again waits (LANE_WAITING) until its lane says whether it is the head.
const due = `CASE WHEN lane IS NULL THEN $1::bigint ELSE ${LANE_WAITING} END`;
// The row is re-checked by the UPDATE itself: a claim or another retry may have got there first.
const RESTART = `UPDATE deliveries SET status = 'pending', schedule_attempts = 0, next_attempt_at = ${due}, updated_at = $1
  WHERE id = $2 AND lease_until IS NULL AND status <> 'pending' RETURNING lane`;
const RECOVER = `UPDATE deliveries SET status = 'pending', schedule_attempts = 0, next_attempt_at = ${due}, updated_at = $1
  WHERE webhook_id = $2 AND status IN ('failed', 'expired') AND created_at >= $3 AND lease_until IS NULL RETURNING lane`;

/**
 * requeue sends deliveries again (retry, recover) inside a batch's transaction. An unordered one is
 * due at once; a lane delivery becomes its lane's head if the lane has none unfinished, else it waits
 * keeping its position (./lanes.ts). Locks go as in `complete`: the deliveries, the ready row, the lanes.
 */
export function requeue(onEnqueued: () => void) {
  return {
    async retry(db: Db, after: AfterCommit, id: string, now: number): Promise<RetryOutcome> {
      // Read without a lock: a pending delivery waiting in a lane may be promoted by a `complete` that
      // holds its lane, and answering "already_pending" must not hold that delivery until COMMIT.
      const row = await one<{ webhook_id: string; status: DeliveryStatus; lease_until: number | null }>(
        db, "SELECT webhook_id, status, lease_until FROM deliveries WHERE id = $1", [id],
      );
      if (!row) return "not_found";
      if (!(await one(db, IS_ACTIVE, [row.webhook_id]))) return "inactive";
      if (row.lease_until !== null) return "leased";
      if (row.status === "pending") return "already_pending";
      const restarted = await one<{ lane: string | null }>(db, RESTART, [now, id]);
      if (!restarted) {
        const again = await one<{ lease_until: number | null }>(db, "SELECT lease_until FROM deliveries WHERE id = $1", [id]);
        return again?.lease_until != null ? "leased" : "already_pending";
      }
      const queue = queueRows(db);
      let headed = true;
      if (restarted.lane !== null) {
        await queue.lock(row.webhook_id);
        headed = await laneRows(db).resend({ webhook_id: row.webhook_id, lane: restarted.lane }, now, id);
      }
      await queue.refresh(row.webhook_id);
      after(onEnqueued);
      return headed ? "ok" : "waiting";
    },

    async recover(db: Db, after: AfterCommit, webhookId: string, since: number, now: number): Promise<number> {
      if (!(await one(db, IS_ACTIVE, [webhookId]))) return 0;
      const found = await rows<{ lane: string | null }>(db, RECOVER, [now, webhookId, since]);
      if (found.length === 0) return 0;
      // Each lane touched goes on from its lowest waiting position, lanes in the one lock order.
      const lanes: LaneRef[] = [...new Set(found.filter((r) => r.lane !== null).map((r) => r.lane!))]
        .map((lane) => ({ webhook_id: webhookId, lane }))
        .sort(byLane);
      const queue = queueRows(db);
      if (lanes.length > 0) await queue.lock(webhookId);
      for (const lane of lanes) await laneRows(db).resend(lane, now);
      await queue.refresh(webhookId);
      after(onEnqueued);
      return found.length;
    },
  };
}
