import { afterAll, describe, expect, test } from "bun:test";
import { freePort, waitFor } from "../support/process";
import { startReceiver } from "../support/receiver";
import { startTestServer } from "../support/test-server";
import { admin, Cleanups, DELIVERY, deliveriesOf, ENDPOINT_SECRET, ENDPOINT_URL, optionBlock, publish, serve, settle } from "./option-rig";

// docs/receivers.md, "Ordering": the create call runs as printed; hookd delivers through a recording proxy
// to the guide's FIFO receiver. The proxy refuses one event until it expires, so the receiver meets a real
// gap: it must hold the lane with 409 (hookd retrying that head, nothing behind it), then move on, and
// take the expired event as late when an operator sends it again.

const GAP_HOLD = "10 * 60 * 1000";
const cleanups = new Cleanups();
afterAll(() => cleanups.run());

interface Arrival {
  id: string;
  lane: string;
  sequence: string | null;
  at: number;
}

describe("docs/receivers.md: FIFO ordering", () => {
  test("lanes run one at a time in order with X-Hookd-Sequence, and the receiver holds a gap, then moves on", async () => {
    // Five attempts 400 ms apart: an event expires within about 2 s.
    const server = await startTestServer({ delivery: `${DELIVERY}\nretry_schedule = ["400ms", "400ms", "400ms", "400ms"]` });
    cleanups.add(() => server.stop());
    const snippetPort = freePort();
    const snippetUrl = `http://127.0.0.1:${snippetPort}`;

    const arrivals: Arrival[] = [];
    // Lane A's second event is refused at the proxy while this is set, so it fails until it expires.
    const proxyState = { refuseA2: true };
    const inFlight = new Map<string, number>();
    let mostInFlight = 0;
    const forwarded: { headers: Record<string, string>; body: Uint8Array<ArrayBuffer> }[] = [];
    const proxy = startReceiver(async (request, _n, body) => {
      const event = JSON.parse(new TextDecoder().decode(body));
      const lane = String(event.data?.invoice_no ?? "(no key)");
      arrivals.push({ id: event.id, lane, sequence: request.headers.get("x-hookd-sequence"), at: Date.now() });
      inFlight.set(lane, (inFlight.get(lane) ?? 0) + 1);
      mostInFlight = Math.max(mostInFlight, inFlight.get(lane)!);
      try {
        await Bun.sleep(30); // long enough for a second delivery of the lane to overlap, were one sent
        if (proxyState.refuseA2 && event.data?.invoice_no === "INV-A" && event.data?.step === 2) return new Response("refused by the test", { status: 500 });
        const headers = Object.fromEntries([...request.headers].filter(([name]) => name !== "host" && name !== "content-length"));
        forwarded.push({ headers, body });
        const answer = await fetch(`${snippetUrl}/hook`, { method: "POST", headers, body });
        return new Response(await answer.text(), { status: answer.status });
      } finally {
        inFlight.set(lane, inFlight.get(lane)! - 1);
      }
    });
    cleanups.add(() => proxy.stop());

    const created = await admin(server, optionBlock("ordering", "sh", "create"), {
      [ENDPOINT_URL]: `${proxy.url}/hook`,
    });
    expect(created.data, JSON.stringify(created)).toMatchObject({ ordering: "fifo", ordering_key: "/invoice_no" });
    const { snippet } = await serve(cleanups, optionBlock("ordering", "js"), { [ENDPOINT_SECRET]: created.data.secret, [GAP_HOLD]: "700" }, { port: snippetPort });
    const out = snippet.output;

    // Lane A's second event is refused until it expires; lane B goes on meanwhile.
    const a1 = await publish(server, { invoice_no: "INV-A", step: 1 });
    const b1 = await publish(server, { invoice_no: "INV-B", step: 1 });
    const a2 = await publish(server, { invoice_no: "INV-A", step: 2 });
    const a3 = await publish(server, { invoice_no: "INV-A", step: 3 });
    const b2 = await publish(server, { invoice_no: "INV-B", step: 2 });
    const noKey = await publish(server, { note: "no invoice_no" });

    for (const id of [a1, b1, b2, noKey]) await settle(server, id, (d) => d.status === "delivered", `${id} delivered`, out);
    await settle(server, a2, (d) => d.attempts >= 2, `${a2} failing`, out);
    const [waiting] = await deliveriesOf(server, a3);
    expect(waiting!.attempts, "the event behind a failing head waits").toBe(0);
    expect(arrivals.some((a) => a.id === a3)).toBe(false);

    // The head expires; the next one meets the receiver's gap check, is held with 409, then taken.
    const expired = await settle(server, a2, (d) => d.status === "expired", `${a2} expired`, out);
    expect(expired.attempts).toBe(5);
    const heldThenTaken = await settle(server, a3, (d) => d.status === "delivered", `${a3} delivered`, out);
    const history = [...(heldThenTaken.attempt_history ?? [])].sort((x, y) => x.attempted_at.localeCompare(y.attempted_at));
    expect(history.length, JSON.stringify(history)).toBeGreaterThanOrEqual(2);
    expect(history[0]).toMatchObject({ status_code: 409, response: 'gap in lane "INV-A": expected sequence 2, got 3; holding the lane' });
    expect(history.at(-1)).toMatchObject({ status_code: 202 });
    expect(out()).toContain('gap in lane "INV-A": gave up waiting for 2..2');
    const lastA2 = Math.max(...arrivals.filter((a) => a.id === a2).map((a) => a.at));
    expect(Math.min(...arrivals.filter((a) => a.id === a3).map((a) => a.at))).toBeGreaterThan(lastA2);

    // An operator sends the expired event again: it keeps sequence 2 and is taken as late.
    proxyState.refuseA2 = false;
    const retried = await server.api("POST", `/v1/deliveries/${expired.id}/retry`);
    expect(retried.status, retried.text).toBe(202);
    await settle(server, a2, (d) => d.status === "delivered", `${a2} delivered after the retry`, out);
    await waitFor(() => out().includes(`processed late lane="INV-A" seq=2 ${a2}`), 5000, "the late event to be processed");

    // The lane goes on at 4; a test event is outside every lane.
    const a4 = await publish(server, { invoice_no: "INV-A", step: 4 });
    await settle(server, a4, (d) => d.status === "delivered", `${a4} delivered`, out);
    const test = await server.api("POST", `/v1/webhooks/${created.data.id}/test`);
    expect(test.status, test.text).toBe(202);
    const testEvent: string = test.body.data.event_id;
    await waitFor(() => out().includes(`processed unordered ${testEvent} webhook.test`), 5000, "the test event");

    const sequences = (lane: string) => [...new Set(arrivals.filter((a) => a.lane === lane).map((a) => `${a.id}:${a.sequence}`))];
    expect(sequences("INV-A")).toEqual([`${a1}:1`, `${a2}:2`, `${a3}:3`, `${a4}:4`]);
    expect(sequences("INV-B")).toEqual([`${b1}:1`, `${b2}:2`]);
    expect(sequences("(no key)")).toEqual([`${noKey}:1`, `${testEvent}:null`]);
    expect(mostInFlight, "deliveries of one lane in flight at once").toBe(1);

    // Per lane, the receiver processed in sequence order; between lanes hookd promises no order.
    const processed = out().split("\n").filter((l) => l.startsWith("processed "));
    const at = (line: string) => {
      expect(processed, line).toContain(line);
      return processed.indexOf(line);
    };
    const laneA = [`lane="INV-A" seq=1 ${a1}`, `lane="INV-A" seq=3 ${a3}`, `late lane="INV-A" seq=2 ${a2}`, `lane="INV-A" seq=4 ${a4}`];
    const positionsA = laneA.map((l) => at(`processed ${l} invoice.paid`));
    expect(positionsA).toEqual([...positionsA].sort((x, y) => x - y));
    expect(at(`processed lane="INV-B" seq=1 ${b1} invoice.paid`)).toBeLessThan(at(`processed lane="INV-B" seq=2 ${b2} invoice.paid`));
    at(`processed lane=(no key) seq=1 ${noKey} invoice.paid`);
    expect(processed).toHaveLength(8);

    // The same delivery again, straight to the receiver: a duplicate, answered 200 and not processed again.
    const first = forwarded.find((f) => f.headers["webhook-id"] === a1)!;
    const again = await fetch(`${snippetUrl}/hook`, { method: "POST", headers: first.headers, body: first.body });
    expect([again.status, await again.text()]).toEqual([200, "duplicate, already accepted"]);
    // A forged body is refused before any lane is touched.
    const forged = await fetch(`${snippetUrl}/hook`, { method: "POST", headers: { ...first.headers, "x-hookd-sequence": "9" }, body: '{"id":"evt_x","data":{}}' });
    expect(forged.status).toBe(401);
    expect(out().split("\n").filter((l) => l.includes(a1))).toHaveLength(1);
  }, 40_000);
});
