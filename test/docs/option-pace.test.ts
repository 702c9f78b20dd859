import { afterAll, describe, expect, test } from "bun:test";
import { freePort, waitFor } from "../support/process";
import { startReceiver } from "../support/receiver";
import { startTestServer } from "../support/test-server";
import { admin, Cleanups, DELIVERY, deliveriesOf, optionBlock, publish, serve, settle, WEBHOOK_ID } from "./option-rig";

// docs/receivers.md, "Timeout" and "Rate limit": the PATCH calls run as printed against a real hookd, the
// slow receiver shows what the guide says it shows, and the pace at a receiver is the one promised.

const cleanups = new Cleanups();
afterAll(() => cleanups.run());

describe("docs/receivers.md: timeout", () => {
  test("the PATCH sets the endpoint's timeout, and the slow receiver sees hookd hang up at it", async () => {
    const server = await startTestServer({ delivery: DELIVERY });
    cleanups.add(() => server.stop());
    const port = freePort();
    const created = await server.api("POST", "/v1/webhooks", { url: `http://127.0.0.1:${port}/hook`, events: ["*"] });
    expect(created.status, created.text).toBe(201);
    const id: string = created.body.data.id;
    expect(created.body.data.timeout).toBeNull();

    const patch = optionBlock("timeout", "sh");
    expect((await admin(server, patch, { [WEBHOOK_ID]: id })).data.timeout).toBe("30s");
    // The same call with the 1 s the guide's example output speaks of.
    expect((await admin(server, patch, { [WEBHOOK_ID]: id, '"timeout": "30s"': '"timeout": "1s"' })).data.timeout).toBe("1s");

    const { snippet } = await serve(cleanups, optionBlock("timeout", "js"), {}, { port });
    const out = snippet.output;
    const eventId = await publish(server, { invoice_no: "INV-2025-1042" });
    const failed = await settle(server, eventId, (d) => d.attempts > 0, `${eventId} attempted`, out);
    expect(failed).toMatchObject({ status: "failed", last_status_code: null, last_error: "timeout after 1000 ms" });
    await waitFor(() => out().includes(`finished the work for ${eventId}`), 5000, "the slow work to finish");
    const hungUp = new RegExp(`hookd hung up on ${eventId} after (\\d+) ms, before our answer`).exec(out());
    expect(hungUp, out()).not.toBeNull();
    const after = Number(hungUp![1]);
    expect(after).toBeGreaterThanOrEqual(900);
    expect(after).toBeLessThan(2000);
    // hungUp comes first, the work's end after it: the order the guide prints.
    expect(out().indexOf("hookd hung up")).toBeLessThan(out().indexOf("finished the work"));

    const cleared = await server.api("PATCH", `/v1/webhooks/${id}`, { timeout: null });
    expect(cleared.body.data?.timeout, cleared.text).toBeNull();
    const tooLong = await server.api("PATCH", `/v1/webhooks/${id}`, { timeout: "90s" });
    expect(tooLong.status).toBe(422);
    expect(tooLong.body.error.details.map((d: { field: string }) => d.field)).toEqual(["timeout"]);
  }, 20_000);
});

describe("docs/receivers.md: rate limit", () => {
  test("with the PATCH's rate_limit of 5, no more than 5 attempts start in any second, and waiting is not an attempt", async () => {
    const server = await startTestServer({ delivery: DELIVERY });
    cleanups.add(() => server.stop());
    const receiver = startReceiver();
    cleanups.add(() => receiver.stop());
    const created = await server.api("POST", "/v1/webhooks", { url: `${receiver.url}/hook`, events: ["*"] });
    expect(created.status, created.text).toBe(201);
    const id: string = created.body.data.id;
    expect((await admin(server, optionBlock("rate_limit", "sh"), { [WEBHOOK_ID]: id })).data.rate_limit).toBe(5);

    const events: string[] = [];
    for (let i = 0; i < 20; i++) events.push(await publish(server, { invoice_no: `INV-2025-${2000 + i}` }));
    await waitFor(() => receiver.requests.length >= 20, 10_000, "20 deliveries at 5 per second");
    const times = receiver.requests.map((r) => r.at).sort((a, b) => a - b);
    // Arrival times stand in for start times; 900 ms leaves room for the way from hookd to here.
    const busiest = Math.max(...times.map((t) => times.filter((u) => u >= t && u < t + 900).length));
    expect(busiest).toBeLessThanOrEqual(5);
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(2900);

    for (const eventId of events) {
      const [d] = await deliveriesOf(server, eventId);
      expect({ eventId, status: d!.status, attempts: d!.attempts }).toEqual({ eventId, status: "delivered", attempts: 1 });
    }
    const endpoint = await server.api("GET", `/v1/webhooks/${id}`);
    expect(endpoint.body.data).toMatchObject({ failure_count: 0, failing_since: null, rate_limit: 5 });
  }, 20_000);
});
