// Inbound senders as they exist outside hookd: a Svix-branded sender (svix-* headers, signed by the
// `svix` library) and GitHub (X-Hub-Signature-256 from `@octokit/webhooks-methods`, X-GitHub-Delivery
// as the redelivery key through the source's dedupe_header). SPEC §2, §7.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sign as githubSign } from "@octokit/webhooks-methods";
import { Webhook } from "svix";
import { call, startTestServer, type TestServer } from "../support/test-server";

const SVIX_SECRET = `whsec_${Buffer.alloc(32, 7).toString("base64")}`;
const GITHUB_SECRET = "It's a Secret to Everybody";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({
    "[[sources]] # svix": `id = "svix-sender"\nauth = "standard-webhooks"\nsecret = "${SVIX_SECRET}"\nschema = "json"\nevent_type_field = "type"`,
    "[[sources]] # github": [
      'id = "github"',
      'auth = "hmac"',
      `secret = "${GITHUB_SECRET}"`,
      'header = "X-Hub-Signature-256"',
      'dedupe_header = "X-GitHub-Delivery"',
      'schema = "json"',
      'event_type = "github.push"',
    ].join("\n"),
  });
});
afterAll(() => server.stop());

const post = (source: string, body: string, headers: Record<string, string>) =>
  call(`${server.url}/in/${source}`, "POST", body, { "content-type": "application/json", ...headers });
const eventCount = async () => (await server.api("GET", "/v1/events?limit=500")).body.data.length;
const inbound = async (source: string, status: string) => (await server.api("GET", `/v1/inbound?source=${source}&status=${status}&limit=500`)).body.data;

describe("a Svix-branded sender (svix-id / svix-timestamp / svix-signature)", () => {
  const payload = (n: number) => JSON.stringify({ type: "invoice.paid", data: { invoice: `INV-${n}`, amount: 129900 } });
  const svixHeaders = (msgId: string, body: string, at = new Date()) => ({
    "svix-id": msgId,
    "svix-timestamp": String(Math.floor(at.getTime() / 1000)),
    "svix-signature": new Webhook(SVIX_SECRET).sign(msgId, at, body),
  });

  test("a body signed by the svix library is accepted under the svix-* names and stored with its type", async () => {
    const body = payload(1);
    const answer = await post("svix-sender", body, svixHeaders("msg_2Lh9KsVzPj1", body));
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ received: true, id: expect.stringMatching(/^evt_/) });
    const event = (await server.api("GET", `/v1/events/${answer.body.id}`));
    expect(event.body.data.type).toBe("invoice.paid");
    expect(event.text).toContain(`"data":${body}`);
    const row = (await inbound("svix-sender", "accepted")).find((r: { event_id: string }) => r.event_id === answer.body.id);
    expect(row.headers["svix-id"]).toBe("msg_2Lh9KsVzPj1");
    expect(row.headers["svix-signature"]).toBeUndefined();
  });

  test("a wrong svix signature, or one too old, is 401 invalid_signature", async () => {
    const body = payload(2);
    const forged = { ...svixHeaders("msg_forged", body), "svix-signature": new Webhook(`whsec_${Buffer.alloc(32, 8).toString("base64")}`).sign("msg_forged", new Date(), body) };
    const wrong = await post("svix-sender", body, forged);
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe("invalid_signature");
    const stale = await post("svix-sender", body, svixHeaders("msg_stale", body, new Date(Date.now() - 10 * 60_000)));
    expect(stale.status).toBe(401);
    expect(stale.body.error.message).toContain("webhook-timestamp is");
  });

  test("a redelivery with the same svix-id (signed again, new timestamp) is 200 with the original id and stored once", async () => {
    const body = payload(3);
    const first = await post("svix-sender", body, svixHeaders("msg_redeliver", body));
    expect(first.status).toBe(200);
    const events = await eventCount();
    const again = await post("svix-sender", body, svixHeaders("msg_redeliver", body, new Date(Date.now() + 2000)));
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    expect(await eventCount()).toBe(events);
  });
});

describe("GitHub (X-Hub-Signature-256, X-GitHub-Delivery as dedupe_header)", () => {
  // The shape of a real push delivery, trimmed.
  const push = (after: string) =>
    JSON.stringify({
      ref: "refs/heads/main",
      before: "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
      after,
      repository: { id: 1296269, full_name: "octocat/Hello-World", private: false },
      pusher: { name: "octocat", email: "octocat@github.com" },
      sender: { login: "octocat", id: 1 },
      created: false,
      deleted: false,
      forced: false,
      commits: [{ id: after, message: "Fix all the bugs", timestamp: "2026-04-20T03:00:00+02:00", author: { name: "Monalisa Octocat" } }],
    });
  const github = async (delivery: string, body: string, extra: Record<string, string> = {}) =>
    post("github", body, {
      "user-agent": "GitHub-Hookshot/044aadd",
      "x-github-event": "push",
      "x-github-delivery": delivery,
      "x-github-hook-id": "292430182",
      "x-hub-signature-256": await githubSign(GITHUB_SECRET, body),
      ...extra,
    });

  test("a push signed by @octokit/webhooks-methods is accepted as github.push, data as sent", async () => {
    const body = push("0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c");
    expect(await githubSign(GITHUB_SECRET, body)).toMatch(/^sha256=[0-9a-f]{64}$/);
    const answer = await github("72d3162e-cc78-11e3-81ab-4c9367dc0958", body);
    expect(answer.status).toBe(200);
    const event = await server.api("GET", `/v1/events/${answer.body.id}`);
    expect(event.body.data.type).toBe("github.push");
    expect(event.text).toContain(`"data":${body}`);
    const row = (await inbound("github", "accepted")).find((r: { event_id: string }) => r.event_id === answer.body.id);
    expect(row.headers["x-github-delivery"]).toBe("72d3162e-cc78-11e3-81ab-4c9367dc0958");
    expect(row.headers["x-hub-signature-256"]).toBeUndefined();
  });

  test("a redelivery with the same X-GitHub-Delivery is acknowledged with the original id and not stored twice", async () => {
    const body = push("1e2b37f78e9f6fbf2f7cb6d68fd4d8e02bd1fe2d");
    const delivery = "8e1c5f30-cc78-11e3-81ab-4c9367dc0958";
    const first = await github(delivery, body);
    expect(first.status).toBe(200);
    const events = await eventCount();
    // GitHub's "Redeliver" sends the same delivery id; an Idempotency-Key that differs does not make it new.
    const again = await github(delivery, body, { "idempotency-key": "some-proxy-added-key" });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    expect(await eventCount()).toBe(events);
    const dupes = await inbound("github", "duplicate");
    expect(dupes.filter((d: { event_id: string }) => d.event_id === first.body.id)).toHaveLength(1);
  });

  test("the same X-GitHub-Delivery with a different body is 422 idempotency_key_reused naming the header", async () => {
    const delivery = "9f2d6a41-cc78-11e3-81ab-4c9367dc0958";
    expect((await github(delivery, push("2f3c48089fa07fcf3f8dc7e79fe5e9f13ce20f3e"))).status).toBe(200);
    const reused = await github(delivery, push("3a4d5919aab18adf4a9ed8f8aaf6faa24df31a4f"));
    expect(reused.status).toBe(422);
    expect(reused.body.error.code).toBe("idempotency_key_reused");
    expect(reused.body.error.message).toContain("X-GitHub-Delivery");
  });

  test("dedupe_header comes before webhook-id and Idempotency-Key: new deliveries sharing those are new events", async () => {
    const a = await github("a0e1f2a3-cc78-11e3-81ab-4c9367dc0958", push("4b5e6a2abbc29bef5baf09b9bb07abb35ef42b5a"), { "idempotency-key": "shared-key", "webhook-id": "shared-id" });
    const b = await github("b1f2a3b4-cc78-11e3-81ab-4c9367dc0958", push("5c6f7b3bccd3acf06cb01aca0cc18bcc46f53c6b"), { "idempotency-key": "shared-key", "webhook-id": "shared-id" });
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(b.body.id).not.toBe(a.body.id);
  });

  test("without the dedupe header, webhook-id then Idempotency-Key still dedupe", async () => {
    const body = push("6d7a8c4cdde4bda17dc12bdb1dd29cdd57a64d7c");
    const first = await github("", body, { "idempotency-key": "fallback-key" });
    const again = await github("", body, { "idempotency-key": "fallback-key" });
    expect([first.status, again.status]).toEqual([200, 200]);
    expect(again.body.id).toBe(first.body.id);
  });
});
