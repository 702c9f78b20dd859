import { adminPlugin } from "./admin-plugin";
import * as v from "valibot";
import { isoTime } from "../clock";
import { buildEvent } from "../events/envelope";
import { isEventFilter } from "../events/types";
import { contextOf } from "../http/context";
import { ApiError, type ErrorDetail } from "../http/errors";
import { issuesToDetails } from "../http/validation";
import { newId, isId } from "../ids";
import { checkEndpointUrl } from "../security/targets";
import { ENDPOINT_OPTION_DEFAULTS, type WebhookPatch, type WebhookRecord } from "../storage/types";
import { inTurn } from "./in-turn";
import { asked, auditEntry, auditRequestOf, pickFields, ROTATED_SECRET, webhookChanges } from "./audit-record";
import type { ApiDeps } from "./deps";
import { jsonText } from "./json-response";
import { PAGE_QUERY, pageOf, parsePage } from "./pagination";
import { ERRORS, int, nullable, object, ok, one, optionalJsonBody, page, responses, str, WEBHOOK, WEBHOOK_WITH_SECRET } from "./openapi";
import { boundedString, EVENT_FILTERS, ID_PARAMS, parseTimestamp, strict } from "./schemas";
import { checkOptions, OPTION_BODY } from "./webhook-options";
import { newSecret, normalizedOrNull, normalizeUrl, webhookJson } from "./webhook-view";

// The old secret keeps signing webhook-signature this long, so receivers can switch without losing deliveries.
const ROTATION_OVERLAP_MS = 24 * 60 * 60 * 1000;
// 32 or more base64 characters always decode to at least 24 bytes, so the pattern is the whole check:
// one problem, one `details` entry (a second length check used to repeat every pattern failure).
const SECRET_FIELD = v.pipe(
  v.string("must be a string"),
  v.regex(/^whsec_[A-Za-z0-9+/]{32,}={0,2}$/, "must be whsec_ followed by base64 of at least 24 random bytes"),
);
const ROTATE_BODY = strict({ secret: v.optional(SECRET_FIELD) });

// The rotate body is optional, which a route body schema cannot say in /openapi.json (it documents every
// body as required), so this route checks its body itself and documents it by hand.
function chosenSecret(body: unknown): string | undefined {
  if (body === undefined || body === null || body === "") return undefined;
  const parsed = v.safeParse(ROTATE_BODY, body);
  if (!parsed.success) throw new ApiError("invalid_request", "the request body is not valid", issuesToDetails(parsed.issues as never));
  return parsed.output.secret;
}
const RECOVER_BODY = strict({ since: v.pipe(v.string("must be a string"), v.description("RFC 3339 time; deliveries created since then are re-sent")) });

const URL_FIELD = v.pipe(boundedString(1, 2048), v.description("where deliveries are POSTed"));
const DESCRIPTION = boundedString(0, 500);

const CREATE_BODY = strict({ url: URL_FIELD, events: EVENT_FILTERS, description: v.optional(DESCRIPTION), ...OPTION_BODY });
const PATCH_BODY = strict({
  url: v.optional(URL_FIELD),
  events: v.optional(EVENT_FILTERS),
  description: v.optional(DESCRIPTION),
  status: v.optional(v.picklist(["active", "disabled"], 'must be "active" or "disabled"')),
  ...OPTION_BODY,
});

/** webhookRoutes serves SPEC §4's endpoint CRUD; delivery routes join in the delivery issue. */
export function webhookRoutes(deps: ApiDeps) {
  const patchesInTurn = inTurn();
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
  const find = async (id: string) => {
    const found = isId(id, "wh") ? await deps.storage.webhooks.get(id) : null;
    if (!found) throw new ApiError("not_found", `webhook endpoint ${id} not found`);
    return found;
  };

  return adminPlugin("webhooks")
    .post(
      "/v1/webhooks",
      async ({ body, request }) => {
        const options = checkOptions({ body, before: null, url: normalizedOrNull(body.url), profiles: deps.deliveryProfiles() });
        rejectIfAny([...problems(body), ...options.details]);
        const now = deps.clock.now();
        const record: WebhookRecord = {
          id: newId("wh"), url: normalizeUrl(body.url), events: [...new Set(body.events)], description: body.description ?? "",
          status: "active", secret: newSecret(), failure_count: 0, last_failure_at: null, failing_since: null,
          created_at: now, updated_at: now, ...ENDPOINT_OPTION_DEFAULTS, ...options.patch,
        };
        const answer = JSON.stringify({ data: { ...webhookJson(record), secret: record.secret } });
        const recordAnswer = contextOf(request).recordAnswer;
        const audit = auditEntry(auditRequestOf(request), now, record.id, webhookChanges(null, record));
        // Read once: the 422 below names the same limit the transaction applied.
        const maxEndpoints = deps.maxEndpoints;
        const created = await deps.storage.tx(async (tx) => {
          const outcome = await tx.webhooks.create(record, maxEndpoints);
          if (outcome === "created") {
            await tx.audit.record(audit);
            await recordAnswer?.(tx, 201, answer);
          }
          return outcome;
        });
        if (created === "limit_reached") {
          throw new ApiError("limit_reached", `at most ${maxEndpoints} webhook endpoints may exist ([delivery] max_endpoints)`);
        }
        contextOf(request).log.info("webhook endpoint created", { webhook_id: record.id });
        return jsonText(answer, 201);
      },
      { body: CREATE_BODY, parse: "json", detail: {
          summary: "Create a webhook endpoint (the secret is shown only here)",
          tags: ["webhooks"],
          responses: responses(ok(201, "the endpoint, with its signing secret", one(WEBHOOK_WITH_SECRET)), ...ERRORS.admin, ...ERRORS.body, ...ERRORS.idempotent, "limit_reached"),
        },
      },
    )
    .get(
      "/v1/webhooks",
      ({ query }) => pageOf(parsePage(query, "wh"), (p) => deps.storage.webhooks.list(p), webhookJson),
      {
        query: v.object(PAGE_QUERY),
        detail: { summary: "List webhook endpoints, newest first", tags: ["webhooks"], responses: responses(ok(200, "a page of endpoints", page(WEBHOOK)), ...ERRORS.admin, ...ERRORS.list) },
      },
    )
    .get("/v1/webhooks/:id", async ({ params }) => ({ data: webhookJson(await find(params.id)) }), {
      params: ID_PARAMS,
      detail: { summary: "Get one webhook endpoint", tags: ["webhooks"], responses: responses(ok(200, "the endpoint", one(WEBHOOK)), ...ERRORS.admin, ...ERRORS.byId) },
    })
    .patch(
      "/v1/webhooks/:id",
      ({ params, body, request }) => patchesInTurn(params.id, async () => {
        // One PATCH of an endpoint at a time (in this process): the header rules read the stored values
        // ("********" keeps one; a new origin needs them all again), so two PATCHes racing must not both
        // decide from the same `before` — one could carry a key to the other's new host.
        const before = await find(params.id);
        const url = body.url === undefined ? before.url : normalizedOrNull(body.url);
        const options = checkOptions({ body, before, url, profiles: deps.deliveryProfiles() });
        rejectIfAny([...problems(body), ...options.details]);
        const patch: WebhookPatch = {
          url: body.url === undefined ? undefined : normalizeUrl(body.url),
          events: body.events ? [...new Set(body.events)] : undefined,
          description: body.description,
          status: body.status,
          ...options.patch,
        };
        const now = deps.clock.now();
        const updated = await deps.storage.tx(async (tx) => {
          const after = await tx.webhooks.update(params.id, patch, now);
          // Only the fields this PATCH named: a change the scheduler or a rotation made meanwhile is not this key's.
          const changes = after === null ? {} : pickFields(webhookChanges(before, after), Object.keys(body));
          if (Object.keys(changes).length > 0) await tx.audit.record(auditEntry(auditRequestOf(request), now, params.id, changes));
          return after;
        });
        if (!updated) throw new ApiError("not_found", `webhook endpoint ${params.id} not found`);
        contextOf(request).log.info("webhook endpoint updated", { webhook_id: updated.id, fields: Object.keys(body) });
        return { data: webhookJson(updated) };
      }),
      {
        params: ID_PARAMS,
        body: PATCH_BODY,
        parse: "json",
        detail: {
          summary: "Change url, events, description, status or delivery options (null clears an option)",
          tags: ["webhooks"],
          responses: responses(ok(200, "the endpoint as changed", one(WEBHOOK)), ...ERRORS.admin, ...ERRORS.body, ...ERRORS.byId),
        },
      },
    )
    .post(
      "/v1/webhooks/:id/rotate-secret",
      async ({ params, body, request }) => {
        await find(params.id);
        const now = deps.clock.now();
        const secret = chosenSecret(body) ?? newSecret();
        const recordAnswer = contextOf(request).recordAnswer;
        const answer = await deps.storage.tx(async (tx) => {
          const rotated = await tx.webhooks.rotateSecret(params.id, secret, now + ROTATION_OVERLAP_MS, now);
          if (!rotated) return null;
          await tx.audit.record(auditEntry(auditRequestOf(request), now, params.id, ROTATED_SECRET));
          const text = JSON.stringify({ data: { ...webhookJson(rotated), secret } });
          await recordAnswer?.(tx, 200, text);
          return text;
        });
        if (answer === null) throw new ApiError("not_found", `webhook endpoint ${params.id} not found`);
        contextOf(request).log.info("webhook secret rotated", { webhook_id: params.id, previous_valid_until: isoTime(now + ROTATION_OVERLAP_MS) });
        return jsonText(answer);
      },
      {
        params: ID_PARAMS,
        detail: {
          summary: "Rotate the signing secret; the old one also signs webhook-signature for 24 h",
          tags: ["webhooks"],
          requestBody: optionalJsonBody(ROTATE_BODY, "omit the body (or send {}) for a new random secret"),
          responses: responses(ok(200, "the endpoint with its new secret", one(WEBHOOK_WITH_SECRET)), ...ERRORS.admin, ...ERRORS.body, ...ERRORS.idempotent, ...ERRORS.byId),
        },
      },
    )
    .post(
      "/v1/webhooks/:id/test",
      async ({ params, request }) => {
        const webhook = await find(params.id);
        if (webhook.status !== "active") throw new ApiError("conflict", `endpoint ${webhook.id} is disabled; enable it to send a test event`);
        const now = deps.clock.now();
        const data = JSON.stringify({ webhook_id: webhook.id, message: "This is a test event from hookd." });
        const event = buildEvent("webhook.test", data, "test", now);
        const recordAnswer = contextOf(request).recordAnswer;
        const answer = await deps.storage.tx(async (tx) => {
          const { deliveryIds } = await tx.events.insert(event, { onlyWebhook: webhook.id });
          const deliveryId = deliveryIds[0] ?? null;
          await tx.audit.record(auditEntry(auditRequestOf(request), now, webhook.id, asked({ event_id: event.id, delivery_id: deliveryId })));
          const text = JSON.stringify({ data: { event_id: event.id, delivery_id: deliveryId } });
          await recordAnswer?.(tx, 202, text);
          return text;
        });
        contextOf(request).log.info("test event enqueued", { webhook_id: webhook.id, event_id: event.id });
        return jsonText(answer, 202);
      },
      {
        params: ID_PARAMS,
        detail: {
          summary: "Send a webhook.test event to this endpoint only",
          tags: ["webhooks"],
          responses: responses(
            ok(202, "the test event and its delivery, queued", one(object({ event_id: str("evt_…"), delivery_id: nullable(str("dlv_…")) }))),
            ...ERRORS.admin, ...ERRORS.body, ...ERRORS.idempotent, ...ERRORS.byId, "conflict",
          ),
        },
      },
    )
    .post(
      "/v1/webhooks/:id/recover",
      async ({ params, body, request }) => {
        const webhook = await find(params.id);
        if (webhook.status !== "active") throw new ApiError("conflict", `endpoint ${webhook.id} is disabled; enable it before recovering`);
        const since = parseTimestamp(body.since, "since");
        const recordAnswer = contextOf(request).recordAnswer;
        const { recovered, answer } = await deps.storage.tx(async (tx) => {
          const now = deps.clock.now();
          const n = await tx.deliveries.recover(webhook.id, since, now);
          await tx.audit.record(auditEntry(auditRequestOf(request), now, webhook.id, asked({ since: isoTime(since), recovered: n })));
          const text = JSON.stringify({ data: { recovered: n } });
          await recordAnswer?.(tx, 202, text);
          return { recovered: n, answer: text };
        });
        contextOf(request).log.info("deliveries recovered", { webhook_id: webhook.id, since: body.since, recovered });
        return jsonText(answer, 202);
      },
      {
        params: ID_PARAMS,
        body: RECOVER_BODY,
        parse: "json",
        detail: {
          summary: "Re-send the endpoint's failed and expired deliveries created since a time",
          tags: ["webhooks"],
          responses: responses(
            ok(202, "how many deliveries were queued again", one(object({ recovered: int() }))),
            ...ERRORS.admin, ...ERRORS.body, ...ERRORS.idempotent, ...ERRORS.byId, "conflict",
          ),
        },
      },
    )
    .delete(
      "/v1/webhooks/:id",
      async ({ params, request }) => {
        const before = await find(params.id);
        const now = deps.clock.now();
        const removed = await deps.storage.tx(async (tx) => {
          const gone = await tx.webhooks.remove(params.id, now);
          if (gone) await tx.audit.record(auditEntry(auditRequestOf(request), now, params.id, webhookChanges(before, null)));
          return gone;
        });
        if (!removed) throw new ApiError("not_found", `webhook endpoint ${params.id} not found`);
        contextOf(request).log.info("webhook endpoint deleted", { webhook_id: params.id });
        return new Response(null, { status: 204 });
      },
      {
        params: ID_PARAMS,
        detail: {
          summary: "Delete a webhook endpoint (its delivery history stays)",
          tags: ["webhooks"],
          responses: responses({ status: 204, description: "deleted" }, ...ERRORS.admin, ...ERRORS.byId),
        },
      },
    );
}
