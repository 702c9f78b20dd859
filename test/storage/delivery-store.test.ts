import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildEvent } from "../../src/events/envelope";
import { newId } from "../../src/ids";
import { openSqliteStorage } from "../../src/storage/sqlite/storage";
import type { Storage, WebhookRecord } from "../../src/storage/types";
import { FakeClock } from "../support/fake-clock";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function open(dir?: string): { storage: Storage; dir: string; clock: FakeClock } {
  const d = dir ?? mkdtempSync(join(tmpdir(), "hookd-store-"));
  if (!dir) dirs.push(d);
  const clock = new FakeClock();
  return { storage: openSqliteStorage(join(d, "hookd.db"), clock), dir: d, clock };
}

function webhook(now: number): WebhookRecord {
  return {
    id: newId("wh"), url: "https://hooks.example/", events: ["*"], description: "", status: "active", secret: "whsec_x",
    failure_count: 0, last_failure_at: null, failing_since: null, created_at: now, updated_at: now,
  };
}

describe("delivery store", () => {
  test("a delivery leased when its endpoint was deleted and its worker died is expired at the next start, not left due", async () => {
    const a = open();
    const w = webhook(a.clock.now());
    a.storage.webhooks.create(w, 10);
    await a.storage.events.insert(buildEvent("a.b", "{}", "api", a.clock.now()));
    const claimed = await a.storage.deliveries.claimDue(new Map([[w.id, 8]]), 8, a.clock.now(), 60_000);
    expect(claimed).toHaveLength(1);
    a.storage.webhooks.remove(w.id, a.clock.now()); // leased: left to the worker, which then "dies"
    a.storage.close();

    const b = open(a.dir);
    b.storage.deliveries.releaseLeases(b.clock.now());
    const d = b.storage.deliveries.get(claimed[0]!.id)!;
    expect(d.status).toBe("expired");
    expect(d.next_attempt_at).toBeNull();
    expect(d.last_error).toBe("endpoint_deleted");
    expect(b.storage.deliveries.oldestUnfinishedAt()).toBeNull();
    b.storage.close();
  });

  test("re-enabling an endpoint clears its failure record, so disable_after does not strike at the next failure", async () => {
    const a = open();
    const w = webhook(a.clock.now());
    a.storage.webhooks.create(w, 10);
    await a.storage.events.insert(buildEvent("a.b", "{}", "api", a.clock.now()));
    const [d] = await a.storage.deliveries.claimDue(new Map([[w.id, 8]]), 8, a.clock.now(), 60_000);
    const fail = (at: number) => ({
      attemptId: newId("att"), deliveryId: d!.id, webhookId: w.id, attemptedAt: at, durationMs: 1, statusCode: 500,
      error: "HTTP 500", response: "", ok: false, nextAttemptAt: at + 1000, gone: false,
    });
    const disableAfter = 60 * 60_000;
    await a.storage.deliveries.complete([fail(a.clock.now())], a.clock.now(), disableAfter);
    a.clock.advance(2 * disableAfter);
    const out = await a.storage.deliveries.complete([fail(a.clock.now())], a.clock.now(), disableAfter);
    expect(out.disabled).toEqual([{ webhookId: w.id, reason: "failing" }]);
    const enabled = a.storage.webhooks.update(w.id, { status: "active" }, a.clock.now())!;
    expect(enabled.failure_count).toBe(0);
    expect(enabled.failing_since).toBeNull();
    await a.storage.events.insert(buildEvent("a.b", "{}", "api", a.clock.now()));
    const [again] = await a.storage.deliveries.claimDue(new Map([[w.id, 8]]), 8, a.clock.now(), 60_000);
    const after = await a.storage.deliveries.complete([{ ...fail(a.clock.now()), deliveryId: again!.id }], a.clock.now(), disableAfter);
    expect(after.disabled).toEqual([]);
    a.storage.close();
  });
});
