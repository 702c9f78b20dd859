import { describe, expect, test } from "bun:test";
import { DeliveryScheduler } from "../../src/delivery/scheduler";
import { silentLogger } from "../../src/log";
import type { Storage } from "../../src/storage/types";
import { FakeClock } from "../support/fake-clock";

// SPEC §12: on PostgreSQL another node may add work this one never hears of (a lost NOTIFY); the scheduler
// must then still claim within rescanMs. On SQLite (no rescanMs) an idle queue means no timer at all.

/** idleQueue is a storage whose queue is always empty: it only counts the claim rounds. */
function idleQueue(wakeAt: () => number | null = () => null) {
  const calls = { claims: 0 };
  const deliveries = {
    releaseAbandoned: async () => 0,
    claimDue: async () => {
      calls.claims++;
      return [];
    },
    nextWakeAt: async () => wakeAt(),
    release: async () => 0,
  };
  return { calls, storage: { deliveries } as unknown as Storage };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

function scheduler(storage: Storage, clock: FakeClock, rescanMs?: number) {
  return new DeliveryScheduler({
    storage,
    send: async () => ({ kind: "network", error: "unused" }) as never,
    clock,
    log: silentLogger,
    concurrency: 4,
    perEndpointConcurrency: 1,
    disableAfterMs: 0,
    owner: "node-a",
    timeoutMs: 1000,
    retrySchedule: [],
    userAgent: "test",
    rescanMs,
  });
}

describe("DeliveryScheduler rescanMs", () => {
  test("with rescanMs = 5000 an idle node claims again every 5 s without being woken", async () => {
    const clock = new FakeClock(0);
    const { calls, storage } = idleQueue();
    const s = scheduler(storage, clock, 5000);
    await s.start();
    await settle();
    expect(calls.claims).toBe(1);
    for (let round = 2; round <= 4; round++) {
      clock.advance(4999);
      await settle();
      expect(calls.claims).toBe(round - 1);
      clock.advance(1);
      await settle();
      expect(calls.claims).toBe(round);
    }
    await s.stop(0);
  });

  test("a due time sooner than the rescan still wins", async () => {
    const clock = new FakeClock(0);
    const { calls, storage } = idleQueue(() => clock.now() + 300);
    const s = scheduler(storage, clock, 5000);
    await s.start();
    await settle();
    clock.advance(300);
    await settle();
    expect(calls.claims).toBe(2);
    await s.stop(0);
  });

  test("without rescanMs (SQLite) an idle queue arms no timer: it sleeps until woken", async () => {
    const clock = new FakeClock(0);
    const { calls, storage } = idleQueue();
    const s = scheduler(storage, clock);
    await s.start();
    await settle();
    expect(clock.pendingTimers).toBe(0);
    clock.advance(60_000);
    await settle();
    expect(calls.claims).toBe(1);
    await s.stop(0);
  });
});
