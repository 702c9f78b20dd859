import { describe, expect, test } from "bun:test";
import type { AttemptDecision, EndpointState } from "../../src/storage/types";
import { HOUR, SEC, addWebhook, claim, complete, fail, type Fixture, ok, publish, publishMany } from "./harness";

/** outcomesContract: complete saves decide's verdict on the delivery, its attempt and its endpoint (SPEC §6). */
export function outcomesContract(f: Fixture): void {
  describe("complete outcomes", () => {
    const failure = { ok: false, statusCode: 500, error: "HTTP 500" };
    test.each([
      ["a 2xx delivers", {}, null, { status: "delivered", next: null, error: null, delivered: true }, { failed: false, disabled: false }],
      ["a 500 with retries left schedules one", failure, 7 * SEC, { status: "failed", next: 7 * SEC, error: "HTTP 500", delivered: false },
        { failed: true, disabled: false }],
      ["a 500 with the schedule used up expires", failure, null, { status: "expired", next: null, error: "HTTP 500", delivered: false },
        { failed: true, disabled: false }],
      ["a timeout is a failure without a status code", { ...failure, statusCode: null, error: "timeout" }, 7 * SEC,
        { status: "failed", next: 7 * SEC, error: "timeout", delivered: false }, { failed: true, disabled: false }],
      ["a 410 expires and disables the endpoint", { ...failure, statusCode: 410, error: "HTTP 410", gone: true }, 7 * SEC,
        { status: "expired", next: null, error: "HTTP 410", delivered: false }, { failed: true, disabled: true }],
    ] as const)("%s", async (_name, over, retryInMs, want, endpoint) => {
      const w = await addWebhook(f);
      await publish(f);
      const [d] = await claim(f);
      f.clock.advance(SEC);
      const now = f.clock.now();
      const result = ok(f, d!, { ...over, nextAttemptAt: retryInMs === null ? null : now + retryInMs });
      const out = await complete(f, [result]);
      expect(out).toEqual({ disabled: endpoint.disabled ? [{ webhookId: w.id, reason: "gone" }] : [], stale: [] });
      expect(await f.s.deliveries.get(d!.id)).toMatchObject({
        status: want.status, attempts: 1, leased: false, next_attempt_at: want.next === null ? null : now + want.next,
        last_status_code: result.statusCode, last_response: result.response, last_error: want.error,
        delivered_at: want.delivered ? now : null, updated_at: now,
      });
      expect(await f.s.deliveries.attempts(d!.id)).toHaveLength(1);
      expect(await f.s.webhooks.get(w.id)).toMatchObject({
        status: endpoint.disabled ? "disabled" : "active", failure_count: endpoint.failed ? 1 : 0,
        failing_since: endpoint.failed ? now : null, last_failure_at: endpoint.failed ? now : null,
      });
    });

    test("failures accumulate on the endpoint: failing_since keeps the first, last_failure_at moves on", async () => {
      const w = await addWebhook(f);
      await publish(f);
      const t0 = f.clock.now();
      const [d] = await claim(f);
      await complete(f, [fail(f, d!, 5 * SEC)]);
      f.clock.advance(5 * SEC);
      const [again] = await claim(f);
      await complete(f, [fail(f, again!, 5 * SEC)]);
      expect(await f.s.webhooks.get(w.id)).toMatchObject({ failure_count: 2, failing_since: t0, last_failure_at: t0 + 5 * SEC });
      expect(await f.s.deliveries.get(d!.id)).toMatchObject({ attempts: 2, status: "failed" });
      expect((await f.s.deliveries.attempts(d!.id)).map((a) => a.attempted_at)).toEqual([t0, t0 + 5 * SEC]);
    });

    test("a success resets the endpoint's failure record", async () => {
      const w = await addWebhook(f);
      await publish(f);
      const [d] = await claim(f);
      const failedAt = f.clock.now();
      await complete(f, [fail(f, d!, SEC)]);
      f.clock.advance(SEC);
      const [again] = await claim(f);
      await complete(f, [ok(f, again!)]);
      expect(await f.s.webhooks.get(w.id)).toMatchObject({ failure_count: 0, failing_since: null, last_failure_at: failedAt });
    });

    test("results of one call are all recorded, several for one endpoint", async () => {
      const w = await addWebhook(f);
      await publishMany(f, 3);
      const taken = await claim(f);
      await complete(f, [fail(f, taken[0]!, SEC), fail(f, taken[1]!, SEC), ok(f, taken[2]!)]);
      expect((await f.s.deliveries.countByStatus())).toEqual({ pending: 0, failed: 2, delivered: 1, expired: 0 });
      expect((await f.s.webhooks.get(w.id))?.failure_count).toBe(0);
      expect(await f.s.deliveries.attemptsSince(f.clock.now())).toBe(3);
    });

    test("gone disables the endpoint once and expires its other unleased unfinished deliveries", async () => {
      const w = await addWebhook(f);
      await publishMany(f, 4);
      const [d, leased] = await claim(f, { perEndpoint: 2 });
      const out = await complete(f, [fail(f, d!, SEC, { statusCode: 410, error: "HTTP 410", gone: true })]);
      expect(out.disabled).toEqual([{ webhookId: w.id, reason: "gone" }]);
      const rows = await f.s.deliveries.listForWebhook(w.id, { limit: 10 });
      const others = rows.filter((r) => r.id !== d!.id && r.id !== leased!.id);
      expect(others.map((r) => [r.status, r.last_error, r.next_attempt_at])).toEqual([
        ["expired", "endpoint_disabled", null], ["expired", "endpoint_disabled", null],
      ]);
      expect((await publish(f)).deliveryIds).toEqual([]);
      expect(await claim(f)).toEqual([]);
      // The one still leased finishes with its worker's report, and is not disabled twice.
      const late = await complete(f, [fail(f, leased!, SEC)]);
      expect(late.disabled).toEqual([]);
      expect(await f.s.deliveries.get(leased!.id)).toMatchObject({ status: "expired", last_error: "endpoint_disabled" });
      expect(await f.s.deliveries.oldestUnfinishedAt()).toBeNull();
    });

    test("a result for an endpoint deleted meanwhile expires the delivery and leaves the record alone", async () => {
      const w = await addWebhook(f);
      await publish(f);
      const [d] = await claim(f);
      await f.s.webhooks.remove(w.id, f.clock.now());
      expect(await complete(f, [fail(f, d!, SEC)])).toEqual({ disabled: [], stale: [] });
      expect(await f.s.deliveries.get(d!.id)).toMatchObject({ status: "expired", last_error: "endpoint_deleted", next_attempt_at: null });
      expect(await f.s.webhooks.getAny(w.id)).toMatchObject({ failure_count: 0, deleted: true });
    });

    test("an endpoint failing longer than disable_after is disabled as failing", async () => {
      const w = await addWebhook(f);
      await publish(f);
      const [d] = await claim(f);
      expect((await complete(f, [fail(f, d!, SEC)], HOUR)).disabled).toEqual([]);
      f.clock.advance(HOUR - 1);
      const [second] = await claim(f);
      expect((await complete(f, [fail(f, second!, SEC)], HOUR)).disabled).toEqual([]);
      f.clock.advance(1 * SEC);
      const [third] = await claim(f);
      expect((await complete(f, [fail(f, third!, SEC)], HOUR)).disabled).toEqual([{ webhookId: w.id, reason: "failing" }]);
      expect((await f.s.webhooks.get(w.id))?.status).toBe("disabled");
    });

    test("re-enabling an endpoint clears its failure record, so disable_after does not strike at the next failure", async () => {
      const w = await addWebhook(f);
      await publish(f);
      const [d] = await claim(f);
      await complete(f, [fail(f, d!, SEC)], HOUR);
      f.clock.advance(2 * HOUR);
      const [again] = await claim(f);
      expect((await complete(f, [fail(f, again!, SEC)], HOUR)).disabled).toEqual([{ webhookId: w.id, reason: "failing" }]);
      const enabled = await f.s.webhooks.update(w.id, { status: "active" }, f.clock.now());
      expect(enabled).toMatchObject({ failure_count: 0, failing_since: null });
      expect(await f.s.webhooks.get(w.id)).toMatchObject({ failure_count: 0, failing_since: null });
      await publish(f);
      const [fresh] = await claim(f);
      expect((await complete(f, [fail(f, fresh!, SEC)], HOUR)).disabled).toEqual([]);
    });

    test("decide is handed the endpoint's current state and its verdict is saved as given", async () => {
      const w = await addWebhook(f);
      await publishMany(f, 3);
      const [a, b, c] = await claim(f);
      const seen: EndpointState[] = [];
      const verdicts: AttemptDecision[] = [
        { delivery: { status: "failed", nextAttemptAt: 777, error: "custom", deliveredAt: null }, endpoint: "failed", disable: null },
        { delivery: { status: "expired", nextAttemptAt: null, error: "other", deliveredAt: null }, endpoint: "unchanged", disable: null },
        { delivery: { status: "delivered", nextAttemptAt: null, error: null, deliveredAt: 5 }, endpoint: "unchanged", disable: null },
      ];
      const out = await f.s.deliveries.complete([ok(f, a!), ok(f, b!), ok(f, c!)], (_r, endpoint) => {
        seen.push({ ...endpoint });
        return verdicts[seen.length - 1]!;
      }, f.clock.now());
      const now = f.clock.now();
      expect(seen).toMatchObject([
        { status: "active", failure_count: 0, failing_since: null },
        { status: "active", failure_count: 1, failing_since: now },
        { status: "active", failure_count: 1, failing_since: now },
      ]);
      expect(await f.s.deliveries.get(a!.id)).toMatchObject({ status: "failed", next_attempt_at: 777, last_error: "custom" });
      expect(await f.s.deliveries.get(b!.id)).toMatchObject({ status: "expired", next_attempt_at: null, last_error: "other" });
      expect(await f.s.deliveries.get(c!.id)).toMatchObject({ status: "delivered", delivered_at: 5 });
      expect(out).toEqual({ disabled: [], stale: [] });
      expect(await f.s.webhooks.get(w.id)).toMatchObject({ status: "active", failure_count: 1 });
    });
  });
}
