import type { Database } from "bun:sqlite";
import { LANE_WAITING } from "../types";

/**
 * laneRows keeps SPEC §9's FIFO lanes on the write connection, inside the caller's transaction:
 * `delivery_lanes` holds each lane's next position and its head (`active_id`). A head holds its lane
 * only while it is unfinished; one that was delivered, expired or pruned is read as "no head" (one
 * primary-key read), so lanes heal by themselves after disable, delete or retention, and those paths
 * need no lane work. The writer is the only one (SQLite), so reading then writing a lane row is the lock.
 */
export function laneRows(db: Database) {
  const join = db.query<{ sequence: number; active_id: string | null }, [string, string, number]>(
    `INSERT INTO delivery_lanes (webhook_id, lane, next_sequence, active_id, updated_at) VALUES (?1, ?2, 2, NULL, ?3)
     ON CONFLICT (webhook_id, lane) DO UPDATE SET next_sequence = next_sequence + 1, updated_at = ?3
     RETURNING next_sequence - 1 AS sequence, active_id`,
  );
  const activeOf = db.query<{ active_id: string | null }, [string, string]>(
    "SELECT active_id FROM delivery_lanes WHERE webhook_id = ? AND lane = ?",
  );
  const unfinished = db.query<{ n: number }, [string]>("SELECT COUNT(*) AS n FROM deliveries WHERE id = ? AND next_attempt_at IS NOT NULL");
  const setHead = db.query<never, [string, string, string, number, number]>(
    `INSERT INTO delivery_lanes (webhook_id, lane, next_sequence, active_id, updated_at) VALUES (?1, ?2, ?4 + 1, ?3, ?5)
     ON CONFLICT (webhook_id, lane) DO UPDATE SET active_id = ?3, updated_at = ?5, next_sequence = MAX(next_sequence, ?4 + 1)`,
  );
  // The lane index: equal webhook_id, lane and next_attempt_at, then the lowest sequence.
  const firstWaiting = db.query<{ id: string; sequence: number }, [string, string, number]>(
    "SELECT id, sequence FROM deliveries WHERE webhook_id = ? AND lane = ? AND next_attempt_at = ? ORDER BY sequence LIMIT 1",
  );
  const makeDue = db.query<never, [number, string]>("UPDATE deliveries SET next_attempt_at = ? WHERE id = ?");
  const clearHead = db.query<never, [number, string, string]>(
    "UPDATE delivery_lanes SET active_id = NULL, updated_at = ? WHERE webhook_id = ? AND lane = ?",
  );
  const headHolds = (activeId: string | null, except: string) => activeId !== null && activeId !== except && (unfinished.get(activeId)?.n ?? 0) > 0;
  // A head sent back to LANE_WAITING (recover) holds nothing: the lane goes on from its lowest position.
  const running = db.query<{ n: number }, [string, number]>(
    "SELECT COUNT(*) AS n FROM deliveries WHERE id = ? AND next_attempt_at IS NOT NULL AND next_attempt_at <> ?",
  );
  const promoteLowest = (webhookId: string, lane: string, now: number) => {
    const next = firstWaiting.get(webhookId, lane, LANE_WAITING);
    if (!next) {
      clearHead.run(now, webhookId, lane);
      return;
    }
    makeDue.run(now, next.id);
    setHead.run(webhookId, lane, next.id, next.sequence, now);
  };

  return {
    /**
     * join gives delivery `id` (about to be stored) the lane's next position; it is the head, due at
     * `now`, when the lane has no unfinished head, else it waits (next_attempt_at = LANE_WAITING).
     */
    join(webhookId: string, lane: string, id: string, now: number): { sequence: number; dueAt: number } {
      const row = join.get(webhookId, lane, now)!;
      if (headHolds(row.active_id, id)) return { sequence: row.sequence, dueAt: LANE_WAITING };
      setHead.run(webhookId, lane, id, row.sequence, now);
      return { sequence: row.sequence, dueAt: now };
    },
    /**
     * resend: delivery `id` at `sequence` is sent again (retry, recover); it becomes the head, due at
     * `now`, unless another unfinished head holds the lane. Returns its next_attempt_at.
     */
    resend(webhookId: string, lane: string, id: string, sequence: number, now: number): number {
      if (headHolds(activeOf.get(webhookId, lane)?.active_id ?? null, id)) return LANE_WAITING;
      setHead.run(webhookId, lane, id, sequence, now);
      return now;
    },
    /** finished: delivery `id` of the lane was delivered or expired; the lowest waiting one becomes the head, due now. */
    finished(webhookId: string, lane: string, id: string, now: number): void {
      if (headHolds(activeOf.get(webhookId, lane)?.active_id ?? null, id)) return;
      promoteLowest(webhookId, lane, now);
    },
    /**
     * settle: deliveries of the lane were all set waiting (recover); unless a head is still running
     * (due, retrying or leased), the lowest waiting position becomes the head, due now.
     */
    settle(webhookId: string, lane: string, now: number): void {
      const active = activeOf.get(webhookId, lane)?.active_id ?? null;
      if (active !== null && (running.get(active, LANE_WAITING)?.n ?? 0) > 0) return;
      promoteLowest(webhookId, lane, now);
    },
  };
}

/** LaneRows is the lane bookkeeping of the write connection. */
export type LaneRows = ReturnType<typeof laneRows>;
