import type { AttemptDecision, AttemptReport, BacklogFacts, BacklogState, EndpointState, EventRecord, ExpiryBatch, ExpiryFacts } from "../storage/types";
import { backlogClearedEvent, backlogEvent, EXPIRED_LIST_MAX, expiredEvent } from "./events";
import { isOperationalType } from "./types";

/** EXPIRY_WINDOW_MS: an endpoint's expiries are reported at most twice in this long (the first at once, the rest when it ends). */
export const EXPIRY_WINDOW_MS = 60_000;
/** BACKLOG_REPEAT_MS: hookd.queue.backlog is emitted at most once in this long (SPEC §11). */
export const BACKLOG_REPEAT_MS = 60 * 60_000;

/**
 * attemptReport applies SPEC §11 to one recorded attempt. Failing: the endpoint's failure_count
 * reaches `failingAfter` and this streak was not reported yet (an attempt that disables the endpoint
 * reports the disable instead). Recovered: a success clears a reported streak. Expired: the delivery
 * used up its attempts on an endpoint still in service (those expired by a disable are counted in
 * hookd.endpoint.disabled), never for a hookd.* event, so alerts cannot feed on themselves.
 */
export function attemptReport(d: AttemptDecision, before: EndpointState, eventType: string, failingAfter: number): AttemptReport {
  const active = before.status === "active";
  const reported = before.failing_reported === true;
  return {
    failing: active && d.endpoint === "failed" && d.disable === null && !reported && before.failure_count + 1 >= failingAfter,
    recovered: d.endpoint === "reset" && reported,
    expired: active && d.delivery.status === "expired" && d.disable === null && !isOperationalType(eventType),
  };
}

/**
 * addExpiry puts one expiry into its endpoint's window. The first expiry after a window ended opens a
 * new one and is reported at once (with anything the ended window still held, had no flush run yet);
 * later ones in the window wait in the batch for `flushExpiry`.
 */
export function addExpiry(batch: ExpiryBatch | null, f: ExpiryFacts, now: number): { events: EventRecord[]; batch: ExpiryBatch } {
  if (batch === null || now >= batch.windowStart + EXPIRY_WINDOW_MS) {
    const events: EventRecord[] = [];
    if (batch !== null && batch.count > 0) events.push(expiredEvent(f.webhookId, batch, now));
    events.push(expiredEvent(f.webhookId, { url: f.url, count: 1, deliveryIds: [f.deliveryId], eventTypes: [f.eventType], lastError: f.lastError }, now));
    return { events, batch: { url: f.url, windowStart: now, count: 0, deliveryIds: [], eventTypes: [], lastError: null } };
  }
  const deliveryIds = batch.deliveryIds.length < EXPIRED_LIST_MAX ? [...batch.deliveryIds, f.deliveryId] : batch.deliveryIds;
  const eventTypes =
    batch.eventTypes.length < EXPIRED_LIST_MAX && !batch.eventTypes.includes(f.eventType) ? [...batch.eventTypes, f.eventType] : batch.eventTypes;
  return { events: [], batch: { url: f.url, windowStart: batch.windowStart, count: batch.count + 1, deliveryIds, eventTypes, lastError: f.lastError } };
}

/** flushExpiry reports the expiries a window holds once it has ended. */
export function flushExpiry(webhookId: string, batch: ExpiryBatch, now: number): { event: EventRecord | null; batch: ExpiryBatch } {
  if (batch.count === 0 || now < batch.windowStart + EXPIRY_WINDOW_MS) return { event: null, batch };
  return { event: expiredEvent(webhookId, batch, now), batch: { ...batch, count: 0, deliveryIds: [], eventTypes: [], lastError: null } };
}

/**
 * decideBacklog: the queue is backlogged when its oldest unfinished delivery is older than `ageMs`.
 * A backlog is reported at most once per BACKLOG_REPEAT_MS (again after that while it lasts); once
 * nothing is that old any more, a reported backlog is reported cleared, once.
 */
export function decideBacklog(f: BacklogFacts, s: BacklogState, now: number, ageMs: number): { event: EventRecord | null; state: BacklogState } {
  if (f.oldestPendingAt !== null && now - f.oldestPendingAt > ageMs) {
    if (s.reportedAt !== null && now - s.reportedAt < BACKLOG_REPEAT_MS) return { event: null, state: s };
    return { event: backlogEvent(f.oldestPendingAt, f.pending, now), state: { reported: true, reportedAt: now } };
  }
  if (!s.reported) return { event: null, state: s };
  return { event: backlogClearedEvent(f.pending, now), state: { reported: false, reportedAt: s.reportedAt } };
}
