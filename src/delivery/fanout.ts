import { createHash } from "node:crypto";
import { isOperationalType } from "../alerts/types";
import { type FilterContext, filterContext, storedFilterMatcher } from "../routing/filter";
import type { ActiveEndpoint, EventRecord, RouteEvent, RouteTarget } from "../storage/types";

/**
 * RoutingIndex answers "which endpoints take this type" without walking every endpoint: exact
 * subscriptions by type, family subscriptions ("a.b.*") by prefix, and "*" ones. A lookup costs one
 * map read per dot in the type, whatever the number of endpoints. hookd's own `hookd.*` events are
 * opt-in (SPEC §11): "*" does not take them, only a `hookd.` family or type does.
 */
export class RoutingIndex {
  private readonly everything: string[] = [];
  private readonly exact = new Map<string, string[]>();
  private readonly families = new Map<string, string[]>();

  constructor(endpoints: readonly ActiveEndpoint[]) {
    for (const e of endpoints) {
      for (const filter of new Set(e.events)) {
        if (filter === "*") this.everything.push(e.id);
        else if (filter.endsWith(".*")) push(this.families, filter.slice(0, -1), e.id);
        else push(this.exact, filter, e.id);
      }
    }
  }

  /** match lists each endpoint subscribed to `type` once. */
  match(type: string): string[] {
    const found: string[][] = [isOperationalType(type) ? [] : this.everything];
    const exact = this.exact.get(type);
    if (exact) found.push(exact);
    for (let dot = type.indexOf("."); dot !== -1; dot = type.indexOf(".", dot + 1)) {
      const family = this.families.get(type.slice(0, dot + 1));
      if (family) found.push(family);
    }
    const lists = found.filter((l) => l.length > 0);
    if (lists.length <= 1) return lists[0]?.slice() ?? [];
    // An endpoint may match through several of its filters; it still gets one delivery.
    return [...new Set(lists.flat())];
  }
}

function push(map: Map<string, string[]>, key: string, id: string): void {
  const list = map.get(key);
  if (list) list.push(id);
  else map.set(key, [id]);
}

/** RouterEntry is what the router keeps per list of active endpoints. */
interface RouterEntry {
  index: RoutingIndex;
  byId: Map<string, ActiveEndpoint>;
  /** anyFilter: some endpoint has a filter; when none does, routing never looks at filters. */
  anyFilter: boolean;
  /** matchers: filters compiled for this list, on first need (events without a verdict are rare). */
  matchers: Map<string, (ctx: FilterContext) => boolean>;
}

/**
 * createRouter is the fan-out rule handed to storage (SPEC §5: one delivery per active endpoint whose
 * `events` match the type; SPEC §9: a FIFO endpoint's delivery joins the lane of its ordering key;
 * SPEC §10: and whose filter matches). The index is built once per list of active endpoints: storage
 * hands the same array until an endpoint changes. An event's `data` is parsed only when an endpoint it
 * goes to orders by key.
 *
 * Filters were evaluated before the transaction (the prefilter's `event.verdicts`); a verdict is used
 * only while the endpoint's filter is still the text it was computed for. Without one — the endpoint's
 * filter changed between the prefilter and the commit, or the event was built inside its transaction
 * (resource changes) — the filter is evaluated here. That is acceptable: it is rare, compiling is
 * once per endpoint list (and per text, usually done already by the prefilter), and evaluation is
 * bounded (≤ 8 KiB of query, `$regex` on RE2, linear in the input): microseconds, not a stall of the
 * group commit.
 */
export function createRouter(): RouteEvent {
  const entries = new WeakMap<readonly ActiveEndpoint[], RouterEntry>();
  return (event: EventRecord, endpoints: readonly ActiveEndpoint[]): RouteTarget[] => {
    let entry = entries.get(endpoints);
    if (!entry) {
      entry = {
        index: new RoutingIndex(endpoints),
        byId: new Map(endpoints.map((e) => [e.id, e])),
        anyFilter: endpoints.some((e) => e.filter !== null),
        matchers: new Map(),
      };
      entries.set(endpoints, entry);
    }
    const { byId, matchers } = entry;
    let ids = entry.index.match(event.type);
    if (entry.anyFilter) {
      let ctx: FilterContext | null = null;
      ids = ids.filter((id) => {
        const filter = byId.get(id)?.filter ?? null;
        if (filter === null) return true;
        const verdict = event.verdicts?.get(id);
        if (verdict !== undefined && verdict.filter === filter) return verdict.matches;
        let matches = matchers.get(id);
        if (matches === undefined) matchers.set(id, (matches = storedFilterMatcher(filter)));
        ctx ??= filterContext(event);
        return matches(ctx);
      });
    }
    let data: { value: unknown } | null = null;
    return ids.map((id) => {
      const endpoint = byId.get(id);
      if (endpoint === undefined || endpoint.ordering !== "fifo") return { id, lane: null };
      if (endpoint.ordering_key === null) return { id, lane: "" };
      data ??= { value: eventData(event.body) };
      return { id, lane: laneOf(data.value, endpoint.ordering_key) };
    });
  };
}

/** eventData reads `data` from a stored envelope; undefined if it is not there (never throws). */
function eventData(body: string): unknown {
  try {
    return (JSON.parse(body) as { data?: unknown }).data;
  } catch {
    return undefined;
  }
}

// Lane names longer than this are stored as a hash: a key value is the sender's, of any size.
const MAX_LANE_TEXT = 200;

/**
 * laneOf names the lane of `data` for an ordering key: the value at the JSON Pointer as JSON text
 * (so 1 and "1" are different lanes), or "" — the "no key" lane — when the pointer finds nothing.
 */
export function laneOf(data: unknown, pointer: string): string {
  const value = resolvePointer(data, pointer);
  if (value === undefined) return "";
  const text = JSON.stringify(value);
  return text.length <= MAX_LANE_TEXT ? text : `sha256:${createHash("sha256").update(text).digest("hex")}`;
}

/** resolvePointer follows an RFC 6901 JSON Pointer ("" = the whole value); undefined when a step is missing. */
export function resolvePointer(value: unknown, pointer: string): unknown {
  if (pointer === "") return value;
  if (!pointer.startsWith("/")) return undefined;
  let current: unknown = value;
  for (const raw of pointer.slice(1).split("/")) {
    const step = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (Array.isArray(current)) {
      if (!/^(0|[1-9][0-9]*)$/.test(step)) return undefined;
      current = current[Number(step)];
    } else if (current !== null && typeof current === "object" && Object.hasOwn(current, step)) {
      current = (current as Record<string, unknown>)[step];
    } else {
      return undefined;
    }
    if (current === undefined) return undefined;
  }
  return current;
}
