import type { Clock } from "../clock";
import { newId } from "../ids";
import type { AttemptResult, ClaimedDelivery } from "../storage/types";
import { nextRetryDelay, parseRetryAfter } from "./backoff";
import type { SendOutcome, SendRequest } from "./sender";
import { mergeHeaders, sensitiveValues } from "./headers";
import { deliveryHeaders } from "./sign";

/** DispatchSettings are the `[delivery]` values one attempt needs. */
export interface DispatchSettings {
  readonly timeoutMs: number;
  readonly retrySchedule: readonly number[];
  readonly userAgent: string;
  readonly random?: () => number;
}

/** Send is the sender's one method, so the dispatcher can be driven by any transport. */
export type Send = (request: SendRequest) => Promise<SendOutcome>;

/**
 * attemptDelivery makes one attempt and decides what happens next. Headers and signatures are made
 * here, at send time, so `webhook-timestamp` is this attempt's and verifies within the receivers'
 * tolerance however late the retry. Failures are values, never exceptions.
 */
export async function attemptDelivery(d: ClaimedDelivery, send: Send, clock: Clock, settings: DispatchSettings): Promise<AttemptResult> {
  const attemptedAt = clock.now();
  const own = deliveryHeaders({
    secrets: d.secrets,
    eventId: d.event_id,
    eventType: d.event_type,
    deliveryId: d.id,
    body: d.body,
    timestampSec: Math.floor(attemptedAt / 1000),
    userAgent: settings.userAgent,
  });
  // FIFO receivers see gaps by the lane position, on every attempt of the delivery (SPEC §9).
  if (d.sequence !== null) own["X-Hookd-Sequence"] = String(d.sequence);
  const outcome = await send({
    url: d.url,
    headers: mergeHeaders(d.headers, own),
    body: d.body,
    timeoutMs: d.timeout_ms ?? settings.timeoutMs,
    clientTls: d.client_tls,
    oauth2: d.oauth2,
    secrets: d.headers === null ? undefined : sensitiveValues(d.headers),
  });
  const finishedAt = clock.now();
  const gone = outcome.statusCode === 410;
  let nextAttemptAt: number | null = null;
  if (!outcome.ok && !gone) {
    const retryAfterMs = parseRetryAfter(outcome.retryAfter, finishedAt);
    const delay = nextRetryDelay({
      schedule: settings.retrySchedule,
      failedAttempts: d.schedule_attempts + 1,
      statusCode: outcome.statusCode,
      retryAfterMs,
      random: settings.random ?? Math.random,
    });
    nextAttemptAt = delay === null ? null : finishedAt + delay;
  }
  return {
    attemptId: newId("att"),
    deliveryId: d.id,
    webhookId: d.webhook_id,
    lease: d.lease,
    attemptedAt,
    durationMs: outcome.durationMs,
    statusCode: outcome.statusCode,
    error: gone ? "HTTP 410 Gone: endpoint disabled" : outcome.error,
    response: outcome.response,
    ok: outcome.ok,
    nextAttemptAt,
    gone,
  };
}
