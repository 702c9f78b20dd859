import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import tls from "node:tls";
import { makePki } from "../delivery/pki";
import { type HookdProcess, hookdSite } from "../support/hookd-process";
import { waitFor } from "../support/process";

// Issue 16, must show 2 and 3, black box: a real `hookd serve`, a local token server and local receivers.
const DELIVERY = ["require_https = false", 'allow_targets = ["127.0.0.0/8"]', 'retry_schedule = ["200ms", "200ms"]'].join("\n");
const CLIENT_SECRET = "cs-7f3a9e51c2d84b6a";

const pki = makePki(["ca"], [
  ["server", "ca", "IP:127.0.0.1", "serverAuth"],
  ["client", "ca", "DNS:hookd.client", "clientAuth"],
]);
afterAll(() => pki.remove());

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** started runs hookd and reads its log as it comes (stdout and stderr), for the "no secret in the log" checks. */
async function started(sections: Record<string, string>, env: Record<string, string> = {}) {
  const site = hookdSite(sections, { env });
  const h: HookdProcess = await site.start();
  cleanup.push(() => h.proc.kill("SIGKILL"));
  let log = "";
  const read = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) log += new TextDecoder().decode(chunk);
  };
  const reading = Promise.all([read(h.proc.stdout), read(h.proc.stderr)]);
  return { h, site, log: () => log, stop: async () => (h.proc.kill("SIGTERM"), await h.proc.exited, await reading) };
}

async function deliveriesOf(h: HookdProcess, webhookId: string): Promise<any[]> {
  const list = (await h.api("GET", `/v1/webhooks/${webhookId}/deliveries?limit=100`)).body.data;
  return Promise.all(list.map(async (d: any) => (await h.api("GET", `/v1/deliveries/${d.id}`)).body.data));
}

describe.skipIf(!pki.ok)("client_tls against a real hookd", () => {
  test("a receiver that requires a client certificate gets one from an endpoint with client_tls, and refuses it without", async () => {
    const cns: string[] = [];
    const refused: string[] = [];
    const server = tls.createServer(
      { cert: pki.pem("server.pem"), key: pki.pem("server.key"), ca: pki.pem("ca.pem"), requestCert: true, rejectUnauthorized: true },
      (socket) => {
        cns.push(String(socket.getPeerCertificate()?.subject?.CN));
        socket.on("error", () => {});
        socket.once("data", () => socket.end("HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"));
      },
    );
    server.on("tlsClientError", (e) => refused.push(e.message));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanup.push(() => server.close());
    const port = (server.address() as { port: number }).port;
    const profile = [`name = "erp-mtls"`, `cert = ${JSON.stringify(pki.path("client.pem"))}`, `key = ${JSON.stringify(pki.path("client.key"))}`, `ca = ${JSON.stringify(pki.path("ca.pem"))}`];
    // Without the profile hookd must still trust the receiver's private CA, so what fails is the missing client certificate.
    const { h, stop, log } = await started({ delivery: DELIVERY, "[[delivery.client_tls]]": profile.join("\n") }, { NODE_EXTRA_CA_CERTS: pki.path("ca.pem") });
    const w = (await h.api("POST", "/v1/webhooks", { url: `https://127.0.0.1:${port}/hook`, events: ["doc.posted"], client_tls: "erp-mtls" })).body.data;
    expect(w.client_tls).toBe("erp-mtls");
    await h.api("POST", "/v1/events", { type: "doc.posted", data: { n: 1 } });
    await waitFor(async () => (await deliveriesOf(h, w.id))[0]?.status === "delivered", 8000, "delivered with the certificate");
    expect(cns).toEqual(["client"]);

    expect((await h.api("PATCH", `/v1/webhooks/${w.id}`, { client_tls: null })).status).toBe(200);
    await h.api("POST", "/v1/events", { type: "doc.posted", data: { n: 2 } });
    let d: any;
    await waitFor(async () => {
      d = (await deliveriesOf(h, w.id)).find((x) => x.status !== "delivered");
      return d !== undefined && d.attempts >= 1;
    }, 8000, "an attempt without the certificate");
    expect(d.attempt_history[0].error).toMatch(/tls handshake failed|connection reset|request failed/);
    expect(d.attempt_history[0].status_code).toBeNull();
    expect(refused.length).toBeGreaterThanOrEqual(1);
    expect(cns).toEqual(["client"]);
    await stop();
    expect(log()).not.toContain("PRIVATE KEY");
  }, 30_000);
});

describe("oauth2 against a real hookd", () => {
  test("one token for 10 waiting deliveries, one refresh on a revoked token, oauth2: errors, no secret or token in the log or the database", async () => {
    const tokenRequests: URLSearchParams[] = [];
    let failTokens = false;
    const tokenServer = Bun.serve({
      hostname: "127.0.0.1", port: 0,
      async fetch(req) {
        tokenRequests.push(new URLSearchParams(await req.text()));
        if (failTokens) return Response.json({ error: "server_error" }, { status: 500 });
        if (req.headers.get("authorization") !== `Basic ${btoa(`hookd:${CLIENT_SECRET}`)}`) return Response.json({ error: "invalid_client" }, { status: 401 });
        await Bun.sleep(50); // every delivery is waiting for this token meanwhile
        return Response.json({ access_token: `tok-${crypto.randomUUID()}-${tokenRequests.length}`, token_type: "Bearer", expires_in: 3600 });
      },
    });
    cleanup.push(() => tokenServer.stop(true));
    const issued = () => tokenRequests.length;
    const tokensSeen = new Set<string>();
    const revoked = new Set<string>();
    let inFlight = 0;
    let maxInFlight = 0;
    const receiver = Bun.serve({
      hostname: "127.0.0.1", port: 0,
      async fetch(req) {
        const token = (req.headers.get("authorization") ?? "").replace(/^Bearer /, "");
        tokensSeen.add(token);
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        await Bun.sleep(20);
        inFlight--;
        // Tokens are valid once issued, unless revoked below.
        return token.startsWith("tok-") && !revoked.has(token) ? new Response("ok") : new Response("no", { status: 401 });
      },
    });
    cleanup.push(() => receiver.stop(true));
    const oauth = [
      `name = "erp-oauth"`, `token_url = "http://127.0.0.1:${tokenServer.port}/oauth/token"`, `client_id = "hookd"`,
      `client_secret_env = "HOOKD_TEST_CLIENT_SECRET"`, `scope = "events:write"`, `allow_urls = ["http://127.0.0.1:${receiver.port}/"]`,
    ];
    const { h, site, stop, log } = await started(
      { delivery: DELIVERY, "[[delivery.oauth2]]": oauth.join("\n"), log: 'level = "debug"' },
      { HOOKD_TEST_CLIENT_SECRET: CLIENT_SECRET },
    );

    const outside = await h.api("POST", "/v1/webhooks", { url: `http://127.0.0.1:${tokenServer.port}/elsewhere`, events: ["doc.posted"], oauth2: "erp-oauth" });
    expect(outside.status).toBe(422);
    expect(JSON.stringify(outside.body.error.details)).toMatch(/url|oauth2/);

    const w = (await h.api("POST", "/v1/webhooks", { url: `http://127.0.0.1:${receiver.port}/hook`, events: ["doc.posted"], oauth2: "erp-oauth" })).body.data;
    await Promise.all(Array.from({ length: 10 }, (_v, i) => h.api("POST", "/v1/events", { type: "doc.posted", data: { i } })));
    await waitFor(async () => (await deliveriesOf(h, w.id)).filter((d) => d.status === "delivered").length === 10, 10_000, "10 delivered");
    expect(maxInFlight).toBeGreaterThanOrEqual(8);
    expect(issued()).toBe(1);
    expect(tokenRequests[0]!.get("grant_type")).toBe("client_credentials");
    expect(tokenRequests[0]!.get("scope")).toBe("events:write");

    // The receiver revokes the token: the next attempt gets 401, fetches exactly one new token and resends.
    for (const t of tokensSeen) revoked.add(t);
    await h.api("POST", "/v1/events", { type: "doc.posted", data: { i: 10 } });
    await waitFor(async () => (await deliveriesOf(h, w.id)).filter((d) => d.status === "delivered").length === 11, 10_000, "delivered after a refresh");
    expect(issued()).toBe(2);
    // One attempt record for the 401 and the resend, newest first in the list.
    const [refreshed] = await deliveriesOf(h, w.id);
    expect(refreshed).toMatchObject({ status: "delivered", attempts: 1, last_status_code: 200 });
    expect(refreshed.attempt_history).toHaveLength(1);

    // The token server fails: attempts fail with oauth2: errors and nothing reaches the endpoint.
    for (const t of tokensSeen) revoked.add(t);
    failTokens = true;
    const before = tokensSeen.size;
    await h.api("POST", "/v1/events", { type: "doc.posted", data: { i: 11 } });
    let failed: any;
    await waitFor(async () => {
      failed = (await deliveriesOf(h, w.id)).find((d) => d.status !== "delivered" && d.attempts >= 1);
      return failed !== undefined;
    }, 10_000, "a failed attempt");
    expect(failed.attempt_history.at(-1).error).toStartWith("oauth2:");
    expect(tokensSeen.size).toBe(before);

    await stop();
    const database = ["hookd.db", "hookd.db-wal"].map((f) => {
      try {
        return readFileSync(join(site.dir, f)).toString("latin1");
      } catch {
        return "";
      }
    }).join("");
    for (const secret of [CLIENT_SECRET, ...[...tokensSeen].filter((t) => t.startsWith("tok-"))]) {
      expect(log()).not.toContain(secret);
      expect(database).not.toContain(secret);
    }
    expect(log().length).toBeGreaterThan(0);
  }, 40_000);
});
