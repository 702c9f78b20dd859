import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load";
import { staticResolver } from "../../src/delivery/resolver";
import { freePort, waitFor } from "../support/process";
import { startTestServer } from "../support/test-server";
import { admin, Cleanups, DELIVERY, ENDPOINT_URL, optionBlock, publish, serve, settle } from "./option-rig";
import { runSnippet, where } from "./snippets";

// docs/receivers.md, "Client certificates (mTLS)": the openssl commands run as printed in a temp directory,
// hookd loads the printed profile pointing at their files, and the Node https receiver accepts hookd's
// client certificate only: not another one from the same CA, not a connection without one.

const cleanups = new Cleanups();
afterAll(() => cleanups.run());

/** post sends one request to the receiver as a client with the given certificate (or none), trusting its CA. */
function post(port: number, ca: Buffer, client: { cert: Buffer; key: Buffer } | null): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, servername: "erp-bridge.example", path: "/hook", method: "POST", ca, ...(client ?? {}) },
      (res) => {
        let text = "";
        res.on("data", (chunk) => (text += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on("error", reject);
    req.end('{"id":"evt_direct"}');
  });
}

async function openssl(dir: string, script: string): Promise<void> {
  const proc = Bun.spawn(["bash", "-eo", "pipefail", "-c", script], { cwd: dir, stdout: "pipe", stderr: "pipe" });
  const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`openssl failed: ${stderr}`);
}

describe("docs/receivers.md: client certificates (mTLS)", () => {
  test("hookd presents the profile's certificate, and the receiver accepts only hookd's", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hookd-mtls-doc-"));
    cleanups.add(() => rmSync(dir, { recursive: true, force: true }));

    const certs = optionBlock("client_tls", "sh", "certs");
    const made = await runSnippet(certs, `cd ${JSON.stringify(dir)}\n${certs.code}`, {}, 60_000);
    expect(made.code, `${where(certs)}\n${made.stderr}`).toBe(0);
    for (const file of ["erp-bridge-ca.pem", "hookd-client.pem", "hookd-client.key", "erp-bridge.pem", "erp-bridge.key"]) {
      expect(existsSync(join(dir, file)), file).toBe(true);
    }
    // Another client of the same CA, which the receiver must refuse.
    await openssl(
      dir,
      `openssl req -new -newkey rsa:2048 -nodes -subj "/CN=someone-else" -keyout other.key -out other.csr 2>/dev/null
       openssl x509 -req -in other.csr -CA erp-bridge-ca.pem -CAkey erp-bridge-ca.key -CAcreateserial -days 30 \\
         -extfile <(printf 'extendedKeyUsage=clientAuth\\n') -out other.pem 2>/dev/null`,
    );

    // The printed profile, with its files where the commands made them, plus one for the other client.
    const profile = optionBlock("client_tls", "toml", "config");
    const toml = profile.code.split("/etc/hookd/").join(`${dir}/`);
    expect(toml).not.toBe(profile.code);
    expect(() => loadConfig(toml, {}), where(profile)).not.toThrow();
    const [header, ...body] = toml.trim().split("\n");
    expect(header).toBe("[[delivery.client_tls]]");
    const other = [`name = "other-client"`, `cert = "${dir}/other.pem"`, `key = "${dir}/other.key"`, `ca = "${dir}/erp-bridge-ca.pem"`].join("\n");
    const server = await startTestServer(
      { delivery: DELIVERY, "[[delivery.client_tls]]": body.join("\n"), "[[delivery.client_tls]] # other": other },
      { resolver: staticResolver({ "erp-bridge.example": ["127.0.0.1"] }) },
    );
    cleanups.add(() => server.stop());

    const { snippet, port } = await serve(cleanups, optionBlock("client_tls", "js"), {}, { prefix: `process.chdir(${JSON.stringify(dir)});\n` });
    const out = snippet.output;
    const url = `https://erp-bridge.example:${port}/hook`;

    const created = await admin(server, optionBlock("client_tls", "sh", "create"), { [ENDPOINT_URL]: url });
    expect(created.data, JSON.stringify(created)).toMatchObject({ url, client_tls: "erp-bridge-mtls" });
    const eventId = await publish(server, { invoice_no: "INV-2025-1042" });
    const delivered = await settle(server, eventId, (d) => d.attempts > 0, `${eventId} attempted`, out);
    expect(delivered, JSON.stringify(delivered)).toMatchObject({ status: "delivered", last_status_code: 202 });
    await waitFor(() => out().includes(`accepted ${eventId} from hookd (`), 5000, "the receiver to accept hookd's certificate");

    // hookd presents each endpoint's own profile: the other client's certificate gets the receiver's 403.
    const otherEndpoint = await server.api("POST", "/v1/webhooks", { url, events: ["invoice.*"], client_tls: "other-client" });
    expect(otherEndpoint.status, otherEndpoint.text).toBe(201);
    const both = await publish(server, { invoice_no: "INV-2025-1043" }, 2);
    await waitFor(async () => (await server.api("GET", `/v1/events/${both}`)).body.data.deliveries.every((d: { attempts: number }) => d.attempts > 0), 8000, "both endpoints attempted");
    const deliveries = (await server.api("GET", `/v1/events/${both}`)).body.data.deliveries as { webhook_id: string; status: string; last_status_code: number; last_response: string }[];
    const byEndpoint = Object.fromEntries(deliveries.map((d) => [d.webhook_id, d]));
    expect(byEndpoint[created.data.id]).toMatchObject({ status: "delivered", last_status_code: 202 });
    expect(byEndpoint[otherEndpoint.body.data.id]).toMatchObject({ status: "failed", last_status_code: 403, last_response: "client certificate someone-else is not allowed" });
    expect(out().split("\n").filter((l) => l.includes(both))).toHaveLength(1);

    // Straight to the receiver: hookd's certificate passes, another is refused, none fails the handshake.
    const file = (name: string) => readFileSync(join(dir, name));
    const ca = file("erp-bridge-ca.pem");
    expect((await post(port, ca, { cert: file("hookd-client.pem"), key: file("hookd-client.key") })).status).toBe(202);
    expect(await post(port, ca, { cert: file("other.pem"), key: file("other.key") })).toEqual({ status: 403, text: "client certificate someone-else is not allowed" });
    const anonymous = await post(port, ca, null).then((r) => `answered ${r.status}`, (e: Error) => `refused: ${e.message}`);
    expect(anonymous).toStartWith("refused");

    // A profile name hookd doesn't know.
    const unknown = await server.api("POST", "/v1/webhooks", { url, events: ["*"], client_tls: "erp-bridge-mlts" });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error.details).toEqual([expect.objectContaining({ field: "client_tls", code: "unknown_profile" })]);
  }, 60_000);
});
