import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestServer, type TestServer } from "../support/test-server";

// Endpoints here are created and read, never delivered to: no test sends traffic off 127.0.0.0/8.
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ delivery: "max_endpoints = 50" });
});
afterAll(() => server.stop());

const FIELDS = [
  "client_tls", "content_type", "created_at", "description", "events", "failing_since", "failure_count", "filter", "headers", "id",
  "last_failure_at", "oauth2", "ordering", "ordering_key", "rate_limit", "status", "timeout", "transform", "updated_at", "url",
];

describe("POST /v1/webhooks", () => {
  test("creates an endpoint and shows the whsec_ secret once", async () => {
    const created = await server.api("POST", "/v1/webhooks", {
      url: "https://erp-bridge.example/hook",
      events: ["resource.created", "resource.*"],
      description: "prod ops bus",
    });
    expect(created.status).toBe(201);
    const w = created.body.data;
    expect(Object.keys(w).sort()).toEqual([...FIELDS, "secret"].sort());
    expect(w).toMatchObject({
      url: "https://erp-bridge.example/hook",
      events: ["resource.created", "resource.*"],
      description: "prod ops bus",
      status: "active",
      failure_count: 0,
      last_failure_at: null,
      failing_since: null,
    });
    expect(w.id).toMatch(/^wh_[0-9a-z]{26}$/);
    expect(w.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(w.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(w.secret.slice(6), "base64")).toHaveLength(32);

    const one = await server.api("GET", `/v1/webhooks/${w.id}`);
    expect(one.status).toBe(200);
    expect(Object.keys(one.body.data).sort()).toEqual(FIELDS);
    expect(one.text).not.toContain(w.secret);
    const list = await server.api("GET", "/v1/webhooks");
    expect(list.text).not.toContain(w.secret);
    expect(list.text).not.toContain(w.secret.slice(6, 20));
  });

  test("secrets differ between endpoints", async () => {
    const a = await server.api("POST", "/v1/webhooks", { url: "https://a.example/", events: ["*"] });
    const b = await server.api("POST", "/v1/webhooks", { url: "https://b.example/", events: ["*"] });
    expect(a.body.data.secret).not.toBe(b.body.data.secret);
  });

  test.each([
    [{ events: ["*"] }, ["url"]],
    [{ url: "https://x.example/" }, ["events"]],
    [{ url: "https://x.example/", events: [] }, ["events"]],
    [{ url: "https://x.example/", events: ["nodot"] }, ["events[0]"]],
    [{ url: "https://x.example/", events: ["*", "a.b", "bad type"] }, ["events[2]"]],
    [{ url: "http://x.example/", events: ["*"] }, ["url"]],
    [{ url: "not a url", events: ["*"] }, ["url"]],
    [{ url: "https://x.example/", events: ["*"], description: 5 }, ["description"]],
    [{ url: "https://x.example/", events: ["*"], secret: "mine" }, ["secret"]],
  ])("%j is refused naming %j", async (body, fields) => {
    const answer = await server.api("POST", "/v1/webhooks", body);
    expect(answer.status).toBe(422);
    expect(answer.body.error.code).toBe("invalid_request");
    expect(answer.body.error.details.map((d: { field: string }) => d.field)).toEqual(fields);
  });
});

describe("URL rules (require_https = false, allow_targets empty)", () => {
  const BLOCKED = [
    "http://127.0.0.1/", "http://127.1/", "http://localhost./", "http://user:pw@example.com/", "http://localhost/",
    "http://[::1]/", "http://2130706433/", "http://0x7f000001/", "http://0177.0.0.1/", "http://[::ffff:127.0.0.1]/",
    "http://169.254.169.254/", "http://10.0.0.1/", "http://192.168.1.1/", "http://100.64.0.1/", "http://0.0.0.0/",
  ];
  let open: TestServer;
  beforeAll(async () => {
    open = await startTestServer({ delivery: "require_https = false\nmax_endpoints = 50" });
  });
  afterAll(() => open.stop());

  test.each(BLOCKED)("%s is refused with target_blocked", async (url) => {
    const answer = await open.api("POST", "/v1/webhooks", { url, events: ["*"] });
    expect(answer.status).toBe(422);
    expect(answer.body.error.details).toContainEqual(expect.objectContaining({ field: "url", code: "target_blocked" }));
    const patched = await open.api("GET", "/v1/webhooks?limit=500");
    expect(patched.text).not.toContain(JSON.stringify(url));
  });

  test("each blocked address is accepted once allow_targets covers it", async () => {
    const allowing = await startTestServer({
      delivery: [
        "require_https = false",
        "max_endpoints = 50",
        'allow_targets = ["127.0.0.0/8", "::1/128", "169.254.0.0/16", "10.0.0.0/8", "192.168.0.0/16", "100.64.0.0/10", "0.0.0.0/8"]',
      ].join("\n"),
    });
    try {
      for (const url of BLOCKED.filter((u) => !u.includes("@"))) {
        const answer = await allowing.api("POST", "/v1/webhooks", { url, events: ["*"] });
        expect({ url, status: answer.status }).toEqual({ url, status: 201 });
      }
      const credentials = await allowing.api("POST", "/v1/webhooks", { url: "http://user:pw@127.0.0.1/", events: ["*"] });
      expect(credentials.status).toBe(422);
    } finally {
      await allowing.stop();
    }
  });

  test("PATCH applies the same rules", async () => {
    const created = await open.api("POST", "/v1/webhooks", { url: "http://hooks.example/", events: ["*"] });
    const patched = await open.api("PATCH", `/v1/webhooks/${created.body.data.id}`, { url: "http://10.0.0.1/" });
    expect(patched.status).toBe(422);
    expect(patched.body.error.details[0].code).toBe("target_blocked");
    const still = await open.api("GET", `/v1/webhooks/${created.body.data.id}`);
    expect(still.body.data.url).toBe("http://hooks.example/");
  });
});

describe("GET, PATCH, DELETE /v1/webhooks/:id", () => {
  test("patch changes only the given fields and bumps updated_at", async () => {
    const created = (await server.api("POST", "/v1/webhooks", { url: "https://p.example/", events: ["a.b"], description: "d" })).body.data;
    await Bun.sleep(5); // ensure a later millisecond so updated_at can differ
    const patched = await server.api("PATCH", `/v1/webhooks/${created.id}`, { status: "disabled", events: ["a.*"] });
    expect(patched.status).toBe(200);
    expect(patched.body.data).toMatchObject({ url: "https://p.example/", description: "d", status: "disabled", events: ["a.*"] });
    expect(patched.body.data.secret).toBeUndefined();
    expect(patched.body.data.updated_at > created.updated_at).toBe(true);
    expect((await server.api("PATCH", `/v1/webhooks/${created.id}`, { status: "paused" })).body.error.details[0].field).toBe("status");
    expect((await server.api("PATCH", `/v1/webhooks/${created.id}`, { descripton: "typo" })).body.error.details[0].field).toBe("descripton");
  });

  test("delete answers 204, then the endpoint is gone from get and list", async () => {
    const created = (await server.api("POST", "/v1/webhooks", { url: "https://gone.example/", events: ["*"] })).body.data;
    const deleted = await server.api("DELETE", `/v1/webhooks/${created.id}`);
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe("");
    expect((await server.api("GET", `/v1/webhooks/${created.id}`)).status).toBe(404);
    expect((await server.api("DELETE", `/v1/webhooks/${created.id}`)).status).toBe(404);
    expect((await server.api("PATCH", `/v1/webhooks/${created.id}`, { description: "x" })).status).toBe(404);
    expect((await server.api("GET", "/v1/webhooks?limit=500")).text).not.toContain(created.id);
  });

  test.each(["wh_nope", "evt_00000000000000000000000000", "%2e%2e", "wh_00000000000000000000000000"])("unknown id %s is 404 not_found", async (id) => {
    const answer = await server.api("GET", `/v1/webhooks/${id}`);
    expect(answer.status).toBe(404);
    expect(answer.body.error.code).toBe("not_found");
  });
});

describe("list pagination", () => {
  test("walks every endpoint newest first with next_cursor, then null", async () => {
    const s = await startTestServer({ delivery: "max_endpoints = 20" });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) ids.push((await s.api("POST", "/v1/webhooks", { url: `https://h${i}.example/`, events: ["*"] })).body.data.id);
      const seen: string[] = [];
      let cursor: string | null = "";
      let pages = 0;
      while (cursor !== null) {
        const page = await s.api("GET", `/v1/webhooks?limit=3${cursor ? `&cursor=${cursor}` : ""}`);
        expect(page.status).toBe(200);
        seen.push(...page.body.data.map((w: { id: string }) => w.id));
        cursor = page.body.next_cursor;
        pages++;
      }
      expect(pages).toBe(3);
      expect(seen).toEqual([...ids].reverse());
    } finally {
      await s.stop();
    }
  });
});

describe("max_endpoints", () => {
  test("one more than max_endpoints is 422 limit_reached; deleting one frees a slot", async () => {
    const s = await startTestServer({ delivery: "max_endpoints = 2" });
    try {
      const a = await s.api("POST", "/v1/webhooks", { url: "https://a.example/", events: ["*"] });
      await s.api("POST", "/v1/webhooks", { url: "https://b.example/", events: ["*"] });
      const third = await s.api("POST", "/v1/webhooks", { url: "https://c.example/", events: ["*"] });
      expect(third.status).toBe(422);
      expect(third.body.error.code).toBe("limit_reached");
      await s.api("DELETE", `/v1/webhooks/${a.body.data.id}`);
      expect((await s.api("POST", "/v1/webhooks", { url: "https://c.example/", events: ["*"] })).status).toBe(201);
    } finally {
      await s.stop();
    }
  });
});

describe("catalogue", () => {
  test("with [events] types set, subscriptions outside it are refused", async () => {
    const s = await startTestServer({ events: 'types = ["invoice.paid", "job.completed"]' });
    try {
      const ok = await s.api("POST", "/v1/webhooks", { url: "https://a.example/", events: ["invoice.paid", "job.*", "resource.*", "webhook.test"] });
      expect(ok.status).toBe(201);
      const bad = await s.api("POST", "/v1/webhooks", { url: "https://a.example/", events: ["invoice.voided", "device.*"] });
      expect(bad.status).toBe(422);
      expect(bad.body.error.details.map((d: { field: string; code: string }) => `${d.field}:${d.code}`)).toEqual([
        "events[0]:unknown_event_type",
        "events[1]:unknown_event_type",
      ]);
    } finally {
      await s.stop();
    }
  });
});

describe("secrets stay out of the database's readers and the logs", () => {
  test("the secret is not in any list or get answer after creation", async () => {
    const created = (await server.api("POST", "/v1/webhooks", { url: "https://s.example/", events: ["*"] })).body.data;
    for (const path of ["/v1/webhooks?limit=500", `/v1/webhooks/${created.id}`]) {
      expect((await server.api("GET", path)).text).not.toContain(created.secret);
    }
  });
});
