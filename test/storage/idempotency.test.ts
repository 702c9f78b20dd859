import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildEvent } from "../../src/events/envelope";
import { openSqliteStorage } from "../../src/storage/sqlite/storage";
import { FakeClock } from "../support/fake-clock";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const HOUR = 60 * 60 * 1000;

function open(dir = mkdtempSync(join(tmpdir(), "hookd-idem-"))) {
  dirs.push(dir);
  const clock = new FakeClock();
  return { dir, clock, storage: openSqliteStorage(join(dir, "hookd.db"), clock) };
}

describe("Idempotency-Key answers commit with what they describe", () => {
  test("the answer is stored in the event's transaction: a replay finds it", async () => {
    const { storage, clock } = open();
    expect(storage.idempotency.begin("k POST /v1/events", "key-1", "h", clock.now(), 24 * HOUR, 60_000).kind).toBe("started");
    const event = buildEvent("a.b", "{}", "api", clock.now());
    await storage.events.insert(event, {
      alsoInTransaction: () => storage.idempotency.complete("k POST /v1/events", "key-1", 202, `{"id":"${event.id}"}`, "application/json", clock.now()),
    });
    const again = storage.idempotency.begin("k POST /v1/events", "key-1", "h", clock.now(), 24 * HOUR, 60_000);
    expect(again).toEqual({ kind: "replay", status: 202, body: `{"id":"${event.id}"}`, contentType: "application/json" });
    storage.close();
  });

  test("if recording the answer fails, the event is not stored either", async () => {
    const { storage, clock } = open();
    const event = buildEvent("a.b", "{}", "api", clock.now());
    await expect(storage.events.insert(event, { alsoInTransaction: () => { throw new Error("disk trouble"); } })).rejects.toThrow("disk trouble");
    expect(storage.events.get(event.id)).toBeNull();
    storage.close();
  });

  test("a claim left running by a process that died is retryable at once after a restart", () => {
    const a = open();
    expect(a.storage.idempotency.begin("s", "k", "h", a.clock.now(), 24 * HOUR, 60_000).kind).toBe("started");
    expect(a.storage.idempotency.begin("s", "k", "h", a.clock.now(), 24 * HOUR, 60_000).kind).toBe("in_progress");
    a.storage.close();
    const b = open(a.dir);
    expect(b.storage.idempotency.releaseAbandoned()).toBe(1);
    expect(b.storage.idempotency.begin("s", "k", "h", b.clock.now(), 24 * HOUR, 60_000).kind).toBe("started");
    b.storage.close();
  });
});
