import { Elysia } from "elysia";
import { randomBytes } from "node:crypto";
import * as v from "valibot";
import { isoTime } from "../clock";
import { isEventFilter } from "../events/types";
import { ApiError, type ErrorDetail } from "../http/errors";
import { newId, isId } from "../ids";
import { checkEndpointUrl } from "../security/targets";
import type { WebhookPatch, WebhookRecord } from "../storage/types";
import type { ApiDeps } from "./deps";
import { PAGE_QUERY, pageOf, parsePage } from "./pagination";
import { boundedString, EVENT_FILTERS, ID_PARAMS, strict } from "./schemas";

const URL_FIELD = v.pipe(boundedString(1, 2048), v.description("where deliveries are POSTed"));
const DESCRIPTION = boundedString(0, 500);

const CREATE_BODY = strict({ url: URL_FIELD, events: EVENT_FILTERS, description: v.optional(DESCRIPTION) });
const PATCH_BODY = strict({
  url: v.optional(URL_FIELD),
  events: v.optional(EVENT_FILTERS),
  description: v.optional(DESCRIPTION),
  status: v.optional(v.picklist(["active", "disabled"], 'must be "active" or "disabled"')),
});

/** newSecret is `whsec_` + base64 of 32 random bytes (the Standard Webhooks form). */
export function newSecret(): string {
  return `whsec_${randomBytes(32).toString("base64")}`;
}

/** webhookJson is the public view of an endpoint: never the secret. */
export function webhookJson(w: WebhookRecord) {
  return {
    id: w.id,
    url: w.url,
    events: w.events,
    description: w.description,
    status: w.status,
    failure_count: w.failure_count,
    last_failure_at: w.last_failure_at === null ? null : isoTime(w.last_failure_at),
    failing_since: w.failing_since === null ? null : isoTime(w.failing_since),
    created_at: isoTime(w.created_at),
    updated_at: isoTime(w.updated_at),
  };
}

/** webhookRoutes serves SPEC §4's endpoint CRUD; delivery routes join in the delivery issue. */
export function webhookRoutes(deps: ApiDeps) {
  const problems = (fields: { url?: string; events?: string[] }): ErrorDetail[] => {
    const details: ErrorDetail[] = [];
    if (fields.url !== undefined) details.push(...checkEndpointUrl(fields.url, deps.targets));
    fields.events?.forEach((filter, i) => {
      if (!isEventFilter(filter)) {
        details.push({ field: `events[${i}]`, code: "invalid_event_type", message: `${JSON.stringify(filter)} is not "*", "family.*" or an event type like "invoice.paid"` });
      } else if (!deps.catalogue.allowsFilter(filter)) {
        details.push({ field: `events[${i}]`, code: "unknown_event_type", message: `${JSON.stringify(filter)} is not in the [events] types catalogue` });
      }
    });
    return details;
  };
  const rejectIfAny = (details: ErrorDetail[]) => {
    if (details.length > 0) throw new ApiError("invalid_request", "the webhook endpoint is not valid", details);
  };
  const find = (id: string) => {
    const found = isId(id, "wh") ? deps.storage.webhooks.get(id) : null;
    if (!found) throw new ApiError("not_found", `webhook endpoint ${id} not found`);
    return found;
  };

  return new Elysia({ name: "webhooks" })
    .post(
      "/v1/webhooks",
      ({ body, set }) => {
        rejectIfAny(problems(body));
        const now = deps.clock.now();
        const record: WebhookRecord = {
          id: newId("wh"), url: body.url, events: [...new Set(body.events)], description: body.description ?? "",
          status: "active", secret: newSecret(), failure_count: 0, last_failure_at: null, failing_since: null,
          created_at: now, updated_at: now,
        };
        if (deps.storage.webhooks.create(record, deps.maxEndpoints) === "limit_reached") {
          throw new ApiError("limit_reached", `at most ${deps.maxEndpoints} webhook endpoints may exist ([delivery] max_endpoints)`);
        }
        deps.log.info("webhook endpoint created", { webhook_id: record.id });
        set.status = 201;
        return { data: { ...webhookJson(record), secret: record.secret } };
      },
      { body: CREATE_BODY, detail: { summary: "Create a webhook endpoint (the secret is shown only here)", tags: ["webhooks"] } },
    )
    .get(
      "/v1/webhooks",
      ({ query }) => pageOf(parsePage(query), (p) => deps.storage.webhooks.list(p), webhookJson),
      { query: v.object(PAGE_QUERY), detail: { summary: "List webhook endpoints, newest first", tags: ["webhooks"] } },
    )
    .get("/v1/webhooks/:id", ({ params }) => ({ data: webhookJson(find(params.id)) }), {
      params: ID_PARAMS,
      detail: { summary: "Get one webhook endpoint", tags: ["webhooks"] },
    })
    .patch(
      "/v1/webhooks/:id",
      ({ params, body }) => {
        find(params.id);
        rejectIfAny(problems(body));
        const patch: WebhookPatch = { ...body, events: body.events ? [...new Set(body.events)] : undefined };
        const updated = deps.storage.webhooks.update(params.id, patch, deps.clock.now());
        if (!updated) throw new ApiError("not_found", `webhook endpoint ${params.id} not found`);
        deps.log.info("webhook endpoint updated", { webhook_id: updated.id, fields: Object.keys(body) });
        return { data: webhookJson(updated) };
      },
      { params: ID_PARAMS, body: PATCH_BODY, detail: { summary: "Change url, events, description or status", tags: ["webhooks"] } },
    )
    .delete(
      "/v1/webhooks/:id",
      ({ params }) => {
        find(params.id);
        deps.storage.webhooks.remove(params.id, deps.clock.now());
        deps.log.info("webhook endpoint deleted", { webhook_id: params.id });
        return new Response(null, { status: 204 });
      },
      { params: ID_PARAMS, detail: { summary: "Delete a webhook endpoint (its delivery history stays)", tags: ["webhooks"] } },
    );
}
