import { adminPlugin } from "./admin-plugin";
import * as v from "valibot";
import { buildEvent, withExtraFields } from "../events/envelope";
import { topLevelMember } from "../events/raw-json";
import { isBuiltInType, isEventFilter, isEventType, isReservedType } from "../events/types";
import { contextOf } from "../http/context";
import { ApiError } from "../http/errors";
import { isId } from "../ids";
import type { EventRecord } from "../storage/types";
import type { ApiDeps } from "./deps";
import { deliveryJson } from "./deliveries";
import { jsonText } from "./json-response";
import { PAGE_QUERY, pageOf, parsePage } from "./pagination";
import { ERRORS, EVENT, EVENT_WITH_DELIVERIES, int, object, ok, one, oneOf, page, responses, str } from "./openapi";
import { boundedString, ID_PARAMS, JSON_OBJECT, parseTimestamp, queryParam, strict } from "./schemas";

const PUBLISH_BODY = strict({
  type: v.pipe(boundedString(1, 128), v.description('event type, e.g. "invoice.paid"')),
  data: v.pipe(JSON_OBJECT, v.description("the payload; stored and delivered byte for byte as sent")),
});

const BUILT_IN_TYPES = ["resource.created", "resource.updated", "resource.status_changed", "resource.deleted", "webhook.test"];

/** eventRoutes publishes and lists events (SPEC §5). Listings show each envelope exactly as subscribers get it. */
export function eventRoutes(deps: ApiDeps) {
  const parseSince = (since: string | undefined) =>
    since === undefined || since === "" ? undefined : parseTimestamp(since, "query.since");
  const parseType = (type: string | undefined) => {
    if (type === undefined || type === "") return undefined;
    if (!isEventFilter(type)) {
      throw new ApiError("invalid_query", "type is not an event type or filter", [
        { field: "query.type", code: "invalid", message: `${JSON.stringify(type)} is not an event type ("invoice.paid") or a family ("invoice.*")` },
      ]);
    }
    return type === "*" ? undefined : type;
  };

  return adminPlugin("events")
    .post(
      "/v1/events",
      async ({ body, request }) => {
        if (!isEventType(body.type)) {
          throw new ApiError("invalid_request", "the event is not valid", [
            { field: "type", code: "invalid_event_type", message: `${JSON.stringify(body.type)} is not an event type: dot-separated words of letters, digits, _ and -, like "invoice.paid"` },
          ]);
        }
        if (isReservedType(body.type)) {
          throw new ApiError("invalid_request", "the event is not valid", [
            { field: "type", code: "reserved_event_type", message: `${JSON.stringify(body.type)} is reserved: hookd.* events are published by hookd itself` },
          ]);
        }
        if (!deps.catalogue.allowsType(body.type)) {
          throw new ApiError("invalid_request", "the event is not valid", [
            { field: "type", code: "unknown_event_type", message: `${JSON.stringify(body.type)} is not in the [events] types catalogue` },
          ]);
        }
        const ctx = contextOf(request);
        const raw = new TextDecoder().decode(ctx.rawBody);
        const event = buildEvent(body.type, topLevelMember(raw, "data") ?? "{}", "api", deps.clock.now());
        // Filters run here, before the transaction: never inside the group commit (SPEC §10).
        await deps.prefilter(event);
        const answer = (deliveries: number) => JSON.stringify({ data: { id: event.id, deliveries } });
        const { deliveries } = await deps.storage.tx(async (tx) => {
          const stored = await tx.events.insert(event);
          await ctx.recordAnswer?.(tx, 202, answer(stored.deliveries));
          return stored;
        });
        ctx.log.info("event published", { event_id: event.id, event_type: event.type, deliveries });
        return jsonText(answer(deliveries), 202);
      },
      {
        body: PUBLISH_BODY,
        parse: "json",
        detail: {
          summary: "Publish an event to every subscribed endpoint",
          tags: ["events"],
          responses: responses(
            ok(202, "stored and queued for delivery", one(object({ id: str("evt_…"), deliveries: int("deliveries created, one per subscribed endpoint") }))),
            ...ERRORS.admin, ...ERRORS.body, ...ERRORS.idempotent,
          ),
        },
      },
    )
    .get(
      "/v1/events",
      async ({ query }) => {
        const since = parseSince(query.since);
        const type = parseType(query.type);
        const page = await pageOf(parsePage(query, "evt"), (p) => deps.storage.events.list({ ...p, type, since }), (e: EventRecord) => e);
        const items = page.data.map((e) => withExtraFields(e.body, { origin: e.origin })).join(",");
        return jsonText(`{"data":[${items}],"next_cursor":${JSON.stringify(page.next_cursor)}}`);
      },
      {
        query: v.object({
          ...PAGE_QUERY,
          type: queryParam('an event type ("invoice.paid") or a family ("invoice.*")'),
          since: queryParam("RFC 3339 time: events created at or after it", { format: "date-time" }),
        }),
        detail: {
          summary: "List events, newest first, optionally by type and since a time",
          tags: ["events"],
          responses: responses(ok(200, "a page of events, each as delivered plus its origin", page(EVENT)), ...ERRORS.admin, ...ERRORS.list),
        },
      },
    )
    .get(
      "/v1/events/:id",
      async ({ params }) => {
        const event = isId(params.id, "evt") ? await deps.storage.events.get(params.id) : null;
        if (!event) throw new ApiError("not_found", `event ${params.id} not found`);
        const deliveries = (await deps.storage.deliveries.listForEvent(event.id)).map(deliveryJson);
        return jsonText(`{"data":${withExtraFields(event.body, { origin: event.origin, deliveries })}}`);
      },
      {
        params: ID_PARAMS,
        detail: {
          summary: "Get one event as delivered, with its deliveries",
          tags: ["events"],
          responses: responses(ok(200, "the event and its deliveries", one(EVENT_WITH_DELIVERIES)), ...ERRORS.admin, ...ERRORS.byId),
        },
      },
    )
    .get(
      "/v1/event-types",
      async () => {
        const catalogue = deps.catalogue;
        const listed = catalogue.freeForm ? await deps.storage.events.typesSeen() : [...catalogue.types];
        const origin = catalogue.freeForm ? "seen" : "catalogue";
        const rows = new Map<string, string>();
        for (const name of BUILT_IN_TYPES) rows.set(name, "built_in");
        for (const name of listed) if (!isBuiltInType(name)) rows.set(name, origin);
        const data = [...rows].sort(([a], [b]) => a.localeCompare(b)).map(([name, from]) => ({ name, origin: from }));
        return { data, free_form: catalogue.freeForm, next_cursor: null };
      },
      {
        detail: {
          summary: "The event catalogue, or the types seen so far when types are free-form",
          tags: ["events"],
          responses: responses(
            ok(200, "every type, sorted by name", object({
              data: { type: "array", items: object({ name: str(), origin: oneOf(["built_in", "catalogue", "seen"]) }) },
              free_form: { type: "boolean", description: "true when [events] types is empty and any type may be published" },
              next_cursor: { type: "null" },
            })),
            ...ERRORS.admin,
          ),
        },
      },
    );
}
