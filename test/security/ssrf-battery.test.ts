import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startApp } from "../../src/app";
import { loadConfig } from "../../src/config/load";
import { type Resolver, staticResolver } from "../../src/delivery/resolver";
import { silentLogger } from "../../src/log";
import { hashApiKey } from "../../src/security/api-keys";
import { startTrap, type Trap } from "../fuzz/kit";
import { CLI, freePort, waitFor } from "../support/process";
import { call, startTestServer, type TestServer } from "../support/test-server";

// SSRF battery (SPEC §4 create-time URL rules, §6 send-time checks). Network rule for this file: every
// connection hookd could make goes to 127.0.0.0/8 or ::1. Endpoints pointing elsewhere are only created
// where nothing is ever published (and deleted at once), and DNS is always the injected resolver.
//
// Two local receivers share one port: ALLOWED on 127.0.0.2 (inside allow_targets) and BLOCKED on 127.0.0.1
// (and ::1 when the host has it). A name that resolves to both can only be delivered to ALLOWED; anything
// BLOCKED sees is an SSRF hole.

interface Seen {
  path: string;
  host: string | null;
}
interface Recorder {
  readonly port: number;
  readonly seen: Seen[];
  stop(): Promise<void>;
}

function recorder(hostname: string, port: number, answer: (path: string) => Response = () => new Response("ok")): Recorder {
  const seen: Seen[] = [];
  const server = Bun.serve({
    hostname,
    port,
    fetch(request) {
      const path = new URL(request.url).pathname;
      seen.push({ path, host: request.headers.get("host") });
      return answer(path);
    },
  });
  return { port: server.port!, seen, stop: () => server.stop(true) };
}

let allowed: Recorder;
let blocked: Recorder;
let blocked6: Recorder | null = null;
let P: number;

/** redirects: /r301 … /r308 point at BLOCKED; /rel and /self point back at ALLOWED; nothing may follow them. */
function allowedAnswer(path: string): Response {
  const m = /^\/r(30[12378])/.exec(path);
  if (m) return new Response(null, { status: Number(m[1]), headers: { location: `http://127.0.0.1:${P}/redirected${path}` } });
  if (path.startsWith("/rel")) return new Response(null, { status: 302, headers: { location: "/followed-relative" } });
  if (path.startsWith("/self")) return new Response(null, { status: 307, headers: { location: `http://127.0.0.2:${P}/followed-self` } });
  if (path.startsWith("/v6")) return new Response(null, { status: 302, headers: { location: `http://[::1]:${P}/redirected-v6` } });
  return new Response("ok");
}

beforeAll(() => {
  for (let tries = 0; ; tries++) {
    const a = recorder("127.0.0.2", 0, allowedAnswer);
    try {
      blocked = recorder("127.0.0.1", a.port);
      allowed = a;
      break;
    } catch (error) {
      void a.stop();
      if (tries > 20) throw error;
    }
  }
  P = allowed.port;
  try {
    blocked6 = recorder("::1", P);
  } catch {
    blocked6 = null; // no IPv6 loopback here: ::1 answers are still refused, just not observed
  }
});

afterAll(async () => {
  await allowed?.stop();
  await blocked?.stop();
  await blocked6?.stop();
});

const nothingBlockedSaw = () => {
  expect(blocked.seen).toEqual([]);
  expect(blocked6?.seen ?? []).toEqual([]);
};

/** deliveriesOf publishes one event and waits until every delivery it made has finished its (single) attempt. */
async function publishAndSettle(server: TestServer, type: string, expected: number): Promise<any[]> {
  const published = await server.api("POST", "/v1/events", { type, data: { ssrf: true } });
  expect(published.status).toBe(202);
  expect(published.body.data.deliveries).toBe(expected);
  let deliveries: any[] = [];
  await waitFor(async () => {
    deliveries = (await server.api("GET", `/v1/events/${published.body.data.id}`)).body.data.deliveries;
    return deliveries.length === expected && deliveries.every((d) => d.status === "delivered" || d.status === "expired");
  }, 10_000, `${type} deliveries to finish`);
  return deliveries;
}

// ---------------------------------------------------------------------------------------------

const BLOCKED_ANSWERS: [string, string][] = [
  // IPv4: loopback, private, link-local (cloud metadata), CGNAT, this-network, benchmarking, multicast, reserved, broadcast
  ["v4-loopback", "127.0.0.1"],
  ["v4-loopback-other", "127.255.255.254"],
  ["v4-private-10", "10.0.0.1"],
  ["v4-private-172", "172.16.0.1"],
  ["v4-private-192", "192.168.1.1"],
  ["v4-metadata", "169.254.169.254"],
  ["v4-cgnat", "100.64.0.1"],
  ["v4-zero", "0.0.0.0"],
  ["v4-this-network", "0.1.2.3"],
  ["v4-benchmark", "198.18.0.1"],
  ["v4-multicast", "224.0.0.1"],
  ["v4-reserved", "240.0.0.1"],
  ["v4-broadcast", "255.255.255.255"],
  ["v4-ietf", "192.0.0.8"],
  // IPv6 and the forms that tunnel to an IPv4
  ["v6-loopback", "::1"],
  ["v6-loopback-long", "0:0:0:0:0:0:0:1"],
  ["v6-unspecified", "::"],
  ["v6-ula-fc", "fc00::1"],
  ["v6-ula-fd", "fd12:3456:789a::1"],
  ["v6-link-local", "fe80::1"],
  ["v6-link-local-zone", "fe80::1%lo"],
  ["v6-site-local", "fec0::1"],
  ["v6-multicast", "ff02::1"],
  ["v6-mapped-dotted", "::ffff:127.0.0.1"],
  ["v6-mapped-hex", "::ffff:7f00:1"],
  ["v6-mapped-upper", "::FFFF:7F00:0001"],
  ["v6-mapped-long", "0:0:0:0:0:ffff:7f00:1"],
  ["v6-mapped-private", "::ffff:10.0.0.1"],
  ["v6-mapped-metadata", "::ffff:a9fe:a9fe"],
  ["v6-translated", "::ffff:0:7f00:1"],
  ["v6-compatible", "::127.0.0.1"],
  ["v6-nat64-loopback", "64:ff9b::7f00:1"],
  ["v6-nat64-dotted", "64:ff9b::169.254.169.254"],
  ["v6-nat64-local-use", "64:ff9b:1::a00:1"],
  ["v6-6to4-loopback", "2002:7f00:1::1"],
  ["v6-6to4-private", "2002:c0a8:101::1"],
  ["v6-bracketed", "[::1]"],
  // Not an IP at all, or an IP spelled the way only inet_aton reads it: never connected to (fail closed)
  ["odd-decimal", "2130706433"],
  ["odd-hex", "0x7f000001"],
  ["odd-short", "127.1"],
  ["odd-octal", "0177.0.0.1"],
  ["odd-padded", " 127.0.0.1 "],
  ["odd-name", "localhost"],
  ["odd-empty", ""],
];

describe("send time: names that resolve into blocked ranges (injected resolver)", () => {
  let server: TestServer;
  let resolverCalls: Map<string, number>;
  let rebindTurn = 0;

  beforeAll(async () => {
    resolverCalls = new Map();
    const table = staticResolver({
      ...Object.fromEntries(BLOCKED_ANSWERS.map(([name, ip]) => [`${name}.ssrf.test`, [ip]])),
      "all-blocked.ssrf.test": ["10.0.0.1", "::1", "169.254.169.254", "127.0.0.1"],
      "pair-v4.ssrf.test": ["127.0.0.1", "127.0.0.2"],
      "pair-v6.ssrf.test": ["::1", "127.0.0.2"],
      "pair-private.ssrf.test": ["10.0.0.1", "::ffff:127.0.0.1", "127.0.0.2"],
      "pair-reversed.ssrf.test": ["127.0.0.2", "127.0.0.1"],
      "pair-mapped.ssrf.test": ["::ffff:127.0.0.1", "::ffff:127.0.0.2"],
      "allowed.ssrf.test": ["127.0.0.2"],
      "empty.ssrf.test": [],
    });
    const resolver: Resolver = async (hostname) => {
      resolverCalls.set(hostname, (resolverCalls.get(hostname) ?? 0) + 1);
      // rebind.ssrf.test answers ALLOWED, then BLOCKED, then ALLOWED…: a DNS rebinding attacker's name.
      if (hostname === "rebind.ssrf.test") return rebindTurn++ % 2 === 0 ? ["127.0.0.2"] : ["127.0.0.1"];
      return table(hostname);
    };
    server = await startTestServer(
      { delivery: `require_https = false\nallow_targets = ["127.0.0.2/32"]\nretry_schedule = []\nmax_endpoints = 100\ntimeout = "3s"` },
      { resolver },
    );
  });
  afterAll(() => server.stop());

  test(`${BLOCKED_ANSWERS.length} blocked answers (IPv4, IPv6, mapped/NAT64/6to4, odd spellings): target_blocked, nothing sent`, async () => {
    const names = [...BLOCKED_ANSWERS.map(([name]) => `${name}.ssrf.test`), "all-blocked.ssrf.test"];
    for (const name of names) {
      const created = await server.api("POST", "/v1/webhooks", { url: `http://${name}:${P}/${name}`, events: ["ssrf.blocked"] });
      expect({ name, status: created.status }).toEqual({ name, status: 201 }); // names pass at create time: no DNS then
    }
    const deliveries = await publishAndSettle(server, "ssrf.blocked", names.length);
    for (const d of deliveries) {
      expect({ status: d.status, error: d.last_error, code: d.last_status_code, attempts: d.attempts }).toEqual({
        status: "expired",
        error: "target_blocked",
        code: null,
        attempts: 1,
      });
    }
    nothingBlockedSaw();
    expect(allowed.seen).toEqual([]);
    for (const w of (await server.api("GET", "/v1/webhooks?limit=500")).body.data) await server.api("DELETE", `/v1/webhooks/${w.id}`);
  });

  test("a name resolving to [blocked, allowed] connects only to the allowed address, with the name as Host", async () => {
    const pairs = ["pair-v4", "pair-v6", "pair-private", "pair-reversed", "pair-mapped"];
    for (const p of pairs) await server.api("POST", "/v1/webhooks", { url: `http://${p}.ssrf.test:${P}/${p}`, events: ["ssrf.pair"] });
    const deliveries = await publishAndSettle(server, "ssrf.pair", pairs.length);
    expect(deliveries.map((d) => d.status)).toEqual(pairs.map(() => "delivered"));
    expect(allowed.seen.map((s) => s.path).sort()).toEqual(pairs.map((p) => `/${p}`).sort());
    for (const s of allowed.seen) expect(s.host).toBe(`${s.path.slice(1)}.ssrf.test:${P}`);
    nothingBlockedSaw();
    for (const w of (await server.api("GET", "/v1/webhooks?limit=500")).body.data) await server.api("DELETE", `/v1/webhooks/${w.id}`);
    allowed.seen.length = 0;
  });

  test("rebinding: the name is resolved once per attempt and that checked address is the one connected to", async () => {
    const w = (await server.api("POST", "/v1/webhooks", { url: `http://rebind.ssrf.test:${P}/rebind`, events: ["ssrf.rebind"] })).body.data;
    const outcomes: string[] = [];
    for (let i = 0; i < 6; i++) {
      const [d] = await publishAndSettle(server, "ssrf.rebind", 1);
      outcomes.push(d.status === "delivered" ? "delivered" : d.last_error);
    }
    // Turns alternate ALLOWED, BLOCKED, …: every BLOCKED turn is refused, and no ALLOWED turn is re-resolved
    // (a second lookup between check and connect would have landed on BLOCKED).
    expect(outcomes).toEqual(["delivered", "target_blocked", "delivered", "target_blocked", "delivered", "target_blocked"]);
    expect(resolverCalls.get("rebind.ssrf.test")).toBe(6);
    expect(allowed.seen.filter((s) => s.path === "/rebind")).toHaveLength(3);
    nothingBlockedSaw();
    await server.api("DELETE", `/v1/webhooks/${w.id}`);
    allowed.seen.length = 0;
  });

  test("redirects to loopback (and anywhere else) are never followed: a 3xx is a failed attempt", async () => {
    const paths = ["/r301", "/r302", "/r303", "/r307", "/r308", "/rel", "/self", "/v6"];
    for (const p of paths) await server.api("POST", "/v1/webhooks", { url: `http://127.0.0.2:${P}${p}`, events: ["ssrf.redirect"] });
    await server.api("POST", "/v1/webhooks", { url: `http://allowed.ssrf.test:${P}/r302-by-name`, events: ["ssrf.redirect"] });
    const deliveries = await publishAndSettle(server, "ssrf.redirect", paths.length + 1);
    for (const d of deliveries) {
      expect(d.status).toBe("expired");
      expect([301, 302, 303, 307, 308]).toContain(d.last_status_code);
      expect(d.last_error).toContain("redirect not followed");
    }
    // Each endpoint was asked exactly once, and no Location was visited.
    expect(allowed.seen.map((s) => s.path).sort()).toEqual([...paths, "/r302-by-name"].sort());
    nothingBlockedSaw();
    for (const w of (await server.api("GET", "/v1/webhooks?limit=500")).body.data) await server.api("DELETE", `/v1/webhooks/${w.id}`);
    allowed.seen.length = 0;
  });

  test("unresolvable and empty answers fail without connecting", async () => {
    await server.api("POST", "/v1/webhooks", { url: `http://nxdomain.ssrf.test:${P}/nx`, events: ["ssrf.dns"] });
    await server.api("POST", "/v1/webhooks", { url: `http://empty.ssrf.test:${P}/empty`, events: ["ssrf.dns"] });
    const deliveries = await publishAndSettle(server, "ssrf.dns", 2);
    for (const d of deliveries) {
      expect(d.status).toBe("expired");
      expect(d.last_error).toContain("dns lookup failed");
    }
    nothingBlockedSaw();
    expect(allowed.seen).toEqual([]);
    for (const w of (await server.api("GET", "/v1/webhooks?limit=500")).body.data) await server.api("DELETE", `/v1/webhooks/${w.id}`);
  });
});

// ---------------------------------------------------------------------------------------------

describe("send time: an IP literal allowed when created but not any more", () => {
  test("after allow_targets narrows, the stored endpoint is refused at send time", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hookd-ssrf-"));
    const key = `k-${crypto.randomUUID()}`;
    const configFor = (allow: string) =>
      loadConfig(
        `[storage]\npath = ${JSON.stringify(join(dir, "hookd.db"))}\n[api]\nkeys = [{ name = "t", hash = "${hashApiKey(key)}" }]\n[delivery]\nrequire_https = false\nretry_schedule = []\nallow_targets = ${allow}`,
        {},
      );
    const start = (allow: string) =>
      startApp({ config: configFor(allow), log: silentLogger, resolver: staticResolver({}), listen: { host: "127.0.0.1", port: 0 } });
    const api = (url: string, method: string, path: string, body?: unknown) => call(`${url}${path}`, method, body, { authorization: `Bearer ${key}` });
    try {
      const wide = await start('["127.0.0.0/8"]');
      const w = await api(wide.url, "POST", "/v1/webhooks", { url: `http://127.0.0.1:${P}/narrowed`, events: ["ssrf.narrowed"] });
      expect(w.status).toBe(201);
      await wide.stop();
      const narrow = await start('["127.0.0.2/32"]');
      try {
        const published = await api(narrow.url, "POST", "/v1/events", { type: "ssrf.narrowed", data: {} });
        let d: any;
        await waitFor(async () => {
          d = (await api(narrow.url, "GET", `/v1/events/${published.body.data.id}`)).body.data.deliveries[0];
          return d?.status === "expired";
        }, 10_000, "refusal");
        expect(d.last_error).toBe("target_blocked");
        nothingBlockedSaw();
      } finally {
        await narrow.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe("proxies", () => {
  let trap: Trap;
  beforeAll(async () => {
    trap = await startTrap();
  });
  afterAll(() => trap.stop());

  test("HTTP_PROXY / HTTPS_PROXY / ALL_PROXY in hookd's environment are ignored (a real `hookd serve` process)", async () => {
    const receiver = recorder("127.0.0.1", 0);
    const dir = mkdtempSync(join(tmpdir(), "hookd-proxyenv-"));
    const port = freePort();
    const key = `k-${crypto.randomUUID()}`;
    const config = join(dir, "hookd.toml");
    writeFileSync(
      config,
      `[server]\nlisten = "127.0.0.1:${port}"\n[storage]\npath = ${JSON.stringify(join(dir, "hookd.db"))}\n[api]\nkeys = [{ name = "t", hash = "${hashApiKey(key)}" }]\n[delivery]\nrequire_https = false\nretry_schedule = []\nallow_targets = ["127.0.0.0/8"]\n[log]\nlevel = "error"\n`,
    );
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^(no_proxy|NO_PROXY)$/.test(k)) env[k] = v;
    for (const name of ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"]) env[name] = trap.url;
    // Control: the same environment does send an ordinary Bun fetch() to 127.0.0.1 through the trap, so the
    // assertion below is about hookd, not about Bun skipping proxies for loopback.
    const control = Bun.spawn([process.execPath, "-e", `await fetch("http://127.0.0.1:${receiver.port}/control").catch(() => {})`], { env, stdout: "ignore", stderr: "ignore" });
    expect(await control.exited).toBe(0);
    expect(trap.connections.length).toBe(1);
    expect(trap.connections[0]).toContain(`/control`);
    expect(receiver.seen).toEqual([]);
    trap.connections.length = 0;
    const proc = Bun.spawn([...CLI, "serve", "--config", config], { env, stdin: "ignore", stdout: "ignore", stderr: "pipe" });
    const url = `http://127.0.0.1:${port}`;
    const api = (method: string, path: string, body?: unknown) => call(`${url}${path}`, method, body, { authorization: `Bearer ${key}` });
    try {
      await waitFor(async () => proc.exitCode === null && (await fetch(`${url}/readyz`)).status === 200, 15_000, "hookd ready");
      await api("POST", "/v1/webhooks", { url: `${`http://127.0.0.1:${receiver.port}`}/direct`, events: ["proxy.env"] });
      const published = await api("POST", "/v1/events", { type: "proxy.env", data: {} });
      let d: any;
      await waitFor(async () => {
        d = (await api("GET", `/v1/events/${published.body.data.id}`)).body.data.deliveries[0];
        return d?.status === "delivered" || d?.status === "expired";
      }, 10_000, "delivery");
      expect(d.status).toBe("delivered");
      expect(receiver.seen.map((s) => s.path)).toEqual(["/direct"]);
      expect(trap.connections).toEqual([]);
    } finally {
      proc.kill("SIGTERM");
      await proc.exited;
      await receiver.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  test("[delivery] proxy is used when set (control), and is no way around the send-time check", async () => {
    const server = await startTestServer(
      { delivery: `require_https = false\nallow_targets = ["127.0.0.2/32"]\nretry_schedule = []\nproxy = "${trap.url}"` },
      { resolver: staticResolver({ "inside.ssrf.test": ["10.1.2.3"], "allowed.ssrf.test": ["127.0.0.2"] }) },
    );
    try {
      const before = trap.connections.length;
      await server.api("POST", "/v1/webhooks", { url: `http://inside.ssrf.test:${P}/inside`, events: ["proxy.check"] });
      const refused = await publishAndSettle(server, "proxy.check", 1);
      expect(refused[0].last_error).toBe("target_blocked");
      expect(trap.connections.length).toBe(before); // refused before the proxy was contacted

      await server.api("POST", "/v1/webhooks", { url: `http://allowed.ssrf.test:${P}/via-proxy`, events: ["proxy.control"] });
      await publishAndSettle(server, "proxy.control", 1);
      expect(trap.connections.length).toBe(before + 1);
      expect(trap.connections.at(-1)).toContain(`allowed.ssrf.test:${P}`); // the Host header keeps the name
      // The request line names the checked address, so the proxy cannot resolve the name again.
      expect(trap.connections.at(-1)!.split("\r\n")[0]).toBe(`POST http://127.0.0.2:${P}/via-proxy HTTP/1.1`);
      expect(allowed.seen.filter((s) => s.path === "/via-proxy")).toEqual([]); // the trap proxy never forwards
      nothingBlockedSaw();
    } finally {
      await server.stop();
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe("create time: URL spellings of blocked hosts (no DNS, nothing published)", () => {
  let server: TestServer;
  let trap: Trap;
  let anchor: string;
  beforeAll(async () => {
    trap = await startTrap();
    // Nothing is ever published here; the proxy trap is a second guard should that change.
    server = await startTestServer({ delivery: `require_https = false\nproxy = "${trap.url}"\nmax_endpoints = 5` }, { resolver: staticResolver({}) });
    anchor = (await server.api("POST", "/v1/webhooks", { url: "http://anchor.ssrf.test/", events: ["never.published"] })).body.data.id;
  });
  afterAll(async () => {
    expect(trap.connections).toEqual([]);
    await server.stop();
    await trap.stop();
  });

  const refused: string[] = [
    // IPv6 literal spellings of loopback, unspecified, ULA, link-local, multicast
    "http://[::1]/", "http://[0:0:0:0:0:0:0:1]/", "http://[0000:0000:0000:0000:0000:0000:0000:0001]/", "http://[::0001]/", "http://[0::1]/",
    "http://[::]/", "http://[::0]/", "http://[fc00::1]/", "http://[FDFF:FFFF::1]/", "http://[fe80::1]/", "http://[FE80::abcd]/", "http://[febf::1]/",
    "http://[fec0::1]/", "http://[ff02::1]/", "http://[100::1]/", "http://[2001:db8::1]/", "http://[64:ff9b:1::1]/",
    // IPv4 inside IPv6: mapped (dotted, hex, long), translated, compatible, NAT64, 6to4
    "http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/", "http://[0:0:0:0:0:ffff:127.0.0.1]/", "http://[::FFFF:169.254.169.254]/",
    "http://[::ffff:a9fe:a9fe]/", "http://[::ffff:0:127.0.0.1]/", "http://[::127.0.0.1]/", "http://[::10.0.0.1]/",
    "http://[64:ff9b::127.0.0.1]/", "http://[64:ff9b::a9fe:a9fe]/", "http://[64:ff9b::192.168.0.1]/", "http://[2002:7f00:1::]/",
    "http://[2002:a9fe:a9fe::1]/", "http://[2002:c0a8:0101::]/",
    // IPv4 spellings the URL parser normalizes: decimal, hex, octal, short, trailing dot, percent-encoded, full-width, ideographic dots
    "http://2130706433/", "http://0x7f000001/", "http://0x7f.1/", "http://0177.0.0.1/", "http://127.1/", "http://127.0.0.1./", "http://0/",
    "http://%31%32%37.0.0.1/", "http://１２７.０.０.１/", "http://127。0。0。1/", "http://169.254.169.254/latest/meta-data/", "http://100.64.0.1/",
    "http://10.0.0.1:8080/", "http://192.168.1.1/", "http://172.31.255.255/", "http://198.18.0.1/", "http://224.0.0.1/", "http://255.255.255.255/",
    // localhost names and credentials
    "http://localhost/", "http://LOCALHOST./", "http://a.b.localhost/", "http://localhost%2e/", "http://user:pw@example.com/",
    "http://127.0.0.1:80@example.com/",
  ];
  const invalid = ["http://[fe80::1%25eth0]/", "http://[::1/", "http://[:::1]/", "http://[1::2::3]/", "gopher://127.0.0.1/", "file:///etc/passwd", "http://[::1]:99999/"];

  test(`${refused.length} blocked spellings are 422 target_blocked on create and on PATCH; nothing is stored`, async () => {
    const before = (await server.api("GET", "/v1/webhooks")).body.data;
    for (const url of refused) {
      const created = await server.api("POST", "/v1/webhooks", { url, events: ["never.published"] });
      expect({ url, status: created.status }).toEqual({ url, status: 422 });
      expect({ url, codes: created.body.error.details.map((d: any) => d.code) }).toEqual({ url, codes: expect.arrayContaining(["target_blocked"]) });
      const patched = await server.api("PATCH", `/v1/webhooks/${anchor}`, { url });
      expect({ url, status: patched.status }).toEqual({ url, status: 422 });
    }
    for (const url of invalid) {
      const created = await server.api("POST", "/v1/webhooks", { url, events: ["never.published"] });
      expect({ url, status: created.status }).toEqual({ url, status: 422 });
      expect(["invalid_url", "target_blocked"]).toContain(created.body.error.details[0].code);
    }
    expect((await server.api("GET", "/v1/webhooks")).body.data).toEqual(before);
    expect((await server.api("GET", `/v1/webhooks/${anchor}`)).body.data.url).toBe("http://anchor.ssrf.test/");
  });

  test("global IPv6 literals (and IPv4-in-IPv6 forms of public addresses) are not over-blocked", async () => {
    for (const url of ["http://[2606:4700:4700::1111]/", "http://[::ffff:1.1.1.1]/", "http://[64:ff9b::1.1.1.1]/", "http://[2002:101:101::1]/", "http://93.184.216.34/"]) {
      const created = await server.api("POST", "/v1/webhooks", { url, events: ["never.published"] });
      expect({ url, status: created.status }).toEqual({ url, status: 201 });
      expect((await server.api("DELETE", `/v1/webhooks/${created.body.data.id}`)).status).toBe(204);
    }
  });
});
