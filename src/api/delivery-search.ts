import * as v from "valibot";
import { isoTime } from "../clock";
import { isEventType } from "../events/types";
import { contextOf } from "../http/context";
import { ApiError } from "../http/errors";
import { isId } from "../ids";
import type { DeliveryFilter, DeliveryStatus, ReplayBatch, SearchPosition } from "../storage/types";
import { adminPlugin } from "./admin-plugin";
import { asked, auditEntry, auditRequestOf } from "./audit-record";
import { deliveryJson } from "./deliveries";
import type { ApiDeps } from "./deps";
import { jsonText } from "./json-response";
import { DELIVERY, ERRORS, int, object, ok, one, page, responses } from "./openapi";
import { PAGE_QUERY, parsePage } from "./pagination";
import { parseTimestamp, queryParam, strict } from "./schemas";

const STATUSES: readonly DeliveryStatus[] = ["pending", "failed", "delivered", "expired"];
const REPLAYABLE: readonly DeliveryStatus[] = ["failed", "delivered", "expired"];
const UNDELIVERED: readonly DeliveryStatus[] = ["failed", "expired"];

/**
 * REPLAY_STEP is how many deliveries one replay transaction looks at: small enough that a step holds
 * the event loop (SQLite's statements and COMMIT are synchronous) for a few ms. COUNT_STEP is the same
 * for a dry run, which only reads (bench/undelivered.ts measures both at 1M rows).
 */
export const REPLAY_STEP = 100;
const COUNT_STEP = 500;
// Between two steps the replay rests as long as the last step took (at most MAX_REST_MS), so it has
// at most about half of the event loop and the writer: a replay of 100 000 takes longer, inbound
// requests arriving meanwhile wait for at most one step.
const MAX_REST_MS = 50;

const STATUS_QUERY = v.optional(
  v.pipe(
    v.union([v.string(), v.array(v.string())], "must be a status or a list of them"),
    v.description(`only deliveries in these statuses (${STATUSES.join(", ")}): repeat the parameter or separate with commas, e.g. failed,expired`),
  ),
);

const SEARCH_QUERY = v.object({
  ...PAGE_QUERY,
  status: STATUS_QUERY,
  webhook_id: queryParam("only deliveries to this endpoint (wh_…)"),
  event_type: queryParam("only deliveries of this event type (exact)"),
  since: queryParam("RFC 3339 time: deliveries created at or after it", { format: "date-time" }),
  until: queryParam("RFC 3339 time: deliveries created before it", { format: "date-time" }),
});

const REPLAY_BODY = strict({
  status: v.optional(v.pipe(
    v.array(v.picklist(REPLAYABLE, `must be one of ${REPLAYABLE.join(", ")}`), "must be an array of statuses"),
    v.minLength(1, "must list at least one status"),
    v.description('statuses to replay; default ["failed", "expired"]'),
  )),
  webhook_id: v.optional(v.pipe(v.string("must be a string"), v.description("only this endpoint's deliveries (wh_…)"))),
  event_type: v.optional(v.pipe(v.string("must be a string"), v.description("only deliveries of this event type (exact)"))),
  since: v.pipe(v.string("must be a string"), v.description("RFC 3339 time: deliveries created at or after it")),
  until: v.optional(v.pipe(v.string("must be a string"), v.description("RFC 3339 time: deliveries created before it (default: now)"))),
  dry_run: v.optional(v.pipe(v.boolean("must be true or false"), v.description("count what would be replayed, change nothing"))),
});

function invalid(field: string, message: string, detail: string): never {
  const code = field.startsWith("query.") ? "invalid_query" : "invalid_request";
  throw new ApiError(code, message, [{ field, code: "invalid", message: detail }]);
}

/** parseStatuses reads `status` given once, repeated, or comma-separated; none = every status. */
export function parseStatuses(value: string | string[] | undefined): DeliveryStatus[] {
  const given = (Array.isArray(value) ? value : value === undefined ? [] : [value]).flatMap((s) => s.split(",")).map((s) => s.trim()).filter(Boolean);
  for (const s of given) {
    if (!(STATUSES as readonly string[]).includes(s)) invalid("query.status", "status is not a delivery status", `${JSON.stringify(s)} is not one of ${STATUSES.join(", ")}`);
  }
  return given.length === 0 ? [...STATUSES] : [...new Set(given as DeliveryStatus[])];
}

/**
 * encodeCursor / decodeCursor: the cursor carries the (created_at, id) the next page starts after, the
 * order this list pages in: the last row's, or the horizon of a page cut short (always a delivery's).
 */
export const encodeCursor = (p: SearchPosition) => Buffer.from(`${p.created_at}.${p.id}`, "utf8").toString("base64url");

function decodeCursor(cursor: string | undefined): SearchPosition | undefined {
  if (cursor === undefined || cursor === "") return undefined;
  const [time, id] = Buffer.from(cursor, "base64url").toString("utf8").split(".", 2);
  if (!time || !/^\d{1,16}$/.test(time) || !id || !isId(id, "dlv")) {
    invalid("query.cursor", "cursor is not one this API returned", "use next_cursor from the previous page unchanged");
  }
  return { created_at: Number(time), id };
}

function filterOf(statuses: DeliveryStatus[], q: { webhook_id?: string; event_type?: string; since?: string; until?: string }, at: string): DeliveryFilter {
  if (q.webhook_id !== undefined && q.webhook_id !== "" && !isId(q.webhook_id, "wh")) {
    invalid(`${at}webhook_id`, "webhook_id is not an endpoint id", `${JSON.stringify(q.webhook_id)} is not a wh_… id`);
  }
  if (q.event_type !== undefined && q.event_type !== "" && !isEventType(q.event_type)) {
    invalid(`${at}event_type`, "event_type is not an event type", `${JSON.stringify(q.event_type)} is not an event type like "invoice.paid"`);
  }
  const time = (value: string | undefined, name: string) => (value === undefined || value === "" ? undefined : parseTimestamp(value, `${at}${name}`));
  return {
    statuses,
    webhookId: q.webhook_id || undefined,
    eventType: q.event_type || undefined,
    since: time(q.since, "since"),
    until: time(q.until, "until"),
  };
}

/**
 * eachStep runs `step` from the start of the filter's range until it reports no next position, resting
 * between steps. A step cut short at a horizon counts what it saw (maybe nothing) and names where to go on.
 */
async function eachStep(step: (from: SearchPosition | null) => Promise<ReplayBatch>): Promise<number> {
  let total = 0;
  let from: SearchPosition | null = null;
  do {
    const started = performance.now();
    const batch = await step(from);
    total += batch.count;
    from = batch.next;
    const rest = Math.min(MAX_REST_MS, performance.now() - started);
    if (from) await new Promise((resolve) => setTimeout(resolve, rest));
  } while (from);
  return total;
}

/** deliverySearchRoutes serve SPEC §11's undelivered view: every endpoint's deliveries, and bulk replay. */
export function deliverySearchRoutes(deps: ApiDeps) {
  return adminPlugin("delivery-search")
    .get(
      "/v1/deliveries",
      async ({ query }) => {
        const { limit } = parsePage({ limit: query.limit }, "dlv");
        const before = decodeCursor(query.cursor);
        const filter = filterOf(parseStatuses(query.status), query, "query.");
        // One more than shown tells whether a full page has a next one. A page cut short by a horizon
        // (storage examines a bounded number of deliveries per call) goes on from there: it may hold
        // fewer than `limit`, even none, with a next_cursor.
        const { rows, resumeAfter } = await deps.storage.deliveries.search(filter, { limit: limit + 1, before });
        const shown = rows.slice(0, limit);
        const next = rows.length > limit ? shown.at(-1) : resumeAfter;
        return { data: shown.map(deliveryJson), next_cursor: next ? encodeCursor(next) : null };
      },
      {
        query: SEARCH_QUERY,
        detail: {
          summary: "Deliveries to every endpoint, newest first; status=failed,expired is the undelivered view",
          description:
            "A page may hold fewer entries than `limit`, even none, while `next_cursor` is set: hookd examines a bounded " +
            "number of deliveries per request so one request never holds the server. Keep following `next_cursor` until it is null.",
          tags: ["deliveries"],
          responses: responses(ok(200, "a page of deliveries", page(DELIVERY)), ...ERRORS.admin, ...ERRORS.list),
        },
      },
    )
    .post(
      "/v1/deliveries/replay",
      async ({ body, request }) => {
        const now = deps.clock.now();
        if (body.since === "") invalid("since", "since is required", "an RFC 3339 time: deliveries created at or after it are replayed");
        const given = filterOf([...new Set(body.status ?? UNDELIVERED)], body, "");
        // Deliveries created from now on are not part of this replay, so a long one ends.
        const filter = { ...given, until: Math.min(given.until ?? Number.POSITIVE_INFINITY, now + 1) };
        const log = contextOf(request).log;
        if (body.dry_run) {
          const matched = await eachStep((from) => deps.storage.deliveries.replayable(filter, from, COUNT_STEP));
          return { data: { matched } };
        }
        // One entry for the whole request, in its own transaction before the first step: a replay stopped
        // half way (crash, shutdown) has still left its record. How many it sent is in the answer and the log.
        const wanted = asked({
          status: filter.statuses, webhook_id: filter.webhookId, event_type: filter.eventType,
          since: isoTime(given.since ?? 0), until: given.until === undefined ? undefined : isoTime(given.until),
        });
        await deps.storage.tx((tx) => tx.audit.record(auditEntry(auditRequestOf(request), now, null, wanted)));
        const replayed = await eachStep((from) => deps.storage.deliveries.replay(filter, from, REPLAY_STEP, deps.clock.now()));
        log.info("deliveries replayed", { replayed, statuses: filter.statuses, webhook_id: filter.webhookId ?? null, event_type: filter.eventType ?? null });
        return jsonText(JSON.stringify({ data: { replayed } }), 202);
      },
      {
        body: REPLAY_BODY,
        parse: "json",
        detail: {
          summary: "Send matching failed/expired deliveries of active endpoints again (dry_run: only count them)",
          description:
            "Leased deliveries and those of disabled or deleted endpoints are skipped and not counted. Runs in small transactions, " +
            "oldest first; a FIFO lane's deliveries keep their positions. dry_run answers 200 {matched}.",
          tags: ["deliveries"],
          responses: responses(
            ok(202, "how many deliveries were queued again (dry_run: 200 with matched)", one(object({ replayed: int(), matched: int() }, ["replayed", "matched"]))),
            ...ERRORS.admin, ...ERRORS.body, ...ERRORS.idempotent,
          ),
        },
      },
    );
}
