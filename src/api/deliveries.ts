import { adminPlugin } from "./admin-plugin";
import * as v from "valibot";
import { isoTime, isoTimeOrNull } from "../clock";
import { contextOf } from "../http/context";
import { ApiError } from "../http/errors";
import { isId } from "../ids";
import { LANE_WAITING } from "../storage/delivery-types";
import type { AttemptRow, DeliveryRecord, DeliveryStatus } from "../storage/types";
import { auditEntry, auditRequestOf, changesOf } from "./audit-record";
import type { ApiDeps } from "./deps";
import { jsonText } from "./json-response";
import { PAGE_QUERY, pageOf, parsePage } from "./pagination";
import { DELIVERY, DELIVERY_WITH_ATTEMPTS, ERRORS, ok, one, page, responses } from "./openapi";
import { ID_PARAMS, parseEnumQuery, queryEnum } from "./schemas";

const STATUSES: readonly DeliveryStatus[] = ["pending", "failed", "delivered", "expired"];

/**
 * deliveryJson is the public view of a delivery (SPEC §6 fields). A FIFO delivery waiting behind its
 * lane's head has no due time yet (next_attempt_at null); `sequence` is its lane position (null when unordered).
 */
export function deliveryJson(d: DeliveryRecord) {
  return {
    id: d.id,
    event_id: d.event_id,
    webhook_id: d.webhook_id,
    event_type: d.event_type,
    status: d.status,
    attempts: d.attempts,
    next_attempt_at: d.next_attempt_at === LANE_WAITING ? null : isoTimeOrNull(d.next_attempt_at),
    in_flight: d.leased,
    sequence: d.sequence ?? null,
    last_status_code: d.last_status_code,
    last_response: d.last_response,
    last_error: d.last_error,
    created_at: isoTime(d.created_at),
    updated_at: isoTime(d.updated_at),
    delivered_at: isoTimeOrNull(d.delivered_at),
  };
}

/** attemptJson is one entry of `attempt_history`. */
export function attemptJson(a: AttemptRow) {
  return {
    id: a.id,
    attempted_at: isoTime(a.attempted_at),
    status_code: a.status_code,
    duration_ms: a.duration_ms,
    error: a.error,
    response: a.response,
  };
}

/** deliveryRoutes serve the history and the retry button (SPEC §4 delivery routes). */
export function deliveryRoutes(deps: ApiDeps) {
  const find = async (id: string) => {
    const found = isId(id, "dlv") ? await deps.storage.deliveries.get(id) : null;
    if (!found) throw new ApiError("not_found", `delivery ${id} not found`);
    return found;
  };

  return adminPlugin("deliveries")
    .get(
      "/v1/webhooks/:id/deliveries",
      async ({ params, query }) => {
        const webhook = isId(params.id, "wh") ? await deps.storage.webhooks.getAny(params.id) : null;
        if (!webhook) throw new ApiError("not_found", `webhook endpoint ${params.id} not found`);
        const status = parseEnumQuery(query.status, STATUSES, "status");
        return pageOf(parsePage(query, "dlv"), (p) => deps.storage.deliveries.listForWebhook(webhook.id, { ...p, status }), deliveryJson);
      },
      {
        params: ID_PARAMS,
        query: v.object({ ...PAGE_QUERY, status: queryEnum("only deliveries in this status", STATUSES) }),
        detail: {
          summary: "An endpoint's deliveries, newest first (also after the endpoint was deleted)",
          tags: ["deliveries"],
          responses: responses(ok(200, "a page of deliveries", page(DELIVERY)), ...ERRORS.admin, ...ERRORS.list, ...ERRORS.byId),
        },
      },
    )
    .get(
      "/v1/deliveries/:id",
      async ({ params }) => {
        const d = await find(params.id);
        return { data: { ...deliveryJson(d), attempt_history: (await deps.storage.deliveries.attempts(d.id)).map(attemptJson) } };
      },
      {
        params: ID_PARAMS,
        detail: {
          summary: "One delivery with every attempt",
          tags: ["deliveries"],
          responses: responses(ok(200, "the delivery and its attempts, oldest first", one(DELIVERY_WITH_ATTEMPTS)), ...ERRORS.admin, ...ERRORS.byId),
        },
      },
    )
    .post(
      "/v1/deliveries/:id/retry",
      async ({ params, request }) => {
        const d = await find(params.id);
        const webhook = await deps.storage.webhooks.getAny(d.webhook_id);
        if (!webhook || webhook.deleted || webhook.status !== "active") {
          throw new ApiError("conflict", `endpoint ${d.webhook_id} is ${webhook?.deleted ? "deleted" : "disabled"}; enable it before retrying`);
        }
        const now = deps.clock.now();
        // The answer is the delivery as the retry leaves it, recorded in the retry's own transaction:
        // due now, or (a FIFO lane's delivery behind an unfinished head) waiting, next_attempt_at null.
        const answerFor = (dueAt: number | null) =>
          JSON.stringify({ data: deliveryJson({ ...d, status: "pending", next_attempt_at: dueAt, updated_at: now }) });
        const record = contextOf(request).recordAnswer;
        const { outcome, answer } = await deps.storage.tx(async (tx) => {
          const result = await tx.deliveries.retry(d.id, now);
          const text = answerFor(result === "waiting" ? null : now);
          if (result === "ok" || result === "waiting") {
            await tx.audit.record(auditEntry(auditRequestOf(request), now, d.id, changesOf({ status: d.status }, { status: "pending" })));
            await record?.(tx, 202, text);
          }
          return { outcome: result, answer: text };
        });
        if (outcome === "inactive") throw new ApiError("conflict", `endpoint ${d.webhook_id} is no longer active; enable it before retrying`);
        if (outcome === "leased") throw new ApiError("conflict", "the delivery is being attempted right now; retry after it finishes");
        if (outcome === "already_pending") throw new ApiError("conflict", "the delivery is already pending");
        if (outcome === "not_found") throw new ApiError("not_found", `delivery ${d.id} not found`);
        contextOf(request).log.info("delivery retry requested", { delivery_id: d.id, webhook_id: d.webhook_id });
        return jsonText(answer, 202);
      },
      {
        params: ID_PARAMS,
        detail: {
          summary: "Send a failed, delivered or expired delivery again, with a fresh schedule",
          tags: ["deliveries"],
          responses: responses(
            ok(202, "the delivery, pending again", one(DELIVERY)),
            ...ERRORS.admin, ...ERRORS.body, ...ERRORS.idempotent, ...ERRORS.byId, "conflict",
          ),
        },
      },
    );
}
