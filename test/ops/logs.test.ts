import { describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { hookdSite } from "../support/hookd-process";
import { waitFor } from "../support/process";
import { startReceiver } from "../support/receiver";

describe("logs", () => {
  test("every line is JSON with time, level and msg; the expected lines are there; no secret is", async () => {
    const receiver = startReceiver((r) => (new URL(r.url).pathname === "/fail" ? new Response("no", { status: 500 }) : new Response("ok")));
    const site = hookdSite({
      log: 'level = "info"',
      delivery: 'require_https = false\nallow_targets = ["127.0.0.0/8"]\nretry_schedule = ["1h"]',
      "[[sources]] # hmac": 'id = "psft"\nauth = "hmac"\nsecret = "hmac-secret-value-1"',
      "[[sources]] # token": 'id = "mon"\nauth = "token"\nsecret = "token-secret-value-2"\nschema = "json"\nevent_type = "mon.alert"',
    });
    const h = await site.start();
    let stdout = "";
    try {
      const ok = await h.api("POST", "/v1/webhooks", { url: `${receiver.url}/ok`, events: ["*"] });
      await h.api("POST", "/v1/webhooks", { url: `${receiver.url}/fail`, events: ["*"] });
      const whsec: string = ok.body.data.secret;
      const body = '{"connector_id":"psft","event_type":"batch.done","timestamp":"2026-04-20T03:00:00Z"}';
      const signature = `sha256=${createHmac("sha256", "hmac-secret-value-1").update(body).digest("hex")}`;
      const accepted = await fetch(`${h.url}/in/psft`, { method: "POST", headers: { "x-hookd-signature": signature }, body });
      expect(accepted.status).toBe(200);
      const rejected = await fetch(`${h.url}/in/mon`, { method: "POST", headers: { "x-auth-token": "token-secret-value-WRONG" }, body: "{}" });
      expect(rejected.status).toBe(401);
      await fetch(`${h.url}/in/mon`, { method: "POST", headers: { "x-auth-token": "token-secret-value-2", authorization: `Bearer ${site.key}` }, body: "{}" });
      await waitFor(() => receiver.requests.length >= 4, 5000, "deliveries");
      const delivered = receiver.requests.find((r) => r.path === "/ok")!;

      h.proc.kill("SIGTERM");
      expect(await h.proc.exited).toBe(0);
      stdout = await new Response(h.proc.stdout).text();

      const lines = stdout.trim().split("\n");
      const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
      for (const l of parsed) {
        expect(typeof l.time).toBe("string");
        expect(Number.isNaN(Date.parse(l.time as string))).toBe(false);
        expect(["debug", "info", "warn", "error"]).toContain(l.level as string);
        expect(typeof l.msg).toBe("string");
      }
      const has = (msg: string, fields: Record<string, unknown> = {}) =>
        parsed.some((l) => l.msg === msg && Object.entries(fields).every(([k, v]) => (v === undefined ? k in l : l[k] === v)));
      expect(has("hookd started")).toBe(true);
      expect(has("webhook endpoint created", { request_id: undefined, webhook_id: ok.body.data.id })).toBe(true);
      // An accepted inbound request is its one info line, the access line; the receiver's own line is debug.
      expect(has("request", { method: "POST", path: "/in/psft", status: 200, request_id: undefined })).toBe(true);
      expect(has("inbound event accepted", { source: "psft" })).toBe(false);
      expect(has("inbound request rejected", { source: "mon", reason: "invalid_token" })).toBe(true);
      // Successful deliveries log at debug (test/delivery/log-levels.test.ts); this journal is at info.
      expect(has("delivered", { webhook_id: ok.body.data.id })).toBe(false);
      expect(has("delivery attempt failed; retry scheduled", { status_code: 500 })).toBe(true);
      expect(has("request", { method: "POST", path: "/v1/webhooks", status: 201 })).toBe(true);
      expect(has("hookd stopped")).toBe(true);

      for (const secret of [
        site.key, whsec, whsec.slice(6), "hmac-secret-value-1", "token-secret-value-2", "token-secret-value-WRONG",
        signature, signature.slice(7), delivered.headers["webhook-signature"]!, delivered.headers["x-hookd-signature"]!,
      ]) {
        expect({ secret, found: stdout.includes(secret) }).toEqual({ secret, found: false });
      }
    } finally {
      h.proc.kill("SIGKILL");
      await receiver.stop();
    }
  }, 30_000);
});
