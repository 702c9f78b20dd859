// SPEC §11's operational events as the storage contract sees them: storage knows the facts (the
// endpoint's url, how many deliveries a disable expired, the oldest unfinished delivery) inside the
// transaction that changes them; what those facts mean and the events they make are decided by
// `OperationalEvents` (src/alerts/), handed in when the backend is opened, like `RouteEvent`.
import type { AttemptDecision, EndpointState } from "./delivery-types";
import type { EventRecord } from "./types";

/** DisableReason is `reason` of hookd.endpoint.disabled. */
export type DisableReason = "gone" | "failing" | "api" | "deleted";

/** DisabledFacts: an endpoint left service; `expired` counts the unfinished deliveries that expired with it. */
export interface DisabledFacts {
  webhookId: string;
  url: string;
  reason: DisableReason;
  expired: number;
}

/** FailingFacts: the endpoint's failure record right after the attempt that made it reportable. */
export interface FailingFacts {
  webhookId: string;
  url: string;
  failureCount: number;
  failingSince: number;
  lastError: string | null;
}

/** RecoveredFacts: a reported-failing endpoint succeeded at `recoveredAt`. */
export interface RecoveredFacts {
  webhookId: string;
  url: string;
  failingSince: number | null;
  recoveredAt: number;
}

/** ExpiryFacts: one delivery used up its attempts. */
export interface ExpiryFacts {
  webhookId: string;
  url: string;
  deliveryId: string;
  eventType: string;
  lastError: string | null;
}

/**
 * ExpiryBatch is an endpoint's expiry window as stored: the window began at `windowStart` with an
 * expiry reported at once; `count` later ones wait to be reported together when the window ends.
 */
export interface ExpiryBatch {
  url: string;
  windowStart: number;
  count: number;
  deliveryIds: string[];
  eventTypes: string[];
  lastError: string | null;
}

/** BacklogFacts: the oldest unfinished (pending or failed) delivery's created_at, and how many there are. */
export interface BacklogFacts {
  oldestPendingAt: number | null;
  pending: number;
}

/** BacklogState is what the backlog check remembers: whether a backlog is reported and not yet cleared, and when it last was. */
export interface BacklogState {
  reported: boolean;
  reportedAt: number | null;
}

/** AttemptReport: which operational events one recorded attempt causes. */
export interface AttemptReport {
  failing: boolean;
  recovered: boolean;
  expired: boolean;
}

/** OperationalEvents decides and builds SPEC §11's events from facts; pure (src/alerts/). */
export interface OperationalEvents {
  /** attempt: what an attempt decided for an endpoint in state `before` reports, for a delivery of `eventType`. */
  attempt(decision: AttemptDecision, before: EndpointState, eventType: string): AttemptReport;
  disabled(facts: DisabledFacts, now: number): EventRecord;
  failing(facts: FailingFacts, now: number): EventRecord;
  recovered(facts: RecoveredFacts, now: number): EventRecord;
  /** expiry adds one expiry to its endpoint's window: the events to store now, and the window to keep. */
  expiry(batch: ExpiryBatch | null, facts: ExpiryFacts, now: number): { events: EventRecord[]; batch: ExpiryBatch };
  /** flush reports a window that has ended with expiries waiting (event), or leaves it (null). */
  flush(webhookId: string, batch: ExpiryBatch, now: number): { event: EventRecord | null; batch: ExpiryBatch };
  /** backlog decides the queue check: an event to store (or null) and the state to keep. */
  backlog(facts: BacklogFacts, state: BacklogState, now: number): { event: EventRecord | null; state: BacklogState };
}

/** AlertStore runs the periodic checks of SPEC §11, each in its own transaction (src/jobs/alerts.ts calls them). */
export interface AlertStore {
  /** checkBacklog reads the queue's oldest unfinished delivery and stores the backlog event it calls for; resolves with its type or null. */
  checkBacklog(now: number): Promise<string | null>;
  /** flushExpiries stores one hookd.deliveries.expired per endpoint whose expiry window ended with expiries waiting; resolves with how many. */
  flushExpiries(now: number): Promise<number>;
}

/** ExpiryBatchRow is an `alert_expiry_batches` row as both backends store it. */
export interface ExpiryBatchRow {
  webhook_id: string;
  url: string;
  window_start: number;
  count: number;
  delivery_ids: string;
  event_types: string;
  last_error: string | null;
}

/** expiryBatchOf reads an `alert_expiry_batches` row. */
export const expiryBatchOf = (r: ExpiryBatchRow): ExpiryBatch => ({
  url: r.url, windowStart: r.window_start, count: r.count, deliveryIds: JSON.parse(r.delivery_ids) as string[],
  eventTypes: JSON.parse(r.event_types) as string[], lastError: r.last_error,
});

/** AttemptFacts: what an attempt's alerts are built from besides its decision. */
export interface AttemptFacts {
  webhookId: string;
  url: string;
  deliveryId: string;
  eventType: string;
  /** attemptError: the attempt's own error (hookd.endpoint.failing's last_error); deliveryError: the delivery's. */
  attemptError: string | null;
  deliveryError: string | null;
  attemptedAt: number;
}
