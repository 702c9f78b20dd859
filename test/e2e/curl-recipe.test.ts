import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { waitFor } from "../support/process";
import { type Receiver, startReceiver } from "../support/receiver";
import { startTestServer, type TestServer } from "../support/test-server";

// The sender recipe from the ERP integration docs, run unchanged by a real shell with openssl and curl.
const RECIPE = `
BODY='{"connector_id":"psft-payroll","event_type":"integration.failed","timestamp":"2026-04-20T03:00:00Z","severity":"error","source":"PSFT_PAYROLL_BATCH","message":"Exit code 1 at record 18441"}'
SIG=$(echo -n "$BODY" | openssl dgst -sha256 -hmac "$SECRET" | awk '{print $2}')
curl -s -X POST "$URL/in/psft-payroll" \\
  -H "X-Hookd-Connector-Id: psft-payroll" \\
  -H "X-Hookd-Signature: sha256=$SIG" \\
  -d "$BODY"
`;

let server: TestServer;
let receiver: Receiver;
beforeAll(async () => {
  receiver = startReceiver();
  server = await startTestServer({
    delivery: 'require_https = false\nallow_targets = ["127.0.0.0/8"]',
    "[[sources]]": 'id = "psft-payroll"\nauth = "hmac"\nsecret_env = "HOOKD_PSFT_SECRET"',
  }, { env: { HOOKD_PSFT_SECRET: "psft payroll secret!" } });
});
afterAll(async () => {
  await server.stop();
  await receiver.stop();
});

describe("the documented sender recipe", () => {
  test("openssl + curl → 200, and a subscriber of integration.failed receives the event", async () => {
    await server.api("POST", "/v1/webhooks", { url: `${receiver.url}/ops`, events: ["integration.*"] });
    const proc = Bun.spawn(["bash", "-c", RECIPE], {
      env: { ...process.env, URL: server.url, SECRET: "psft payroll secret!" },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
    expect(code).toBe(0);
    const answer = JSON.parse(out);
    expect(answer).toEqual({ received: true, id: expect.stringMatching(/^evt_/) });
    await waitFor(() => receiver.requests.length === 1, 5000, "delivery to the subscriber");
    const got = receiver.requests[0]!;
    expect(got.headers["x-hookd-event"]).toBe("integration.failed");
    expect(got.headers["webhook-id"]).toBe(answer.id);
    expect(JSON.parse(got.body).data.message).toBe("Exit code 1 at record 18441");
  });
});
