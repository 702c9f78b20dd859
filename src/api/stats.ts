import * as v from "valibot";
import { isoTime } from "../clock";
import { parseDuration } from "../config/duration";
import { ApiError } from "../http/errors";
import type { SeriesQuery, WebhookRecord } from "../storage/types";
import { adminPlugin } from "./admin-plugin";
import type { ApiDeps } from "./deps";
import { ERRORS, ok, responses } from "./openapi";
import { queryParam } from "./schemas";

const SECOND_MS = 1000;
const MINUTE_MS = 60_000;
const PAGE = 500;
const MIN_STEP_MS = 10 * SECOND_MS;
const MAX_WINDOW_MS = 24 * 60 * MINUTE_MS;
const MAX_STEPS = 1440;

const count = { type: "integer", minimum: 0 } as const;
const at = { type: "string", format: "date-time", description: "start of the step" } as const;

const SERIES_SCHEMA = {
  type: "object",
  description: "only with ?window= or ?step=: counts per step over the window, oldest step first; the last step is the current one",
  properties: {
    since: { type: "string", format: "date-time" },
    until: { type: "string", format: "date-time" },
    step_seconds: { type: "integer" },
    deliveries: {
      type: "array",
      description: "delivery attempts per step: delivered (2xx), expired (the attempt that used up a delivery's schedule), failed (every other failed attempt)",
      items: { type: "object", properties: { at, delivered: count, failed: count, expired: count } },
    },
    inbound: {
      type: "array",
      description: "inbound requests per step by outcome",
      items: { type: "object", properties: { at, accepted: count, duplicate: count, rejected: count } },
    },
    endpoints: {
      type: "array",
      description: "endpoints with attempts in the window (deleted ones included), by id",
      items: {
        type: "object",
        properties: {
          id: { type: "string" },
          url: { type: "string" },
          attempts: count,
          succeeded: count,
          success_rate: { type: "number", minimum: 0, maximum: 1, description: "succeeded / attempts" },
        },
      },
    },
  },
} as const;

const STATS_SCHEMA = {
  type: "object",
  properties: {
    data: {
      type: "object",
      properties: {
        deliveries: {
          type: "object",
          description: "queue depth by status",
          properties: { pending: count, failed: count, delivered: count, expired: count },
        },
        oldest_pending_seconds: { type: "integer", description: "age of the oldest pending delivery (failed ones waiting for a retry not included); 0 when none" },
        attempts_last_minute: { type: "integer", description: "delivery attempts made in the last 60 seconds" },
        failing_endpoints: {
          type: "array",
          items: {
            type: "object",
            properties: {
              id: { type: "string" },
              url: { type: "string" },
              failure_count: { type: "integer" },
              failing_since: { type: "string", format: "date-time" },
            },
          },
        },
        series: SERIES_SCHEMA,
      },
    },
  },
} as const;

/**
 * seriesWindow reads ?window= and ?step= (defaults 1h and 1m once either is given) into whole steps
 * aligned to the epoch, the last one holding `now`; null when neither is given. Errors name the parameter.
 */
export function seriesWindow(query: { window?: string; step?: string }, now: number): SeriesQuery | null {
  if (query.window === undefined && query.step === undefined) return null;
  const windowMs = duration(query.window ?? "1h", "window");
  const stepMs = duration(query.step ?? "1m", "step");
  if (stepMs < MIN_STEP_MS || stepMs % SECOND_MS !== 0) invalid("step", `${JSON.stringify(query.step)} must be whole seconds, at least 10s`);
  if (windowMs < stepMs || windowMs > MAX_WINDOW_MS) invalid("window", `${JSON.stringify(query.window)} must be from one step to 24h`);
  const steps = Math.ceil(windowMs / stepMs);
  if (steps > MAX_STEPS) invalid("step", `window / step is ${steps} steps; at most ${MAX_STEPS}`);
  const end = (Math.floor(now / stepMs) + 1) * stepMs;
  return { since: end - steps * stepMs, stepMs, steps };
}

function duration(text: string, name: string): number {
  const ms = parseDuration(text);
  if (typeof ms === "string") invalid(name, ms);
  return ms as number;
}

function invalid(name: string, message: string): never {
  throw new ApiError("invalid_query", `${name} is not valid`, [{ field: `query.${name}`, code: "invalid", message }]);
}

/** statsRoutes is the dashboard's overview (SPEC §3): the same numbers as /metrics, the endpoints failing now, and with ?window= a time series. */
export function statsRoutes(deps: ApiDeps) {
  const failing = async (): Promise<WebhookRecord[]> => {
    // Endpoints are few (max_endpoints); walk the pages rather than widen the storage interface.
    const out: WebhookRecord[] = [];
    let before: string | undefined;
    for (;;) {
      const page = await deps.storage.webhooks.list({ limit: PAGE, before });
      out.push(...page.filter((w) => w.failing_since !== null));
      if (page.length < PAGE) return out;
      before = page.at(-1)?.id;
    }
  };
  const series = async (q: SeriesQuery) => {
    const s = await deps.storage.stats.series(q);
    const stepAt = (i: number) => isoTime(q.since + i * q.stepMs);
    return {
      since: isoTime(q.since),
      until: isoTime(q.since + q.steps * q.stepMs),
      step_seconds: q.stepMs / SECOND_MS,
      deliveries: s.deliveries.map((d, i) => ({ at: stepAt(i), ...d })),
      inbound: s.inbound.map((d, i) => ({ at: stepAt(i), ...d })),
      endpoints: s.endpoints.map((e) => ({
        id: e.webhook_id,
        url: e.url,
        attempts: e.attempts,
        succeeded: e.succeeded,
        success_rate: e.attempts === 0 ? 0 : Math.round((e.succeeded / e.attempts) * 10_000) / 10_000,
      })),
    };
  };
  return adminPlugin("stats").get(
    "/v1/stats",
    async ({ query }) => {
      const now = deps.clock.now();
      const window = seriesWindow(query, now);
      const oldest = await deps.storage.stats.oldestPendingAt();
      return {
        data: {
          deliveries: await deps.storage.deliveries.countByStatus(),
          oldest_pending_seconds: oldest === null ? 0 : Math.max(0, Math.floor((now - oldest) / 1000)),
          attempts_last_minute: await deps.storage.deliveries.attemptsSince(now - MINUTE_MS),
          failing_endpoints: (await failing()).map((w) => ({
            id: w.id,
            url: w.url,
            failure_count: w.failure_count,
            failing_since: isoTime(w.failing_since ?? now),
          })),
          ...(window === null ? {} : { series: await series(window) }),
        },
      };
    },
    {
      query: v.object({
        window: queryParam('how far back the series goes, e.g. "1h" (default 1h once step is given; at most 24h)'),
        step: queryParam('the series\' step, e.g. "1m" (default 1m; at least 10s; at most 1440 steps)'),
      }),
      detail: {
        summary: "Dashboard overview: queue depth by status, oldest pending age, attempts per minute, failing endpoints, and a time series with ?window=",
        tags: ["stats"],
        responses: responses(ok(200, "the overview", STATS_SCHEMA), ...ERRORS.admin, ...ERRORS.list),
      },
    },
  );
}
