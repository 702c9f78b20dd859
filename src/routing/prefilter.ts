import { RoutingIndex } from "../delivery/fanout";
import type { ActiveEndpoint, EventRecord } from "../storage/types";
import { type FilterContext, filterContext, storedFilterMatcher } from "./filter";

/** Prefilter sets `event.verdicts` before the event is stored; it never throws for a bad filter. */
export type Prefilter = (event: EventRecord) => Promise<void>;

type Matcher = (ctx: FilterContext) => boolean;

/** FilteredView is the part of the active endpoints that carries a filter, indexed by type, each filter compiled. */
interface FilteredView {
  index: RoutingIndex | null;
  filters: Map<string, { text: string; matches: Matcher }>;
}

/**
 * viewOf indexes only the endpoints with a filter and compiles each filter now, once per endpoint list.
 * The view holds its matchers itself, so however many distinct filters there are, the compile cache
 * cannot make an event compile again.
 */
function viewOf(endpoints: readonly ActiveEndpoint[]): FilteredView {
  const filters = new Map<string, { text: string; matches: Matcher }>();
  const filtered: ActiveEndpoint[] = [];
  for (const e of endpoints) {
    if (e.filter === null) continue;
    filtered.push(e);
    filters.set(e.id, { text: e.filter, matches: storedFilterMatcher(e.filter) });
  }
  return { index: filtered.length === 0 ? null : new RoutingIndex(filtered), filters };
}

/**
 * createPrefilter evaluates endpoint filters before the storing transaction (SPEC §10: a slow filter
 * inside the group commit would stall every write) and leaves the results on the event for the router.
 * Storage hands the same endpoint array until an endpoint changes, so the index of filtered endpoints
 * and their compiled filters are rebuilt only then. Endpoints without a filter are not in the index;
 * an event none of whose endpoints filters costs one index lookup (none at all when no endpoint filters).
 */
export function createPrefilter(activeEndpoints: () => Promise<readonly ActiveEndpoint[]>): Prefilter {
  const views = new WeakMap<readonly ActiveEndpoint[], FilteredView>();
  return async (event) => {
    const endpoints = await activeEndpoints();
    let view = views.get(endpoints);
    if (view === undefined) {
      view = viewOf(endpoints);
      views.set(endpoints, view);
    }
    if (view.index === null) return;
    const ids = view.index.match(event.type);
    if (ids.length === 0) return;
    const ctx = filterContext(event);
    const verdicts = new Map<string, { filter: string; matches: boolean }>();
    for (const id of ids) {
      const { text, matches } = view.filters.get(id) as { text: string; matches: Matcher };
      verdicts.set(id, { filter: text, matches: matches(ctx) });
    }
    event.verdicts = verdicts;
  };
}
