import { Elysia } from "elysia";
import type { Metrics } from "../metrics/metrics";
import type { Storage } from "../storage/types";
import { ApiError, RETRY_AFTER_STORAGE_SECONDS } from "../http/errors";
import { object, ok, oneOf, responses } from "./openapi";

/** healthRoutes: /healthz says the process answers; /readyz that the database takes writes. */
export function healthRoutes(storage: Storage, metrics: Metrics) {
  return new Elysia({ name: "health" })
    .get("/healthz", () => ({ status: "ok" }), {
      detail: {
        summary: "The process is up",
        tags: ["health"],
        security: [],
        responses: responses(ok(200, "up", object({ status: oneOf(["ok"]) })), "internal_error"),
      },
    })
    .get(
      "/readyz",
      async () => {
        if (!(await storage.checkWritable())) {
          throw new ApiError("storage_unavailable", "the database does not accept writes", [], {
            "retry-after": String(RETRY_AFTER_STORAGE_SECONDS),
          });
        }
        return { status: "ready" };
      },
      {
        detail: {
          summary: "The database accepts writes",
          tags: ["health"],
          security: [],
          responses: responses(ok(200, "ready", object({ status: oneOf(["ready"]) })), "internal_error", "storage_unavailable"),
        },
      },
    )
    .get(
      "/metrics",
      async () => new Response(await metrics.render(), { headers: { "content-type": metrics.contentType } }),
      {
        detail: {
          summary: "Prometheus metrics (text exposition format)",
          tags: ["health"],
          security: [],
          responses: responses(
            { status: 200, description: "SPEC §8's series and the standard process_* ones", contentType: "text/plain; version=0.0.4", schema: { type: "string" } },
            "internal_error",
            "storage_unavailable",
          ),
        },
      },
    );
}
