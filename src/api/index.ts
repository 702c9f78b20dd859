import { Elysia } from "elysia";
import type { Metrics } from "../metrics/metrics";
import { auditRoutes } from "./audit";
import { deliveryRoutes } from "./deliveries";
import { deliverySearchRoutes } from "./delivery-search";
import type { ApiDeps } from "./deps";
import { eventRoutes } from "./events";
import { healthRoutes } from "./health";
import { inboundLogRoutes } from "./inbound-log";
import { resourceRoutes } from "./resources";
import { statsRoutes } from "./stats";
import { previewRoutes } from "./webhook-preview";
import { webhookRoutes } from "./webhooks";

/** ApiRoutesDeps adds what the unauthenticated health routes need to what the /v1 routes use. */
export interface ApiRoutesDeps extends ApiDeps {
  readonly metrics: Metrics;
}

/**
 * apiRoutes is every route this folder serves, as one plugin: /healthz, /readyz, /metrics and the
 * /v1 admin API. The front handler has already authenticated /v1 requests when they get here; each
 * /v1 group checks again through adminPlugin. A new route group is added here, not in src/http/.
 */
export function apiRoutes(deps: ApiRoutesDeps) {
  return new Elysia({ name: "api" })
    .use(healthRoutes(deps.storage, deps.metrics))
    .use(webhookRoutes(deps))
    .use(previewRoutes(deps))
    .use(eventRoutes(deps))
    .use(resourceRoutes(deps))
    .use(deliveryRoutes(deps))
    .use(deliverySearchRoutes(deps))
    .use(inboundLogRoutes(deps))
    .use(statsRoutes(deps))
    .use(auditRoutes(deps));
}
