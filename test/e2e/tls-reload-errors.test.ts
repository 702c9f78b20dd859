import { afterEach, describe, expect, test } from "bun:test";
import { copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tlsFilesProblem } from "../../src/net/tls-files";
import { hookdSite } from "../support/hookd-process";
import { tempConfig, waitFor } from "../support/process";

// A failed SIGHUP reload must say which file is wrong and why in words, not OpenSSL's
// "error:0900006e:PEM routines…", and keep serving with the previous certificate.

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const { dir } = tempConfig("");

/** makeCert writes a self-signed certificate and its key with openssl. */
function makeCert(name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  const r = Bun.spawnSync(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", `/CN=${name}`, "-addext", "subjectAltName=IP:127.0.0.1"], { stdout: "ignore", stderr: "pipe" });
  expect(r.exitCode).toBe(0);
  return { cert, key };
}

const first = makeCert("first");
const other = makeCert("other");
const garbage = join(dir, "garbage.pem");
writeFileSync(garbage, "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n");

describe("tlsFilesProblem", () => {
  test.each([
    ["a matching pair", first.cert, first.key, null],
    ["a key of another certificate", first.cert, other.key, `the private key in ${other.key} does not belong to the certificate in ${first.cert}`],
    ["a certificate file that is not one", garbage, first.key, `the certificate file ${garbage} does not hold a readable PEM certificate`],
    ["a certificate given as the key", first.cert, first.cert, `the key file ${first.cert} does not hold a readable unencrypted PEM private key`],
    ["a missing certificate", join(dir, "gone.crt"), first.key, `cannot read the certificate file ${join(dir, "gone.crt")}: no such file`],
  ])("%s", (_what, cert, key, problem) => {
    const found = tlsFilesProblem(cert, key);
    if (problem === null) expect(found).toBeNull();
    else expect(found).toStartWith(problem);
  });
});

describe("SIGHUP with a broken certificate", () => {
  test("logs which file and why in words, and the old certificate keeps serving", async () => {
    const live = { cert: join(dir, "live.crt"), key: join(dir, "live.key") };
    copyFileSync(first.cert, live.cert);
    copyFileSync(first.key, live.key);
    const site = hookdSite({ server: `tls_cert = ${JSON.stringify(live.cert)}\ntls_key = ${JSON.stringify(live.key)}` }, { https: true });
    const h = await site.start();
    cleanup.push(() => h.proc.kill("SIGKILL"));

    copyFileSync(other.key, live.key); // the renewal copied the wrong key
    h.proc.kill("SIGHUP");
    const lines: Record<string, any>[] = [];
    const reader = h.proc.stdout.getReader();
    let buffered = "";
    await waitFor(
      async () => {
        const { value } = await reader.read();
        buffered += new TextDecoder().decode(value);
        for (const line of buffered.split("\n").slice(0, -1)) lines.push(JSON.parse(line));
        buffered = buffered.slice(buffered.lastIndexOf("\n") + 1);
        return lines.some((l) => String(l.msg).includes("TLS certificate reload failed"));
      },
      10_000,
      "the reload failure log line",
    );
    const failure = lines.find((l) => String(l.msg).includes("TLS certificate reload failed"))!;
    expect(failure.level).toBe("error");
    expect(failure.error.message).toBe(`the private key in ${live.key} does not belong to the certificate in ${live.cert}`);
    expect(JSON.stringify(failure)).not.toMatch(/error:[0-9a-f]{8}|routines/i);
    expect((await h.api("GET", "/v1/webhooks")).status).toBe(200); // still serving on the old certificate
    reader.releaseLock();
    h.proc.kill("SIGTERM");
    expect(await h.proc.exited).toBe(0);
  }, 30_000);
});
