import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import SwaggerParser from "@apidevtools/swagger-parser";
import { createHmac } from "node:crypto";
import { waitFor } from "../support/process";
import { type Receiver, startReceiver } from "../support/receiver";
import { call, startTestServer, type TestServer } from "../support/test-server";

// Issue 14: /openapi.json had no `responses` on 25 of 26 operations, typed `limit` as a string and left out
// /in/{source}. The document must be valid OpenAPI, give every operation its success answer with a schema
// and the error envelope for its error statuses, and say what the server really answers.

type Schema = Record<string, any>;
type Operation = { parameters?: Schema[]; responses?: Record<string, Schema>; requestBody?: Schema };

const HMAC_SECRET = "openapi-doc-secret-0123456789";
let server: TestServer;
let receiver: Receiver;
let doc: Schema;
let operations: [string, string, Operation][];

beforeAll(async () => {
  receiver = startReceiver();
  server = await startTestServer({
    delivery: 'require_https = false\nallow_targets = ["127.0.0.0/8"]\nretry_schedule = ["1h"]',
    "[[sources]]": `id = "erp"\nauth = "hmac"\nsecret = "${HMAC_SECRET}"\nschema = "json"\nevent_type = "erp.thing"`,
  });
  doc = (await call(`${server.url}/openapi.json`, "GET")).body;
  operations = Object.entries(doc.paths as Record<string, Record<string, Operation>>).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => [method.toUpperCase(), path, op] as [string, string, Operation]),
  );
});
afterAll(async () => {
  await server.stop();
  await receiver.stop();
});

const resolve = (schema: Schema): Schema => (schema.$ref ? doc.components.schemas[schema.$ref.split("/").pop()] : schema);

/** problems checks a JSON value against the subset of JSON Schema the document uses; [] when it conforms. */
function problems(schema: Schema, value: unknown, at = "$"): string[] {
  const s = resolve(schema);
  const types: string[] = s.type === undefined ? [] : [s.type].flat();
  const typeOf = (v: unknown) =>
    v === null ? "null" : Array.isArray(v) ? "array" : Number.isInteger(v) ? "integer" : typeof v === "number" ? "number" : typeof v;
  const actual = typeOf(value);
  if (types.length > 0 && !types.includes(actual) && !(actual === "integer" && types.includes("number"))) return [`${at}: ${actual}, documented ${types.join("|")}`];
  if (s.enum && !s.enum.includes(value)) return [`${at}: ${JSON.stringify(value)} not in ${JSON.stringify(s.enum)}`];
  if (s.const !== undefined && s.const !== value) return [`${at}: ${JSON.stringify(value)} is not ${JSON.stringify(s.const)}`];
  const out: string[] = [];
  if (actual === "object" && s.properties) {
    const obj = value as Record<string, unknown>;
    for (const key of s.required ?? []) if (!(key in obj)) out.push(`${at}.${key}: missing`);
    for (const [key, v] of Object.entries(obj)) {
      if (s.properties[key]) out.push(...problems(s.properties[key], v, `${at}.${key}`));
      else if (s.additionalProperties !== true) out.push(`${at}.${key}: not documented`);
    }
  }
  if (actual === "array" && s.items) (value as unknown[]).forEach((v, i) => out.push(...problems(s.items, v, `${at}[${i}]`)));
  return out;
}

/** conform asserts that an answer is documented for the operation, status and body alike. */
async function conform(method: string, docPath: string, answer: { status: number; body: unknown }) {
  const op = (doc.paths[docPath] as Record<string, Operation>)[method.toLowerCase()]!;
  const documented = op.responses?.[String(answer.status)];
  expect({ operation: `${method} ${docPath}`, status: answer.status, documented: documented !== undefined }).toEqual({
    operation: `${method} ${docPath}`, status: answer.status, documented: true,
  });
  const schema = documented!.content?.["application/json"]?.schema;
  if (answer.status === 204) return expect(schema).toBeUndefined();
  expect({ operation: `${method} ${docPath}`, problems: problems(schema, answer.body) }).toEqual({ operation: `${method} ${docPath}`, problems: [] });
}

describe("/openapi.json", () => {
  test("is a valid OpenAPI document (SwaggerParser.validate)", async () => {
    await SwaggerParser.validate(structuredClone(doc) as never);
    expect(doc.openapi).toMatch(/^3\.1\./);
  });

  test("every operation has a 2xx answer with a schema (204: no body) and the error envelope for each error status", () => {
    expect(operations.length).toBeGreaterThan(25);
    const missing: string[] = [];
    for (const [method, path, op] of operations) {
      const statuses = Object.keys(op.responses ?? {});
      const success = statuses.filter((s) => /^2\d\d$/.test(s));
      if (success.length !== 1) missing.push(`${method} ${path}: ${success.length} 2xx answers`);
      for (const s of success) {
        const content = op.responses![s]!.content as Record<string, { schema?: Schema }> | undefined;
        if (s === "204" ? content !== undefined : !Object.values(content ?? {}).some((c) => c.schema?.type)) missing.push(`${method} ${path}: ${s} without a schema`);
      }
      const errors = statuses.filter((s) => /^[45]\d\d$/.test(s));
      if (errors.length === 0) missing.push(`${method} ${path}: no error answers`);
      for (const s of errors) {
        const schema = op.responses![s]!.content?.["application/json"]?.schema;
        if (schema?.$ref !== "#/components/schemas/Error") missing.push(`${method} ${path}: ${s} is not the error envelope`);
        if (!/error\.code \w+/.test(op.responses![s]!.description)) missing.push(`${method} ${path}: ${s} does not name its codes`);
      }
      if (path.startsWith("/v1") && !errors.includes("401")) missing.push(`${method} ${path}: no 401`);
    }
    expect(missing).toEqual([]);
    const envelope = doc.components.schemas.Error;
    expect(envelope.required).toEqual(["error"]);
    expect(envelope.properties.error.required).toEqual(["code", "message", "request_id", "details"]);
    expect(envelope.properties.error.properties.code.enum).toContain("invalid_request");
  });

  test("query parameters are typed: limit an integer 1-500 (default 50), cursor a string, status an enum", () => {
    const lists = operations.filter(([, , op]) => op.parameters?.some((p) => p.in === "query" && p.name === "limit"));
    expect(lists.map(([m, p]) => `${m} ${p}`).sort()).toEqual(
      ["GET /v1/audit", "GET /v1/deliveries", "GET /v1/events", "GET /v1/inbound", "GET /v1/resources", "GET /v1/webhooks", "GET /v1/webhooks/{id}/deliveries"],
    );
    for (const [, , op] of lists) {
      const param = (name: string) => op.parameters!.find((p) => p.in === "query" && p.name === name)!;
      expect(param("limit").schema).toMatchObject({ type: "integer", minimum: 1, maximum: 500, default: 50 });
      expect(param("limit").required).toBe(false);
      expect(param("cursor").schema.type).toBe("string");
    }
    const statusOf = (path: string) => (doc.paths[path].get as Operation).parameters!.find((p) => p.name === "status")!.schema;
    expect(statusOf("/v1/webhooks/{id}/deliveries").enum).toEqual(["pending", "failed", "delivered", "expired"]);
    expect(statusOf("/v1/inbound").enum).toEqual(["accepted", "duplicate", "rejected"]);
    expect((doc.paths["/v1/events"].get as Operation).parameters!.find((p) => p.name === "since")!.schema.format).toBe("date-time");
  });

  test("POST /in/{source} is documented: raw body, 200 {received, id}, and SPEC §7's error answers", () => {
    const op = doc.paths["/in/{source}"]?.post as Operation;
    expect(op).toBeDefined();
    expect(op.parameters).toEqual([expect.objectContaining({ name: "source", in: "path", required: true })]);
    expect(Object.keys(op.requestBody!.content)).toEqual(["*/*"]);
    expect(resolve(op.responses!["200"]!.content["application/json"].schema).required).toEqual(["received", "id"]);
    for (const status of ["401", "403", "404", "408", "413", "422", "429", "503"]) expect(Object.keys(op.responses!)).toContain(status);
    for (const code of ["unknown_source", "ip_not_allowed", "invalid_signature", "invalid_token", "connector_mismatch", "invalid_body", "rate_limited", "payload_too_large"]) {
      expect(Object.values(op.responses!).map((r) => r.description).join(" ")).toContain(code);
    }
    expect((op as Schema).security).toEqual([]);
  });

  test("rotate-secret documents its body as optional JSON", () => {
    const body = (doc.paths["/v1/webhooks/{id}/rotate-secret"].post as Operation).requestBody!;
    expect(body.required).toBe(false);
    expect(Object.keys(body.content)).toEqual(["application/json"]);
    expect(body.content["application/json"].schema.properties.secret.type).toBe("string");
  });

  test("real answers match the document: success bodies, error envelopes and their statuses", async () => {
    const created = await server.api("POST", "/v1/webhooks", { url: `${receiver.url}/hook`, events: ["erp.*"] });
    await conform("POST", "/v1/webhooks", created);
    const id = created.body.data.id;
    await conform("GET", "/v1/webhooks", await server.api("GET", "/v1/webhooks?limit=1"));
    await conform("GET", "/v1/webhooks", await server.api("GET", "/v1/webhooks?limit=0"));
    await conform("GET", "/v1/webhooks/{id}", await server.api("GET", `/v1/webhooks/${id}`));
    await conform("GET", "/v1/webhooks/{id}", await server.api("GET", "/v1/webhooks/wh_nope"));
    await conform("GET", "/v1/webhooks/{id}", await call(`${server.url}/v1/webhooks/${id}`, "GET"));
    await conform("PATCH", "/v1/webhooks/{id}", await server.api("PATCH", `/v1/webhooks/${id}`, { description: "d" }));
    await conform("PATCH", "/v1/webhooks/{id}", await server.api("PATCH", `/v1/webhooks/${id}`, { status: "gone" }));
    await conform("POST", "/v1/webhooks/{id}/rotate-secret", await server.api("POST", `/v1/webhooks/${id}/rotate-secret`));
    await conform("POST", "/v1/webhooks/{id}/rotate-secret", await server.api("POST", `/v1/webhooks/${id}/rotate-secret`, { secret: "x" }));

    const body = JSON.stringify({ order: 1 });
    const signature = `sha256=${createHmac("sha256", HMAC_SECRET).update(body).digest("hex")}`;
    await conform("POST", "/in/{source}", await call(`${server.url}/in/erp`, "POST", body, { "x-hookd-signature": signature }));
    await conform("POST", "/in/{source}", await call(`${server.url}/in/erp`, "POST", body, { "x-hookd-signature": "sha256=00" }));
    await conform("POST", "/in/{source}", await call(`${server.url}/in/nope`, "POST", body));

    await conform("POST", "/v1/events", await server.api("POST", "/v1/events", { type: "erp.manual", data: { a: 1 } }));
    await conform("POST", "/v1/events", await server.api("POST", "/v1/events", { type: "no" }));
    await waitFor(async () => (await server.app.storage.deliveries.countByStatus()).delivered === 2, 5000, "2 delivered");
    const events = await server.api("GET", "/v1/events");
    await conform("GET", "/v1/events", events);
    await conform("GET", "/v1/events", await server.api("GET", "/v1/events?since=yesterday"));
    const event = await server.api("GET", `/v1/events/${events.body.data[0].id}`);
    await conform("GET", "/v1/events/{id}", event);
    await conform("GET", "/v1/event-types", await server.api("GET", "/v1/event-types"));

    const deliveries = await server.api("GET", `/v1/webhooks/${id}/deliveries?status=delivered`);
    await conform("GET", "/v1/webhooks/{id}/deliveries", deliveries);
    await conform("GET", "/v1/webhooks/{id}/deliveries", await server.api("GET", `/v1/webhooks/${id}/deliveries?status=lost`));
    const dlv = deliveries.body.data[0].id;
    await conform("GET", "/v1/deliveries/{id}", await server.api("GET", `/v1/deliveries/${dlv}`));
    await conform("POST", "/v1/deliveries/{id}/retry", await server.api("POST", `/v1/deliveries/${dlv}/retry`));
    await waitFor(() => server.app.scheduler.idle, 5000, "the retry settled");
    await conform("POST", "/v1/webhooks/{id}/test", await server.api("POST", `/v1/webhooks/${id}/test`));
    await conform("POST", "/v1/webhooks/{id}/recover", await server.api("POST", `/v1/webhooks/${id}/recover`, { since: "2026-01-01T00:00:00Z" }));
    await conform("GET", "/v1/audit", await server.api("GET", "/v1/audit"));
    await conform("GET", "/v1/audit", await server.api("GET", "/v1/audit?since=yesterday"));
    const preview = (body: unknown) => server.api("POST", `/v1/webhooks/${id}/preview`, body);
    await conform("POST", "/v1/webhooks/{id}/preview", await preview({ event_id: events.body.data[0].id }));
    await conform("POST", "/v1/webhooks/{id}/preview", await preview({ event: { type: "erp.manual", data: { a: 1 } } }));
    await conform("POST", "/v1/webhooks/{id}/preview", await preview({ event: { type: "no", data: {} } }));
    await conform("POST", "/v1/webhooks/{id}/preview", await preview({ event_id: "evt_nope" }));
    const routed = await server.api("PATCH", `/v1/webhooks/${id}`, { filter: { "data.a": 1 }, transform: '$error("x")', content_type: "text/csv" });
    await conform("PATCH", "/v1/webhooks/{id}", routed);
    await conform("POST", "/v1/webhooks/{id}/preview", await preview({ event: { type: "erp.manual", data: { a: 1 } } }));

    const inbound = await server.api("GET", "/v1/inbound?source=erp");
    await conform("GET", "/v1/inbound", inbound);
    await conform("GET", "/v1/inbound/{id}", await server.api("GET", `/v1/inbound/${inbound.body.data[0].id}`));
    await conform("GET", "/v1/stats", await server.api("GET", "/v1/stats"));

    const resource = await server.api("POST", "/v1/resources", { name: "r", metadata: { k: 1 } });
    await conform("POST", "/v1/resources", resource);
    await conform("GET", "/v1/resources", await server.api("GET", "/v1/resources"));
    await conform("GET", "/v1/resources/{id}", await server.api("GET", `/v1/resources/${resource.body.data.id}`));
    await conform("PATCH", "/v1/resources/{id}", await server.api("PATCH", `/v1/resources/${resource.body.data.id}`, { status: "retired" }));
    await conform("DELETE", "/v1/resources/{id}", await server.api("DELETE", `/v1/resources/${resource.body.data.id}`));
    await conform("DELETE", "/v1/webhooks/{id}", await server.api("DELETE", `/v1/webhooks/${id}`));

    await conform("GET", "/healthz", await call(`${server.url}/healthz`, "GET"));
    await conform("GET", "/readyz", await call(`${server.url}/readyz`, "GET"));
  });
});
