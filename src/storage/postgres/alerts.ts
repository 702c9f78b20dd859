import type {
  AttemptDecision, DisableReason, EndpointState, EventRecord, ExpiryBatch, ExpiryFacts, OperationalEvents,
} from "../types";
import { type Db, one, rows, run } from "./client";
import { type AttemptFacts, type ExpiryBatchRow, expiryBatchOf } from "../alert-types";
import type { AfterCommit } from "./group-commit";
export type { AttemptFacts };


/** Emit stores an event (and its fan-out) in the caller's transaction. */
export type Emit = (db: Db, after: AfterCommit, event: EventRecord) => Promise<unknown>;

const fromRow = expiryBatchOf;
type BatchRow = ExpiryBatchRow;

const PUT_BATCH = `INSERT INTO alert_expiry_batches (webhook_id, url, window_start, count, delivery_ids, event_types, last_error)
  VALUES ($1, $2, $3, $4, $5, $6, $7)
  ON CONFLICT (webhook_id) DO UPDATE SET url = EXCLUDED.url, window_start = EXCLUDED.window_start, count = EXCLUDED.count,
    delivery_ids = EXCLUDED.delivery_ids, event_types = EXCLUDED.event_types, last_error = EXCLUDED.last_error`;
// The oldest is the first row per status of the (status, created_at) index; the count walks it, so it is
// read only when an event is to be stored.
const OLDEST = `SELECT LEAST((SELECT MIN(created_at) FROM deliveries WHERE status = 'pending'),
                             (SELECT MIN(created_at) FROM deliveries WHERE status = 'failed')) AS t`;
const UNFINISHED = "SELECT COUNT(*) AS n FROM deliveries WHERE status IN ('pending', 'failed')";

/**
 * alertRows stores SPEC §11's operational events inside the transaction of the change that causes
 * them, as on SQLite (src/storage/sqlite/alerts.ts). Nodes share the state: an endpoint's window row
 * and the backlog row are locked while read and written, so two nodes never both report the same.
 */
export function alertRows(ops: OperationalEvents | null, emit: Emit) {
  const save = (db: Db, webhookId: string, b: ExpiryBatch) =>
    run(db, PUT_BATCH, [webhookId, b.url, b.windowStart, b.count, JSON.stringify(b.deliveryIds), JSON.stringify(b.eventTypes), b.lastError]);

  const expiry = async (db: Db, after: AfterCommit, f: ExpiryFacts, now: number) => {
    if (!ops) return;
    const row = await one<BatchRow>(db, "SELECT * FROM alert_expiry_batches WHERE webhook_id = $1 FOR UPDATE", [f.webhookId]);
    const { events, batch } = ops.expiry(row ? fromRow(row) : null, f, now);
    await save(db, f.webhookId, batch);
    for (const e of events) await emit(db, after, e);
  };

  return {
    /** disabled reports an endpoint taken out of service, with how many unfinished deliveries expired with it. */
    async disabled(db: Db, after: AfterCommit, webhookId: string, url: string, reason: DisableReason, expired: number, now: number): Promise<void> {
      if (ops) await emit(db, after, ops.disabled({ webhookId, url, reason, expired }, now));
    },

    /** clearReported forgets a reported streak whose failure record an operator cleared (re-enabled). */
    async clearReported(db: Db, webhookId: string): Promise<void> {
      if (ops) await run(db, "UPDATE webhooks SET failing_reported = 0 WHERE id = $1", [webhookId]);
    },

    /** attempt stores what one recorded attempt reports; `state` is the endpoint after the decision, `before` as the decision saw it; resolves with whether its streak is reported now. */
    async attempt(db: Db, after: AfterCommit, d: AttemptDecision, before: EndpointState, state: EndpointState, f: AttemptFacts, now: number): Promise<boolean> {
      const reported = before.failing_reported === true;
      if (!ops) return reported;
      const report = ops.attempt(d, before, f.eventType);
      if (report.failing) {
        await run(db, "UPDATE webhooks SET failing_reported = 1 WHERE id = $1", [f.webhookId]);
        const failingSince = state.failing_since ?? f.attemptedAt;
        await emit(db, after, ops.failing({ webhookId: f.webhookId, url: f.url, failureCount: state.failure_count, failingSince, lastError: f.attemptError }, now));
      }
      if (report.recovered) {
        await run(db, "UPDATE webhooks SET failing_reported = 0 WHERE id = $1", [f.webhookId]);
        await emit(db, after, ops.recovered({ webhookId: f.webhookId, url: f.url, failingSince: before.failing_since, recoveredAt: f.attemptedAt }, now));
      }
      if (report.expired) {
        await expiry(db, after, { webhookId: f.webhookId, url: f.url, deliveryId: f.deliveryId, eventType: f.eventType, lastError: f.deliveryError }, now);
      }
      return report.failing ? true : report.recovered ? false : reported;
    },

    /** flushExpiries reports every ended window that holds expiries; windows another node is writing are left to it. */
    async flushExpiries(db: Db, after: AfterCommit, now: number): Promise<number> {
      if (!ops) return 0;
      let n = 0;
      const waiting = await rows<BatchRow>(db, "SELECT * FROM alert_expiry_batches WHERE count > 0 ORDER BY webhook_id FOR UPDATE SKIP LOCKED");
      for (const row of waiting) {
        const { event, batch } = ops.flush(row.webhook_id, fromRow(row), now);
        if (!event) continue;
        await save(db, row.webhook_id, batch);
        await emit(db, after, event);
        n++;
      }
      return n;
    },

    /** checkBacklog stores the backlog event the queue's state calls for; the state row is locked, so one node decides at a time. */
    async checkBacklog(db: Db, after: AfterCommit, now: number): Promise<string | null> {
      if (!ops) return null;
      await run(db, "INSERT INTO alert_state (name, reported, reported_at) VALUES ('backlog', 0, NULL) ON CONFLICT (name) DO NOTHING");
      const row = await one<{ reported: number; reported_at: number | null }>(db, "SELECT reported, reported_at FROM alert_state WHERE name = 'backlog' FOR UPDATE");
      const oldestPendingAt = (await one<{ t: number | null }>(db, OLDEST))?.t ?? null;
      const before = { reported: row?.reported === 1, reportedAt: row?.reported_at ?? null };
      // What is decided does not depend on the count, only what an event says.
      let decided = ops.backlog({ oldestPendingAt, pending: 0 }, before, now);
      if (decided.event) decided = ops.backlog({ oldestPendingAt, pending: (await one<{ n: number }>(db, UNFINISHED))?.n ?? 0 }, before, now);
      const { event, state } = decided;
      if (!event && state.reported === before.reported && state.reportedAt === before.reportedAt) return null;
      await run(db, "UPDATE alert_state SET reported = $1, reported_at = $2 WHERE name = 'backlog'", [state.reported ? 1 : 0, state.reportedAt]);
      if (event) await emit(db, after, event);
      return event?.type ?? null;
    },
  };
}

/** AlertRows is what the other PostgreSQL stores call to report operational events. */
export type AlertRows = ReturnType<typeof alertRows>;
