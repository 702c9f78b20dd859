import * as v from "valibot";
import { ApiError } from "../http/errors";
import { EVENT_TYPE_MAX } from "../events/types";

/** nonEmpty is a trimmed-length check with a message that names the limit. */
export const boundedString = (min: number, max: number) =>
  v.pipe(
    v.string("must be a string"),
    v.minLength(min, `must be at least ${min} character${min === 1 ? "" : "s"}`),
    v.maxLength(max, `must be at most ${max} characters`),
  );

/** strict objects name unknown fields, so a typo ("descripton") is an error rather than a silent no-op. */
export const strict = <T extends v.ObjectEntries>(entries: T) =>
  v.strictObject(entries, (issue) => {
    if (issue.expected === "never") return "unknown field";
    if (issue.received === "undefined" && (issue.path?.length ?? 0) > 0) return "is required";
    return "must be a JSON object";
  });

/** EVENT_FILTERS is an endpoint's subscription list. */
export const EVENT_FILTERS = v.pipe(
  v.array(boundedString(1, EVENT_TYPE_MAX + 2), "must be an array of event types or filters"),
  v.minLength(1, 'must list at least one event type, or ["*"] for all'),
  v.maxLength(100, "must list at most 100 entries"),
  v.description('event types: "*" = all, "family.*" = a family at any depth, else exact'),
);

/** JSON_OBJECT accepts any JSON object (metadata, event data). */
export const JSON_OBJECT = v.pipe(
  v.unknown(),
  // Checked before v.record, which would copy an array into a plain object and accept it.
  v.check((value) => typeof value === "object" && value !== null && !Array.isArray(value), "must be a JSON object"),
  v.record(v.string(), v.unknown()),
);

/**
 * queryParam is a query string parameter given at most once (Elysia turns repeats into arrays). It is
 * checked as a string here and parsed by the route (which names the parameter when it is wrong);
 * `documented` is what /openapi.json says the value is, e.g. an integer with its bounds or an enum.
 */
export const queryParam = (description: string, documented: Record<string, unknown> = {}) =>
  v.optional(
    v.pipe(v.string("must be a single value (given once, no commas)"), v.description(description), v.metadata(documented)),
  );

/** queryEnum documents a query parameter that must be one of `values`. */
export const queryEnum = (description: string, values: readonly string[]) => queryParam(description, { enum: [...values] });

/** ID_PARAM documents a path id. */
export const ID_PARAMS = v.object({ id: v.string() });

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

/** parseTimestamp reads an RFC 3339 time with an offset, rejecting impossible dates (Feb 30) that Date.parse would roll over. */
export function parseTimestamp(text: string, field: string): number {
  const ms = RFC3339.test(text) ? Date.parse(text) : NaN;
  const sameDay = !Number.isNaN(ms) && isRealDate(text.slice(0, 10));
  if (!sameDay) {
    throw new ApiError(field.startsWith("query.") ? "invalid_query" : "invalid_request", `${field} must be an RFC 3339 timestamp`, [
      { field, code: "invalid", message: `${JSON.stringify(text)} is not an RFC 3339 timestamp like 2026-01-31T00:00:00Z` },
    ]);
  }
  return ms;
}

function isRealDate(ymd: string): boolean {
  const [y, m, d] = ymd.split("-").map(Number) as [number, number, number];
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

/** parseEnumQuery reads an optional query parameter that must be one of `allowed`, naming it when it is not. */
export function parseEnumQuery<T extends string>(value: string | undefined, allowed: readonly T[], name: string): T | undefined {
  if (value === undefined || value === "") return undefined;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new ApiError("invalid_query", `${name} is not one of ${allowed.join(", ")}`, [
    { field: `query.${name}`, code: "invalid", message: `must be one of ${allowed.join(", ")}` },
  ]);
}
