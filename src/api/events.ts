import { Elysia } from "elysia";
import * as v from "valibot";
import { buildEvent, withExtraFields } from "../events/envelope";
import { topLevelMember } from "../events/raw-json";
import { isBuiltInType, isEventType } from "../events/types";
import { contextOf } from "../http/context";
import { ApiError } from "../http/errors";
import { isId } from "../ids";
import type { EventRecord } from "../storage/types";
import type { ApiDeps } from "./deps";
import { jsonText } from "./json-response";
import { PAGE_QUERY, pageOf, parsePage } from "./pagination";
import { boundedString, ID_PARAMS, JSON_OBJECT, strict } from "./schemas";

const PUBLISH_BODY = strict({
  type: v.pipe(boundedString(1, 128), v.description('event type, e.g. "invoice.paid"')),
  data: v.pipe(JSON_OBJECT, v.description("the payload; stored and delivered byte for byte as sent")),
});

const BUILT_IN_TYPES = ["resource.created", "resource.updated", "resource.status_changed", "resource.deleted", "webhook.test"];

/** eventRoutes publishes and lists events (SPEC §5). Listings show each envelope exactly as subscribers get it. */
export function eventRoutes(deps: ApiDeps) {
  const parseSince = (since: string | undefined): number | undefined => {
    if (since === undefined || since === "") return undefined;
    const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(since) ? Date.parse(since) : NaN;
    if (Number.isNaN(ms)) {
      throw new ApiError("invalid_query", "since must be an RFC 3339 timestamp", [
        { field: "query.since", code: "invalid", message: `${JSON.stringify(since)} is not an RFC 3339 timestamp like 2026-01-31T00:00:00Z` },
      ]);
    }
    return ms;
  };

  return new Elysia({ name: "events" })
    .post(
      "/v1/events",
      async ({ body, request }) => {
        if (!isEventType(body.type)) {
          throw new ApiError("invalid_request", "the event is not valid", [
            { field: "type", code: "invalid_event_type", message: `${JSON.stringify(body.type)} is not an event type: dot-separated words of letters, digits, _ and -, like "invoice.paid"` },
          ]);
        }
        if (!deps.catalogue.allowsType(body.type)) {
          throw new ApiError("invalid_request", "the event is not valid", [
            { field: "type", code: "unknown_event_type", message: `${JSON.stringify(body.type)} is not in the [events] types catalogue` },
          ]);
        }
        const raw = new TextDecoder().decode(contextOf(request).rawBody);
        const event = buildEvent(body.type, topLevelMember(raw, "data") ?? "{}", "api", deps.clock.now());
        const { deliveries } = await deps.storage.events.insert(event);
        deps.log.info("event published", { event_id: event.id, event_type: event.type, deliveries });
        return jsonText(JSON.stringify({ data: { id: event.id, deliveries } }), 202);
      },
      { body: PUBLISH_BODY, detail: { summary: "Publish an event to every subscribed endpoint", tags: ["events"] } },
    )
    .get(
      "/v1/events",
      ({ query }) => {
        const since = parseSince(query.since);
        const type = query.type === undefined || query.type === "" ? undefined : query.type;
        const page = pageOf(parsePage(query), (p) => deps.storage.events.list({ ...p, type, since }), (e: EventRecord) => e);
        const items = page.data.map((e) => withExtraFields(e.body, { origin: e.origin })).join(",");
        return jsonText(`{"data":[${items}],"next_cursor":${JSON.stringify(page.next_cursor)}}`);
      },
      {
        query: v.object({ ...PAGE_QUERY, type: v.optional(v.string()), since: v.optional(v.string()) }),
        detail: { summary: "List events, newest first, optionally by type and since a time", tags: ["events"] },
      },
    )
    .get(
      "/v1/events/:id",
      ({ params }) => {
        const event = isId(params.id, "evt") ? deps.storage.events.get(params.id) : null;
        if (!event) throw new ApiError("not_found", `event ${params.id} not found`);
        return jsonText(`{"data":${withExtraFields(event.body, { origin: event.origin, deliveries: [] })}}`);
      },
      { params: ID_PARAMS, detail: { summary: "Get one event as delivered, with its deliveries", tags: ["events"] } },
    )
    .get(
      "/v1/event-types",
      () => {
        const catalogue = deps.catalogue;
        const listed = catalogue.freeForm ? deps.storage.events.typesSeen() : [...catalogue.types];
        const origin = catalogue.freeForm ? "seen" : "catalogue";
        const rows = new Map<string, string>();
        for (const name of BUILT_IN_TYPES) rows.set(name, "built_in");
        for (const name of listed) if (!isBuiltInType(name)) rows.set(name, origin);
        const data = [...rows].sort(([a], [b]) => a.localeCompare(b)).map(([name, from]) => ({ name, origin: from }));
        return { data, free_form: catalogue.freeForm, next_cursor: null };
      },
      { detail: { summary: "The event catalogue, or the types seen so far when types are free-form", tags: ["events"] } },
    );
}
