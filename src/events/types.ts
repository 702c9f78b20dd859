import { isOperationalType, OPERATIONAL_TYPES } from "../alerts/types";

/** EVENT_TYPE_PATTERN is SPEC §3's rule; it also keeps CR/LF out of the X-Hookd-Event header. */
export const EVENT_TYPE_PATTERN = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$/;
export const EVENT_TYPE_MAX = 128;

/** isEventType checks an event type against SPEC §3. */
export function isEventType(value: string): boolean {
  return value.length <= EVENT_TYPE_MAX && EVENT_TYPE_PATTERN.test(value);
}

/** isEventFilter accepts "*", "family.*" (a valid type prefix plus ".*"), or an exact event type. */
export function isEventFilter(value: string): boolean {
  if (value === "*") return true;
  if (value.endsWith(".*")) {
    const family = value.slice(0, -2);
    return family.length > 0 && family.length <= EVENT_TYPE_MAX && /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(family);
  }
  return isEventType(value);
}

/**
 * filterMatches: "*" matches all but hookd's own `hookd.*` types (opt-in, SPEC §11); "a.*" matches "a.b"
 * and "a.b.c" (any depth) but not "a" or "ab.c"; else exact.
 */
export function filterMatches(filter: string, type: string): boolean {
  if (filter === "*") return !isOperationalType(type);
  if (filter.endsWith(".*")) return type.startsWith(filter.slice(0, -1));
  return filter === type;
}

/** matchesAny tells whether an endpoint subscribed with `filters` receives an event of `type`. */
export function matchesAny(filters: readonly string[], type: string): boolean {
  return filters.some((f) => filterMatches(f, type));
}

/** isReservedType: `hookd.*` types are hookd's own; publishing one (API or inbound) is 422 (SPEC §11). */
export function isReservedType(type: string): boolean {
  return isOperationalType(type);
}

/** isBuiltInType: types hookd's resources and tests emit, so a catalogue never rejects them (SPEC §2 [events]). */
export function isBuiltInType(type: string): boolean {
  return type === "webhook.test" || type.startsWith("resource.");
}

/** EventCatalogue answers whether a type (or a subscription filter) is allowed; empty = free-form. */
export class EventCatalogue {
  readonly types: readonly string[];
  private readonly set: ReadonlySet<string>;

  constructor(types: readonly string[]) {
    this.types = types;
    this.set = new Set(types);
  }

  get freeForm(): boolean {
    return this.set.size === 0;
  }

  allowsType(type: string): boolean {
    return this.freeForm || this.set.has(type) || isBuiltInType(type) || isOperationalType(type);
  }

  /** allowsFilter: a family filter is allowed when at least one catalogue or built-in type falls in it. */
  allowsFilter(filter: string): boolean {
    if (this.freeForm || filter === "*") return true;
    if (!filter.endsWith(".*")) return this.allowsType(filter);
    if (filterMatches(filter, "resource.created") || filterMatches(filter, "webhook.test")) return true;
    if (OPERATIONAL_TYPES.some((t) => filterMatches(filter, t))) return true;
    return this.types.some((t) => filterMatches(filter, t));
  }
}
