import { describe, expect, test } from "bun:test";
import type { ClaimedDelivery } from "../../src/storage/types";
import { type BackendFactory, type Fixture, MIN, SEC, addWebhook, claim, complete, fail, ok, publish, useBackend } from "./harness";
import { acceptRequest, inboundRecord } from "./inbound";

const zeroDeliveries = { delivered: 0, failed: 0, expired: 0 };
const zeroInbound = { accepted: 0, duplicate: 0, rejected: 0 };

/**
 * statsContract checks the overview's reads (GET /v1/stats): per-step attempt outcomes and inbound
 * outcomes over a window, per-endpoint success over it, and the oldest pending delivery. A backend's
 * test file registers it beside storageContract: `statsContract("sqlite", open)`.
 */
export function statsContract(name: string, factory: BackendFactory): void {
  describe(`storage stats contract: ${name}`, () => {
    const f = useBackend(factory);
    seriesContract(f);
    oldestPendingContract(f);
  });
}

function seriesContract(f: Fixture): void {
  const of = (claimed: ClaimedDelivery[], webhookId: string) => claimed.filter((d) => d.webhook_id === webhookId);

  describe("stats.series", () => {
    test("an empty database: one zero entry per step, no endpoints", async () => {
      expect(await f.s.stats.series({ since: f.clock.now() - 3 * MIN, stepMs: MIN, steps: 3 })).toEqual({
        deliveries: [zeroDeliveries, zeroDeliveries, zeroDeliveries],
        inbound: [zeroInbound, zeroInbound, zeroInbound],
        endpoints: [],
      });
    });

    test("counts attempts by outcome and step, inbound by status, success per endpoint; nothing outside the window", async () => {
      const good = await addWebhook(f, { url: "https://good.example/in" });
      const bad = await addWebhook(f, { url: "https://bad.example/in" });
      // Before the window: one delivered attempt per endpoint, not counted.
      await publish(f);
      await complete(f, (await claim(f)).map((d) => ok(f, d)));
      f.clock.advance(MIN);
      const since = f.clock.now();

      // Step 0: three events; good delivers all, bad fails two with a retry and one for good.
      for (let i = 0; i < 3; i++) await publish(f);
      const first = await claim(f);
      const [b1, b2, b3] = of(first, bad.id);
      if (!b1 || !b2 || !b3) throw new Error("expected three deliveries to the failing endpoint");
      await complete(f, [...of(first, good.id).map((d) => ok(f, d)), fail(f, b1, 30 * SEC), fail(f, b2, 30 * SEC), fail(f, b3, null)]);

      // Step 1: the two retries: one delivered, one expires. Inbound: two accepted, a duplicate, a rejection.
      f.clock.advance(MIN + 5 * SEC);
      const retried = await claim(f);
      expect(retried.map((d) => d.id).sort()).toEqual([b1.id, b2.id].sort());
      const [r1, r2] = retried as [ClaimedDelivery, ClaimedDelivery];
      await complete(f, [ok(f, r1), fail(f, r2, null)]);
      await f.s.inbound.accept(acceptRequest(f, { key: "k1" }));
      await f.s.inbound.accept(acceptRequest(f, { key: "k2" }));
      expect((await f.s.inbound.accept(acceptRequest(f, { key: "k1" }))).kind).toBe("duplicate");
      await f.s.inbound.logRejected(inboundRecord(f, { status: "rejected", reason: "invalid_signature", body: null }));

      // After the window: counted in none of it.
      f.clock.advance(2 * MIN);
      await f.s.inbound.logRejected(inboundRecord(f, { status: "rejected", reason: "invalid_signature", body: null }));

      const series = await f.s.stats.series({ since, stepMs: MIN, steps: 3 });
      expect(series.deliveries).toEqual([{ delivered: 3, failed: 2, expired: 1 }, { delivered: 1, failed: 0, expired: 1 }, zeroDeliveries]);
      expect(series.inbound).toEqual([zeroInbound, { accepted: 2, duplicate: 1, rejected: 1 }, zeroInbound]);
      const byId = [...series.endpoints].sort((a, b) => a.url.localeCompare(b.url));
      expect(byId).toEqual([
        { webhook_id: bad.id, url: "https://bad.example/in", attempts: 5, succeeded: 1 },
        { webhook_id: good.id, url: "https://good.example/in", attempts: 3, succeeded: 3 },
      ]);
    });

    test("a step boundary: an attempt exactly at since + step falls in the second step", async () => {
      await addWebhook(f);
      const since = f.clock.now() - MIN;
      await publish(f);
      await complete(f, (await claim(f)).map((d) => ok(f, d)));
      const series = await f.s.stats.series({ since, stepMs: MIN, steps: 2 });
      expect(series.deliveries).toEqual([zeroDeliveries, { delivered: 1, failed: 0, expired: 0 }]);
    });
  });
}

function oldestPendingContract(f: Fixture): void {
  describe("stats.oldestPendingAt", () => {
    test("is null without pending deliveries", async () => {
      expect(await f.s.stats.oldestPendingAt()).toBeNull();
    });

    test("counts pending deliveries only, not failed ones waiting for a retry", async () => {
      await addWebhook(f);
      await publish(f);
      const [d] = await claim(f);
      if (!d) throw new Error("expected a delivery");
      await complete(f, [fail(f, d, 10 * MIN)]);
      f.clock.advance(MIN);
      const pendingSince = f.clock.now();
      await publish(f);
      f.clock.advance(MIN);
      await publish(f);
      expect(await f.s.stats.oldestPendingAt()).toBe(pendingSince);
    });
  });
}
