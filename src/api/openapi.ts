import { toJsonSchema } from "@valibot/to-json-schema";
import type { DocumentDecoration } from "elysia";
import type { GenericSchema } from "valibot";
import { codeToStatus, type ErrorCode } from "../http/errors";
import { ROUTING_READ } from "./webhook-routing";

// The admin routes answer through jsonText and plain objects, not Elysia `response` schemas (those would
// validate every answer at run time), so each route documents its answers here, in its `detail.responses`.

/** JsonSchema is a JSON Schema object as it goes into /openapi.json. */
export type JsonSchema = Record<string, unknown>;

/** ERROR_REF points at the error envelope, which the router puts under components.schemas.Error. */
export const ERROR_REF = { $ref: "#/components/schemas/Error" } as const;

/** ERRORS groups the error codes by where they come from, so a route lists the groups that apply to it. */
export const ERRORS = {
  /** every /v1 route: the key, scope and network checks in front, and a database that may be down. */
  admin: ["unauthorized", "ip_not_allowed", "insufficient_scope", "internal_error", "storage_unavailable"],
  /** a route that reads a JSON body (POST, PATCH): the front door's body checks, then the schema. */
  body: ["invalid_json", "invalid_request", "payload_too_large", "request_timeout", "server_busy"],
  /** an admin POST: Idempotency-Key (SPEC §3). */
  idempotent: ["invalid_header", "idempotency_key_reused", "idempotency_key_in_progress"],
  /** a list: ?limit, ?cursor and the filters. */
  list: ["invalid_query"],
  /** a route with an :id. */
  byId: ["not_found"],
} as const satisfies Record<string, readonly ErrorCode[]>;

const RETRY_AFTER = { description: "seconds to wait before trying again", schema: { type: "integer", minimum: 0 } };

/** Success is the documented 2xx answer: a JSON schema, another content type, or no body (204). */
export interface Success {
  readonly status: 200 | 201 | 202 | 204;
  readonly description: string;
  readonly schema?: JsonSchema;
  readonly contentType?: string;
}

/** responses renders an OpenAPI `responses` object: the success answer and one error-envelope answer per status. */
export function responses(success: Success, ...codes: readonly ErrorCode[]): NonNullable<DocumentDecoration["responses"]> {
  const out: Record<string, unknown> = {};
  out[String(success.status)] = success.schema
    ? { description: success.description, content: { [success.contentType ?? "application/json"]: { schema: success.schema } } }
    : { description: success.description };
  const byStatus = new Map<number, Set<ErrorCode>>();
  for (const code of codes) {
    const status = codeToStatus[code];
    if (!byStatus.has(status)) byStatus.set(status, new Set());
    byStatus.get(status)!.add(code);
  }
  for (const [status, set] of [...byStatus].sort(([a], [b]) => a - b)) {
    const listed = [...set];
    out[String(status)] = {
      description: `error.code ${listed.join(", ")}`,
      ...(status === 429 || status === 503 ? { headers: { "Retry-After": RETRY_AFTER } } : {}),
      content: { "application/json": { schema: ERROR_REF } },
    };
  }
  // Built from JSON Schema 2020-12 objects (OpenAPI 3.1), which openapi-types' 3.0 typing does not describe.
  return out as NonNullable<DocumentDecoration["responses"]>;
}

/** optionalJsonBody documents a JSON body a route accepts but does not require (its schema from valibot, as route bodies get). */
export function optionalJsonBody(schema: GenericSchema, description: string): NonNullable<DocumentDecoration["requestBody"]> {
  const { $schema: _dialect, ...json } = toJsonSchema(schema, { errorMode: "ignore" }) as JsonSchema;
  return { required: false, description, content: { "application/json": { schema: json as never } } };
}

/** ok is a JSON success answer. */
export const ok = (status: Success["status"], description: string, schema: JsonSchema): Success => ({ status, description, schema });

/** str, int, time, nullable, oneOf and object build the answers' JSON Schemas (OpenAPI 3.1: `null` is a type). */
export const str = (description?: string): JsonSchema => ({ type: "string", ...(description ? { description } : {}) });
export const int = (description?: string): JsonSchema => ({ type: "integer", ...(description ? { description } : {}) });
export const time = (description?: string): JsonSchema => ({ type: "string", format: "date-time", ...(description ? { description } : {}) });
export const nullable = (schema: JsonSchema): JsonSchema => ({ ...schema, type: [schema.type as string, "null"] });
export const oneOf = (values: readonly string[]): JsonSchema => ({ type: "string", enum: [...values] });
export const object = (properties: Record<string, JsonSchema>, optional: readonly string[] = []): JsonSchema => ({
  type: "object",
  required: Object.keys(properties).filter((k) => !optional.includes(k)),
  properties,
});
// anyObject is a JSON object kept as sent (metadata, event data).
const anyObject = (description: string): JsonSchema => ({ type: "object", additionalProperties: true, description });

/** one is `{"data": {...}}`; page is `{"data": [...], "next_cursor": …}` (SPEC §3). */
export const one = (schema: JsonSchema): JsonSchema => object({ data: schema });
export const page = (schema: JsonSchema): JsonSchema =>
  object({ data: { type: "array", items: schema }, next_cursor: nullable(str("pass as ?cursor= for the next page; null on the last")) });

/** WEBHOOK is webhookJson: an endpoint without its secret. */
export const WEBHOOK = object({
  id: str("wh_…"),
  url: str(),
  events: { type: "array", items: str() },
  description: str(),
  status: oneOf(["active", "disabled"]),
  headers: { type: ["object", "null"], additionalProperties: { type: "string" }, description: 'extra request headers; sensitive values (authorization, token, secret, key, password, cookie) read "********"' },
  timeout: nullable(str('attempt timeout, e.g. "5s" or "1500ms"; null = [delivery] timeout')),
  rate_limit: nullable(int("attempts per second; null = unlimited")),
  ordering: oneOf(["none", "fifo"]),
  ordering_key: nullable(str("JSON Pointer into the event data naming the FIFO lane")),
  client_tls: nullable(str("[[delivery.client_tls]] profile name")),
  oauth2: nullable(str("[[delivery.oauth2]] profile name")),
  ...ROUTING_READ,
  failure_count: int("consecutive failed attempts"),
  last_failure_at: nullable(time()),
  failing_since: nullable(time()),
  created_at: time(),
  updated_at: time(),
});
/** WEBHOOK_WITH_SECRET is the answer of create and rotate-secret, the only ones that show the secret. */
export const WEBHOOK_WITH_SECRET = { ...WEBHOOK, required: [...(WEBHOOK.required as string[]), "secret"], properties: { ...(WEBHOOK.properties as object), secret: str("whsec_… (Standard Webhooks signing secret)") } };

/** RESOURCE is resourceJson. */
export const RESOURCE = object({
  id: str("res_…"),
  type: str(),
  status: str(),
  name: str(),
  metadata: anyObject("as sent"),
  created_at: time(),
  updated_at: time(),
});

/** DELIVERY is deliveryJson (SPEC §6 fields). */
export const DELIVERY = object({
  id: str("dlv_…"),
  event_id: str(),
  webhook_id: str(),
  event_type: str(),
  status: oneOf(["pending", "failed", "delivered", "expired"]),
  attempts: int(),
  next_attempt_at: nullable(time("null when finished, or waiting behind its FIFO lane's head")),
  in_flight: { type: "boolean" },
  sequence: nullable(int("position in its FIFO lane (X-Hookd-Sequence); null when unordered")),
  last_status_code: nullable(int()),
  last_response: nullable(str("the start of the receiver's last answer")),
  last_error: nullable(str()),
  created_at: time(),
  updated_at: time(),
  delivered_at: nullable(time()),
});

/** ATTEMPT is one entry of attempt_history. */
export const ATTEMPT = object({
  id: str("att_…"),
  attempted_at: time(),
  status_code: nullable(int()),
  duration_ms: { type: "number" },
  error: nullable(str()),
  response: str(),
});

/** DELIVERY_WITH_ATTEMPTS is GET /v1/deliveries/{id}: the delivery and every attempt. */
export const DELIVERY_WITH_ATTEMPTS = { ...DELIVERY, required: [...(DELIVERY.required as string[]), "attempt_history"], properties: { ...(DELIVERY.properties as object), attempt_history: { type: "array", items: ATTEMPT } } };

const EVENT_FIELDS = {
  id: str("evt_…"),
  type: str(),
  created_at: time(),
  data: anyObject("the payload, byte for byte as published or received"),
  origin: oneOf(["api", "inbound", "resource", "test", "hookd"]),
};
/** EVENT is the envelope as subscribers get it, plus `origin`. */
export const EVENT = object(EVENT_FIELDS);
/** EVENT_WITH_DELIVERIES is GET /v1/events/{id}. */
export const EVENT_WITH_DELIVERIES = object({ ...EVENT_FIELDS, deliveries: { type: "array", items: DELIVERY } });

/** INBOUND is inboundJson: a received request; `body` only on GET /v1/inbound/{id}. */
export const INBOUND = object(
  {
    id: str("in_…"),
    source: str(),
    status: oneOf(["accepted", "duplicate", "rejected"]),
    reason: nullable(str("the error code of a rejection")),
    event_id: nullable(str()),
    client_ip: str(),
    size: int("body bytes"),
    body_sha256: nullable(str()),
    headers: { type: "object", additionalProperties: { type: "string" } },
    received_at: time(),
    body: nullable(str("the body as received (one record only)")),
  },
  ["body"],
);

const AUDIT_VALUE = { description: "the value (masked: secrets and sensitive header values read \"********\"); null when absent" };
/** AUDIT_ENTRY is auditJson: one change made through the admin API, or a config reload (SPEC §14). */
export const AUDIT_ENTRY = object({
  id: str("aud_…"),
  time: time(),
  key: str('the API key\'s name; "sighup" for a config reload'),
  client_ip: nullable(str("null for a config reload")),
  request_id: nullable(str("the X-Request-Id answered; null for a config reload")),
  method: str('HTTP method, or "SIGHUP"'),
  path: str("request path without query; \"\" for a config reload"),
  target_id: nullable(str("the object changed (wh_…, dlv_…, res_…); null for a bulk replay or a config reload")),
  changes: {
    type: "object",
    description: "per field (config reloads: per key path), its value before and after",
    additionalProperties: object({ before: AUDIT_VALUE, after: AUDIT_VALUE }),
  },
});
