// The delivery queue and history: what the scheduler and the delivery routes may ask of storage.
import type { PageQuery } from "./types";

/** DeliveryStatus is SPEC §6's lifecycle. */
export type DeliveryStatus = "pending" | "failed" | "delivered" | "expired";

/** DeliveryRecord is one event's journey to one endpoint. */
export interface DeliveryRecord {
  id: string;
  event_id: string;
  webhook_id: string;
  event_type: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: number | null;
  leased: boolean;
  last_status_code: number | null;
  last_response: string | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
  delivered_at: number | null;
}

/** AttemptRecordRow is one recorded attempt. */
export interface AttemptRow {
  id: string;
  delivery_id: string;
  attempted_at: number;
  status_code: number | null;
  duration_ms: number;
  error: string | null;
  response: string;
}

/** ClaimedDelivery is everything a worker needs to make one attempt without another query. */
export interface ClaimedDelivery {
  id: string;
  event_id: string;
  event_type: string;
  webhook_id: string;
  url: string;
  /** secrets that sign this attempt, newest first (two during a rotation window). */
  secrets: string[];
  body: string;
  attempts: number;
  schedule_attempts: number;
}

/** AttemptResult is a worker's verdict on one attempt, written back by complete(). */
export interface AttemptResult {
  attemptId: string;
  deliveryId: string;
  webhookId: string;
  attemptedAt: number;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
  response: string;
  ok: boolean;
  /** next due time when a retry is scheduled; null when delivered or out of attempts. */
  nextAttemptAt: number | null;
  /** gone: the endpoint answered 410 and is disabled at once. */
  gone: boolean;
}

/** CompleteOutcome reports endpoints disabled by these results (410 or disable_after). */
export interface CompleteOutcome {
  disabled: { webhookId: string; reason: "gone" | "failing" }[];
}

/** DeliveryQuery filters an endpoint's history. */
export interface DeliveryQuery extends PageQuery {
  status?: DeliveryStatus;
}

/** DeliveryStore is the queue (claim/complete/release) and the delivery history. */
export interface DeliveryStore {
  /**
   * claimDue leases due deliveries, earliest first, one statement per endpoint: at most `slots`
   * per endpoint (in the map's order) and at most `total` in all.
   */
  claimDue(slots: ReadonlyMap<string, number>, total: number, now: number, leaseMs: number): Promise<ClaimedDelivery[]>;
  /** complete records attempts and moves deliveries and endpoints on (SPEC §6 rules). */
  complete(results: AttemptResult[], now: number, disableAfterMs: number): Promise<CompleteOutcome>;
  /** releaseLeases makes leased deliveries due now: all of them at start (a previous process died), or the given ids at stop. */
  releaseLeases(now: number, ids?: readonly string[]): number;
  /** nextDueAt is the earliest time any delivery to this endpoint becomes claimable. */
  nextDueAt(webhookId: string): number | null;
  get(id: string): DeliveryRecord | null;
  attempts(deliveryId: string): AttemptRow[];
  listForWebhook(webhookId: string, query: DeliveryQuery): DeliveryRecord[];
  listForEvent(eventId: string): DeliveryRecord[];
  /** retry makes a finished or failed delivery pending now with a fresh schedule. */
  retry(id: string, now: number): "ok" | "not_found" | "leased" | "already_pending";
  /** recover re-enqueues an endpoint's failed/expired deliveries created since `since`. */
  recover(webhookId: string, since: number, now: number): number;
  /** countByStatus is the queue depth per status (read when /metrics is scraped). */
  countByStatus(): Record<DeliveryStatus, number>;
  /** oldestUnfinishedAt is the created_at of the oldest pending or failed delivery, or null. */
  oldestUnfinishedAt(): number | null;
  /** attemptsSince counts attempts made at or after `since` (ms), off the attempts_by_time index. */
  attemptsSince(since: number): number;
}

