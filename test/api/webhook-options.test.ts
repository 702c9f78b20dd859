import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestServer, type TestServer } from "../support/test-server";

// SPEC §9 options through the real API: validation, masking and what every read shows. Nothing is delivered.
const DIR = mkdtempSync(join(tmpdir(), "hookd-options-api-"));
// serve loads client certificates at start, so the profile needs a real pair.
const CERT = join(DIR, "client.pem");
const KEY_FILE = join(DIR, "client.key");
const made = Bun.spawnSync(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
  "-keyout", KEY_FILE, "-out", CERT, "-days", "1", "-subj", "/CN=hookd-client"], { stderr: "ignore", stdout: "ignore" });
if (made.exitCode !== 0) throw new Error("openssl is needed to make a client certificate for this test");
const KEY = "sk-live-never-shown-1234";
const MASK = "********";
const GW = "https://sap-gw.example/orders";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({
    delivery: "max_endpoints = 100",
    "[[delivery.client_tls]]": `name = "sap-mtls"\ncert = "${CERT}"\nkey = "${KEY_FILE}"`,
    "[[delivery.oauth2]]": 'name = "sap-oauth"\ntoken_url = "https://auth.example/token"\nclient_id = "hookd"\nclient_secret = "cs"\nallow_urls = ["https://sap-gw.example/"]',
  });
});
afterAll(async () => {
  await server.stop();
  rmSync(DIR, { recursive: true, force: true });
});

const create = (body: Record<string, unknown>) => server.api("POST", "/v1/webhooks", { url: "https://erp.example/hook", events: ["*"], ...body });
const fields = (answer: { body: any }) => answer.body.error.details.map((d: { field: string; code: string }) => `${d.field}:${d.code}`);

describe("defaults", () => {
  test("an endpoint created without options shows every option unset", async () => {
    const created = await create({});
    expect(created.status).toBe(201);
    const unset = { headers: null, timeout: null, rate_limit: null, ordering: "none", ordering_key: null, client_tls: null, oauth2: null };
    expect(created.body.data).toMatchObject(unset);
    expect((await server.api("GET", `/v1/webhooks/${created.body.data.id}`)).body.data).toMatchObject(unset);
  });
});

describe("create and read", () => {
  test("every option is stored and read back; sensitive values are masked in every answer", async () => {
    const created = await create({
      url: GW,
      headers: { "X-Api-Key": KEY, "X-Tenant": "plant-7" },
      timeout: "1500ms",
      rate_limit: 20,
      ordering: "fifo",
      ordering_key: "/document_no",
      client_tls: "sap-mtls",
      oauth2: "sap-oauth",
    });
    expect(created.status).toBe(201);
    const shown = {
      headers: { "X-Api-Key": MASK, "X-Tenant": "plant-7" }, timeout: "1500ms", rate_limit: 20, ordering: "fifo",
      ordering_key: "/document_no", client_tls: "sap-mtls", oauth2: "sap-oauth",
    };
    expect(created.body.data).toMatchObject(shown);
    expect(created.text).not.toContain(KEY);
    const id = created.body.data.id;
    const one = await server.api("GET", `/v1/webhooks/${id}`);
    expect(one.body.data).toMatchObject(shown);
    const list = await server.api("GET", "/v1/webhooks?limit=500");
    expect(list.text).not.toContain(KEY);
    const rotated = await server.api("POST", `/v1/webhooks/${id}/rotate-secret`);
    expect(rotated.body.data.headers).toEqual(shown.headers);
  });

  test.each([
    [{ headers: { Host: "x" } }, ["headers:invalid"]],
    [{ headers: { "X-A": "a\r\nb" } }, ["headers:invalid"]],
    [{ headers: { "X-Api-Key": MASK } }, ["headers:invalid"]],
    [{ timeout: "90s" }, ["timeout:invalid"]],
    [{ rate_limit: 0 }, ["rate_limit:invalid"]],
    [{ ordering: "lifo" }, ["ordering:invalid"]],
    [{ ordering_key: "/a" }, ["ordering_key:invalid"]],
    [{ client_tls: "nope" }, ["client_tls:unknown_profile"]],
    [{ oauth2: "nope" }, ["oauth2:unknown_profile"]],
    [{ oauth2: "sap-oauth" }, ["oauth2:invalid"]],
    [{ url: GW, oauth2: "sap-oauth", headers: { Authorization: "Bearer x" } }, ["headers:invalid"]],
    [{ url: "ftp://x", timeout: 5, events: ["bad"] }, ["url:invalid_url", "events[0]:invalid_event_type", "timeout:invalid"]],
  ])("%j → 422 naming %j", async (body, expected) => {
    const answer = await create(body);
    expect(answer.status).toBe(422);
    expect(answer.body.error.code).toBe("invalid_request");
    expect(fields(answer)).toEqual(expected);
  });

  test("a refused create never echoes a header value", async () => {
    const answer = await create({ headers: { "X-Api-Key": `${KEY}\n` } });
    expect(answer.status).toBe(422);
    expect(answer.text).not.toContain(KEY);
  });
});

describe("PATCH", () => {
  const made = async (body: Record<string, unknown> = {}) => (await create({ headers: { "X-Api-Key": KEY, "X-Tenant": "a" }, ...body })).body.data.id as string;
  const patch = (id: string, body: Record<string, unknown>) => server.api("PATCH", `/v1/webhooks/${id}`, body);

  test("the mask keeps a stored sensitive value; the given object replaces the set", async () => {
    const id = await made();
    const kept = await patch(id, { headers: { "X-Api-Key": MASK, "X-Extra": "1" } });
    expect(kept.status).toBe(200);
    expect(kept.body.data.headers).toEqual({ "X-Api-Key": MASK, "X-Extra": "1" });
    // The value is still the stored one: moving the origin now needs it again, and giving it works.
    const moved = await patch(id, { url: "https://other.example/hook", headers: { "X-Api-Key": KEY } });
    expect(moved.status).toBe(200);
    expect(moved.body.data.headers).toEqual({ "X-Api-Key": MASK });
  });

  test("null clears an option; options left out stay", async () => {
    const id = await made({ timeout: "5s", rate_limit: 3, ordering: "fifo", ordering_key: "/k", client_tls: "sap-mtls" });
    const cleared = await patch(id, { timeout: null, client_tls: null, headers: null });
    expect(cleared.status).toBe(200);
    expect(cleared.body.data).toMatchObject({ headers: null, timeout: null, rate_limit: 3, ordering: "fifo", ordering_key: "/k", client_tls: null });
    // Turning fifo off drops the key; re-reading shows it.
    const none = await patch(id, { ordering: "none" });
    expect(none.body.data).toMatchObject({ ordering: "none", ordering_key: null });
    expect((await server.api("GET", `/v1/webhooks/${id}`)).body.data).toMatchObject({ ordering: "none", ordering_key: null, rate_limit: 3 });
  });

  test("a new URL origin needs the sensitive values again, as real values", async () => {
    const id = await made();
    const url = "https://other.example/hook";
    expect(fields(await patch(id, { url }))).toEqual(["headers:invalid"]);
    expect(fields(await patch(id, { url, headers: { "X-Api-Key": MASK } }))).toEqual(["headers:invalid"]);
    expect((await server.api("GET", `/v1/webhooks/${id}`)).body.data.url).toBe("https://erp.example/hook");
    // Same origin, other path: nothing to re-send.
    expect((await patch(id, { url: "https://erp.example/other" })).status).toBe(200);
  });

  test("oauth2's allow_urls is re-checked when the URL changes", async () => {
    const id = (await create({ url: GW, oauth2: "sap-oauth" })).body.data.id;
    expect(fields(await patch(id, { url: "https://elsewhere.example/x" }))).toEqual(["url:invalid"]);
    expect((await patch(id, { url: "https://sap-gw.example/other" })).status).toBe(200);
    expect((await patch(id, { url: "https://elsewhere.example/x", oauth2: null })).status).toBe(200);
  });

  test("a refused PATCH changes nothing", async () => {
    const id = await made({ rate_limit: 5 });
    const refused = await patch(id, { rate_limit: 6, timeout: "0s" });
    expect(fields(refused)).toEqual(["timeout:invalid"]);
    expect((await server.api("GET", `/v1/webhooks/${id}`)).body.data.rate_limit).toBe(5);
  });
});

describe("/openapi.json", () => {
  test("documents the options on the endpoint and in the create body", async () => {
    const doc = await (await fetch(`${server.url}/openapi.json`)).json();
    const text = JSON.stringify(doc);
    for (const field of ["ordering_key", "client_tls", "oauth2", "rate_limit"]) expect(text).toContain(`"${field}"`);
    const create = doc.paths["/v1/webhooks"].post.requestBody.content["application/json"].schema;
    expect(Object.keys(create.properties)).toEqual(expect.arrayContaining(["headers", "timeout", "rate_limit", "ordering", "ordering_key", "client_tls", "oauth2"]));
  });
});
