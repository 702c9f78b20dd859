import * as v from "valibot";
import { isEventType } from "../events/types";
import type { ErrorDetail } from "../http/errors";

/** SEVERITIES are the erp-event severity levels, least urgent first. */
export const SEVERITIES = ["info", "warn", "error", "critical"] as const;

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;

/** isRfc3339 accepts an RFC 3339 date-time with Z or an offset that names a real calendar date and time. */
export function isRfc3339(value: string): boolean {
  const m = RFC3339.exec(value);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  // Date.parse would roll 02-30 over to 03-02, so the day is checked against the month's real length.
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const daysInMonth = month === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth) return false;
  // RFC 3339 permits second 60 for leap seconds.
  if (hour > 23 || minute > 59 || second > 60) return false;
  return m[7] === undefined || (Number(m[7]) <= 23 && Number(m[8]) <= 59);
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** FIELD_EXPECTS says, per erp-event field, what a valid value looks like; messages reuse it so they never drift from the schema. */
const FIELD_EXPECTS: Record<string, string> = {
  connector_id: "a non-empty string (this source's connector id)",
  event_type: 'an event type: two or more dot-separated segments of letters, digits, "_" or "-", at most 128 characters, e.g. "integration.failed"',
  timestamp: 'an RFC 3339 date-time with Z or a timezone offset (e.g. "2026-04-20T03:00:00Z")',
  severity: `one of ${SEVERITIES.map((s) => JSON.stringify(s)).join(", ")}`,
  source: "a string",
  message: "a string",
  metadata: "a JSON object (not an array or null)",
};

/** ErpEvent is the erp-event body: connector_id (required string), event_type (required, SPEC §3 via isEventType), timestamp (required RFC 3339 with a timezone offset or Z, a real date), severity ("info"|"warn"|"error"|"critical", default "info"), source?, message? (strings), metadata? (a JSON object, not an array/null); other fields are allowed and kept (senders add their own). */
export const ErpEvent = v.looseObject({
  connector_id: v.pipe(v.string(), v.minLength(1)),
  event_type: v.pipe(v.string(), v.check(isEventType)),
  timestamp: v.pipe(v.string(), v.check(isRfc3339)),
  severity: v.optional(v.picklist(SEVERITIES), "info"),
  source: v.optional(v.string()),
  message: v.optional(v.string()),
  metadata: v.optional(v.custom<Record<string, unknown>>(isPlainObject)),
});
/** ErpEvent is also the parsed body's type, with severity defaulted. */
export type ErpEvent = v.InferOutput<typeof ErpEvent>;

/** BodyCheck is a schema verdict: the event type to publish, or every problem found. */
export type BodyCheck = { ok: true; eventType: string } | { ok: false; details: ErrorDetail[] };

/** describe names what was received without echoing an unbounded value back. */
function describe(value: unknown): string {
  if (typeof value === "string") return value.length > 40 ? `${JSON.stringify(value.slice(0, 40))}…` : JSON.stringify(value);
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

const notAnObject = (body: unknown): BodyCheck => ({
  ok: false,
  details: [{ field: "body", code: "invalid", message: `the body must be a JSON object, got ${describe(body)}` }],
});

/** checkErpEvent validates a parsed body; details name EVERY bad field (field = key path like "metadata" or "severity", code "required"/"invalid", message says what is expected). */
export function checkErpEvent(body: unknown): BodyCheck {
  if (!isPlainObject(body)) return notAnObject(body);
  const result = v.safeParse(ErpEvent, body);
  if (result.success) return { ok: true, eventType: result.output.event_type };
  const details: ErrorDetail[] = [];
  for (const issue of result.issues) {
    const field = v.getDotPath(issue) ?? "body";
    // A field that fails two checks (say, not a string) is reported once, by its first problem.
    if (details.some((d) => d.field === field)) continue;
    const expects = FIELD_EXPECTS[field] ?? "a valid value";
    details.push(
      Object.hasOwn(body, field)
        ? { field, code: "invalid", message: `${field} must be ${expects}; got ${describe(issue.input)}` }
        : { field, code: "required", message: `${field} is required: ${expects}` },
    );
  }
  return { ok: false, details };
}

/** checkJsonBody: any JSON object; the type is the fixed `eventType` if set, else the string at top-level `eventTypeField` (missing / not a string / not a valid type → details naming that field). */
export function checkJsonBody(body: unknown, eventType: string, eventTypeField: string): BodyCheck {
  if (!isPlainObject(body)) return notAnObject(body);
  // A fixed type was validated when the config loaded.
  if (eventType !== "") return { ok: true, eventType };
  const field = eventTypeField !== "" ? eventTypeField : "event_type";
  if (!Object.hasOwn(body, field)) {
    return { ok: false, details: [{ field, code: "required", message: `${field} is required: ${FIELD_EXPECTS.event_type}` }] };
  }
  const value = body[field];
  if (typeof value !== "string" || !isEventType(value)) {
    return { ok: false, details: [{ field, code: "invalid", message: `${field} must be ${FIELD_EXPECTS.event_type}; got ${describe(value)}` }] };
  }
  return { ok: true, eventType: value };
}
