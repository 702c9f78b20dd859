import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load";
import { codeToStatus } from "../../src/http/errors";
import { waitFor } from "../support/process";
import { type Receiver, startReceiver } from "../support/receiver";
import { startTestServer, type TestServer } from "../support/test-server";
import { configEnv, DOCS_DIR, docSnippets, fillPlaceholders, runSnippet, type Snippet, where } from "./snippets";

// docs/senders.md: every `<lang> test sender auth=<kind>` block is run as printed, with its three
// placeholders (hookd's address, the source id, the secret) filled in, against a real hookd.

const blocks = docSnippets("senders.md");
const senders = blocks.filter((s) => s.runnable && s.role === "sender");

const HOST = "https://hookd.example.com";
const SOURCE = "psft-payroll";
// The sources are the ones the guide's own `toml test config` block prints, so a recipe that does not fit
// the printed configuration fails here. Only this changes: allow_ips becomes 127.0.0.1, each secret_env
// names a fresh random secret, and ids change ("psft-payroll" → "psft_payroll_t"), so a recipe that ignores
// its SOURCE value fails.
const configBlocks = blocks.filter((s) => s.runnable && s.role === "config");
const docSources = (Bun.TOML.parse(configBlocks[0]?.code ?? "") as { sources?: Record<string, unknown>[] }).sources ?? [];
const SECRETS: Record<string, { secret: string; placeholder: string }> = {
  hmac: { secret: `hmac secret ${randomBytes(6).toString("hex")} with spaces & symbols`, placeholder: "YOUR_SOURCE_SECRET" },
  token: { secret: `tok_${randomBytes(16).toString("hex")}`, placeholder: "YOUR_SOURCE_SECRET" },
  "standard-webhooks": { secret: `whsec_${randomBytes(32).toString("base64")}`, placeholder: "whsec_YOUR_SOURCE_SECRET" },
};
const testId = (id: unknown) => `${String(id).replace(/-/g, "_")}_t`;
const sources: Record<string, { id: string; secret: string | null; placeholder: string | null; toml: string; env: Record<string, string> }> = {};
for (const entry of docSources) {
  const auth = String(entry.auth);
  const secret = SECRETS[auth] ?? null;
  const env: Record<string, string> = {};
  const lines = Object.entries(entry).map(([key, value]) => {
    if (key === "allow_ips" && Array.isArray(value) && value.length > 0) return 'allow_ips = ["127.0.0.1/32"]';
    if (key === "secret_env" && secret) env[String(value)] = secret.secret;
    if (key === "id") return `id = "${testId(value)}"`;
    return `${key} = ${JSON.stringify(value)}`;
  });
  sources[auth] = { id: testId(entry.id), secret: secret?.secret ?? null, placeholder: secret?.placeholder ?? null, toml: lines.join("\n"), env };
}

let server: TestServer;
let receiver: Receiver;

beforeAll(async () => {
  receiver = startReceiver();
  const sections: Record<string, string> = { delivery: 'require_https = false\nallow_targets = ["127.0.0.0/8"]' };
  for (const [auth, source] of Object.entries(sources)) sections[`[[sources]] # ${auth}`] = source.toml;
  server = await startTestServer(sections, { env: Object.assign({}, ...Object.values(sources).map((s) => s.env)) });
  const created = await server.api("POST", "/v1/webhooks", { url: `${receiver.url}/subscriber`, events: ["*"] });
  expect(created.status).toBe(201);
});
afterAll(async () => {
  await server?.stop();
  await receiver?.stop();
});

function fill(s: Snippet, secret: string | null): string {
  const source = sources[s.attrs.auth ?? ""];
  if (!source) throw new Error(`${where(s)}: auth=${s.attrs.auth} is not one of ${Object.keys(sources).join(", ")}`);
  const values: Record<string, string> = { [HOST]: server.url, [SOURCE]: source.id };
  if (source.placeholder !== null) values[source.placeholder] = secret ?? source.secret!;
  const code = fillPlaceholders(s, values);
  for (const leftover of [HOST, SOURCE, "YOUR_SOURCE_SECRET"]) {
    if (code.includes(leftover)) throw new Error(`${where(s)} still contains ${leftover} after filling in`);
  }
  return code;
}

describe("docs/senders.md", () => {
  test("its source configuration has one source of every auth kind, which the recipes run against", () => {
    expect(configBlocks.length).toBe(1);
    expect(Object.keys(sources).sort()).toEqual(["hmac", "none", "standard-webhooks", "token"]);
  });

  test("has a shell, Node and Python sender for every auth kind that takes a secret", () => {
    for (const auth of ["hmac", "token", "standard-webhooks"]) {
      const langs = new Set(senders.filter((s) => s.attrs.auth === auth).map((s) => s.lang));
      expect({ auth, langs: [...langs].sort() }).toEqual({ auth, langs: ["js", "python", "sh"] });
    }
  });

  test.each(senders.map((s) => [where(s), s] as const))("%s gets 200 and its event reaches a subscriber", async (_name, s) => {
    const source = sources[s.attrs.auth!]!;
    const run = await runSnippet(s, fill(s, null));
    expect({ exit: run.code, stderr: run.stderr }).toEqual({ exit: 0, stderr: "" });
    const answer = JSON.parse(run.stdout.trim().split("\n").at(-1)!);
    expect(answer).toEqual({ received: true, id: expect.stringMatching(/^evt_[0-9a-z]{26}$/) });

    await waitFor(() => receiver.requests.some((r) => r.headers["webhook-id"] === answer.id), 5000, `delivery of ${answer.id}`);
    const delivered = receiver.requests.find((r) => r.headers["webhook-id"] === answer.id)!;
    const envelope = JSON.parse(delivered.body);
    expect(envelope.data.connector_id).toBe(source.id);
    expect(delivered.headers["x-hookd-event"]).toBe(envelope.data.event_type);

    const log = await server.api("GET", `/v1/inbound?source=${source.id}&status=accepted`);
    expect(log.body.data.some((row: { event_id: string }) => row.event_id === answer.id)).toBe(true);
  });

  // The same snippets with a wrong secret must fail loudly (non-zero exit naming hookd's code), which is
  // also what shows this test would notice a snippet that stopped signing correctly.
  test.each(senders.filter((s) => sources[s.attrs.auth!]?.secret).map((s) => [where(s), s] as const))(
    "%s exits non-zero with hookd's error when the secret is wrong",
    async (_name, s) => {
      const source = sources[s.attrs.auth!]!;
      const wrong = source.secret!.startsWith("whsec_") ? `whsec_${randomBytes(32).toString("base64")}` : "not the secret";
      const run = await runSnippet(s, fill(s, wrong));
      expect(run.code).not.toBe(0);
      const expected = s.attrs.auth === "token" ? "invalid_token" : "invalid_signature";
      expect(`${run.stdout}${run.stderr}`).toContain(expected);
    },
  );

  test("every source configuration example loads", () => {
    const configs = blocks.filter((s) => s.runnable && s.role === "config");
    expect(configs.length).toBeGreaterThan(0);
    for (const s of configs) {
      expect(() => loadConfig(s.code, configEnv(s.code)), where(s)).not.toThrow();
    }
  });

  test("every JSON example parses, and every error code it shows is one hookd answers", () => {
    const json = blocks.filter((s) => s.lang === "json");
    expect(json.length).toBeGreaterThan(2);
    for (const s of json) {
      const value = JSON.parse(s.code);
      if (value.error) expect(Object.keys(codeToStatus), where(s)).toContain(value.error.code);
    }
  });

  test("the error table lists every code the inbound receiver can answer", () => {
    const text = readFileSync(join(DOCS_DIR, "senders.md"), "utf8");
    const table = text.slice(text.indexOf("### Errors and what to do"), text.indexOf("A 422 names every bad field"));
    const rows = [...table.matchAll(/^\| (\d{3}) \| `([a-z_]+)` \|/gm)].map((m) => [m[2]!, Number(m[1])] as const);
    for (const [code, status] of rows) expect({ code, status }).toEqual({ code, status: codeToStatus[code as keyof typeof codeToStatus] });
    const inbound = ["method_not_allowed", "unknown_source", "ip_not_allowed", "payload_too_large", "invalid_signature", "invalid_token", "connector_mismatch",
      "invalid_body", "idempotency_key_reused", "rate_limited", "storage_unavailable", "internal_error", "cross_site_request", "server_busy",
      "request_timeout"];
    expect(rows.map(([code]) => code).sort()).toEqual(inbound.sort());
  });
});
