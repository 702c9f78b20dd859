import { afterEach, describe, expect, it } from "bun:test";
import type { OAuth2Profile } from "../../src/config/types.ts";
import { DeliveryScheduler } from "../../src/delivery/scheduler.ts";
import { staticResolver } from "../../src/delivery/resolver.ts";
import { createSender, type Sender, type SenderOptions } from "../../src/delivery/sender.ts";
import { createLogger } from "../../src/log.ts";
import { ipSetOf } from "../../src/net/cidr.ts";
import type { AttemptResult, ClaimedDelivery, Storage } from "../../src/storage/types.ts";
import { FakeClock } from "../support/fake-clock.ts";

const LOOPBACK = { requireHttps: false, allowTargets: ipSetOf(["127.0.0.0/8"]) };
const SECRET = "s3cr+t with space&amp";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** tokenServer counts token requests and answers each with the next token (tok-1, tok-2, …) or with `answer` when set. */
function tokenServer(opts: { delayMs?: number; expiresIn?: number | null } = {}) {
  const requests: { auth: string | null; form: URLSearchParams; contentType: string | null }[] = [];
  let answer: (() => Response) | null = null;
  const server = Bun.serve({
    hostname: "127.0.0.1", port: 0,
    async fetch(req) {
      requests.push({ auth: req.headers.get("authorization"), form: new URLSearchParams(await req.text()), contentType: req.headers.get("content-type") });
      if (opts.delayMs) await Bun.sleep(opts.delayMs);
      if (answer !== null) return answer();
      const expires = opts.expiresIn === undefined ? 3600 : opts.expiresIn;
      return Response.json({ access_token: `tok-${requests.length}`, token_type: "Bearer", ...(expires === null ? {} : { expires_in: expires }) });
    },
  });
  cleanups.push(() => server.stop(true));
  return { requests, url: `http://127.0.0.1:${server.port}/oauth/token`, port: server.port as number, answerWith: (f: () => Response) => void (answer = f) };
}

/** receiver demands a bearer token from `valid` (all tokens when unset) and answers 401 otherwise. */
function receiver(valid?: Set<string>) {
  const seen: string[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1", port: 0,
    fetch(req) {
      const auth = req.headers.get("authorization") ?? "";
      seen.push(auth);
      const token = auth.replace(/^Bearer /, "");
      if (!auth.startsWith("Bearer ") || (valid !== undefined && !valid.has(token))) return new Response("no", { status: 401 });
      // A careless receiver that echoes what it got: the recorded response must still not hold the token.
      return new Response(`hello ${auth}`);
    },
  });
  cleanups.push(() => server.stop(true));
  return { seen, origin: `http://127.0.0.1:${server.port}` };
}

function profile(tokenUrl: string, over: Partial<OAuth2Profile> = {}): OAuth2Profile {
  return {
    name: "erp", token_url: tokenUrl, client_id: "hookd id", client_secret: SECRET, client_secret_env: "",
    scope: "webhooks:write", audience: "", auth_method: "basic", allow_urls: ["http://127.0.0.1:"], ...over,
  };
}

function sender(p: OAuth2Profile, over: Partial<SenderOptions> = {}): Sender {
  const s = createSender({ resolver: staticResolver({}), policy: LOOPBACK, profiles: { client_tls: [], oauth2: [p] }, ...over });
  cleanups.push(() => s.close());
  return s;
}

const post = (url: string, oauth2: string | null = "erp") => ({ url, headers: { "Content-Type": "application/json" }, body: "{}", timeoutMs: 5000, oauth2 });

describe("OAuth2 client credentials", () => {
  it("fetches one token for many concurrent deliveries and sends it as a bearer token", async () => {
    const t = tokenServer({ delayMs: 100 });
    const r = receiver();
    const s = sender(profile(t.url));
    const outs = await Promise.all(Array.from({ length: 10 }, () => s.send(post(`${r.origin}/hook`))));
    expect(outs.every((o) => o.ok)).toBe(true);
    expect(t.requests).toHaveLength(1);
    expect(new Set(r.seen)).toEqual(new Set(["Bearer tok-1"]));
    expect(outs[0]!.response).toBe("hello Bearer ********");
    // Reused while valid: no further token request.
    expect((await s.send(post(`${r.origin}/hook`))).ok).toBe(true);
    expect(t.requests).toHaveLength(1);
  });

  it("client_secret_basic: form-encoded id and secret in HTTP Basic, grant and scope in the form body", async () => {
    const t = tokenServer();
    const r = receiver();
    await sender(profile(t.url, { audience: "https://api.example" })).send(post(`${r.origin}/hook`));
    const [req] = t.requests;
    expect(req!.contentType).toBe("application/x-www-form-urlencoded");
    expect(Object.fromEntries(req!.form)).toEqual({ grant_type: "client_credentials", scope: "webhooks:write", audience: "https://api.example" });
    expect(Buffer.from(req!.auth!.replace(/^Basic /, ""), "base64").toString()).toBe("hookd+id:s3cr%2Bt+with+space%26amp");
  });

  it("client_secret_post: id and secret in the form body, no Authorization header", async () => {
    const t = tokenServer();
    const r = receiver();
    await sender(profile(t.url, { auth_method: "post", scope: "" })).send(post(`${r.origin}/hook`));
    expect(t.requests[0]!.auth).toBeNull();
    expect(Object.fromEntries(t.requests[0]!.form)).toEqual({ grant_type: "client_credentials", client_id: "hookd id", client_secret: SECRET });
  });

  it("on a 401 fetches one new token for all waiting attempts and sends again within the same attempt", async () => {
    const t = tokenServer({ delayMs: 50 });
    const valid = new Set(["tok-1"]);
    const r = receiver(valid);
    const s = sender(profile(t.url));
    expect((await s.send(post(`${r.origin}/hook`))).ok).toBe(true);
    valid.clear();
    valid.add("tok-2"); // tok-1 revoked
    const outs = await Promise.all(Array.from({ length: 8 }, () => s.send(post(`${r.origin}/hook`))));
    expect(outs.map((o) => [o.ok, o.statusCode, o.error])).toEqual(Array(8).fill([true, 200, null]));
    expect(t.requests).toHaveLength(2);
    expect(r.seen.filter((a) => a === "Bearer tok-1")).toHaveLength(9);
    expect(r.seen.filter((a) => a === "Bearer tok-2")).toHaveLength(8);
    // The attempt's duration covers the refresh too (the token server takes 50 ms).
    expect(Math.min(...outs.map((o) => o.durationMs))).toBeGreaterThanOrEqual(45);
  });

  it("counts the attempt failed when the new token is refused too, after exactly one refresh", async () => {
    const t = tokenServer();
    const r = receiver(new Set());
    const out = await sender(profile(t.url)).send(post(`${r.origin}/hook`));
    expect(out).toMatchObject({ ok: false, statusCode: 401, error: "HTTP 401", response: "no" });
    expect(t.requests).toHaveLength(2);
    expect(r.seen).toEqual(["Bearer tok-1", "Bearer tok-2"]);
  });

  it("reuses a token until 30 s before expires_in, and for 5 minutes when it is absent", async () => {
    for (const [expiresIn, reuseUntilS] of [[120, 90], [null, 270]] as const) {
      const clock = new FakeClock(1_700_000_000_000);
      const t = tokenServer({ expiresIn });
      const r = receiver();
      const s = sender(profile(t.url), { now: () => clock.now() });
      await s.send(post(`${r.origin}/hook`));
      clock.advance(reuseUntilS * 1000 - 1);
      await s.send(post(`${r.origin}/hook`));
      expect(t.requests).toHaveLength(1);
      clock.advance(1);
      await s.send(post(`${r.origin}/hook`));
      expect(t.requests).toHaveLength(2);
      expect(r.seen.at(-1)).toBe("Bearer tok-2");
    }
  });

  it.each([
    ["a 500", () => new Response(`{"error":"server_error","echo":"${SECRET}"}`, { status: 500, headers: { "content-type": "application/json" } }), (port: number) => `oauth2: token request failed: HTTP 500 from 127.0.0.1:${port} (server_error)`],
    ["a redirect", () => new Response(null, { status: 302, headers: { location: "http://127.0.0.1:9/x" } }), (port: number) => `oauth2: token request failed: HTTP 302 from 127.0.0.1:${port}`],
    ["an answer without a token", () => Response.json({ token_type: "Bearer" }), (port: number) => `oauth2: token response from 127.0.0.1:${port} has no usable access_token`],
    ["a non-JSON answer", () => new Response(`token=${SECRET}`), (port: number) => `oauth2: token response from 127.0.0.1:${port} is not JSON`],
  ])("fails the attempt with an oauth2: error on %s, sending nothing to the endpoint", async (_name, answer, expected) => {
    const t = tokenServer();
    t.answerWith(answer);
    const r = receiver();
    const out = await sender(profile(t.url)).send(post(`${r.origin}/hook`));
    expect(out).toMatchObject({ ok: false, statusCode: null, error: expected(t.port), response: "" });
    expect(r.seen).toHaveLength(0);
  });

  it("applies the delivery SSRF rules and a deadline to the token request", async () => {
    const t = tokenServer();
    const r = receiver();
    const strict = { requireHttps: false, allowTargets: ipSetOf([]) };
    const resolver = staticResolver({ "auth.test": ["127.0.0.1"] });
    const blocked = await sender(profile(`http://auth.test:${t.port}/token`), { policy: strict, resolver })
      .send(post(`http://127.0.0.1:${1}/hook`));
    expect(blocked.error).toBe(`oauth2: token request failed: target_blocked (auth.test:${t.port})`);
    expect(t.requests).toHaveLength(0);
    const slow = tokenServer({ delayMs: 2000 });
    const late = await sender(profile(slow.url), { tokenTimeoutMs: 200 }).send(post(`${r.origin}/hook`));
    expect(late.error).toBe(`oauth2: token request failed: timeout after 200 ms (127.0.0.1:${slow.port})`);
    expect(r.seen).toHaveLength(0);
  });

  it("checks allow_urls and the profile's existence at send time", async () => {
    const t = tokenServer();
    const r = receiver();
    const s = sender(profile(t.url, { allow_urls: ["https://sap-gw.example/"] }));
    expect((await s.send(post(`${r.origin}/hook`))).error).toBe('oauth2: endpoint URL is not under an allow_urls prefix of profile "erp"');
    expect((await s.send(post(`${r.origin}/hook`, "nope"))).error).toBe('oauth2: profile "nope" is not configured');
    expect(t.requests).toHaveLength(0);
    expect(r.seen).toHaveLength(0);
  });

  it("overrides an Authorization header of the endpoint's own with the bearer token", async () => {
    const t = tokenServer();
    const r = receiver();
    const out = await sender(profile(t.url)).send({ ...post(`${r.origin}/hook`), headers: { authorization: "Basic Zm9vOmJhcg==" } });
    expect(out.ok).toBe(true);
    expect(r.seen).toEqual(["Bearer tok-1"]);
  });
});

describe("secrets stay out of logs and records", () => {
  it("neither the client secret nor a token appears in any log line or recorded attempt", async () => {
    const t = tokenServer();
    const valid = new Set(["tok-2"]);
    const r = receiver(valid);
    const lines: string[] = [];
    const log = createLogger("debug", (l) => lines.push(l));
    const s = sender(profile(t.url), { log });
    const recorded: AttemptResult[] = [];
    const deliveries = [delivery("d1", r.origin), delivery("d2", r.origin)];
    const storage = fakeQueue(deliveries, recorded);
    const scheduler = new DeliveryScheduler({
      storage, send: (req) => s.send(req), clock: new FakeClock(Date.now()), log, concurrency: 1, perEndpointConcurrency: 1,
      disableAfterMs: 0, owner: "test", timeoutMs: 5000, retrySchedule: [1000], userAgent: "hookd-test", random: () => 0,
    });
    await scheduler.start();
    scheduler.wake();
    while (recorded.length < 2) await Bun.sleep(5);
    t.answerWith(() => new Response(`{"access_token":"tok-leak","client_secret":"${SECRET}"}`, { status: 400 }));
    valid.clear();
    deliveries.push(delivery("d3", r.origin));
    scheduler.wake();
    while (recorded.length < 3) await Bun.sleep(5);
    await scheduler.stop(1000);
    expect(recorded.map((x) => [x.ok, x.error])).toEqual([[true, null], [true, null], [false, `oauth2: token request failed: HTTP 400 from 127.0.0.1:${t.port}`]]);
    const everything = JSON.stringify(recorded) + lines.join("\n");
    expect(lines.some((l) => l.includes("oauth2: token request failed"))).toBe(true);
    for (const secret of [SECRET, "tok-1", "tok-2", "tok-leak", "czNjcit0"]) expect(everything).not.toContain(secret);
  });
});

function delivery(id: string, origin: string): ClaimedDelivery {
  return {
    id, event_id: `evt_${id}`, event_type: "order.created", webhook_id: "wh_1", url: `${origin}/hook`, secrets: ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    body: "{}", attempts: 0, schedule_attempts: 0, sequence: null, headers: null, timeout_ms: null, client_tls: null, oauth2: "erp", transform: null, content_type: null, source: null, lease: `lease_${id}`,
  };
}

/** fakeQueue hands out `pending` one claim at a time and keeps what the scheduler records. */
function fakeQueue(pending: ClaimedDelivery[], recorded: AttemptResult[]): Storage {
  const deliveries = {
    releaseAbandoned: async () => 0,
    claimDue: async () => pending.splice(0, 1),
    complete: async (results: AttemptResult[]) => {
      recorded.push(...results);
      return { disabled: [], stale: [] };
    },
    release: async () => 0,
    nextWakeAt: async () => null,
  };
  return { deliveries } as unknown as Storage;
}
