import type { Database } from "bun:sqlite";

/**
 * QueueRows keeps `delivery_queues`, one ready row per active endpoint: its earliest due time, its
 * deliveries in flight (leased by any process) and when a claim last took from it. Claims read
 * endpoints off the `ready_at` index instead of walking all endpoints, and the next wake-up is one
 * indexed read. Every change to an endpoint's unfinished deliveries calls one of these in the same
 * transaction, so the row never disagrees with the deliveries it summarises.
 *
 * ready_at = MAX(next_due_at, served_at): an endpoint just served sorts behind one whose work has been
 * waiting since before that, which makes claims round-robin among endpoints with due work (a hot
 * endpoint with a large backlog cannot starve a cold one). SQLite's multi-argument MAX is NULL when
 * next_due_at is NULL (nothing unfinished), which takes the row off the index.
 */
export function queueRows(db: Database) {
  const enqueue = db.query<never, [number, string]>(
    `UPDATE delivery_queues SET next_due_at = MIN(COALESCE(next_due_at, ?1), ?1), ready_at = MAX(MIN(COALESCE(next_due_at, ?1), ?1), served_at)
     WHERE webhook_id = ?2`,
  );
  const refresh = db.query<never, [string]>(
    `UPDATE delivery_queues SET next_due_at = d.t, ready_at = MAX(d.t, served_at)
     FROM (SELECT MIN(next_attempt_at) AS t FROM deliveries WHERE webhook_id = ?1 AND next_attempt_at IS NOT NULL) AS d
     WHERE webhook_id = ?1`,
  );
  const refreshAll = db.query(
    `UPDATE delivery_queues SET
       next_due_at = (SELECT MIN(next_attempt_at) FROM deliveries d WHERE d.webhook_id = delivery_queues.webhook_id AND d.next_attempt_at IS NOT NULL),
       ready_at = MAX((SELECT MIN(next_attempt_at) FROM deliveries d WHERE d.webhook_id = delivery_queues.webhook_id AND d.next_attempt_at IS NOT NULL), served_at)`,
  );
  const open = db.query<never, [string]>(
    `INSERT INTO delivery_queues (webhook_id, in_flight, served_at)
     VALUES (?1, (SELECT COUNT(*) FROM deliveries WHERE webhook_id = ?1 AND lease_until IS NOT NULL), 0)
     ON CONFLICT (webhook_id) DO NOTHING`,
  );
  const openMissing = db.query(
    `INSERT INTO delivery_queues (webhook_id, in_flight, served_at)
     SELECT id, 0, 0 FROM webhooks WHERE status = 'active' AND deleted_at IS NULL
     ON CONFLICT (webhook_id) DO NOTHING`,
  );
  const close = db.query<never, [string]>("DELETE FROM delivery_queues WHERE webhook_id = ?");
  const took = db.query<never, [number, number, string]>("UPDATE delivery_queues SET in_flight = in_flight + ?, served_at = ? WHERE webhook_id = ?");
  const returned = db.query<never, [number, string]>("UPDATE delivery_queues SET in_flight = MAX(0, in_flight - ?) WHERE webhook_id = ?");
  const noneInFlight = db.query("UPDATE delivery_queues SET in_flight = 0");
  const ready = db.query<{ webhook_id: string; in_flight: number }, [number, number, number]>(
    `SELECT webhook_id, in_flight FROM delivery_queues
     WHERE ready_at IS NOT NULL AND ready_at <= ?1 AND in_flight < ?2 ORDER BY ready_at LIMIT ?3`,
  );
  const firstReady = db.query<{ t: number }, [number]>(
    "SELECT ready_at AS t FROM delivery_queues WHERE ready_at IS NOT NULL AND in_flight < ? ORDER BY ready_at LIMIT 1",
  );

  return {
    /** enqueue: a delivery due at `dueAt` was added; false when the endpoint is not served (inactive). */
    enqueue: (webhookId: string, dueAt: number): boolean => enqueue.run(dueAt, webhookId).changes > 0,
    /** refresh recomputes the due time from the endpoint's queue index after deliveries changed. */
    refresh: (webhookId: string) => void refresh.run(webhookId),
    /** open gives an endpoint that became active its ready row. */
    open: (webhookId: string) => {
      open.run(webhookId);
      refresh.run(webhookId);
    },
    /** close takes an inactive endpoint's row away: nothing of it is claimed any more. */
    close: (webhookId: string) => void close.run(webhookId),
    took: (webhookId: string, n: number, now: number) => void took.run(n, now, webhookId),
    returned: (webhookId: string, n: number) => void returned.run(n, webhookId),
    /** reset: no lease is held any more (start); rows are made for any active endpoint missing one and recomputed. */
    reset: () => {
      openMissing.run();
      noneInFlight.run();
      refreshAll.run();
    },
    ready: (now: number, perEndpoint: number, limit: number) => ready.all(now, perEndpoint, limit),
    firstReady: (perEndpoint: number): number | null => firstReady.get(perEndpoint)?.t ?? null,
  };
}

/** QueueRows is the ready-row bookkeeping of one connection. */
export type QueueRows = ReturnType<typeof queueRows>;
