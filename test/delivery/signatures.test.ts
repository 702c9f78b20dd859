import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { Webhook as SvixWebhook } from "svix";
import { staticResolver } from "../../src/delivery/resolver";
import { waitFor } from "../support/process";
import { type Received, startReceiver, type Receiver } from "../support/receiver";
import { startTestServer, type TestServer } from "../support/test-server";

let server: TestServer;
let receiver: Receiver;
beforeAll(async () => {
  receiver = startReceiver();
  server = await startTestServer(
    { delivery: 'require_https = false\nallow_targets = ["127.0.0.0/8"]\nretry_schedule = ["1s"]\nmax_endpoints = 20' },
    // hooks.internal is a DNS name the test resolver maps to loopback; evil.test maps to a blocked address.
    { resolver: staticResolver({ "hooks.internal": ["127.0.0.1"], "evil.test": ["10.1.2.3"], "loop.test": ["127.0.0.1"] }) },
  );
});
afterAll(async () => {
  await server.stop();
  await receiver.stop();
});

async function deliverOne(path: string, type: string, data: unknown): Promise<{ secret: string; received: Received; webhookId: string }> {
  const w = (await server.api("POST", "/v1/webhooks", { url: `${receiver.url}${path}`, events: [type] })).body.data;
  await server.api("POST", "/v1/events", { type, data });
  await waitFor(() => receiver.requests.some((r) => r.path === path), 5000, `delivery to ${path}`);
  return { secret: w.secret, received: receiver.requests.find((r) => r.path === path)!, webhookId: w.id };
}

describe("a real delivery verifies unchanged", () => {
  test("with standardwebhooks, svix and the plain hex HMAC check", async () => {
    const raw = '{"type":"payroll.closed","data":{"batch":"B-7","amount":12345678901234567890,"note":"é ✓"}}';
    const w = (await server.api("POST", "/v1/webhooks", { url: `${receiver.url}/verify`, events: ["payroll.closed"] })).body.data;
    const published = await server.api("POST", "/v1/events", raw);
    await waitFor(() => receiver.requests.some((r) => r.path === "/verify"), 5000, "delivery");
    const got = receiver.requests.find((r) => r.path === "/verify")!;

    expect(new StandardWebhook(w.secret).verify(got.body, got.headers)).toBeTruthy();
    expect(new SvixWebhook(w.secret).verify(got.body, got.headers)).toBeTruthy();
    const hex = createHmac("sha256", Buffer.from(w.secret, "utf8")).update(got.body).digest("hex");
    expect(got.headers["x-hookd-signature"]).toBe(hex);

    expect(got.headers["content-type"]).toBe("application/json");
    expect(got.headers["user-agent"]).toMatch(/^hookd\//);
    expect(got.headers["x-hookd-event"]).toBe("payroll.closed");
    expect(got.headers["x-hookd-delivery"]).toMatch(/^dlv_/);
    expect(got.headers["webhook-id"]).toBe(published.body.data.id);
    expect(Math.abs(Number(got.headers["webhook-timestamp"]) - Date.now() / 1000)).toBeLessThan(30);
    // The body is the stored envelope, byte for byte: the data as sent, big integer included.
    expect(got.body).toContain('"data":{"batch":"B-7","amount":12345678901234567890,"note":"é ✓"}');
    expect(JSON.parse(got.body)).toMatchObject({ id: published.body.data.id, type: "payroll.closed" });
  });

  test("a tampered body fails every check", async () => {
    const { secret, received } = await deliverOne("/tamper", "tamper.check", { ok: true });
    const hex = (body: string) => createHmac("sha256", secret).update(body).digest("hex");
    // Each check must first accept the body as delivered, or its failure below would prove nothing.
    expect(new StandardWebhook(secret).verify(received.body, received.headers)).toEqual(JSON.parse(received.body));
    expect(new SvixWebhook(secret).verify(received.body, received.headers)).toEqual(JSON.parse(received.body));
    expect(hex(received.body)).toBe(received.headers["x-hookd-signature"]!);

    const forged = received.body.replace('"ok":true', '"ok":false');
    expect(forged).not.toBe(received.body);
    expect(() => new StandardWebhook(secret).verify(forged, received.headers)).toThrow();
    expect(() => new SvixWebhook(secret).verify(forged, received.headers)).toThrow();
    expect(hex(forged)).not.toBe(received.headers["x-hookd-signature"]!);
  });
});

describe("secret rotation", () => {
  test("for 24 h both secrets sign webhook-signature; X-Hookd-Signature uses the new one", async () => {
    const w = (await server.api("POST", "/v1/webhooks", { url: `${receiver.url}/rotate`, events: ["rotate.check"] })).body.data;
    const chosen = `whsec_${Buffer.alloc(32, 7).toString("base64")}`;
    const rotated = await server.api("POST", `/v1/webhooks/${w.id}/rotate-secret`, { secret: chosen });
    expect(rotated.status).toBe(200);
    expect(rotated.body.data.secret).toBe(chosen);
    expect((await server.api("GET", `/v1/webhooks/${w.id}`)).text).not.toContain(chosen);
    await server.api("POST", "/v1/events", { type: "rotate.check", data: {} });
    await waitFor(() => receiver.requests.some((r) => r.path === "/rotate"), 5000, "delivery");
    const got = receiver.requests.find((r) => r.path === "/rotate")!;
    expect(got.headers["webhook-signature"]!.split(" ")).toHaveLength(2);
    expect(new StandardWebhook(chosen).verify(got.body, got.headers)).toBeTruthy();
    expect(new StandardWebhook(w.secret).verify(got.body, got.headers)).toBeTruthy();
    expect(got.headers["x-hookd-signature"]).toBe(createHmac("sha256", chosen).update(got.body).digest("hex"));
  });

  test("without a body a new whsec_ secret is generated; a malformed one is 422", async () => {
    const w = (await server.api("POST", "/v1/webhooks", { url: `${receiver.url}/rot2`, events: ["x.y"] })).body.data;
    const fresh = await server.api("POST", `/v1/webhooks/${w.id}/rotate-secret`);
    expect(fresh.status).toBe(200);
    expect(fresh.body.data.secret).toMatch(/^whsec_/);
    expect(fresh.body.data.secret).not.toBe(w.secret);
    const bad = await server.api("POST", `/v1/webhooks/${w.id}/rotate-secret`, { secret: "hunter2" });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details[0].field).toBe("secret");
  });
});

describe("SSRF at send time", () => {
  test("a name that resolves into a blocked range is a failed attempt with target_blocked; nothing is sent", async () => {
    const blockedServer = await startTestServer(
      { delivery: 'require_https = false\nretry_schedule = []' },
      { resolver: staticResolver({ "loop.test": ["127.0.0.1"] }) },
    );
    try {
      const before = receiver.started;
      const w = (await blockedServer.api("POST", "/v1/webhooks", { url: `http://loop.test:${receiver.port}/ssrf`, events: ["*"] })).body.data;
      expect(w.id).toMatch(/^wh_/); // a DNS name passes at create time; it is checked when sending
      await blockedServer.api("POST", "/v1/events", { type: "a.b", data: {} });
      let d: any;
      await waitFor(async () => {
        const list = (await blockedServer.api("GET", `/v1/webhooks/${w.id}/deliveries`)).body.data;
        d = list[0];
        return d?.status === "expired";
      }, 5000, "expired");
      expect(d.last_error).toBe("target_blocked");
      expect(d.last_status_code).toBeNull();
      expect(receiver.started).toBe(before);
    } finally {
      await blockedServer.stop();
    }
  });

  test("the name resolved once is the address used: allowed loopback through allow_targets works", async () => {
    const { received } = await deliverOne("/named", "named.check", {});
    expect(received).toBeDefined();
    const w = (await server.api("POST", "/v1/webhooks", { url: `http://hooks.internal:${receiver.port}/by-name`, events: ["byname.check"] })).body.data;
    await server.api("POST", "/v1/events", { type: "byname.check", data: {} });
    await waitFor(() => receiver.requests.some((r) => r.path === "/by-name"), 5000, "delivery by name");
    expect(receiver.requests.find((r) => r.path === "/by-name")!.headers.host).toBe(`hooks.internal:${receiver.port}`);
    expect(w.id).toMatch(/^wh_/);
  });
});
