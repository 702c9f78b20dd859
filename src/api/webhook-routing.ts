import * as v from "valibot";
import type { ErrorDetail } from "../http/errors";
import { checkFilter } from "../routing/filter";
import { checkTransform, DEFAULT_TRANSFORM_CONTENT_TYPE, MAX_TRANSFORM_BYTES } from "../transform";
import type { EndpointOptions } from "../storage/types";

// SPEC §10's endpoint fields (filter, transform, content_type) as the API takes and shows them. Pure:
// the filter and JSONata checks come from src/routing and src/transform, so the API and the sender agree.

/** ROUTING_FIELDS are the SPEC §10 keys of a create or PATCH body. */
export const ROUTING_FIELDS = ["filter", "transform", "content_type"] as const;
type RoutingField = (typeof ROUTING_FIELDS)[number];
type RoutingOptions = Pick<EndpointOptions, RoutingField>;

/** MAX_CONTENT_TYPE is the longest content_type accepted (a header value, kept short). */
export const MAX_CONTENT_TYPE = 255;

// RFC 9110 §8.3.1: type "/" subtype *( OWS ";" OWS parameter ), parameter = token "=" ( token / quoted-string ).
// Only visible ASCII, space and tab: the value becomes a header, so CR/LF and obs-text are out.
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const QUOTED = '"(?:[\\t \\x21\\x23-\\x5b\\x5d-\\x7e]|\\\\[\\t \\x21-\\x7e])*"';
const MEDIA_TYPE = new RegExp(`^${TOKEN}/${TOKEN}(?:[ \\t]*;[ \\t]*(?:${TOKEN}=(?:${TOKEN}|${QUOTED}))?)*$`);

/** mediaTypeProblem says what is wrong with a content_type value (RFC 9110 media type, ≤ 255 characters), or null. */
export function mediaTypeProblem(value: string): string | null {
  if (value.length > MAX_CONTENT_TYPE) return `must be at most ${MAX_CONTENT_TYPE} characters`;
  if (!MEDIA_TYPE.test(value)) return 'must be a media type like "application/xml" or "text/plain; charset=utf-8"';
  return null;
}

/** transformProblem says what is wrong with a transform expression (not a string, empty, over 16 KiB, does not compile), or null. */
export function transformProblem(value: unknown): string | null {
  if (typeof value !== "string") return "must be a JSONata expression (a string) or null";
  return checkTransform(value);
}

const documented = (description: string, schema: Record<string, unknown>) => v.optional(v.pipe(v.unknown(), v.description(description), v.metadata(schema)));

/** ROUTING_BODY documents the SPEC §10 fields of the create and PATCH bodies (checkRouting judges them). */
export const ROUTING_BODY = {
  filter: documented(
    "MongoDB-style query over {id, type, created_at, data, source}; the event is delivered only when it matches (and `events` covers its type). Operators: $eq $ne $gt $gte $lt $lte $in $nin $exists $regex $options $and $or $nor $not $all $size $elemMatch; at most 8 KiB; $regex ≤ 256 characters, RE2 syntax; null clears",
    { type: ["object", "null"], additionalProperties: true, examples: [{ source: "psft-payroll", "data.severity": { $in: ["error", "critical"] } }] },
  ),
  transform: documented(
    `JSONata expression applied to {id, type, created_at, data, source} at send time: an object or array result is sent as application/json, a string result as is with content_type; at most ${MAX_TRANSFORM_BYTES / 1024} KiB; null clears`,
    { type: ["string", "null"], examples: ['{"text": "Payroll batch " & data.batch & " failed: " & data.message}'] },
  ),
  content_type: documented(
    `media type of a transform's string results (null = "${DEFAULT_TRANSFORM_CONTENT_TYPE}"), at most ${MAX_CONTENT_TYPE} characters; null clears`,
    { type: ["string", "null"], maxLength: MAX_CONTENT_TYPE, examples: ["application/xml; charset=utf-8"] },
  ),
};

/** ROUTING_READ documents the fields as every read shows them. */
export const ROUTING_READ = {
  filter: { type: ["object", "null"], additionalProperties: true, description: "the filter query as given; null = every event of the subscribed types" },
  transform: { type: ["string", "null"], description: "JSONata expression; null = the envelope is sent as is" },
  content_type: { type: ["string", "null"], description: `media type for a transform's string results; null = "${DEFAULT_TRANSFORM_CONTENT_TYPE}"` },
};

/** routingJson is the read view: the filter as the object it was given, unset fields null. */
export function routingJson(o: RoutingOptions) {
  return { filter: o.filter === null ? null : (JSON.parse(o.filter) as unknown), transform: o.transform, content_type: o.content_type };
}

/** checkRouting validates the SPEC §10 fields of a create or PATCH body: the fields to store, or one detail per problem. */
export function checkRouting(body: Readonly<Partial<Record<RoutingField, unknown>>>): { patch: Partial<RoutingOptions>; details: ErrorDetail[] } {
  const patch: Partial<RoutingOptions> = {};
  const details: ErrorDetail[] = [];
  const invalid = (field: RoutingField, message: string) => details.push({ field, code: "invalid", message });

  const filter = body.filter;
  if (filter === null) patch.filter = null;
  else if (filter !== undefined) {
    const checked = checkFilter(filter);
    if (checked.ok) patch.filter = checked.text;
    else for (const message of checked.problems) invalid("filter", message);
  }
  const transform = body.transform;
  if (transform === null) patch.transform = null;
  else if (transform !== undefined) {
    const message = transformProblem(transform);
    if (message !== null) invalid("transform", message);
    else patch.transform = transform as string;
  }
  const contentType = body.content_type;
  if (contentType === null) patch.content_type = null;
  else if (contentType !== undefined) {
    const message = typeof contentType === "string" ? mediaTypeProblem(contentType) : "must be a media type (a string) or null";
    if (message !== null) invalid("content_type", message);
    else patch.content_type = contentType as string;
  }
  return { patch, details };
}
