import { adminPlugin } from "./admin-plugin";
import * as v from "valibot";
import { isoTime } from "../clock";
import { buildEvent } from "../events/envelope";
import { contextOf } from "../http/context";
import { ApiError } from "../http/errors";
import { isId, newId } from "../ids";
import type { EventRecord, FilterVerdicts, ResourceRecord } from "../storage/types";
import { auditEntry, auditRequestOf, resourceChanges } from "./audit-record";
import type { ApiDeps } from "./deps";
import { jsonText } from "./json-response";
import { PAGE_QUERY, pageOf, parsePage } from "./pagination";
import { ERRORS, ok, one, page, RESOURCE, responses } from "./openapi";
import { boundedString, ID_PARAMS, JSON_OBJECT, strict } from "./schemas";

const TYPE = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.-]{1,64}$/, "must be 1-64 letters, digits, _ . or -"));
const STATUS = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.-]{1,64}$/, "must be 1-64 letters, digits, _ . or -"));
const CREATE_BODY = strict({
  name: boundedString(1, 256),
  type: v.optional(TYPE),
  status: v.optional(STATUS),
  metadata: v.optional(JSON_OBJECT),
});
const PATCH_BODY = strict({
  name: v.optional(boundedString(1, 256)),
  type: v.optional(TYPE),
  status: v.optional(STATUS),
  metadata: v.optional(JSON_OBJECT),
});

/** resourceJson is the public view of a resource, also the `data.object` of its events. */
export function resourceJson(r: ResourceRecord) {
  return {
    id: r.id,
    type: r.type,
    status: r.status,
    name: r.name,
    metadata: r.metadata,
    created_at: isoTime(r.created_at),
    updated_at: isoTime(r.updated_at),
  };
}

/** resourceRoutes serve the generic registry whose every change is stored as a resource.* event. */
export function resourceRoutes(deps: ApiDeps) {
  const event = (type: string, r: ResourceRecord, now: number): EventRecord =>
    buildEvent(type, JSON.stringify({ object: resourceJson(r) }), "resource", now);
  // SPEC §10: filters run before the storing transaction. A change's events are made from the row as
  // its transaction reads it, so they are planned from a read just before and filtered then; an event
  // made in the transaction takes the planned verdicts when it carries the same type and data (the row
  // did not change in between), else routing evaluates its filters itself (a concurrent change: rare).
  const contentOf = (e: EventRecord) => `${e.type}\u0000${e.body.slice(e.body.indexOf(',"data":'))}`;
  const plan = async (events: EventRecord[]): Promise<Map<string, FilterVerdicts>> => {
    const verdicts = new Map<string, FilterVerdicts>();
    for (const e of events) {
      await deps.prefilter(e);
      if (e.verdicts !== undefined) verdicts.set(contentOf(e), e.verdicts);
    }
    return verdicts;
  };
  const withPlanned = (events: EventRecord[], planned: Map<string, FilterVerdicts>): EventRecord[] => {
    for (const e of events) {
      const verdicts = planned.get(contentOf(e));
      if (verdicts !== undefined) e.verdicts = verdicts;
    }
    return events;
  };
  const find = async (id: string) => {
    const found = isId(id, "res") ? await deps.storage.resources.get(id) : null;
    if (!found) throw new ApiError("not_found", `resource ${id} not found`);
    return found;
  };

  return adminPlugin("resources")
    .post(
      "/v1/resources",
      async ({ body, request }) => {
        const now = deps.clock.now();
        const resource: ResourceRecord = {
          id: newId("res"), type: body.type ?? "resource", name: body.name, status: body.status ?? "active",
          metadata: body.metadata ?? {}, created_at: now, updated_at: now,
        };
        const answer = JSON.stringify({ data: resourceJson(resource) });
        const record = contextOf(request).recordAnswer;
        const created = event("resource.created", resource, now);
        await deps.prefilter(created);
        await deps.storage.tx(async (tx) => {
          await tx.resources.create(resource, [created]);
          await tx.audit.record(auditEntry(auditRequestOf(request), now, resource.id, resourceChanges(null, resource)));
          await record?.(tx, 201, answer);
        });
        contextOf(request).log.info("resource created", { resource_id: resource.id });
        return jsonText(answer, 201);
      },
      {
        body: CREATE_BODY,
        parse: "json",
        detail: {
          summary: "Create a resource (emits resource.created)",
          tags: ["resources"],
          responses: responses(ok(201, "the resource", one(RESOURCE)), ...ERRORS.admin, ...ERRORS.body, ...ERRORS.idempotent),
        },
      },
    )
    .get(
      "/v1/resources",
      ({ query }) => pageOf(parsePage(query, "res"), (p) => deps.storage.resources.list(p), resourceJson),
      {
        query: v.object(PAGE_QUERY),
        detail: { summary: "List resources, newest first", tags: ["resources"], responses: responses(ok(200, "a page of resources", page(RESOURCE)), ...ERRORS.admin, ...ERRORS.list) },
      },
    )
    .get("/v1/resources/:id", async ({ params }) => ({ data: resourceJson(await find(params.id)) }), {
      params: ID_PARAMS,
      detail: { summary: "Get one resource", tags: ["resources"], responses: responses(ok(200, "the resource", one(RESOURCE)), ...ERRORS.admin, ...ERRORS.byId) },
    })
    .patch(
      "/v1/resources/:id",
      async ({ params, body, request }) => {
        const now = deps.clock.now();
        let events: EventRecord[] = [];
        const change = (before: ResourceRecord) => {
          const next: ResourceRecord = {
            ...before,
            name: body.name ?? before.name,
            type: body.type ?? before.type,
            status: body.status ?? before.status,
            metadata: body.metadata ?? before.metadata,
          };
          if (JSON.stringify(resourceJson(next)) === JSON.stringify(resourceJson(before))) return null;
          next.updated_at = now;
          const made = [event("resource.updated", next, now)];
          if (next.status !== before.status) made.push(event("resource.status_changed", next, now));
          return { after: next, events: made };
        };
        const current = isId(params.id, "res") ? await deps.storage.resources.get(params.id) : null;
        const planned = await plan(current === null ? [] : (change(current)?.events ?? []));
        const after = await deps.storage.tx(async (tx) => {
          // The row as the transaction read it: the entry's `before`, not the plan's earlier read.
          const seen: { before?: ResourceRecord } = {};
          const updated = await tx.resources.update(params.id, (before) => {
            seen.before = before;
            const changed = change(before);
            if (changed === null) return null;
            events = withPlanned(changed.events, planned);
            return { after: changed.after, events };
          });
          if (updated !== null && seen.before !== undefined && events.length > 0) {
            await tx.audit.record(auditEntry(auditRequestOf(request), now, params.id, resourceChanges(seen.before, updated)));
          }
          return updated;
        });
        if (!after) throw new ApiError("not_found", `resource ${params.id} not found`);
        if (events.length > 0) contextOf(request).log.info("resource updated", { resource_id: after.id, event_ids: events.map((e) => e.id) });
        return { data: resourceJson(after) };
      },
      {
        params: ID_PARAMS,
        body: PATCH_BODY,
        parse: "json",
        detail: {
          summary: "Change a resource (emits resource.updated, and resource.status_changed when status changes)",
          tags: ["resources"],
          responses: responses(ok(200, "the resource as changed", one(RESOURCE)), ...ERRORS.admin, ...ERRORS.body, ...ERRORS.byId),
        },
      },
    )
    .delete(
      "/v1/resources/:id",
      async ({ params, request }) => {
        const now = deps.clock.now();
        const current = isId(params.id, "res") ? await deps.storage.resources.get(params.id) : null;
        const planned = await plan(current === null ? [] : [event("resource.deleted", current, now)]);
        const removed = current === null ? null : await deps.storage.tx(async (tx) => {
          const gone = await tx.resources.remove(params.id, (before) => withPlanned([event("resource.deleted", before, now)], planned));
          if (gone !== null) await tx.audit.record(auditEntry(auditRequestOf(request), now, params.id, resourceChanges(gone, null)));
          return gone;
        });
        if (!removed) throw new ApiError("not_found", `resource ${params.id} not found`);
        contextOf(request).log.info("resource deleted", { resource_id: removed.id });
        return new Response(null, { status: 204 });
      },
      {
        params: ID_PARAMS,
        detail: {
          summary: "Delete a resource (emits resource.deleted)",
          tags: ["resources"],
          responses: responses({ status: 204, description: "deleted" }, ...ERRORS.admin, ...ERRORS.byId),
        },
      },
    );
}
