import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { rawExchange } from "../fuzz/kit";
import { FakeClock } from "../support/fake-clock";
import { staticResolver } from "../../src/delivery/resolver";
import { call, startTestServer, type TestServer } from "../support/test-server";

// Auth battery: every /v1 route listed in /openapi.json × every way of presenting (or almost presenting) the
// key that must not work, plus [api] allow_ips before auth, plus the inbound negatives test/inbound does not
// already cover. test/api/security.test.ts walks the routes with four credentials; this goes wider.

let server: TestServer;
let routes: { method: string; path: string }[] = [];
let realIds: Record<string, string> = {};

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;

beforeAll(async () => {
  server = await startTestServer({ delivery: "require_https = false" }, { resolver: staticResolver({}) });
  // Real ids, so a bypass would show as a 200 with data rather than hide behind a 404.
  const w = (await server.api("POST", "/v1/webhooks", { url: "http://never.example/", events: ["never.published"] })).body.data;
  const r = (await server.api("POST", "/v1/resources", { name: "auth" })).body.data;
  const e = (await server.api("GET", "/v1/events?limit=1")).body.data[0];
  realIds = { webhooks: w.id, resources: r.id, events: e.id };
  const spec = (await call(`${server.url}/openapi.json`, "GET")).body;
  for (const [path, ops] of Object.entries(spec.paths as Record<string, Record<string, unknown>>)) {
    if (!path.startsWith("/v1")) continue;
    const family = path.split("/")[2]!;
    const concrete = path.replace(/\{id\}/g, realIds[family] ?? `${family.slice(0, 3)}_00000000000000000000000000`);
    for (const method of Object.keys(ops)) routes.push({ method: method.toUpperCase(), path: concrete });
  }
});
afterAll(() => server.stop());

/** wrongCredentials: [name, headers, path suffix]; each must be refused on every route. */
function wrongCredentials(key: string): [string, Record<string, string>, string][] {
  const sameLength = `test-key-${crypto.randomUUID()}`; // the test key's shape and length, another value
  return [
    ["no Authorization", {}, ""],
    ["a wrong key of the same length", { authorization: `Bearer ${sameLength}` }, ""],
    ["the key minus its last character", { authorization: `Bearer ${key.slice(0, -1)}` }, ""],
    ["the key plus one character", { authorization: `Bearer ${key}0` }, ""],
    ["the key doubled", { authorization: `Bearer ${key}${key}` }, ""],
    ["a 4 KiB key", { authorization: `Bearer ${"k".repeat(4096)}` }, ""],
    ["the key upper-cased", { authorization: `Bearer ${key.toUpperCase()}` }, ""],
    ["the key without a scheme", { authorization: key }, ""],
    ["Bearer glued to the key", { authorization: `Bearer${key}` }, ""],
    ["Bearer with a trailing word", { authorization: `Bearer ${key} extra` }, ""],
    ["Bearer with the key quoted", { authorization: `Bearer "${key}"` }, ""],
    ["Bearer with the key base64-encoded", { authorization: `Bearer ${Buffer.from(key).toString("base64")}` }, ""],
    ["Bearer with a comma list", { authorization: `Bearer ${key}, Bearer ${key}` }, ""],
    ["a wrong key with odd case and whitespace", { authorization: `bEaReR \t ${sameLength}  ` }, ""],
    ["an empty Bearer", { authorization: "Bearer " }, ""],
    ["Bearer alone", { authorization: "Bearer" }, ""],
    ["Token scheme", { authorization: `Token ${key}` }, ""],
    ["Basic user:key", { authorization: basic("test", key) }, ""],
    ["Basic key:", { authorization: basic(key, "") }, ""],
    ["Basic :key", { authorization: basic("", key) }, ""],
    ["Basic with the raw key", { authorization: `Basic ${key}` }, ""],
    ["Digest", { authorization: `Digest username="test", response="${key}"` }, ""],
    ["the key in X-API-Key", { "x-api-key": key }, ""],
    ["the key in Api-Key", { "api-key": key }, ""],
    ["the key in Proxy-Authorization", { "proxy-authorization": `Bearer ${key}` }, ""],
    ["the key in X-Forwarded-Authorization", { "x-forwarded-authorization": `Bearer ${key}` }, ""],
    ["the key in a cookie", { cookie: `token=${key}; api_key=${key}; authorization=Bearer%20${key}` }, ""],
    ["the key in the query string", {}, `?access_token=${key}&api_key=${key}&key=${key}&token=${key}&authorization=Bearer%20${key}`],
  ];
}

describe("every /v1 route refuses every wrong way of presenting the key", () => {
  test("the routes come from /openapi.json and include every family", () => {
    const families = new Set(routes.map((r) => r.path.split("/")[2]));
    for (const f of ["webhooks", "events", "event-types", "resources", "deliveries", "inbound"]) expect(families).toContain(f);
    expect(routes.length).toBeGreaterThan(15);
  });

  test("routes × credentials: all 401 with the error envelope and WWW-Authenticate, nothing changed", async () => {
    const credentials = wrongCredentials(server.key);
    const failures: string[] = [];
    const snapshot = async () =>
      JSON.stringify(await Promise.all(["/v1/webhooks?limit=500", "/v1/resources?limit=500", "/v1/events?limit=500"].map(async (p) => (await server.api("GET", p)).body)));
    const before = await snapshot();
    let n = 0;
    for (const [name, headers, suffix] of credentials) {
      await Promise.all(
        routes.map(async ({ method, path }) => {
          const body = method === "GET" || method === "DELETE" ? undefined : { url: "http://x.example/", events: ["*"], name: "x", type: "a.b", data: {} };
          const answer = await call(`${server.url}${path}${suffix}`, method, body, headers);
          n++;
          const rid = answer.headers.get("x-request-id");
          const ok =
            answer.status === 401 &&
            answer.body?.error?.code === "unauthorized" &&
            answer.body.error.request_id === rid &&
            !!rid &&
            /^Bearer/.test(answer.headers.get("www-authenticate") ?? "") &&
            !answer.text.includes('"data"');
          if (!ok) failures.push(`${name}: ${method} ${path} → ${answer.status} ${answer.text.slice(0, 120)}`);
        }),
      );
    }
    console.log(`auth battery: ${n} requests (${routes.length} routes × ${credentials.length} credentials)`);
    expect(failures).toEqual([]);
    expect(await snapshot()).toBe(before);
  });

  test("odd methods and path spellings under /v1 are 401 too (routes cannot be probed without a key)", async () => {
    const port = Number(new URL(server.url).port);
    const paths = [
      "/v1", "/v1/", "/v1/nothing", "/V1/webhooks", "//v1/webhooks", "/v1//webhooks", "/v1/./webhooks", "/v1/webhooks/", "/%76%31/webhooks",
      "/v1%2fwebhooks", "/v1/%2e%2e/v1/webhooks", "/x/../v1/webhooks", "/in/../v1/webhooks", "/in/%2e%2e/v1/webhooks", "/v1;x/webhooks",
      "/v1/webhooks;x", "/v1/webhooks%00", "/v1/webhooks?x=1", `/v1/webhooks/${realIds.webhooks}`, `/v1/webhooks/${realIds.webhooks}/../../webhooks`,
      "http://127.0.0.1/v1/webhooks", "http://evil.example/v1/webhooks",
    ];
    const methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "PROPFIND", "SEARCH"];
    const failures: string[] = [];
    for (const path of paths) {
      for (const method of methods) {
        const body = method === "GET" || method === "HEAD" ? "" : '{"name":"x"}';
        const head = `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
        const answer = await rawExchange(port, head + body);
        // The encoded-slash and "/in/…" spellings are not /v1 paths at all (404); everything that routes to /v1 is 401.
        const fine = answer.status !== null && [401, 404, 400].includes(answer.status) && !!answer.headers["x-request-id"] && !answer.body.includes('"data"');
        if (!fine) failures.push(`${method} ${path} → ${answer.status} ${answer.body.slice(0, 100)}`);
        // Anything whose normalized path is under /v1 must be refused before routing: a 404 there would tell
        // a caller without a key which routes exist. ("/v1;x/…" or "/v1%2f…" are other paths, so 404 is right.)
        const normalized = decodeURIComponent(new URL(path, "http://h").pathname).toLowerCase().replace(/^\/+/, "/");
        if (answer.status !== 401 && (normalized === "/v1" || normalized.startsWith("/v1/")) && !path.includes("%2f")) {
          failures.push(`${method} ${path} → ${answer.status}: a /v1 path answered before auth`);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  test("two Authorization headers (one right, one wrong) are refused, in either order", async () => {
    const port = Number(new URL(server.url).port);
    for (const pair of [[`Bearer ${server.key}`, "Bearer wrong-key-000"], ["Bearer wrong-key-000", `Bearer ${server.key}`], [`Bearer ${server.key}`, `Bearer ${server.key}`]]) {
      const answer = await rawExchange(port, `GET /v1/webhooks HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${pair[0]}\r\nAuthorization: ${pair[1]}\r\nConnection: close\r\n\r\n`);
      expect(answer.status).toBe(401);
    }
  });

  test("non-UTF-8 bytes in Authorization are a 401, not a crash", async () => {
    const port = Number(new URL(server.url).port);
    for (const value of ["Bearer \xff\xfe\xfd", `Bearer ${server.key}\xff`, "\xc3\x28", `Bearer ${server.key.replace("-", "\xad")}`]) {
      const answer = await rawExchange(port, `GET /v1/webhooks HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${value}\r\nConnection: close\r\n\r\n`);
      expect(answer.status).toBe(401);
      expect(answer.headers["x-request-id"]).toBeTruthy();
    }
    expect((await call(`${server.url}/healthz`, "GET")).status).toBe(200);
  });

  test("no CORS on /v1: a preflight is a 401 and no answer grants another origin", async () => {
    const origin = { origin: "https://evil.example", "access-control-request-method": "DELETE", "access-control-request-headers": "authorization" };
    const preflight = await call(`${server.url}/v1/webhooks`, "OPTIONS", undefined, origin);
    const withKey = await call(`${server.url}/v1/webhooks`, "GET", undefined, { origin: "https://evil.example", authorization: `Bearer ${server.key}` });
    expect(preflight.status).toBe(401);
    expect(withKey.status).toBe(200);
    for (const answer of [preflight, withKey]) {
      const cors = [...answer.headers.keys()].filter((h) => h.startsWith("access-control-"));
      expect(cors).toEqual([]);
    }
  });

  test("control: the scheme is case-insensitive and surrounding whitespace is allowed (RFC 9110), the key itself is exact", async () => {
    for (const authorization of [`Bearer ${server.key}`, `bearer ${server.key}`, `BEARER ${server.key}`, `Bearer  \t${server.key}  `]) {
      const answer = await call(`${server.url}/v1/webhooks`, "GET", undefined, { authorization });
      expect({ authorization, status: answer.status }).toEqual({ authorization, status: 200 });
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe("[api] allow_ips is checked before the key", () => {
  let locked: TestServer;
  let proxied: TestServer;
  beforeAll(async () => {
    locked = await startTestServer({ api: 'allow_ips = ["127.0.0.2/32"]' }, { resolver: staticResolver({}) });
    // Behind a trusted proxy on 127.0.0.3: X-Forwarded-For counts only when the socket is that proxy.
    proxied = await startTestServer({ api: 'allow_ips = ["127.0.0.2/32"]', server: 'trusted_proxies = ["127.0.0.3/32"]' }, { resolver: staticResolver({}) });
  });
  afterAll(async () => {
    await locked.stop();
    await proxied.stop();
  });

  const get = (s: TestServer, path: string, from: string, headers: string[] = []) =>
    rawExchange(Number(new URL(s.url).port), `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers.map((h) => `${h}\r\n`).join("")}Connection: close\r\n\r\n`, 5000, from);

  test("every route from an address outside allow_ips: 403 ip_not_allowed with or without the key; health stays open", async () => {
    const failures: string[] = [];
    for (const { method, path } of routes) {
      for (const auth of [null, `Bearer ${locked.key}`, "Bearer wrong"]) {
        const headers: Record<string, string> = auth ? { authorization: auth } : {};
        const answer = await call(`${locked.url}${path}`, method, method === "GET" || method === "DELETE" ? undefined : { name: "x" }, headers);
        if (answer.status !== 403 || answer.body?.error?.code !== "ip_not_allowed" || !answer.headers.get("x-request-id")) {
          failures.push(`${method} ${path} (${auth ?? "no key"}) → ${answer.status}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect((await call(`${locked.url}/healthz`, "GET")).status).toBe(200);
  });

  test("from an allowed address the key decides; a spoofed X-Forwarded-For from an untrusted peer does not help", async () => {
    expect((await get(locked, "/v1/webhooks", "127.0.0.2")).status).toBe(401);
    expect((await get(locked, "/v1/webhooks", "127.0.0.2", [`Authorization: Bearer ${locked.key}`])).status).toBe(200);
    expect((await get(locked, "/v1/webhooks", "127.0.0.1", ["X-Forwarded-For: 127.0.0.2", `Authorization: Bearer ${locked.key}`])).status).toBe(403);
    expect((await get(locked, "/v1/webhooks", "127.0.0.1", ["X-Real-IP: 127.0.0.2", "Forwarded: for=127.0.0.2", `Authorization: Bearer ${locked.key}`])).status).toBe(403);
  });

  test("behind a trusted proxy: X-Forwarded-For is believed only from the proxy, walked right to left", async () => {
    const key = [`Authorization: Bearer ${proxied.key}`];
    expect((await get(proxied, "/v1/webhooks", "127.0.0.3", ["X-Forwarded-For: 127.0.0.2", ...key])).status).toBe(200);
    // The right-most untrusted hop is the client; a forged left-most entry does not count.
    expect((await get(proxied, "/v1/webhooks", "127.0.0.3", ["X-Forwarded-For: 127.0.0.2, 127.0.0.9", ...key])).status).toBe(403);
    // Not from the proxy: the header is ignored, the socket address decides.
    expect((await get(proxied, "/v1/webhooks", "127.0.0.4", ["X-Forwarded-For: 127.0.0.2", ...key])).status).toBe(403);
    expect((await get(proxied, "/v1/webhooks", "127.0.0.3", ["X-Forwarded-For: garbage", ...key])).status).toBe(403);
  });
});

// ---------------------------------------------------------------------------------------------

describe("inbound auth: negatives test/inbound does not cover", () => {
  const SW_A = `whsec_${Buffer.alloc(32, 1).toString("base64")}`;
  const SW_B = `whsec_${Buffer.alloc(32, 2).toString("base64")}`;
  const clock = new FakeClock(Date.parse("2026-06-01T12:00:00Z"));
  let s: TestServer;
  const erp = (source: string, over: Record<string, unknown> = {}) =>
    JSON.stringify({ connector_id: source, event_type: "auth.check", timestamp: "2026-06-01T12:00:00Z", ...over });
  const hex = (secret: string, body: string) => createHmac("sha256", secret).update(body).digest("hex");
  const swSign = (secret: string, id: string, ts: number, body: string) =>
    `v1,${createHmac("sha256", Buffer.from(secret.slice(6), "base64")).update(`${id}.${ts}.${body}`).digest("base64")}`;
  const send = (source: string, body: string, headers: Record<string, string>) => call(`${s.url}/in/${source}`, "POST", body, headers);
  const accepted = async () => (await s.api("GET", "/v1/inbound?status=accepted&limit=500")).body.data.length;

  beforeAll(async () => {
    s = await startTestServer(
      {
        "[[sources]] # hmac a": 'id = "ha"\nauth = "hmac"\nsecret = "secret-of-a"',
        "[[sources]] # hmac b": 'id = "hb"\nauth = "hmac"\nsecret = "secret-of-b"',
        "[[sources]] # hmac custom header": 'id = "hc"\nauth = "hmac"\nsecret = "secret-of-c"\nheader = "X-Custom-Sig"',
        "[[sources]] # token a": 'id = "ta"\nauth = "token"\nsecret = "token-of-a"',
        "[[sources]] # token b": 'id = "tb"\nauth = "token"\nsecret = "token-of-b"',
        "[[sources]] # sw a": `id = "swa"\nauth = "standard-webhooks"\nsecret = "${SW_A}"`,
        "[[sources]] # sw b": `id = "swb"\nauth = "standard-webhooks"\nsecret = "${SW_B}"`,
        "[[sources]] # none": 'id = "open"\nauth = "none"\nallow_ips = ["127.0.0.2/32"]',
      },
      { clock, resolver: staticResolver({}) },
    );
  });
  afterAll(() => s.stop());

  test("a signature or token that is valid for another source is refused", async () => {
    const before = await accepted();
    const bodyA = erp("ha");
    const cases: [string, string, Record<string, string>, string][] = [
      ["B's HMAC on A's body, sent to A", "ha", { "x-hookd-signature": `sha256=${hex("secret-of-b", bodyA)}` }, "invalid_signature"],
      ["B's valid signed request replayed to A", "ha", { "x-hookd-signature": `sha256=${hex("secret-of-b", erp("hb"))}` }, "invalid_signature"],
      ["C's signature in the default header instead of C's header", "hc", { "x-hookd-signature": `sha256=${hex("secret-of-c", erp("hc"))}` }, "invalid_signature"],
      ["B's token sent to A", "ta", { "x-auth-token": "token-of-b" }, "invalid_token"],
      ["A's token as a Bearer header instead of x-auth-token", "ta", { authorization: "Bearer token-of-a" }, "invalid_token"],
      ["A's token in the HMAC header of an HMAC source", "ha", { "x-hookd-signature": "secret-of-a" }, "invalid_signature"],
    ];
    for (const [name, source, headers, code] of cases) {
      const body = name.startsWith("B's valid") ? erp("hb") : name.startsWith("C's") ? erp("hc") : erp(source);
      const answer = await send(source, body, headers);
      expect({ name, status: answer.status, code: answer.body?.error?.code }).toEqual({ name, status: 401, code });
    }
    // The token in the query string is not a token.
    const q = await call(`${s.url}/in/ta?x-auth-token=token-of-a&token=token-of-a`, "POST", erp("ta"));
    expect(q.status).toBe(401);
    // Standard Webhooks: B's secret on A's source; the whsec_ string used as a raw key instead of its base64 bytes.
    const now = Math.floor(clock.now() / 1000);
    const body = erp("swa");
    for (const [name, signature] of <[string, string][]>[
      ["B's secret", swSign(SW_B, "msg_x1", now, body)],
      ["the whsec_ text as the key", `v1,${createHmac("sha256", SW_A).update(`msg_x1.${now}.${body}`).digest("base64")}`],
      ["A's signature with v2 instead of v1", swSign(SW_A, "msg_x1", now, body).replace(/^v1,/, "v2,")],
    ]) {
      const answer = await send("swa", body, { "webhook-id": "msg_x1", "webhook-timestamp": String(now), "webhook-signature": signature });
      expect({ name, status: answer.status }).toEqual({ name, status: 401 });
    }
    expect(await accepted()).toBe(before);
  });

  test("a Standard Webhooks message replayed later: a duplicate within 5 minutes, refused outside them", async () => {
    const before = await accepted();
    const body = erp("swa", { message: "replay" });
    const sentAt = Math.floor(clock.now() / 1000);
    const headers = { "webhook-id": "msg_replay_1", "webhook-timestamp": String(sentAt), "webhook-signature": swSign(SW_A, "msg_replay_1", sentAt, body) };
    const first = await send("swa", body, headers);
    expect(first.status).toBe(200);
    clock.advance(200_000); // 200 s later: still inside the window, so the exact replay is the sender's retry
    const retry = await send("swa", body, headers);
    expect(retry.status).toBe(200);
    expect(retry.body.id).toBe(first.body.id);
    clock.advance(101_000); // 301 s after signing: a captured request replayed now is refused, before dedupe
    const replay = await send("swa", body, headers);
    expect(replay.status).toBe(401);
    expect(replay.body.error.code).toBe("invalid_signature");
    expect(replay.body.error.message).toContain("tolerance");
    // Re-signed with a new timestamp by someone without the secret: still no.
    const forged = await send("swa", body, { ...headers, "webhook-timestamp": String(sentAt + 301) });
    expect(forged.status).toBe(401);
    // A timestamp from the future beyond the window is refused too.
    const future = Math.floor(clock.now() / 1000) + 301;
    const early = await send("swa", body, { "webhook-id": "msg_future", "webhook-timestamp": String(future), "webhook-signature": swSign(SW_A, "msg_future", future, body) });
    expect(early.status).toBe(401);
    expect(await accepted()).toBe(before + 1);
  });

  test("auth = none with allow_ips: any other address is 403 whatever it sends", async () => {
    const port = Number(new URL(s.url).port);
    const body = erp("open");
    for (const extra of ["", "X-Forwarded-For: 127.0.0.2\r\n", "Authorization: Bearer anything\r\n"]) {
      const answer = await rawExchange(port, `POST /in/open HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`, 5000, "127.0.0.1");
      expect(answer.status).toBe(403);
      expect(JSON.parse(answer.body).error.code).toBe("ip_not_allowed");
    }
    const fromAllowed = await rawExchange(port, `POST /in/open HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`, 5000, "127.0.0.2");
    expect(fromAllowed.status).toBe(200);
  });
});
