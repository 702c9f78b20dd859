import { afterAll, afterEach, beforeAll, describe, expect, it } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Resolver, staticResolver, systemResolver } from "../../src/delivery/resolver.ts";
import { createSender, type Sender, type SenderOptions } from "../../src/delivery/sender.ts";
import { ipSetOf } from "../../src/net/cidr.ts";
import type { TargetPolicy } from "../../src/security/targets.ts";

const LOOPBACK: TargetPolicy = { requireHttps: false, allowTargets: ipSetOf(["127.0.0.0/8", "::1"]) };
const STRICT: TargetPolicy = { requireHttps: false, allowTargets: ipSetOf([]) };

// Network guard: every fetch the sender makes must go to loopback (directly or via a loopback proxy), or it throws before connecting.
const RealSession = Bun.FetchSession;
const fetched: string[] = [];
const isLoopback = (host: string) => /^(127\.\d+\.\d+\.\d+|\[::1\])$/.test(host);
class GuardedSession extends RealSession {
  constructor(init?: Bun.FetchSessionInit) {
    super(init);
    const real = this.fetch;
    Object.defineProperty(this, "fetch", {
      value: (input: string, init: BunFetchRequestInit) => {
        const p = init.proxy;
        const via = typeof p === "string" ? p : p && typeof p === "object" ? String(p instanceof URL ? p : p.url) : input;
        const peer = new URL(via).hostname;
        if (!isLoopback(peer)) throw new Error(`test guard: refused to connect to ${peer}`);
        fetched.push(input);
        return real(input, init);
      },
    });
  }
}
beforeAll(() => void ((Bun as { FetchSession: unknown }).FetchSession = GuardedSession));
afterAll(() => void ((Bun as { FetchSession: unknown }).FetchSession = RealSession));

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
  fetched.length = 0;
});

/** receiver starts a real HTTP server on 127.0.0.1 that records what arrives and answers with `handler`. */
function receiver(handler: (req: Request) => Response | Promise<Response> = () => new Response("ok"), tls?: Bun.TLSOptions) {
  const seen: { url: string; headers: Headers; body: string }[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1", port: 0, tls,
    async fetch(req) {
      seen.push({ url: req.url, headers: req.headers, body: await req.text() });
      return handler(req);
    },
  });
  cleanups.push(() => server.stop(true));
  return { seen, port: server.port, origin: `http://127.0.0.1:${server.port}` };
}

/** tcpListener counts raw connections; connectsBeforeProbe() then connects once itself, and since accepts come in order, it sees any earlier one without a sleep. */
async function tcpListener() {
  let connections = 0;
  const server = net.createServer((s) => void (connections++, s.destroy()));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanups.push(() => server.close());
  const port = (server.address() as net.AddressInfo).port;
  const connectsBeforeProbe = () =>
    new Promise<number>((resolve) => net.connect(port, "127.0.0.1").on("close", () => resolve(connections - 1)));
  return { port, connectsBeforeProbe };
}

function sender(options: Partial<SenderOptions> = {}): Sender {
  const s = createSender({ resolver: staticResolver({}), policy: LOOPBACK, ...options });
  cleanups.push(() => s.close());
  return s;
}

const post = (url: string, timeoutMs = 5000) => ({ url, headers: { "content-type": "application/json" }, body: '{"a":1}', timeoutMs });

describe("send", () => {
  it("delivers body and headers byte-identical, with the original Host", async () => {
    const r = receiver();
    const body = JSON.stringify({ type: "resource.created", note: "ünïcødé ✓ \u2028", n: 1.5e300 });
    const headers = { "Content-Type": "application/json", "webhook-id": "evt_1", "X-Hookd-Signature": "ab  cd", Host: "spoofed.example" };
    const out = await sender({ resolver: staticResolver({ "hooks.test": ["127.0.0.1"] }) })
      .send({ url: `http://hooks.test:${r.port}/in/x?y=1&z=%20`, headers, body, timeoutMs: 5000 });
    expect(out).toMatchObject({ ok: true, statusCode: 200, error: null, response: "ok", retryAfter: null });
    expect(r.seen.map((s) => [s.body, new URL(s.url).pathname + new URL(s.url).search])).toEqual([[body, "/in/x?y=1&z=%20"]]);
    const got = (name: string) => r.seen[0]!.headers.get(name);
    expect(["host", "content-type", "webhook-id", "x-hookd-signature"].map(got))
      .toEqual([`hooks.test:${r.port}`, "application/json", "evt_1", "ab  cd"]);
    expect(fetched).toEqual([`http://127.0.0.1:${r.port}/in/x?y=1&z=%20`]);
  });

  it.each([
    [500, {}, { error: "HTTP 500", response: "down", retryAfter: null }],
    [503, { "retry-after": "120" }, { error: "HTTP 503", response: "down", retryAfter: "120" }],
  ])("records a %i as a failure with its status, body, error and Retry-After", async (status, headers, expected) => {
    const r = receiver(() => new Response("down", { status, headers }));
    expect(await sender().send(post(`${r.origin}/hook`))).toMatchObject({ ok: false, statusCode: status, ...expected });
  });

  it("does not follow a redirect and says where it pointed", async () => {
    const landing = receiver();
    const r = receiver(() => new Response(null, { status: 302, headers: { location: `${landing.origin}/landing` } }));
    const out = await sender().send(post(`${r.origin}/hook`));
    expect(out).toMatchObject({ ok: false, statusCode: 302, error: `redirect not followed (302 to ${landing.origin}/landing)` });
    expect(landing.seen).toHaveLength(0);
  });

  it.each([
    ["a 10 KB ASCII body", "0123456789abcdef".repeat(640), "0123456789abcdef".repeat(128)],
    ["a body cut between UTF-8 bytes", `a${"é".repeat(5000)}`, `a${"é".repeat(1023)}\uFFFD`],
  ])("keeps only the first 2048 bytes of %s", async (_name, body, expected) => {
    const r = receiver(() => new Response(body));
    expect(await sender().send(post(`${r.origin}/hook`))).toMatchObject({ ok: true, response: expected });
  });
});

describe("timeouts and network failures", () => {
  it("gives up on a receiver slower than the timeout, with no status", async () => {
    const hold = Promise.withResolvers<void>();
    cleanups.unshift(() => hold.resolve());
    const r = receiver(async () => { await hold.promise; return new Response("late"); });
    const out = await sender().send(post(`${r.origin}/slow`, 300));
    expect(out).toMatchObject({ ok: false, statusCode: null, error: "timeout after 300 ms" });
    expect(out.durationMs).toBeGreaterThanOrEqual(290);
    expect(out.durationMs).toBeLessThan(800);
  });

  it("counts a body still arriving at the deadline as a timeout, keeping status and what arrived", async () => {
    const hold = Promise.withResolvers<void>();
    cleanups.unshift(() => hold.resolve());
    const r = receiver(() => new Response(new ReadableStream({
      async start(c) { c.enqueue(new TextEncoder().encode("partial")); await hold.promise; c.close(); },
    })));
    const out = await sender().send(post(`${r.origin}/drip`, 300));
    expect(out).toMatchObject({ ok: false, statusCode: 200, error: "timeout after 300 ms", response: "partial" });
  });

  it("bounds a DNS lookup that never answers by the same timeout", async () => {
    const hanging: Resolver = () => new Promise(() => {});
    const out = await sender({ resolver: hanging }).send(post("http://hang.test/hook", 200));
    expect(out).toMatchObject({ ok: false, statusCode: null, error: "timeout after 200 ms" });
  });

  it("names the address when the connection is refused", async () => {
    const closed = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
    const port = closed.port;
    closed.stop(true);
    const out = await sender().send(post(`http://127.0.0.1:${port}/hook`));
    expect(out).toMatchObject({ ok: false, statusCode: null, error: `connection refused (127.0.0.1:${port})` });
  });

  it("reports a name that does not resolve", async () => {
    const out = await sender().send(post("http://nowhere.test/hook"));
    expect(out).toMatchObject({ ok: false, statusCode: null, error: "dns lookup failed for nowhere.test: ENOTFOUND" });
  });
});

describe("SSRF at send time", () => {
  it("refuses a name resolving to loopback when allow_targets is empty, without connecting", async () => {
    const l = await tcpListener();
    const out = await sender({ policy: STRICT, resolver: staticResolver({ "evil.test": ["127.0.0.1"] }) })
      .send(post(`http://evil.test:${l.port}/hook`));
    expect(out).toMatchObject({ ok: false, statusCode: null, error: "target_blocked", response: "" });
    expect(await l.connectsBeforeProbe()).toBe(0);
  });

  it("refuses a name resolving only to a private address before any connection", async () => {
    const out = await sender({ resolver: staticResolver({ "intranet.test": ["10.0.0.1"] }) }).send(post("http://intranet.test/hook"));
    expect(out.error).toBe("target_blocked");
    expect(fetched).toEqual([]);
  });

  it("connects to the first allowed address and only to it", async () => {
    const r = receiver();
    const resolver = staticResolver({ "mixed.test": ["10.0.0.1", "127.0.0.1"] });
    const out = await sender({ resolver }).send(post(`http://mixed.test:${r.port}/hook`));
    expect(out.ok).toBe(true);
    expect(fetched).toEqual([`http://127.0.0.1:${r.port}/hook`]);
  });

  it("resolves once per send, so a rebinding answer is never used", async () => {
    const r = receiver();
    let calls = 0;
    const rebinding: Resolver = async () => (calls++ === 0 ? ["127.0.0.1"] : ["10.0.0.1"]);
    const out = await sender({ resolver: rebinding }).send(post(`http://rebind.test:${r.port}/hook`));
    expect(out.ok).toBe(true);
    expect(calls).toBe(1);
  });

  it("skips DNS for IP literals, IPv6 brackets included", async () => {
    const never: Resolver = () => Promise.reject(new Error("resolver must not be called"));
    const v4 = receiver();
    const v6 = Bun.serve({ hostname: "::1", port: 0, fetch: (req) => new Response(req.headers.get("host")) });
    cleanups.push(() => v6.stop(true));
    const s = sender({ resolver: never });
    expect(await s.send(post(`${v4.origin}/hook`))).toMatchObject({ ok: true });
    expect(await s.send(post(`http://[::1]:${v6.port}/hook`))).toMatchObject({ ok: true, response: `[::1]:${v6.port}` });
    expect(await sender({ resolver: never, policy: STRICT }).send(post(`http://[::ffff:127.0.0.1]:${v4.port}/`))).toMatchObject({ error: "target_blocked" });
  });
});

describe("proxies", () => {
  const PROXY_VARS = ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "NO_PROXY", "no_proxy"];
  function setEnv(values: Record<string, string>) {
    const saved = Object.fromEntries(PROXY_VARS.map((k) => [k, process.env[k]]));
    Object.assign(process.env, values);
    cleanups.push(() => { for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v; });
  }

  it("ignores HTTP_PROXY and friends and goes direct", async () => {
    const proxy = receiver(() => new Response("proxied"));
    const target = receiver();
    setEnv({ HTTP_PROXY: proxy.origin, http_proxy: proxy.origin, HTTPS_PROXY: proxy.origin, ALL_PROXY: proxy.origin });
    const control = await fetch(`${target.origin}/control`); // proves this process would otherwise use the variable
    expect(await control.text()).toBe("proxied");
    proxy.seen.length = 0;
    const out = await sender({ resolver: staticResolver({ "hooks.test": ["127.0.0.1"] }) }).send(post(`http://hooks.test:${target.port}/hook`));
    expect(out).toMatchObject({ ok: true, response: "ok" });
    expect(proxy.seen).toHaveLength(0);
    expect(target.seen).toHaveLength(1);
  });

  it("sends through the configured proxy, even for hosts in NO_PROXY", async () => {
    const proxy = receiver(() => new Response("via proxy"));
    const target = receiver();
    setEnv({ NO_PROXY: "*", no_proxy: "*" });
    const s = sender({ proxy: proxy.origin, resolver: staticResolver({ "hooks.test": ["127.0.0.1"] }) });
    const out = await s.send(post(`http://hooks.test:${target.port}/hook`));
    expect(out).toMatchObject({ ok: true, response: "via proxy" });
    expect(proxy.seen.map((s) => s.url)).toEqual([`http://hooks.test:${target.port}/hook`]);
    expect(target.seen).toHaveLength(0);
  });

  it("still refuses blocked targets before asking the proxy", async () => {
    const proxy = receiver();
    const out = await sender({ proxy: proxy.origin, policy: STRICT, resolver: staticResolver({ "evil.test": ["127.0.0.1"] }) })
      .send(post("http://evil.test/hook"));
    expect(out.error).toBe("target_blocked");
    expect(proxy.seen).toHaveLength(0);
  });

  it("rejects a malformed proxy at creation, naming the key", () => {
    expect(() => createSender({ resolver: staticResolver({}), policy: LOOPBACK, proxy: "not a url" })).toThrow(/delivery\.proxy/);
  });
});

describe("resolvers", () => {
  it("staticResolver ignores case and a trailing dot, and rejects unknown names with ENOTFOUND", async () => {
    const r = staticResolver({ "Hooks.Test": ["127.0.0.1", "::1"] });
    expect(await r("hooks.test.")).toEqual(["127.0.0.1", "::1"]);
    await expect(r("other.test")).rejects.toMatchObject({ code: "ENOTFOUND" });
  });

  it("systemResolver answers a numeric host without asking DNS", async () => {
    expect(await systemResolver("127.0.0.1")).toEqual(["127.0.0.1"]);
  });
});

describe("https", () => {
  const dir = mkdtempSync(join(tmpdir(), "hookd-sender-"));
  const made = Bun.spawnSync(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-days", "1", "-subj", "/CN=hooks.test",
    "-addext", "subjectAltName=DNS:hooks.test"], { stderr: "ignore", stdout: "ignore" }).exitCode === 0;
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const pem = (name: string) => readFileSync(join(dir, name), "utf8");

  it.skipIf(!made)("checks the certificate against the original name while connecting to the checked address", async () => {
    const r = receiver(undefined, { cert: pem("cert.pem"), key: pem("key.pem") });
    const resolver = staticResolver({ "hooks.test": ["127.0.0.1"], "other.test": ["127.0.0.1"] });
    const s = sender({ resolver, ca: pem("cert.pem") });
    expect(await s.send(post(`https://hooks.test:${r.port}/hook`))).toMatchObject({ ok: true, statusCode: 200 });
    expect(r.seen[0]!.headers.get("host")).toBe(`hooks.test:${r.port}`);
    const wrong = await s.send(post(`https://other.test:${r.port}/hook`));
    expect(wrong).toMatchObject({ ok: false, statusCode: null, error: "tls certificate rejected for other.test: ERR_TLS_CERT_ALTNAME_INVALID" });
    expect(r.seen).toHaveLength(1);
  });
});
