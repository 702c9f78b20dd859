import { isoTime } from "../clock";
import type { WebhookRecord } from "../storage/types";
import { adminPlugin } from "./admin-plugin";
import type { ApiDeps } from "./deps";
import { ERRORS, ok, responses } from "./openapi";

const MINUTE_MS = 60_000;
const PAGE = 500;

const STATS_SCHEMA = {
  type: "object",
  properties: {
    data: {
      type: "object",
      properties: {
        deliveries: {
          type: "object",
          description: "queue depth by status",
          properties: {
            pending: { type: "integer" },
            failed: { type: "integer" },
            delivered: { type: "integer" },
            expired: { type: "integer" },
          },
        },
        oldest_pending_seconds: { type: "integer", description: "age of the oldest pending or failed delivery; 0 when none" },
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
      },
    },
  },
} as const;

/** statsRoutes is the dashboard's overview (SPEC §3): the same numbers as /metrics, plus the endpoints failing now. */
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
  return adminPlugin("stats").get(
    "/v1/stats",
    async () => {
      const now = deps.clock.now();
      const oldest = await deps.storage.deliveries.oldestUnfinishedAt();
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
        },
      };
    },
    {
      detail: {
        summary: "Dashboard overview: queue depth by status, oldest pending age, attempts per minute, failing endpoints",
        tags: ["stats"],
        responses: responses(ok(200, "the overview", STATS_SCHEMA), ...ERRORS.admin),
      },
    },
  );
}
