import type { Clock } from "../clock";
import { newId } from "../ids";
import type { AttemptResult, ClaimedDelivery } from "../storage/types";
import { type Applied, applyTransform, type TransformRunner } from "../transform";
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
  /** transforms runs endpoints' JSONata transforms (SPEC §10); without it an endpoint's transform fails. */
  readonly transforms?: TransformRunner;
  /** maxBody: a transform's result is at most this many bytes (`[server] max_body`). */
  readonly maxBody?: number;
}

// `[server] max_body`'s default, for callers that run transforms without saying.
const DEFAULT_MAX_BODY = 1024 * 1024;

/** Send is the sender's one method, so the dispatcher can be driven by any transport. */
export type Send = (request: SendRequest) => Promise<SendOutcome>;

/**
 * attemptDelivery makes one attempt and decides what happens next. Headers and signatures are made
 * here, at send time, so `webhook-timestamp` is this attempt's and verifies within the receivers'
 * tolerance however late the retry. Failures are values, never exceptions.
 */
export async function attemptDelivery(d: ClaimedDelivery, send: Send, clock: Clock, settings: DispatchSettings): Promise<AttemptResult> {
  const attemptedAt = clock.now();
  let body = d.body;
  let contentType: string | undefined;
  // Endpoints without a transform (most) send the stored envelope as is, with no extra step.
  if ((d.transform ?? null) !== null) {
    // Wall time, like the sender's: the transform's cost is CPU, whatever the scheduler's clock says.
    const started = performance.now();
    const applied = await transformed(d, settings);
    if (applied.kind !== "body") return transformFailure(d, applied, attemptedAt, clock.now(), performance.now() - started, settings);
    body = applied.body;
    contentType = applied.contentType;
  }
  const own = deliveryHeaders({
    secrets: d.secrets,
    eventId: d.event_id,
    eventType: d.event_type,
    deliveryId: d.id,
    // Signatures cover the bytes actually sent: the transformed body when there is one (SPEC §10).
    body,
    timestampSec: Math.floor(attemptedAt / 1000),
    userAgent: settings.userAgent,
    contentType,
  });
  // FIFO receivers see gaps by the lane position, on every attempt of the delivery (SPEC §9).
  if (d.sequence !== null) own["X-Hookd-Sequence"] = String(d.sequence);
  const outcome = await send({
    url: d.url,
    headers: mergeHeaders(d.headers, own),
    body,
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
    nextAttemptAt = retryAt(d, settings, finishedAt, outcome.statusCode, retryAfterMs);
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

function retryAt(d: ClaimedDelivery, settings: DispatchSettings, finishedAt: number, statusCode: number | null, retryAfterMs: number | null): number | null {
  const delay = nextRetryDelay({
    schedule: settings.retrySchedule,
    failedAttempts: d.schedule_attempts + 1,
    statusCode,
    retryAfterMs,
    random: settings.random ?? Math.random,
  });
  return delay === null ? null : finishedAt + delay;
}

function transformed(d: ClaimedDelivery, settings: DispatchSettings): Promise<Applied> {
  if (settings.transforms === undefined) return Promise.resolve({ kind: "failed", error: "transform_failed: no transform runner is configured" });
  const endpoint = { transform: d.transform ?? null, content_type: d.content_type ?? null };
  // A pool that cannot run it (no worker could start, or it is shutting down) is not the expression's
  // fault: recorded like a timeout, so the delivery is retried on its schedule instead of looping on its lease.
  return applyTransform(settings.transforms, endpoint, d.body, d.source ?? null, settings.maxBody ?? DEFAULT_MAX_BODY)
    .catch((): Applied => ({ kind: "timeout" }));
}

/**
 * transformFailure records a transform that gave no body as an attempt with no request sent (SPEC §10):
 * one that failed expires the delivery at once (retrying the same expression cannot help); one stopped
 * for time is retried on the schedule like a timeout, as it may depend on load.
 */
function transformFailure(d: ClaimedDelivery, applied: Exclude<Applied, { kind: "body" }>, attemptedAt: number, finishedAt: number, durationMs: number, settings: DispatchSettings): AttemptResult {
  const timeout = applied.kind === "timeout";
  return {
    attemptId: newId("att"),
    deliveryId: d.id,
    webhookId: d.webhook_id,
    lease: d.lease,
    attemptedAt,
    durationMs: Math.round(durationMs),
    statusCode: null,
    error: timeout ? "transform_timeout" : applied.error,
    response: "",
    ok: false,
    nextAttemptAt: timeout ? retryAt(d, settings, finishedAt, null, null) : null,
    gone: false,
    transform: timeout ? "timeout" : "failed",
  };
}
