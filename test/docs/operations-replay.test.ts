import { afterAll, describe, expect, test } from "bun:test";
import { waitFor } from "../support/process";
import { startReceiver } from "../support/receiver";
import { startTestServer } from "../support/test-server";
import { Cleanups, DELIVERY } from "./option-rig";
import { blockAfter, opsBlock, runOps } from "./operations-rig";

// docs/operations.md "Replaying after an outage", run as printed against a real hookd: three endpoints on a
// receiver that is down, one of them disabled meanwhile; after the receiver is back the list shows what was
// not delivered, the dry run counts what replay sends (the disabled endpoint's skipped), and it all arrives.

const OUTAGE_START = "2026-06-01T00:00:00Z";
const EVENTS = 5;

const cleanups = new Cleanups();
afterAll(() => cleanups.run());

describe("docs/operations.md: Replaying after an outage", () => {
  test("the printed answers have the shape of the API's", () => {
    expect(Object.keys(JSON.parse(blockAfter(opsBlock("replay", { step: "count" }), "json").code).data)).toEqual(["matched"]);
    expect(Object.keys(JSON.parse(blockAfter(opsBlock("replay", { step: "replay" }), "json").code).data)).toEqual(["replayed"]);
  });

  test("list, count and replay after a receiver outage: the active endpoints' deliveries arrive, the disabled one's are skipped", async () => {
    let down = true;
    const receiver = startReceiver(() => (down ? new Response("down for maintenance", { status: 503 }) : new Response("ok")));
    cleanups.add(() => receiver.stop());
    const server = await startTestServer({ delivery: `${DELIVERY}\nretry_schedule = ["1h"]` });
    cleanups.add(() => server.stop());
    const since = new Date(Date.now() - 1000).toISOString();

    const ids: string[] = [];
    for (const path of ["/a", "/b", "/c"]) {
      const created = await server.api("POST", "/v1/webhooks", { url: `${receiver.url}${path}`, events: ["*"] });
      expect(created.status, created.text).toBe(201);
      ids.push(created.body.data.id);
    }
    for (let n = 0; n < EVENTS; n++) {
      const published = await server.api("POST", "/v1/events", { type: "invoice.paid", data: { n } });
      expect(published.status, published.text).toBe(202);
    }
    await waitFor(async () => (await server.app.storage.deliveries.countByStatus()).failed === 3 * EVENTS, 8000, "every first attempt failed");
    // The third endpoint is disabled during the outage: its deliveries expire, and replay must skip them.
    const disabled = await server.api("PATCH", `/v1/webhooks/${ids[2]}`, { status: "disabled" });
    expect(disabled.status, disabled.text).toBe(200);
    down = false;
    const before = receiver.requests.length;

    const list = await runOps(server, opsBlock("replay", { step: "list" }), { [OUTAGE_START]: since });
    expect(list.data).toHaveLength(3 * EVENTS);
    const statusOf = (id: string) => list.data.filter((d: { webhook_id: string }) => d.webhook_id === id).map((d: { status: string }) => d.status);
    expect(statusOf(ids[0]!)).toEqual(Array(EVENTS).fill("failed"));
    expect(statusOf(ids[2]!)).toEqual(Array(EVENTS).fill("expired"));

    const count = await runOps(server, opsBlock("replay", { step: "count" }), { [OUTAGE_START]: since });
    expect(count).toEqual({ data: { matched: 2 * EVENTS } });
    expect(receiver.requests.length).toBe(before); // a dry run sends nothing

    const replay = await runOps(server, opsBlock("replay", { step: "replay" }), { [OUTAGE_START]: since });
    expect(replay).toEqual({ data: { replayed: 2 * EVENTS } });
    await waitFor(async () => (await server.app.storage.deliveries.countByStatus()).delivered === 2 * EVENTS, 8000, "the replayed deliveries arrive");
    const arrived = receiver.requests.slice(before);
    expect(arrived.map((r) => r.path).sort()).toEqual([...Array(EVENTS).fill("/a"), ...Array(EVENTS).fill("/b")]);

    // The statuses the guide names: a dry run answers 200, a replay 202 (nothing left to replay now).
    const dry = await server.api("POST", "/v1/deliveries/replay", { since, dry_run: true });
    expect({ status: dry.status, body: dry.body }).toEqual({ status: 200, body: { data: { matched: 0 } } });
    const again = await server.api("POST", "/v1/deliveries/replay", { since });
    expect({ status: again.status, body: again.body }).toEqual({ status: 202, body: { data: { replayed: 0 } } });

    // What is left undelivered is the disabled endpoint's, still expired.
    const after = await runOps(server, opsBlock("replay", { step: "list" }), { [OUTAGE_START]: since });
    expect(after.data.map((d: { webhook_id: string; status: string }) => `${d.webhook_id} ${d.status}`)).toEqual(Array(EVENTS).fill(`${ids[2]} expired`));
  });
});
