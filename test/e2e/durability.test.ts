import { afterEach, describe, expect, test } from "bun:test";
import { type HookdProcess, hookdSite } from "../support/hookd-process";
import { freePort, waitFor } from "../support/process";
import { type Receiver, startReceiver } from "../support/receiver";

// hookd is a real child process here: SIGKILL gives it no chance to flush, release or say goodbye.
const DELIVERY = [
  "require_https = false",
  'allow_targets = ["127.0.0.0/8"]',
  'retry_schedule = ["100ms", "200ms", "400ms", "800ms", "1s", "1s", "1s", "1s", "1s", "1s", "1s", "1s"]',
  'timeout = "10s"',
].join("\n");

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function publish(h: HookdProcess, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const answer = await h.api("POST", "/v1/events", { type: "order.created", data: { i } });
    expect(answer.status).toBe(202);
    ids.push(answer.body.data.id);
  }
  return ids;
}

const arrivedIds = (r: Receiver) => new Set(r.requests.map((q) => q.headers["webhook-id"]));

describe("an acknowledged event survives kill -9", () => {
  test("published while the receiver is down, hookd killed, restarted: every event arrives", async () => {
    const site = hookdSite({ delivery: DELIVERY });
    const receiverPort = freePort(); // nothing listens yet: every attempt is refused
    let h = await site.start();
    cleanup.push(() => h.proc.kill("SIGKILL"));
    const w = await h.api("POST", "/v1/webhooks", { url: `http://127.0.0.1:${receiverPort}/hook`, events: ["*"] });
    expect(w.status).toBe(201);
    const ids = await publish(h, 40);
    h.proc.kill("SIGKILL");
    expect(await h.proc.exited).not.toBe(0);

    const receiver = startReceiver(undefined, receiverPort);
    cleanup.push(() => receiver.stop());
    h = await site.start();
    await waitFor(() => ids.every((id) => arrivedIds(receiver).has(id)), 15_000, "all 40 events delivered after restart");
    expect(arrivedIds(receiver).size).toBe(40);
    h.proc.kill("SIGTERM");
    expect(await h.proc.exited).toBe(0);
  }, 30_000);

  test("killed with deliveries in flight to a slow receiver: leases are released at restart and every event arrives", async () => {
    const site = hookdSite({ delivery: DELIVERY });
    let slow = true;
    // Only answers given after the restart count: a slow answer finishing late must not pass for a re-send.
    const afterRestart = new Set<string>();
    const receiver = startReceiver(async (request) => {
      if (slow) {
        await Bun.sleep(5_000);
        return new Response("late");
      }
      afterRestart.add(request.headers.get("webhook-id") ?? "");
      return new Response("ok");
    });
    cleanup.push(() => receiver.stop());
    let h = await site.start();
    cleanup.push(() => h.proc.kill("SIGKILL"));
    await h.api("POST", "/v1/webhooks", { url: `${receiver.url}/slow`, events: ["*"] });
    const ids = await publish(h, 20);
    await waitFor(() => receiver.started >= 8, 5000, "deliveries in flight"); // per_endpoint_concurrency = 8
    h.proc.kill("SIGKILL");
    await h.proc.exited;

    slow = false;
    h = await site.start();
    // The 8 leased when hookd died come back at once only if the restart releases their leases
    // (otherwise they wait out a lease of timeout × 2 + 30 s).
    await waitFor(() => ids.every((id) => afterRestart.has(id)), 15_000, "all 20 events delivered after restart");
    h.proc.kill("SIGTERM");
    expect(await h.proc.exited).toBe(0);
  }, 30_000);
});

describe("graceful shutdown", () => {
  test("SIGTERM waits for an attempt in flight, records it, and exits 0", async () => {
    const site = hookdSite({ delivery: DELIVERY });
    // The receiver holds its answer until the test lets go, so SIGTERM lands inside the attempt however slow the machine.
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const receiver = startReceiver(async () => {
      await held;
      return new Response("ok");
    });
    cleanup.push(() => receiver.stop());
    cleanup.push(() => release());
    let h = await site.start();
    cleanup.push(() => h.proc.kill("SIGKILL"));
    const w = (await h.api("POST", "/v1/webhooks", { url: `${receiver.url}/graceful`, events: ["*"] })).body.data;
    await publish(h, 1);
    await waitFor(() => receiver.started === 1, 5000, "attempt in flight");
    const stopping = performance.now();
    h.proc.kill("SIGTERM");
    // Shutdown closes the listener first and then waits for the attempt, which cannot finish until released.
    const refused = async () => {
      try {
        await fetch(`${h.url}/healthz`);
        return false;
      } catch {
        return true;
      }
    };
    await waitFor(refused, 5000, "hookd to stop listening after SIGTERM");
    expect(h.proc.exitCode).toBeNull();
    release();
    expect(await h.proc.exited).toBe(0);
    expect(performance.now() - stopping).toBeLessThan(10_000 + 3_000);

    h = await site.start();
    const list = await h.api("GET", `/v1/webhooks/${w.id}/deliveries`);
    expect(list.body.data[0]).toMatchObject({ status: "delivered", attempts: 1 });
    expect(receiver.started).toBe(1);
    h.proc.kill("SIGTERM");
    await h.proc.exited;
  }, 30_000);
});
