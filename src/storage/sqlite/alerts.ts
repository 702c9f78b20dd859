import type { Database } from "bun:sqlite";
import type {
  AttemptDecision, DisableReason, EndpointState, EventRecord, ExpiryBatch, ExpiryFacts, OperationalEvents,
} from "../types";
import { type AttemptFacts, type ExpiryBatchRow, expiryBatchOf } from "../alert-types";
import type { AfterCommit } from "./group-commit";
export type { AttemptFacts };


/** Emit stores an event (and its fan-out) in the caller's transaction. */
export type Emit = (after: AfterCommit, event: EventRecord) => void;

const fromRow = expiryBatchOf;
type BatchRow = ExpiryBatchRow;

/**
 * alertRows stores SPEC §11's operational events inside the transaction of the change that causes
 * them, with the facts only that transaction knows; `ops` (src/alerts/) decides and builds them.
 * Without `ops` every method is a no-op, so a storage opened without alerts behaves as before.
 */
export function alertRows(db: Database, ops: OperationalEvents | null, emit: Emit) {
  const getBatch = db.query<BatchRow, [string]>("SELECT * FROM alert_expiry_batches WHERE webhook_id = ?");
  const waiting = db.query<BatchRow, []>("SELECT * FROM alert_expiry_batches WHERE count > 0 ORDER BY webhook_id");
  const putBatch = db.query(
    `INSERT OR REPLACE INTO alert_expiry_batches (webhook_id, url, window_start, count, delivery_ids, event_types, last_error)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  );
  const markReported = db.query("UPDATE webhooks SET failing_reported = ? WHERE id = ?");
  const getState = db.query<{ reported: number; reported_at: number | null }, []>("SELECT reported, reported_at FROM alert_state WHERE name = 'backlog'");
  const putState = db.query("INSERT OR REPLACE INTO alert_state (name, reported, reported_at) VALUES ('backlog', ?, ?)");
  // The oldest is the first row per status of the (status, created_at) index; the count walks it, so
  // it is read only when an event is to be stored.
  const oldest = db.query<{ t: number | null }, []>(
    `SELECT MIN(t) AS t FROM (SELECT MIN(created_at) AS t FROM deliveries WHERE status = 'pending'
                              UNION ALL SELECT MIN(created_at) FROM deliveries WHERE status = 'failed')`,
  );
  const unfinished = db.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM deliveries WHERE status IN ('pending', 'failed')");
  const save = (webhookId: string, b: ExpiryBatch) =>
    putBatch.run(webhookId, b.url, b.windowStart, b.count, JSON.stringify(b.deliveryIds), JSON.stringify(b.eventTypes), b.lastError);

  const expiry = (after: AfterCommit, f: ExpiryFacts, now: number) => {
    if (!ops) return;
    const row = getBatch.get(f.webhookId);
    const { events, batch } = ops.expiry(row ? fromRow(row) : null, f, now);
    save(f.webhookId, batch);
    for (const e of events) emit(after, e);
  };

  return {
    /** disabled reports an endpoint taken out of service, with how many unfinished deliveries expired with it. */
    disabled(after: AfterCommit, webhookId: string, url: string, reason: DisableReason, expired: number, now: number): void {
      if (ops) emit(after, ops.disabled({ webhookId, url, reason, expired }, now));
    },

    /** clearReported forgets a reported streak whose failure record an operator cleared (re-enabled). */
    clearReported(webhookId: string): void {
      if (ops) markReported.run(0, webhookId);
    },

    /**
     * attempt stores what one recorded attempt reports; `state` is the endpoint after the decision,
     * `before` as the decision saw it. Resolves with whether its streak is reported now.
     */
    attempt(after: AfterCommit, d: AttemptDecision, before: EndpointState, state: EndpointState, f: AttemptFacts, now: number): boolean {
      const reported = before.failing_reported === true;
      if (!ops) return reported;
      const report = ops.attempt(d, before, f.eventType);
      if (report.failing) {
        markReported.run(1, f.webhookId);
        const failingSince = state.failing_since ?? f.attemptedAt;
        emit(after, ops.failing({ webhookId: f.webhookId, url: f.url, failureCount: state.failure_count, failingSince, lastError: f.attemptError }, now));
      }
      if (report.recovered) {
        markReported.run(0, f.webhookId);
        emit(after, ops.recovered({ webhookId: f.webhookId, url: f.url, failingSince: before.failing_since, recoveredAt: f.attemptedAt }, now));
      }
      if (report.expired) {
        expiry(after, { webhookId: f.webhookId, url: f.url, deliveryId: f.deliveryId, eventType: f.eventType, lastError: f.deliveryError }, now);
      }
      return report.failing ? true : report.recovered ? false : reported;
    },

    /** flushExpiries reports every ended window that holds expiries. */
    flushExpiries(after: AfterCommit, now: number): number {
      if (!ops) return 0;
      let n = 0;
      for (const row of waiting.all()) {
        const { event, batch } = ops.flush(row.webhook_id, fromRow(row), now);
        if (!event) continue;
        save(row.webhook_id, batch);
        emit(after, event);
        n++;
      }
      return n;
    },

    /** checkBacklog stores the backlog event the queue's state calls for. */
    checkBacklog(after: AfterCommit, now: number): string | null {
      if (!ops) return null;
      const row = getState.get();
      const oldestPendingAt = oldest.get()?.t ?? null;
      const before = { reported: row?.reported === 1, reportedAt: row?.reported_at ?? null };
      // What is decided does not depend on the count, only what an event says.
      let decided = ops.backlog({ oldestPendingAt, pending: 0 }, before, now);
      if (decided.event) decided = ops.backlog({ oldestPendingAt, pending: unfinished.get()?.n ?? 0 }, before, now);
      const { event, state } = decided;
      if (!event && state.reported === before.reported && state.reportedAt === before.reportedAt) return null;
      putState.run(state.reported ? 1 : 0, state.reportedAt);
      if (event) emit(after, event);
      return event?.type ?? null;
    },
  };
}

/** AlertRows is what the other SQLite stores call to report operational events. */
export type AlertRows = ReturnType<typeof alertRows>;
