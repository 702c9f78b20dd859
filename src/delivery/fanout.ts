import type { ActiveEndpoint, EventRecord, RouteEvent } from "../storage/types";

/**
 * RoutingIndex answers "which endpoints take this type" without walking every endpoint: exact
 * subscriptions by type, family subscriptions ("a.b.*") by prefix, and "*" ones. A lookup costs one
 * map read per dot in the type, whatever the number of endpoints.
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
    const found: string[][] = [this.everything];
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

/**
 * createRouter is the fan-out rule handed to storage (SPEC §5: one delivery per active endpoint whose
 * `events` match the type). The index is built once per list of active endpoints: storage hands the
 * same array until an endpoint changes.
 */
export function createRouter(): RouteEvent {
  const indexes = new WeakMap<readonly ActiveEndpoint[], RoutingIndex>();
  return (event: EventRecord, endpoints: readonly ActiveEndpoint[]) => {
    let index = indexes.get(endpoints);
    if (!index) {
      index = new RoutingIndex(endpoints);
      indexes.set(endpoints, index);
    }
    return index.match(event.type);
  };
}
