import { isoTime, isoTimeOrNull } from "../clock";
import { buildEvent } from "../events/envelope";
import type { DisabledFacts, EventRecord, ExpiryBatch, FailingFacts, RecoveredFacts } from "../storage/types";
import { cutToOrigin, type OperationalType } from "./types";

// SPEC §11: delivery_ids and event_types of hookd.deliveries.expired list at most this many.
export const EXPIRED_LIST_MAX = 20;

/** operationalEvent stores `data` as hookd's own event (origin "hookd", no inbound source). */
export function operationalEvent(type: OperationalType, data: Record<string, unknown>, now: number): EventRecord {
  return buildEvent(type, JSON.stringify(data), "hookd", now);
}

/** disabledEvent is hookd.endpoint.disabled. */
export function disabledEvent(f: DisabledFacts, now: number): EventRecord {
  return operationalEvent("hookd.endpoint.disabled", { webhook_id: f.webhookId, url: cutToOrigin(f.url), reason: f.reason, expired: f.expired }, now);
}

/**
 * withOriginsOnly cuts every URL inside an attempt's error to its origin: a "redirect not followed (301
 * to https://chat.example/hooks/SECRET)" must not hand a chat webhook's secret path to every subscriber.
 */
export function withOriginsOnly<T extends string | null>(text: T): T {
  if (text === null) return text;
  return text.replace(/https?:\/\/[^\s)"']+/g, (url) => cutToOrigin(url) || "<url>") as T;
}

/** failingEvent is hookd.endpoint.failing. */
export function failingEvent(f: FailingFacts, now: number): EventRecord {
  return operationalEvent(
    "hookd.endpoint.failing",
    { webhook_id: f.webhookId, url: cutToOrigin(f.url), failure_count: f.failureCount, failing_since: isoTime(f.failingSince), last_error: withOriginsOnly(f.lastError) },
    now,
  );
}

/** recoveredEvent is hookd.endpoint.recovered. */
export function recoveredEvent(f: RecoveredFacts, now: number): EventRecord {
  return operationalEvent(
    "hookd.endpoint.recovered",
    { webhook_id: f.webhookId, url: cutToOrigin(f.url), failing_since: isoTimeOrNull(f.failingSince), recovered_at: isoTime(f.recoveredAt) },
    now,
  );
}

/** expiredEvent is hookd.deliveries.expired for `count` expiries of one endpoint. */
export function expiredEvent(webhookId: string, b: Omit<ExpiryBatch, "windowStart">, now: number): EventRecord {
  return operationalEvent(
    "hookd.deliveries.expired",
    {
      webhook_id: webhookId,
      url: cutToOrigin(b.url),
      count: b.count,
      delivery_ids: b.deliveryIds.slice(0, EXPIRED_LIST_MAX),
      event_types: b.eventTypes.slice(0, EXPIRED_LIST_MAX),
      last_error: withOriginsOnly(b.lastError),
    },
    now,
  );
}

/** backlogEvent is hookd.queue.backlog. */
export function backlogEvent(oldestPendingAt: number, pending: number, now: number): EventRecord {
  return operationalEvent("hookd.queue.backlog", { oldest_pending_at: isoTime(oldestPendingAt), pending }, now);
}

/** backlogClearedEvent is hookd.queue.backlog_cleared. */
export function backlogClearedEvent(pending: number, now: number): EventRecord {
  return operationalEvent("hookd.queue.backlog_cleared", { pending }, now);
}
