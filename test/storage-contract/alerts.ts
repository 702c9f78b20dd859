import { describe, expect, test } from "bun:test";
import { createOperationalEvents } from "../../src/alerts";
import type { EventRecord, OperationalEvents } from "../../src/storage/types";
import { addWebhook, claim, complete, fail, type Fixture, MIN, ok, publish, SEC, useBackend, type BackendFactory } from "./harness";

/** CONTRACT_ALERTS: `[alerts]` as the alerts contract opens storage with. */
export const CONTRACT_ALERTS: OperationalEvents = createOperationalEvents({ failingAfter: 3, backlogAgeMs: 15 * MIN });

const dataOf = (e: EventRecord) => JSON.parse(e.body).data;

async function stored(f: Fixture, type: string): Promise<EventRecord[]> {
  return (await f.s.events.list({ limit: 500, type })).reverse();
}

/** opsSetup: an endpoint subscribed to hookd.*, one to "*", and the endpoint under test (type a.b, a secret path). */
async function opsSetup(f: Fixture) {
  const ops = await addWebhook(f, { events: ["hookd.*"], url: "https://ops.example/hook" });
  const star = await addWebhook(f, { events: ["*"], url: "https://star.example/hook" });
  const target = await addWebhook(f, { events: ["a.b"], url: "https://chat.example:8443/services/T0/SECRET?token=x" });
  return { ops, star, target };
}

/** fannedTo: which endpoints the stored operational event went to (must be ops alone). */
async function fannedTo(f: Fixture, e: EventRecord): Promise<string[]> {
  return (await f.s.deliveries.listForEvent(e.id)).map((d) => d.webhook_id);
}

/**
 * alertsContract checks SPEC §11's operational events through the Storage interface, storage opened
 * with CONTRACT_ALERTS (failing_after 3, backlog_age 15m): each is stored in the transaction that
 * causes it, fanned out like any event (to "hookd.*", not to "*"), with its facts.
 */
export function alertsContract(name: string, factory: BackendFactory): void {
  describe(`storage contract: ${name}: operational events`, () => {
    const f = useBackend(factory);

    test("a 410 stores one hookd.endpoint.disabled counting the deliveries that expired with it", async () => {
      const { ops, target } = await opsSetup(f);
      for (let i = 0; i < 3; i++) await publish(f);
      const mine = (await claim(f, { perEndpoint: 1 })).filter((d) => d.webhook_id === target.id);
      await complete(f, [fail(f, mine[0]!, 5 * SEC, { statusCode: 410, error: "HTTP 410", gone: true })]);
      const [event, ...more] = await stored(f, "hookd.endpoint.disabled");
      expect(more).toEqual([]);
      expect(event!.origin).toBe("hookd");
      expect(dataOf(event!)).toEqual({ webhook_id: target.id, url: "https://chat.example:8443", reason: "gone", expired: 3 });
      expect(await fannedTo(f, event!)).toEqual([ops.id]);
      expect(await stored(f, "hookd.deliveries.expired")).toEqual([]);
    });

    test("disable_after stores reason failing", async () => {
      const { target } = await opsSetup(f);
      await publish(f);
      const [d] = (await claim(f)).filter((c) => c.webhook_id === target.id);
      await complete(f, [fail(f, d!, 5 * SEC)], MIN);
      f.clock.advance(MIN);
      const [again] = (await claim(f)).filter((c) => c.webhook_id === target.id);
      await complete(f, [fail(f, again!, 5 * SEC)], MIN);
      expect((await stored(f, "hookd.endpoint.disabled")).map(dataOf)).toEqual([
        { webhook_id: target.id, url: "https://chat.example:8443", reason: "failing", expired: 1 },
      ]);
    });

    test.each([["api"], ["deleted"]])("disabling or deleting through the API stores reason %s", async (reason) => {
      const { ops, target } = await opsSetup(f);
      await publish(f);
      await publish(f);
      if (reason === "api") await f.s.webhooks.update(target.id, { status: "disabled" }, f.clock.now());
      else expect(await f.s.webhooks.remove(target.id, f.clock.now())).toBe(true);
      const [event, ...more] = await stored(f, "hookd.endpoint.disabled");
      expect(more).toEqual([]);
      expect(dataOf(event!)).toEqual({ webhook_id: target.id, url: "https://chat.example:8443", reason, expired: 2 });
      expect(await fannedTo(f, event!)).toEqual([ops.id]);
    });

    test("failing once per streak at failing_after, across a restart; recovered at the next success", async () => {
      const { target } = await opsSetup(f);
      const t0 = f.clock.now();
      for (let i = 1; i <= 4; i++) {
        await publish(f);
        const mine = (await claim(f)).filter((c) => c.webhook_id === target.id);
        await complete(f, mine.map((d) => fail(f, d, 5 * MIN)));
        if (i === 3) await f.backend.reopen();
        f.clock.advance(SEC);
      }
      const failing = await stored(f, "hookd.endpoint.failing");
      expect(failing.map(dataOf)).toEqual([
        { webhook_id: target.id, url: "https://chat.example:8443", failure_count: 3, failing_since: new Date(t0).toISOString(), last_error: "HTTP 500" },
      ]);
      await f.backend.reopen();
      await publish(f);
      const [d] = (await claim(f)).filter((c) => c.webhook_id === target.id && c.attempts === 0);
      await complete(f, [ok(f, d!)]);
      expect((await stored(f, "hookd.endpoint.recovered")).map(dataOf)).toEqual([
        { webhook_id: target.id, url: "https://chat.example:8443", failing_since: new Date(t0).toISOString(), recovered_at: new Date(f.clock.now()).toISOString() },
      ]);
    });

    test("50 expiries in a minute: the first stored at once, the other 49 in one event when the minute ends, also after a restart", async () => {
      const { ops, target } = await opsSetup(f);
      for (let i = 0; i < 50; i++) await publish(f);
      const mine = (await claim(f)).filter((c) => c.webhook_id === target.id);
      expect(mine).toHaveLength(50);
      for (let i = 0; i < 50; i += 10) {
        await complete(f, mine.slice(i, i + 10).map((d) => fail(f, d, null)));
        f.clock.advance(SEC);
      }
      const first = await stored(f, "hookd.deliveries.expired");
      expect(first.map(dataOf)).toEqual([
        { webhook_id: target.id, url: "https://chat.example:8443", count: 1, delivery_ids: [mine[0]!.id], event_types: ["a.b"], last_error: "HTTP 500" },
      ]);
      expect(await f.s.alerts.flushExpiries(f.clock.now())).toBe(0);
      await f.backend.reopen();
      f.clock.advance(MIN);
      expect(await f.s.alerts.flushExpiries(f.clock.now())).toBe(1);
      const events = await stored(f, "hookd.deliveries.expired");
      expect(events).toHaveLength(2);
      expect(dataOf(events[1]!)).toEqual({
        webhook_id: target.id, url: "https://chat.example:8443", count: 49, delivery_ids: mine.slice(1, 21).map((d) => d.id),
        event_types: ["a.b"], last_error: "HTTP 500",
      });
      expect(await fannedTo(f, events[1]!)).toEqual([ops.id]);
      expect(await f.s.alerts.flushExpiries(f.clock.now() + MIN)).toBe(0);
    });

    test("deliveries of hookd.* events that expire store nothing", async () => {
      const { ops, target } = await opsSetup(f);
      await f.s.webhooks.remove(target.id, f.clock.now());
      const [d] = await claim(f);
      expect(d!.webhook_id).toBe(ops.id);
      await complete(f, [fail(f, d!, null)]);
      expect((await f.s.deliveries.get(d!.id))!.status).toBe("expired");
      f.clock.advance(2 * MIN);
      await f.s.alerts.flushExpiries(f.clock.now());
      expect(await stored(f, "hookd.deliveries.expired")).toEqual([]);
    });

    test("backlog: reported once when older than backlog_age, cleared once when it is gone", async () => {
      const { ops, target } = await opsSetup(f);
      await f.s.webhooks.remove(ops.id, f.clock.now());
      const created = f.clock.now();
      await publish(f);
      expect(await f.s.alerts.checkBacklog(f.clock.now())).toBeNull();
      f.clock.advance(15 * MIN);
      expect(await f.s.alerts.checkBacklog(f.clock.now())).toBeNull();
      f.clock.advance(SEC);
      expect(await f.s.alerts.checkBacklog(f.clock.now())).toBe("hookd.queue.backlog");
      expect(await f.s.alerts.checkBacklog(f.clock.now() + 10 * SEC)).toBeNull();
      await f.backend.reopen();
      expect(await f.s.alerts.checkBacklog(f.clock.now() + 20 * SEC)).toBeNull();
      const [backlog] = await stored(f, "hookd.queue.backlog");
      // Two deliveries: the target's and the "*" endpoint's of the one event.
      expect(dataOf(backlog!)).toEqual({ oldest_pending_at: new Date(created).toISOString(), pending: 2 });
      await complete(f, (await claim(f)).map((d) => ok(f, d)));
      expect(await f.s.alerts.checkBacklog(f.clock.now())).toBe("hookd.queue.backlog_cleared");
      expect(await f.s.alerts.checkBacklog(f.clock.now())).toBeNull();
      expect((await stored(f, "hookd.queue.backlog_cleared")).map(dataOf)).toEqual([{ pending: 0 }]);
      expect(target.id).toBeTruthy();
    });
  });
}
