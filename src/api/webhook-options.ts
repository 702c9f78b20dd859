import * as v from "valibot";
import { parseDuration } from "../config/duration";
import type { DeliveryProfiles } from "../config/types";
import { HEADER_NAME, isReservedHeader, isSensitiveHeader } from "../delivery/headers";
import type { ErrorDetail } from "../http/errors";
import { ENDPOINT_OPTION_DEFAULTS, type EndpointOptions, type Ordering } from "../storage/types";
import { checkRouting, ROUTING_BODY, ROUTING_FIELDS, routingJson } from "./webhook-routing";

// SPEC §9's per-endpoint delivery options as the API takes and shows them. Pure: the route hands in
// the endpoint as stored (PATCH) and the configured profiles, and gets back the change or the problems.

/** MASK is what a sensitive header value reads back as; a PATCH sending it keeps the stored value. */
export const MASK = "********";

/** OPTION_FIELDS are the option keys of a create or PATCH body. */
export const OPTION_FIELDS = ["headers", "timeout", "rate_limit", "ordering", "ordering_key", "client_tls", "oauth2", ...ROUTING_FIELDS] as const;
type OptionField = (typeof OPTION_FIELDS)[number];

const MAX_HEADERS = 20;
const MAX_HEADER_VALUE_BYTES = 4096;
const MAX_POINTER = 256;
const TIMEOUT_MIN_MS = 1000;
const TIMEOUT_MAX_MS = 60_000;
const RATE_MAX = 10_000;

// The body schema only lets the fields through (documented for /openapi.json); checkOptions judges them,
// so every bad option gets one `details` entry beside the url and events problems.
const documented = (description: string, schema: Record<string, unknown>) => v.optional(v.pipe(v.unknown(), v.description(description), v.metadata(schema)));

/** OPTION_BODY holds the option fields of the create and PATCH bodies. */
export const OPTION_BODY = {
  headers: documented(
    `extra request headers (at most ${MAX_HEADERS}); values of names containing authorization, token, secret, key, password or cookie read back as "${MASK}", and sending "${MASK}" keeps the stored value; null clears`,
    { type: ["object", "null"], additionalProperties: { type: "string", maxLength: MAX_HEADER_VALUE_BYTES } },
  ),
  timeout: documented('attempt timeout "1s"–"60s", replacing [delivery] timeout; null clears', { type: ["string", "null"], examples: ["5s"] }),
  rate_limit: documented("attempts per second (sliding 1 s window, all nodes), 1–10000; null = unlimited", { type: ["integer", "null"], minimum: 1, maximum: RATE_MAX }),
  ordering: documented('"fifo": one delivery in flight per lane, in order; null = "none"', { type: ["string", "null"], enum: ["none", "fifo", null] }),
  ordering_key: documented('JSON Pointer into the event data naming the lane, e.g. "/document_no" (only with fifo)', { type: ["string", "null"], maxLength: MAX_POINTER }),
  client_tls: documented("name of a [[delivery.client_tls]] profile (mTLS)", { type: ["string", "null"] }),
  oauth2: documented("name of a [[delivery.oauth2]] profile (client-credentials Bearer token)", { type: ["string", "null"] }),
  ...ROUTING_BODY,
};

export { isSensitiveHeader };

/** maskHeaders replaces sensitive values with MASK: the only form headers leave the API or reach a log in. */
export function maskHeaders(headers: Readonly<Record<string, string>> | null): Record<string, string> | null {
  if (headers === null) return null;
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, isSensitiveHeader(name) ? MASK : value]));
}

/** formatTimeout shows timeout_ms as the API takes it: whole seconds as "5s", else milliseconds ("1500ms"). */
export function formatTimeout(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** optionsJson is the read view of an endpoint's options (unset = null; ordering unset = "none"). */
export function optionsJson(o: EndpointOptions) {
  return {
    headers: maskHeaders(o.headers),
    timeout: o.timeout_ms === null ? null : formatTimeout(o.timeout_ms),
    rate_limit: o.rate_limit,
    ordering: o.ordering,
    ordering_key: o.ordering_key,
    client_tls: o.client_tls,
    oauth2: o.oauth2,
    ...routingJson(o),
  };
}

/** headerNameProblem says what is wrong with an extra header's name, or null. */
export function headerNameProblem(name: string): string | null {
  if (!HEADER_NAME.test(name)) return `${JSON.stringify(name)} is not a header name (an RFC 7230 token)`;
  if (isReservedHeader(name)) return `${name} is set by hookd and cannot be given`;
  return null;
}

/** headerValueProblem says what is wrong with a value (never quoting it: it may be a credential), or null. */
export function headerValueProblem(name: string, value: unknown): string | null {
  if (typeof value !== "string") return `the value of ${name} must be a string`;
  if (Buffer.byteLength(value) > MAX_HEADER_VALUE_BYTES) return `the value of ${name} is longer than 4 KiB`;
  // Tab is the one control character a field value may hold; CR/LF would split the request.
  if (/[\x00-\x08\x0a-\x1f\x7f]/.test(value)) return `the value of ${name} contains a control character (CR, LF, …)`;
  return null;
}

/** jsonPointerProblem accepts an RFC 6901 pointer to somewhere inside `data`: starts with "/", ~ only as ~0 or ~1, at most 256 characters. */
export function jsonPointerProblem(pointer: string): string | null {
  if (!pointer.startsWith("/")) return 'must be a JSON Pointer starting with "/", e.g. "/document_no"';
  if (pointer.length > MAX_POINTER) return `must be at most ${MAX_POINTER} characters`;
  if (/~(?![01])/.test(pointer)) return 'has a "~" not followed by 0 or 1 (write "~0" for "~" and "~1" for "/")';
  return null;
}

/** OptionsChange is what checkOptions makes of a body: the fields to store, or the problems (then nothing is stored). */
export interface OptionsChange {
  readonly patch: Partial<EndpointOptions>;
  readonly details: ErrorDetail[];
}

/** OptionsRequest is a create or PATCH as checkOptions sees it. */
export interface OptionsRequest {
  /** body is the request body (only its option fields are read; undefined = not given, null = clear). */
  readonly body: Readonly<Partial<Record<OptionField, unknown>>>;
  /** before is the endpoint as stored (PATCH), null on create. */
  readonly before: (EndpointOptions & { url: string }) | null;
  /** url is the endpoint URL after the request (normalized); null when it is not a valid URL (already reported). */
  readonly url: string | null;
  readonly profiles: DeliveryProfiles;
}

const detail = (field: string, message: string, code = "invalid"): ErrorDetail => ({ field, code, message });

/**
 * checkOptions validates SPEC §9's option fields of a create or PATCH and resolves them into what to
 * store: "********" for a sensitive header keeps the stored value, `null` clears, and the cross-field
 * rules (ordering_key needs fifo, oauth2's allow_urls, oauth2 vs an Authorization header, re-sending
 * credentials when the URL's origin changes) are checked on the endpoint as it would be afterwards.
 */
export function checkOptions(req: OptionsRequest): OptionsChange {
  const { body, before, profiles } = req;
  const details: ErrorDetail[] = [];
  const patch: Partial<EndpointOptions> = {};
  const given = (field: OptionField) => body[field] !== undefined;

  if (given("headers")) {
    const headers = resolveHeaders(body.headers, before?.headers ?? null);
    if (typeof headers === "string") details.push(detail("headers", headers));
    else patch.headers = headers;
  }
  if (given("timeout")) {
    const timeout = body.timeout;
    const ms = timeout === null ? null : typeof timeout === "string" ? parseDuration(timeout) : "must be a duration string like \"5s\"";
    if (typeof ms === "string") details.push(detail("timeout", ms));
    else if (ms !== null && (ms < TIMEOUT_MIN_MS || ms > TIMEOUT_MAX_MS)) details.push(detail("timeout", 'must be between "1s" and "60s"'));
    else patch.timeout_ms = ms;
  }
  if (given("rate_limit")) {
    const rate = body.rate_limit;
    if (rate !== null && (typeof rate !== "number" || !Number.isInteger(rate) || rate < 1 || rate > RATE_MAX)) {
      details.push(detail("rate_limit", `must be a whole number from 1 to ${RATE_MAX}, or null for unlimited`));
    } else patch.rate_limit = rate;
  }
  if (given("ordering")) {
    const ordering = body.ordering;
    if (ordering !== null && ordering !== "none" && ordering !== "fifo") details.push(detail("ordering", 'must be "none" or "fifo"'));
    else patch.ordering = (ordering ?? "none") as Ordering;
  }
  if (given("ordering_key")) {
    const key = body.ordering_key;
    const problem = key === null ? null : typeof key === "string" ? jsonPointerProblem(key) : "must be a string (a JSON Pointer) or null";
    if (problem !== null) details.push(detail("ordering_key", problem));
    else patch.ordering_key = key as string | null;
  }
  for (const field of ["client_tls", "oauth2"] as const) {
    if (!given(field)) continue;
    const name = body[field];
    if (name === null) patch[field] = null;
    else if (typeof name !== "string") details.push(detail(field, "must be a profile name (a string) or null"));
    else if (!profiles[field].some((p) => p.name === name)) {
      const known = profiles[field].map((p) => p.name);
      const list = known.length === 0 ? "none are configured" : `configured: ${known.join(", ")}`;
      details.push(detail(field, `no [[delivery.${field}]] profile is named ${JSON.stringify(name)} (${list})`, "unknown_profile"));
    } else patch[field] = name;
  }
  const routing = checkRouting(body);
  Object.assign(patch, routing.patch);
  details.push(...routing.details);

  const bad = new Set(details.map((d) => d.field));
  const after: EndpointOptions = { ...(before ?? ENDPOINT_OPTION_DEFAULTS), ...patch };
  // Turning fifo off drops a stored ordering_key (it means nothing without fifo) rather than refusing
  // the PATCH; a key sent in the same body as a non-fifo ordering is refused below.
  if (given("ordering") && !bad.has("ordering") && after.ordering !== "fifo" && !given("ordering_key") && after.ordering_key !== null) {
    patch.ordering_key = null;
    after.ordering_key = null;
  }
  if (!bad.has("ordering") && !bad.has("ordering_key") && after.ordering_key !== null && after.ordering !== "fifo") {
    details.push(detail("ordering_key", 'only used with ordering "fifo"'));
  }
  details.push(...crossChecks(req, after, bad));
  return details.length > 0 ? { patch: {}, details } : { patch, details: [] };
}

function crossChecks(req: OptionsRequest, after: EndpointOptions, bad: ReadonlySet<string>): ErrorDetail[] {
  const { body, before, url, profiles } = req;
  const out: ErrorDetail[] = [];
  const urlChanged = url !== null && url !== before?.url;
  const profile = after.oauth2 === null ? undefined : profiles.oauth2.find((p) => p.name === after.oauth2);
  // allow_urls is re-checked whenever the URL or the profile changes; an unknown profile is reported already.
  if (url !== null && profile !== undefined && !bad.has("oauth2") && (urlChanged || body.oauth2 !== undefined)) {
    if (!profile.allow_urls.some((prefix) => url.startsWith(prefix))) {
      out.push(detail(body.oauth2 !== undefined ? "oauth2" : "url", `oauth2 profile ${profile.name} may only be used with URLs starting with ${profile.allow_urls.join(" or ")}`));
    }
  }
  if (after.oauth2 !== null && !bad.has("oauth2") && !bad.has("headers") && after.headers !== null && Object.keys(after.headers).some((n) => n.toLowerCase() === "authorization")) {
    out.push(detail(body.headers !== undefined ? "headers" : "oauth2", "an Authorization header cannot be combined with an oauth2 profile (the profile sends its own Bearer token)"));
  }
  // A credential set for one host must never be sent to another: a new origin needs every sensitive value again.
  if (before !== null && url !== null && urlChanged && !bad.has("headers") && originOf(before.url) !== originOf(url)) {
    const stored = Object.keys(before.headers ?? {}).filter(isSensitiveHeader);
    const sent = body.headers;
    if (sent === undefined && stored.length > 0) {
      out.push(detail("headers", `the URL's origin changes: send the sensitive headers again with their real values (${stored.join(", ")})`));
    } else if (sent !== null && typeof sent === "object") {
      const masked = Object.entries(sent as Record<string, unknown>).filter(([n, value]) => isSensitiveHeader(n) && value === MASK).map(([n]) => n);
      if (masked.length > 0) out.push(detail("headers", `the URL's origin changes: send the real values of ${masked.join(", ")}, not "${MASK}"`));
    }
  }
  return out;
}

function originOf(url: string): string {
  return URL.parse(url)?.origin ?? url;
}

/** resolveHeaders checks a `headers` value and puts stored values in for MASK; a string is the problem. `{}` is stored as null (unset). */
function resolveHeaders(value: unknown, stored: Readonly<Record<string, string>> | null): Record<string, string> | null | string {
  if (value === null) return null;
  if (typeof value !== "object" || Array.isArray(value)) return "must be a JSON object of header names to string values, or null";
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > MAX_HEADERS) return `at most ${MAX_HEADERS} headers (got ${entries.length})`;
  const problems: string[] = [];
  const seen = new Set<string>();
  const out: [string, string][] = [];
  for (const [name, raw] of entries) {
    const problem = headerNameProblem(name) ?? headerValueProblem(name, raw);
    if (problem !== null) {
      problems.push(problem);
      continue;
    }
    if (seen.has(name.toLowerCase())) problems.push(`${name} is given twice (header names are case-insensitive)`);
    seen.add(name.toLowerCase());
    let text = raw as string;
    if (text === MASK && isSensitiveHeader(name)) {
      const kept = Object.entries(stored ?? {}).find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1];
      if (kept === undefined) {
        problems.push(`${name} has no stored value to keep; send its real value instead of "${MASK}"`);
        continue;
      }
      text = kept;
    }
    out.push([name, text]);
  }
  if (problems.length > 0) return problems.join("; ");
  // fromEntries defines own properties, so a header named __proto__ stays a header.
  return out.length === 0 ? null : Object.fromEntries(out);
}
