import { afterAll, afterEach, describe, expect, it } from "bun:test";
import { copyFileSync, writeFileSync } from "node:fs";
import tls from "node:tls";
import { ClientTlsError } from "../../src/delivery/client-tls.ts";
import { staticResolver } from "../../src/delivery/resolver.ts";
import type { DeliveryProfiles } from "../../src/config/types.ts";
import { createSender, type Sender } from "../../src/delivery/sender.ts";
import { createLogger } from "../../src/log.ts";
import { ipSetOf } from "../../src/net/cidr.ts";
import { hookdSite } from "../support/hookd-process.ts";
import { waitFor } from "../support/process.ts";
import { makePki } from "./pki.ts";

const pki = makePki(["ca", "other-ca"], [
  ["server", "ca", "DNS:hooks.test,IP:127.0.0.1", "serverAuth"],
  ["client-a", "ca", "DNS:client-a", "clientAuth"],
  ["client-b", "ca", "DNS:client-b", "clientAuth"],
]);
afterAll(() => pki.remove());

const LOOPBACK = { requireHttps: true, allowTargets: ipSetOf(["127.0.0.0/8"]) };
const resolver = staticResolver({ "hooks.test": ["127.0.0.1"], "other.test": ["127.0.0.1"] });

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** mtlsReceiver is an HTTPS server on 127.0.0.1 that refuses the handshake without a client certificate signed by `ca`; it records each connection's client CN and each request's Host. */
async function mtlsReceiver() {
  const connections: string[] = [];
  const requests: { cn: string; host: string; auth?: string }[] = [];
  const handshakeErrors: string[] = [];
  const server = tls.createServer(
    { cert: pki.pem("server.pem"), key: pki.pem("server.key"), ca: pki.pem("ca.pem"), requestCert: true, rejectUnauthorized: true },
    (socket) => {
      const cn = String(socket.getPeerCertificate()?.subject?.CN);
      connections.push(cn);
      let buffered = "";
      socket.on("error", () => {});
      socket.on("data", (chunk) => {
        buffered += chunk.toString("latin1");
        for (;;) {
          const end = buffered.indexOf("\r\n\r\n");
          if (end < 0) return;
          const head = buffered.slice(0, end);
          const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
          if (buffered.length < end + 4 + length) return;
          buffered = buffered.slice(end + 4 + length);
          const auth = /\r\nauthorization: *([^\r]*)/i.exec(head)?.[1];
          requests.push({ cn, host: /\r\nhost: *([^\r]*)/i.exec(head)?.[1] ?? "", ...(auth === undefined ? {} : { auth }) });
          const body = `hello ${cn}`;
          socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\nconnection: keep-alive\r\n\r\n${body}`);
        }
      });
    },
  );
  server.on("tlsClientError", (e) => handshakeErrors.push(e.message));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => server.close());
  const port = (server.address() as { port: number }).port;
  return { port, connections, requests, handshakeErrors };
}

function profiles(over: Partial<DeliveryProfiles["client_tls"][number]>[] = []): DeliveryProfiles {
  const base = [
    { name: "a", cert: pki.path("client-a.pem"), key: pki.path("client-a.key"), ca: pki.path("ca.pem") },
    { name: "b", cert: pki.path("client-b.pem"), key: pki.path("client-b.key"), ca: pki.path("ca.pem") },
  ];
  return { client_tls: [...base, ...over.map((o, i) => ({ ...base[0]!, name: `extra${i}`, ...o }))], oauth2: [] };
}

function sender(p: DeliveryProfiles = profiles(), lines: string[] = []): Sender {
  // Plain deliveries trust the test CA too, so a refusal below is the missing client certificate, not the server's.
  const s = createSender({ resolver, policy: LOOPBACK, ca: pki.pem("ca.pem"), profiles: p, log: createLogger("debug", (l) => lines.push(l)) });
  cleanups.push(() => s.close());
  return s;
}

const post = (url: string, clientTls: string | null) => ({ url, headers: { "Content-Type": "application/json" }, body: "{}", timeoutMs: 5000, clientTls });

describe.skipIf(!pki.ok)("client TLS profiles", () => {
  it("presents the profile's certificate; without a profile the receiver refuses the handshake", async () => {
    const r = await mtlsReceiver();
    const s = sender();
    expect(await s.send(post(`https://hooks.test:${r.port}/hook`, "a"))).toMatchObject({ ok: true, statusCode: 200, response: "hello client-a" });
    expect(r.requests).toEqual([{ cn: "client-a", host: `hooks.test:${r.port}` }]);
    const without = await s.send(post(`https://hooks.test:${r.port}/hook`, null));
    expect(without).toMatchObject({ ok: false, statusCode: null, error: `tls handshake failed (127.0.0.1:${r.port})` });
    expect(r.requests).toHaveLength(1);
    expect(r.handshakeErrors.join()).toContain("CERTIFICATE");
  });

  it("keeps one keep-alive session per profile and never shares a connection between profiles", async () => {
    const r = await mtlsReceiver();
    const s = sender();
    const url = `https://hooks.test:${r.port}/hook`;
    for (const name of ["a", "a", "b", "a", "b", "b"]) expect((await s.send(post(url, name))).ok).toBe(true);
    expect(r.requests.map((q) => q.cn)).toEqual(["client-a", "client-a", "client-b", "client-a", "client-b", "client-b"]);
    // One connection each, reused: a's connection never carried b's requests, nor the other way round.
    expect(r.connections).toEqual(["client-a", "client-b"]);
    // A plain delivery to the same origin does not ride on a profile's open connection.
    expect((await s.send(post(url, null))).ok).toBe(false);
    expect(r.requests).toHaveLength(6);
  });

  it("still checks the server certificate against the endpoint's name while connecting to the checked address", async () => {
    const r = await mtlsReceiver();
    const out = await sender().send(post(`https://other.test:${r.port}/hook`, "a"));
    expect(out).toMatchObject({ ok: false, statusCode: null, error: "tls certificate rejected for other.test: ERR_TLS_CERT_ALTNAME_INVALID" });
    expect(r.requests).toHaveLength(0);
  });

  it("with `ca`, trusts only that CA", async () => {
    const r = await mtlsReceiver();
    // The sender-wide trust (the test CA) would accept the server; the profile's own CA replaces it.
    const s = sender(profiles([{ ca: pki.path("other-ca.pem") }]));
    const out = await s.send(post(`https://hooks.test:${r.port}/hook`, "extra0"));
    expect(out.ok).toBe(false);
    expect(out.statusCode).toBeNull();
    expect(out.error).toMatch(/certificate|tls/i);
    expect(r.requests).toHaveLength(0);
  });

  it("fails an attempt for a profile that is not configured, with no connection", async () => {
    const r = await mtlsReceiver();
    const out = await sender().send(post(`https://hooks.test:${r.port}/hook`, "gone"));
    expect(out).toMatchObject({ ok: false, statusCode: null, error: 'client_tls: profile "gone" is not configured (or its files could not be read)' });
    expect(r.connections).toHaveLength(0);
  });

  it("refuses to start with a missing file or a key that is not the certificate's, naming the key path", () => {
    expect(() => sender(profiles([{ cert: pki.path("missing.pem") }]))).toThrow(
      new ClientTlsError(`delivery.client_tls[2].cert: cannot read ${pki.path("missing.pem")}: ENOENT`),
    );
    expect(() => sender(profiles([{ key: pki.path("client-b.key") }]))).toThrow(/^delivery\.client_tls\[2\]\.key: .* is not the private key of /);
  });

  it("combines with an OAuth2 profile: the bearer token goes over the mTLS connection", async () => {
    const r = await mtlsReceiver();
    const tokens = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => Response.json({ access_token: "tok-m", expires_in: 600 }) });
    cleanups.push(() => tokens.stop(true));
    const oauth2 = [{ name: "o", token_url: `http://127.0.0.1:${tokens.port}/t`, client_id: "c", client_secret: "s", client_secret_env: "", scope: "", audience: "", auth_method: "basic" as const, allow_urls: ["https://hooks.test:"] }];
    const s = createSender({ resolver, policy: { ...LOOPBACK, requireHttps: false }, ca: pki.pem("ca.pem"), profiles: { ...profiles(), oauth2 } });
    cleanups.push(() => s.close());
    const out = await s.send({ ...post(`https://hooks.test:${r.port}/hook`, "a"), oauth2: "o" });
    expect(out).toMatchObject({ ok: true, response: "hello client-a" });
    expect(r.requests).toEqual([{ cn: "client-a", host: `hooks.test:${r.port}`, auth: "Bearer tok-m" }]);
  });

  it("re-reads the files on reload; a failed re-read keeps the old certificate and logs the key path", async () => {
    const r = await mtlsReceiver();
    copyFileSync(pki.path("client-a.pem"), pki.path("live.pem"));
    copyFileSync(pki.path("client-a.key"), pki.path("live.key"));
    const lines: string[] = [];
    const s = sender({ client_tls: [{ name: "live", cert: pki.path("live.pem"), key: pki.path("live.key"), ca: "" }], oauth2: [] }, lines);
    const url = `https://hooks.test:${r.port}/hook`;
    expect(await s.send(post(url, "live"))).toMatchObject({ ok: true, response: "hello client-a" });
    copyFileSync(pki.path("client-b.pem"), pki.path("live.pem"));
    copyFileSync(pki.path("client-b.key"), pki.path("live.key"));
    expect(s.reload()).toEqual({ changed: ["live"], failed: [] });
    expect(await s.send(post(url, "live"))).toMatchObject({ ok: true, response: "hello client-b" });
    writeFileSync(pki.path("live.pem"), "not a certificate");
    expect(s.reload().failed).toEqual([{ key: "delivery.client_tls[0].cert", path: pki.path("live.pem"), error: `${pki.path("live.pem")} holds no PEM certificate` }]);
    expect(await s.send(post(url, "live"))).toMatchObject({ ok: true, response: "hello client-b" });
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.level === "error");
    expect(logged).toMatchObject({ key: "delivery.client_tls[0].cert", path: pki.path("live.pem"), profile: "live" });
    expect(lines.join("\n")).not.toContain("PRIVATE KEY");
    // A reload whose config no longer names the profile: its attempts fail, clearly.
    s.reload({ client_tls: [], oauth2: [] });
    expect((await s.send(post(url, "live"))).error).toStartWith('client_tls: profile "live" is not configured');
  });
});

describe.skipIf(!pki.ok)("hookd serve with a client TLS profile", () => {
  it("presents the profile's certificate, and SIGHUP re-reads its files (a bad file keeps the old one)", async () => {
    const r = await mtlsReceiver();
    copyFileSync(pki.path("client-a.pem"), pki.path("hup.pem"));
    copyFileSync(pki.path("client-a.key"), pki.path("hup.key"));
    const profile = [`name = "hup"`, `cert = ${JSON.stringify(pki.path("hup.pem"))}`, `key = ${JSON.stringify(pki.path("hup.key"))}`, `ca = ${JSON.stringify(pki.path("ca.pem"))}`];
    const site = hookdSite({ delivery: 'allow_targets = ["127.0.0.0/8"]', "[[delivery.client_tls]]": profile.join("\n"), log: 'level = "info"' });
    const h = await site.start();
    cleanups.push(() => h.proc.kill("SIGKILL"));
    // The log is read as it comes, so the test can wait for the reload's own line instead of a fixed time.
    let log = "";
    const reading = (async () => {
      for await (const chunk of h.proc.stdout) log += new TextDecoder().decode(chunk);
    })();
    const count = (text: string) => log.split(text).length - 1;
    const created = await h.api("POST", "/v1/webhooks", { url: `https://127.0.0.1:${r.port}/hook`, events: ["mtls.test"], client_tls: "hup" });
    expect(created.status).toBe(201);
    const publish = async (n: number) => {
      expect((await h.api("POST", "/v1/events", { type: "mtls.test", data: { n } })).status).toBe(202);
      await waitFor(() => r.requests.length === n, 5000, `delivery ${n}`);
      return r.requests[n - 1]!.cn;
    };
    expect(await publish(1)).toBe("client-a");
    copyFileSync(pki.path("client-b.pem"), pki.path("hup.pem"));
    copyFileSync(pki.path("client-b.key"), pki.path("hup.key"));
    h.proc.kill("SIGHUP");
    await waitFor(() => count("client TLS profiles reloaded") === 1, 5000, "the reload logged");
    expect(await publish(2)).toBe("client-b");
    writeFileSync(pki.path("hup.key"), "garbage");
    h.proc.kill("SIGHUP");
    await waitFor(() => count("client TLS profile reload failed") === 1, 5000, "the failed reload logged");
    expect(await publish(3)).toBe("client-b");
    h.proc.kill("SIGTERM");
    expect(await h.proc.exited).toBe(0);
    await reading;
    expect(log).toContain('"key":"delivery.client_tls[0].key"');
    expect(log).not.toContain("PRIVATE KEY");
  }, 30_000);
});
