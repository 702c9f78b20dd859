import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { type HookdProcess, hookdSite } from "../support/hookd-process";
import { waitFor } from "../support/process";
import { type Receiver, startReceiver } from "../support/receiver";
import { startTestServer, type TestServer } from "../support/test-server";

// Issue 16, must show 1: each option against a real hookd delivering to real local receivers.
const DELIVERY = [
  "require_https = false",
  'allow_targets = ["127.0.0.0/8"]',
  'retry_schedule = ["100ms", "100ms", "100ms", "100ms"]',
  'timeout = "5s"',
  "max_endpoints = 50",
].join("\n");

let server: TestServer;
const cleanup: (() => unknown)[] = [];
beforeAll(async () => {
  server = await startTestServer({ delivery: DELIVERY });
});
afterAll(async () => {
  await server.stop();
});
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function receiver(handler?: Parameters<typeof startReceiver>[0]): Receiver {
  const r = startReceiver(handler);
  cleanup.push(() => r.stop());
  return r;
}

let typeCounter = 0;
/** endpoint subscribes a receiver path to a type of its own, with the given options. */
async function endpoint(r: Receiver, options: Record<string, unknown> = {}) {
  const type = `opt${++typeCounter}.happened`;
  const answer = await server.api("POST", "/v1/webhooks", { url: `${r.url}/hook`, events: [type], ...options });
  expect(answer.status).toBe(201);
  return { ...answer.body.data, type };
}

async function publish(type: string, data: unknown): Promise<string> {
  const answer = await server.api("POST", "/v1/events", { type, data });
  expect(answer.status).toBe(202);
  return answer.body.data.id;
}

/** Concurrency tracks how many requests a receiver is answering at once, overall and per key. */
function concurrency() {
  const now = new Map<string, number>();
  const max = new Map<string, number>();
  return {
    enter(key: string) {
      const n = (now.get(key) ?? 0) + 1;
      now.set(key, n);
      max.set(key, Math.max(max.get(key) ?? 0, n));
    },
    leave(key: string) {
      now.set(key, (now.get(key) ?? 1) - 1);
    },
    max: (key: string) => max.get(key) ?? 0,
  };
}

const dataOf = (body: string) => (JSON.parse(body) as { data: any }).data;

describe("custom headers", () => {
  test("arrive on every attempt, are masked on every read, and cannot replace hookd's own", async () => {
    const r = receiver();
    const w = await endpoint(r, { headers: { "X-Api-Key": "k-123", "X-Tenant": "plant-7" } });
    expect(w.headers).toEqual({ "X-Api-Key": "********", "X-Tenant": "plant-7" });
    expect((await server.api("GET", `/v1/webhooks/${w.id}`)).body.data.headers).toEqual({ "X-Api-Key": "********", "X-Tenant": "plant-7" });
    const listed = (await server.api("GET", "/v1/webhooks")).body.data.find((e: any) => e.id === w.id);
    expect(listed.headers["X-Api-Key"]).toBe("********");

    const eventId = await publish(w.type, { n: 1 });
    await waitFor(() => r.requests.length === 1, 5000, "delivery");
    const got = r.requests[0]!.headers;
    expect(got["x-api-key"]).toBe("k-123");
    expect(got["x-tenant"]).toBe("plant-7");
    expect(got["webhook-id"]).toBe(eventId);
    expect(got["x-hookd-event"]).toBe(w.type);

    for (const name of ["X-Hookd-Event", "webhook-id", "Content-Type", "User-Agent", "Host"]) {
      const refused = await server.api("PATCH", `/v1/webhooks/${w.id}`, { headers: { [name]: "forged" } });
      expect(refused.status).toBe(422);
      expect(JSON.stringify(refused.body.error.details)).toContain("headers");
    }
    // Sending the mask back keeps the stored value.
    const kept = await server.api("PATCH", `/v1/webhooks/${w.id}`, { headers: { "X-Api-Key": "********", "X-Tenant": "plant-8" } });
    expect(kept.status).toBe(200);
    await publish(w.type, { n: 2 });
    await waitFor(() => r.requests.length === 2, 5000, "second delivery");
    expect(r.requests[1]!.headers["x-api-key"]).toBe("k-123");
    expect(r.requests[1]!.headers["x-tenant"]).toBe("plant-8");
  });

  test("a receiver echoing the key back does not put it into the stored attempt", async () => {
    const r = receiver((req) => new Response(`you sent key=${req.headers.get("x-api-key")} tenant=${req.headers.get("x-tenant")}`));
    const w = await endpoint(r, { headers: { "X-Api-Key": "k-echoed-4711", "X-Tenant": "plant-7" } });
    await publish(w.type, {});
    await waitFor(() => r.requests.length === 1, 5000, "delivery");
    let d: any;
    await waitFor(async () => {
      const list = (await server.api("GET", `/v1/webhooks/${w.id}/deliveries`)).body.data;
      d = list[0] && (await server.api("GET", `/v1/deliveries/${list[0].id}`)).body.data;
      return d?.status === "delivered";
    }, 5000, "delivered");
    expect(d.last_response).toBe("you sent key=******** tenant=plant-7");
    expect(d.attempt_history[0].response).toBe("you sent key=******** tenant=plant-7");
  });

  test("a key set for one host is never sent to another: an origin change must send it again", async () => {
    const r = receiver();
    const other = receiver();
    const w = await endpoint(r, { headers: { Authorization: "Bearer abc" } });
    const refused = await server.api("PATCH", `/v1/webhooks/${w.id}`, { url: `${other.url}/hook` });
    expect(refused.status).toBe(422);
    expect(JSON.stringify(refused.body.error.details)).toContain("headers");
    const masked = await server.api("PATCH", `/v1/webhooks/${w.id}`, { url: `${other.url}/hook`, headers: { Authorization: "********" } });
    expect(masked.status).toBe(422);
    const moved = await server.api("PATCH", `/v1/webhooks/${w.id}`, { url: `${other.url}/hook`, headers: { Authorization: "Bearer other" } });
    expect(moved.status).toBe(200);
    await publish(w.type, {});
    await waitFor(() => other.requests.length === 1, 5000, "delivery to the new host");
    expect(other.requests[0]!.headers.authorization).toBe("Bearer other");
    expect(r.requests.length).toBe(0);
  });
});

describe("concurrent PATCHes", () => {
  test("a key kept with \"********\" never rides along to a new origin set by a PATCH racing it", async () => {
    const r = receiver();
    const other = receiver();
    const w = await endpoint(r, { headers: { Authorization: "Bearer old-host-key" } });
    const [move, keep] = await Promise.all([
      server.api("PATCH", `/v1/webhooks/${w.id}`, { url: `${other.url}/hook`, headers: { Authorization: "Bearer new-host-key" } }),
      server.api("PATCH", `/v1/webhooks/${w.id}`, { headers: { Authorization: "********", "X-Extra": "1" } }),
    ]);
    expect([move.status, keep.status]).toEqual([200, 200]);
    await publish(w.type, {});
    await waitFor(() => other.requests.length === 1, 5000, "delivery to the new host");
    expect(other.requests[0]!.headers.authorization).toBe("Bearer new-host-key");
  });
});

describe("timeout", () => {
  test("a 2 s receiver fails an endpoint whose timeout is 1 s", async () => {
    const r = receiver(async () => {
      await Bun.sleep(2000);
      return new Response("late");
    });
    const w = await endpoint(r, { timeout: "1s" });
    expect(w.timeout).toBe("1s");
    await publish(w.type, {});
    let d: any;
    await waitFor(async () => {
      const list = (await server.api("GET", `/v1/webhooks/${w.id}/deliveries`)).body.data;
      d = list[0] && (await server.api("GET", `/v1/deliveries/${list[0].id}`)).body.data;
      return d !== undefined && d.attempts >= 1;
    }, 8000, "first attempt recorded");
    expect(d.attempt_history[0].error).toContain("timeout after 1000 ms");
    expect(d.attempt_history[0].duration_ms).toBeLessThan(1800);
    // Further retries would wait for the slow receiver again; stop them.
    await server.api("DELETE", `/v1/webhooks/${w.id}`);
  }, 15_000);
});

describe("rate_limit", () => {
  test("rate_limit = 5 spreads 50 deliveries over at least 9 s, with no failed attempt", async () => {
    const r = receiver();
    const w = await endpoint(r, { rate_limit: 5 });
    expect(w.rate_limit).toBe(5);
    // Published at once, so the first second's claims are not slowed by publishing that the last ones do not see.
    await Promise.all(Array.from({ length: 50 }, (_v, i) => publish(w.type, { i })));
    await waitFor(() => r.requests.length >= 50, 20_000, "50 deliveries");
    const times = r.requests.map((q) => q.at).sort((a, b) => a - b);
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(9000);
    // Never more than 5 within any second (hookd counts its claims; measured here at the receiver, with
    // 200 ms allowed for scheduling jitter on a loaded machine — unpaced, all 50 arrive within ~50 ms).
    for (let i = 5; i < times.length; i++) expect(times[i]! - times[i - 5]!).toBeGreaterThanOrEqual(800);
    // The last answers may still be being recorded when they have arrived.
    let deliveries: any[] = [];
    await waitFor(async () => {
      deliveries = (await server.api("GET", `/v1/webhooks/${w.id}/deliveries?limit=100`)).body.data;
      return deliveries.every((d) => d.status !== "pending");
    }, 5000, "every attempt recorded");
    expect(deliveries).toHaveLength(50);
    for (const d of deliveries) {
      expect(d.status).toBe("delivered");
      expect(d.attempts).toBe(1);
    }
    expect((await server.api("GET", `/v1/webhooks/${w.id}`)).body.data.failure_count).toBe(0);
  }, 30_000);
});

describe("ordering = fifo", () => {
  test("100 events to a receiver that fails the 10th request twice arrive in stored order, never two at once", async () => {
    const inFlight = concurrency();
    const r = receiver(async (_req, n) => {
      inFlight.enter("all");
      await Bun.sleep(2);
      inFlight.leave("all");
      return n === 9 || n === 10 ? new Response("not now", { status: 500 }) : new Response("ok");
    });
    const w = await endpoint(r, { ordering: "fifo" });
    expect(w.ordering).toBe("fifo");
    expect(w.ordering_key).toBeNull();
    const ids: string[] = [];
    for (let i = 0; i < 100; i++) ids.push(await publish(w.type, { i }));
    await waitFor(() => r.requests.length >= 102, 20_000, "100 deliveries and 2 retries");
    const ok = r.requests.filter((_q, n) => n !== 9 && n !== 10);
    expect(ok.map((q) => q.headers["webhook-id"])).toEqual(ids);
    expect(ok.map((q) => Number(q.headers["x-hookd-sequence"]))).toEqual(ids.map((_id, i) => i + 1));
    // The failed head was sent three times in a row before anything behind it.
    expect(r.requests.slice(8, 12).map((q) => q.headers["webhook-id"])).toEqual([ids[8], ids[9], ids[9], ids[9]]);
    expect(inFlight.max("all")).toBe(1);
  }, 30_000);

  test('with ordering_key = "/doc" two documents interleave, each in order, one in flight per document', async () => {
    const inFlight = concurrency();
    const r = receiver(async (_req, _n, body) => {
      const doc = dataOf(new TextDecoder().decode(body)).doc as string;
      inFlight.enter(doc);
      inFlight.enter("all");
      await Bun.sleep(15);
      inFlight.leave("all");
      inFlight.leave(doc);
      return new Response("ok");
    });
    const w = await endpoint(r, { ordering: "fifo", ordering_key: "/doc" });
    expect(w.ordering_key).toBe("/doc");
    const sent: Record<string, number[]> = { A: [], B: [] };
    for (let i = 0; i < 40; i++) {
      const doc = i % 2 === 0 ? "A" : "B";
      await publish(w.type, { doc, step: i });
      sent[doc]!.push(i);
    }
    await waitFor(() => r.requests.length >= 40, 20_000, "40 deliveries");
    const arrived = r.requests.map((q) => ({ ...dataOf(q.body), seq: Number(q.headers["x-hookd-sequence"]) }));
    for (const doc of ["A", "B"]) {
      const mine = arrived.filter((a) => a.doc === doc);
      expect(mine.map((a) => a.step)).toEqual(sent[doc]!);
      expect(mine.map((a) => a.seq)).toEqual(sent[doc]!.map((_s, i) => i + 1));
      expect(inFlight.max(doc)).toBe(1);
    }
    // The two lanes ran side by side.
    expect(inFlight.max("all")).toBe(2);
  }, 30_000);
});

describe("fifo order across a crash", () => {
  test("kill -9 mid-stream and restart: first arrivals stay in stored order and sequences never go back", async () => {
    const site = hookdSite({ delivery: DELIVERY });
    let h: HookdProcess = await site.start();
    cleanup.push(() => h.proc.kill("SIGKILL"));
    let inFlight = 0;
    let maxInFlight = 0;
    const r = receiver(async () => {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await Bun.sleep(40);
      inFlight--;
      return new Response("ok");
    });
    const created = await h.api("POST", "/v1/webhooks", { url: `${r.url}/hook`, events: ["doc.changed"], ordering: "fifo" });
    expect(created.status).toBe(201);
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const answer = await h.api("POST", "/v1/events", { type: "doc.changed", data: { i } });
      expect(answer.status).toBe(202);
      ids.push(answer.body.data.id);
    }
    await waitFor(() => r.requests.length >= 10, 10_000, "10 deliveries before the kill");
    h.proc.kill("SIGKILL");
    await h.proc.exited;
    h = await site.start();
    const firstArrivals = () => [...new Set(r.requests.map((q) => q.headers["webhook-id"]))];
    await waitFor(() => firstArrivals().length === 40, 20_000, "all 40 after restart");
    expect(firstArrivals()).toEqual(ids);
    const sequences = r.requests.map((q) => Number(q.headers["x-hookd-sequence"]));
    for (let i = 1; i < sequences.length; i++) expect(sequences[i]!).toBeGreaterThanOrEqual(sequences[i - 1]!);
    expect(maxInFlight).toBe(1);
    h.proc.kill("SIGTERM");
    expect(await h.proc.exited).toBe(0);
  }, 45_000);
});
