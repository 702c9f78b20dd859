import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningApp, startApp } from "../../src/app";
import { loadConfig } from "../../src/config/load";
import { createLogger } from "../../src/log";
import { hashApiKey } from "../../src/security/api-keys";
import { waitFor } from "../support/process";
import { type Receiver, startReceiver } from "../support/receiver";
import { call } from "../support/test-server";

// Issue 14 (log volume): one line per successful delivery at info flooded the journal. Successes log at
// debug; a failed attempt and an expiry stay at warn, so an info-level journal holds only what needs a look.

type Line = { level: string; msg: string } & Record<string, unknown>;
const lines: Line[] = [];
const key = `test-key-${crypto.randomUUID()}`;
let dir: string;
let app: RunningApp;
let receiver: Receiver;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "hookd-log-levels-"));
  receiver = startReceiver((r) => (new URL(r.url).pathname === "/ok" ? new Response("ok") : new Response("no", { status: 500 })));
  const config = loadConfig(
    [
      `[storage]\npath = ${JSON.stringify(join(dir, "hookd.db"))}`,
      `[api]\nkeys = [{ name = "test", hash = "${hashApiKey(key)}" }]`,
      // Two attempts: a failing endpoint gets "retry scheduled" after the first and "expired" after the second.
      `[delivery]\nrequire_https = false\nallow_targets = ["127.0.0.0/8"]\nretry_schedule = ["1s"]`,
    ].join("\n\n"),
    {},
  );
  const log = createLogger("debug", (line) => lines.push(JSON.parse(line) as Line));
  app = await startApp({ config, log, listen: { host: "127.0.0.1", port: 0 } });
});
afterAll(async () => {
  await app.stop();
  await receiver.stop();
  rmSync(dir, { recursive: true, force: true });
});

const api = (method: string, path: string, body?: unknown) => call(`${app.url}${path}`, method, body, { authorization: `Bearer ${key}` });

describe("delivery log levels", () => {
  test("a successful delivery logs at debug; a failed attempt and an expiry log at warn", async () => {
    const ok = (await api("POST", "/v1/webhooks", { url: `${receiver.url}/ok`, events: ["log.*"] })).body.data.id;
    const failing = (await api("POST", "/v1/webhooks", { url: `${receiver.url}/fail`, events: ["log.*"] })).body.data.id;
    expect((await api("POST", "/v1/events", { type: "log.one", data: {} })).status).toBe(202);
    const line = (msg: string, webhookId: string) => lines.find((l) => l.msg === msg && l.webhook_id === webhookId);
    await waitFor(() => line("delivered", ok) !== undefined, 5000, "the delivery logged");
    await waitFor(() => line("delivery expired", failing) !== undefined, 5000, "the failing delivery expired");

    expect(line("delivered", ok)!.level).toBe("debug");
    expect(line("delivered", ok)!.status_code).toBe(200);
    expect(line("delivery attempt failed; retry scheduled", failing)!.level).toBe("warn");
    expect(line("delivery expired", failing)!.level).toBe("warn");
  });
});
