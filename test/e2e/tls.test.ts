import { afterEach, describe, expect, test } from "bun:test";
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { hookdSite } from "../support/hookd-process";
import { tempConfig, waitFor } from "../support/process";

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** makeCert writes a self-signed certificate for 127.0.0.1 with openssl, as an operator would. */
async function makeCert(dir: string, name: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  const proc = Bun.spawn([
    "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
    "-subj", `/CN=hookd-test-${name}`, "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
  ], { stdout: "ignore", stderr: "pipe" });
  expect(await proc.exited).toBe(0);
  return { cert, key };
}

const BODY = '{"connector_id":"erp","event_type":"integration.failed","timestamp":"2026-04-20T03:00:00Z","severity":"error"}';

/** curlInbound sends the documented signed request over HTTPS, trusting only `ca`. */
async function curlInbound(url: string, ca: string): Promise<{ code: number; out: string }> {
  const script = `SIG=$(echo -n "$BODY" | openssl dgst -sha256 -hmac "$SECRET" | awk '{print $2}')
curl -sS --cacert "$CA" -X POST "$URL/in/erp" -H "X-Hookd-Signature: sha256=$SIG" -d "$BODY"`;
  const proc = Bun.spawn(["bash", "-c", script], {
    env: { ...process.env, BODY, SECRET: "tls-secret", CA: ca, URL: url },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, out: out || err };
}

describe("HTTPS without a proxy", () => {
  test("a signed inbound event over TLS with curl --cacert gets 200; SIGHUP swaps in a renewed certificate", async () => {
    const { dir } = tempConfig("");
    const first = await makeCert(dir, "first");
    const live = { cert: join(dir, "live.crt"), key: join(dir, "live.key") };
    copyFileSync(first.cert, live.cert);
    copyFileSync(first.key, live.key);
    const site = hookdSite(
      {
        server: `tls_cert = ${JSON.stringify(live.cert)}\ntls_key = ${JSON.stringify(live.key)}`,
        "[[sources]]": 'id = "erp"\nauth = "hmac"\nsecret = "tls-secret"',
      },
      { https: true },
    );
    const h = await site.start();
    cleanup.push(() => h.proc.kill("SIGKILL"));
    expect(h.url.startsWith("https://")).toBe(true);

    const answer = await curlInbound(h.url, first.cert);
    expect(answer.code).toBe(0);
    expect(JSON.parse(answer.out)).toEqual({ received: true, id: expect.stringMatching(/^evt_/) });

    const second = await makeCert(dir, "second");
    copyFileSync(second.cert, live.cert);
    copyFileSync(second.key, live.key);
    h.proc.kill("SIGHUP");
    await waitFor(async () => (await curlInbound(h.url, second.cert)).code === 0, 5000, "the renewed certificate");
    expect((await curlInbound(h.url, first.cert)).code).not.toBe(0); // the old certificate is gone
    expect(h.proc.exitCode).toBeNull();

    h.proc.kill("SIGTERM");
    expect(await h.proc.exited).toBe(0);
  }, 30_000);

  test("SIGHUP without TLS changes nothing and does not stop the server", async () => {
    const h = await hookdSite().start();
    cleanup.push(() => h.proc.kill("SIGKILL"));
    h.proc.kill("SIGHUP");
    await waitFor(async () => (await h.api("GET", "/v1/webhooks")).status === 200, 3000, "still serving");
    expect(h.proc.exitCode).toBeNull();
    h.proc.kill("SIGTERM");
    expect(await h.proc.exited).toBe(0);
  });
});
