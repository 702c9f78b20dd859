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
 * endpoint with a large backlog cannot starve a cold one). It is NULL, and the row off the index, when
 * there is nothing unfinished (SQLite's multi-argument MAX is NULL when next_due_at is) and while the
 * endpoint is at its limit, so neither a claim round nor the next wake-up ever steps over endpoints
 * that cannot take more, however many of them there are.
 *
 * A rate-limited endpoint (SPEC §9) also keeps `rate_log`, its claims of the last second as
 * "time:count" runs, and `paced_until`, when its full window frees room; ready_at includes it, so an
 * endpoint over its rate is off the index like one at its limit. Unlimited endpoints keep 0 and NULL.
 */
export function queueRows(db: Database) {
  // The one rule for ready_at; an UPDATE's expressions see the row as it was, so callers changing a
  // column the rule reads pass its new value.
  const readyRule = (due: string, inFlight = "in_flight", max = "max_in_flight", served = "served_at", paced = "paced_until") =>
    `CASE WHEN ${inFlight} < ${max} THEN MAX(${due}, ${served}, ${paced}) END`;
  const readyAt = (due: string) => readyRule(due);
  const dueNow = db.query<{ next_due_at: number | null }, [string]>("SELECT next_due_at FROM delivery_queues WHERE webhook_id = ?");
  const enqueue = db.query<never, [number, string]>(
    `UPDATE delivery_queues SET next_due_at = MIN(COALESCE(next_due_at, ?1), ?1), ready_at = ${readyAt("MIN(COALESCE(next_due_at, ?1), ?1)")}
     WHERE webhook_id = ?2`,
  );
  const dueOf = "(SELECT MIN(next_attempt_at) AS t FROM deliveries WHERE webhook_id = ?1 AND next_attempt_at IS NOT NULL) AS d";
  // One statement per endpoint touched: the in-flight change and the due time read off its queue index.
  const adjust = db.query<never, [string, number]>(
    `UPDATE delivery_queues SET in_flight = MAX(0, in_flight + ?2), next_due_at = d.t, ready_at = ${readyRule("d.t", "MAX(0, in_flight + ?2)")}
     FROM ${dueOf} WHERE webhook_id = ?1`,
  );
  const took = db.query<never, [string, number, number, number, number, string | null]>(
    `UPDATE delivery_queues SET in_flight = in_flight + ?2, served_at = ?3, max_in_flight = ?4, paced_until = ?5, rate_log = ?6,
       next_due_at = d.t, ready_at = ${readyRule("d.t", "in_flight + ?2", "?4", "?3", "?5")}
     FROM ${dueOf} WHERE webhook_id = ?1`,
  );
  const unpace = db.query<never, [string]>(
    `UPDATE delivery_queues SET paced_until = 0, ready_at = ${readyRule("next_due_at", "in_flight", "max_in_flight", "served_at", "0")}
     WHERE webhook_id = ?1 AND paced_until <> 0`,
  );
  const minDue = "(SELECT MIN(next_attempt_at) FROM deliveries d WHERE d.webhook_id = delivery_queues.webhook_id AND d.next_attempt_at IS NOT NULL)";
  const refreshAll = db.query(`UPDATE delivery_queues SET next_due_at = ${minDue}, ready_at = ${readyAt(minDue)}`);
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
  // At start: no lease is held, and a served_at ahead of the clock (stepped back meanwhile) must not hold an endpoint back.
  const limitAll = db.query<never, [number]>("UPDATE delivery_queues SET max_in_flight = ?");
  const noneInFlight = db.query("UPDATE delivery_queues SET in_flight = 0, served_at = MIN(served_at, ?)");
  const ready = db.query<ReadyRow, [number, number]>(
    `SELECT webhook_id, in_flight, paced_until, rate_log FROM delivery_queues
     WHERE ready_at IS NOT NULL AND ready_at <= ? ORDER BY ready_at LIMIT ?`,
  );
  const firstReady = db.query<{ t: number | null }, []>("SELECT MIN(ready_at) AS t FROM delivery_queues WHERE ready_at IS NOT NULL");

  return {
    /** enqueue: a delivery due at `dueAt` was added; false when the endpoint is not served (inactive). */
    /** serves: the endpoint has a ready row, i.e. it is active and takes deliveries in this transaction. */
    serves: (webhookId: string): boolean => dueNow.get(webhookId) !== null,
    enqueue: (webhookId: string, dueAt: number): boolean => {
      const row = dueNow.get(webhookId);
      if (!row) return false;
      // With work already due no later, the row would not change: a read is cheaper than a no-op write.
      if (row.next_due_at === null || row.next_due_at > dueAt) enqueue.run(dueAt, webhookId);
      return true;
    },
    /** refresh recomputes the due time from the endpoint's queue index after deliveries changed. */
    refresh: (webhookId: string) => void adjust.run(webhookId, 0),
    /** returned: `n` of its leases ended (recorded, released or lapsed); the due time is recomputed too. */
    returned: (webhookId: string, n: number) => void adjust.run(webhookId, -n),
    /** open gives an endpoint that became active its ready row. */
    open: (webhookId: string) => {
      open.run(webhookId);
      adjust.run(webhookId, 0);
    },
    /** close takes an inactive endpoint's row away: nothing of it is claimed any more. */
    close: (webhookId: string) => void close.run(webhookId),
    /** took: a claim leased `n` more under a limit of `perEndpoint` (kept, so a full endpoint leaves the index). */
    took: (webhookId: string, n: number, now: number, perEndpoint: number, pacedUntil = 0, rateLog: string | null = null) =>
      void took.run(webhookId, n, now, perEndpoint, pacedUntil, rateLog),
    /** unpace: the endpoint's rate changed; the next claim applies the new one to the window so far. */
    unpace: (webhookId: string) => void unpace.run(webhookId),
    /** reset: no lease is held any more (start); rows are made for any active endpoint missing one and recomputed. */
    reset: (now: number) => {
      openMissing.run();
      noneInFlight.run(now);
      refreshAll.run();
    },
    /** limit applies a new per-endpoint limit to every row (config changed): once per change, O(endpoints). */
    limit: (perEndpoint: number) => {
      limitAll.run(perEndpoint);
      refreshAll.run();
    },
    ready: (now: number, limit: number) => ready.all(now, limit),
    firstReady: (): number | null => firstReady.get()?.t ?? null,
  };
}

/** ReadyRow is an endpoint a claim may take from. */
export interface ReadyRow {
  webhook_id: string;
  in_flight: number;
  paced_until: number;
  rate_log: string | null;
}

/** QueueRows is the ready-row bookkeeping of one connection. */
export type QueueRows = ReturnType<typeof queueRows>;
