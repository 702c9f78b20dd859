import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { call, startTestServer, type TestServer } from "../support/test-server";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

describe("X-Request-ID", () => {
  test.each([
    ["abc-123", "abc-123"],
    ["req.1:2_3", "req.1:2_3"],
  ])("a safe caller id %p is echoed", async (sent, expected) => {
    const answer = await call(`${server.url}/healthz`, "GET", undefined, { "x-request-id": sent });
    expect(answer.headers.get("x-request-id")).toBe(expected);
  });

  test.each([["has space"], ["a".repeat(129)], ["<script>"], ["ünï"]])("an unsafe caller id %p is replaced", async (sent) => {
    const answer = await call(`${server.url}/healthz`, "GET", undefined, { "x-request-id": sent });
    const id = answer.headers.get("x-request-id")!;
    expect(id).not.toBe(sent);
    expect(id).toMatch(/^req_[0-9a-z]{26}$/);
  });

  test("every kind of answer carries one: 200, 404, 401, 422, 400", async () => {
    const answers = await Promise.all([
      call(`${server.url}/healthz`, "GET"),
      call(`${server.url}/nope`, "GET"),
      call(`${server.url}/v1/webhooks`, "GET"),
      server.api("POST", "/v1/webhooks", { url: 1 }),
      server.api("POST", "/v1/webhooks", "{not json"),
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 404, 401, 422, 400]);
    for (const a of answers) expect(a.headers.get("x-request-id")).toBeTruthy();
  });
});

describe("error envelope", () => {
  test("unknown routes are 404 not_found naming the route", async () => {
    const answer = await call(`${server.url}/nope`, "GET");
    expect(answer.body.error).toMatchObject({ code: "not_found", details: [] });
    expect(answer.body.error.message).toContain("GET /nope");
  });

  test("malformed JSON is 400 invalid_json whatever the content type", async () => {
    const answer = await server.api("POST", "/v1/webhooks", "{oops", { "content-type": "application/x-www-form-urlencoded" });
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe("invalid_json");
  });

  test("a JSON body sent with a form content type is still read as JSON", async () => {
    const answer = await server.api("POST", "/v1/resources", JSON.stringify({ name: "form" }), {
      "content-type": "application/x-www-form-urlencoded",
    });
    expect(answer.status).toBe(201);
  });

  test("validation errors name every bad field and never echo the input", async () => {
    const answer = await server.api("POST", "/v1/webhooks", { url: 5, events: "nope", extra: "secret-value-xyz" });
    expect(answer.status).toBe(422);
    expect(answer.body.error.code).toBe("invalid_request");
    const fields = answer.body.error.details.map((d: { field: string }) => d.field).sort();
    expect(fields).toEqual(["events", "extra", "url"]);
    expect(answer.text).not.toContain("secret-value-xyz");
  });

  test("a body over max_body is 413 payload_too_large", async () => {
    const small = await startTestServer({ server: 'max_body = "1KiB"' });
    try {
      const answer = await small.api("POST", "/v1/resources", { name: "x".repeat(2000) });
      expect(answer.status).toBe(413);
      expect(answer.body.error.code).toBe("payload_too_large");
    } finally {
      await small.stop();
    }
  });

  test("bad pagination parameters name the parameter", async () => {
    for (const query of ["limit=0", "limit=501", "limit=abc", "cursor=%%%"]) {
      const answer = await server.api("GET", `/v1/webhooks?${query}`);
      expect(answer.status).toBe(400);
      expect(answer.body.error.details[0].field).toMatch(/^query\.(limit|cursor)$/);
    }
  });
});

describe("health and docs", () => {
  test("/healthz and /readyz answer 200 without a key", async () => {
    expect((await call(`${server.url}/healthz`, "GET")).status).toBe(200);
    const ready = await call(`${server.url}/readyz`, "GET");
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: "ready" });
  });

  test("/openapi.json is generated from the route schemas", async () => {
    const spec = (await call(`${server.url}/openapi.json`, "GET")).body;
    expect(spec.openapi).toMatch(/^3\./);
    const create = spec.paths["/v1/webhooks"].post;
    const schema = create.requestBody.content["application/json"].schema;
    expect(Object.keys(schema.properties).sort()).toEqual(
      ["client_tls", "content_type", "description", "events", "filter", "headers", "oauth2", "ordering", "ordering_key", "rate_limit", "timeout", "transform", "url"],
    );
    expect(schema.required.sort()).toEqual(["events", "url"]);
  });
});
