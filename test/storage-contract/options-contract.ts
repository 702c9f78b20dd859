import { describe, expect, test } from "bun:test";
import { buildEvent } from "../../src/events/envelope";
import {
  type ClaimedDelivery, type ClaimRequest, ENDPOINT_OPTION_DEFAULTS, type EndpointOptions, type LeaseBasis, type WebhookRecord,
} from "../../src/storage/types";
import { type BackendFactory, type Fixture, OWNER, SEC, complete, fail, ok, useBackend, webhookRecord } from "./harness";
import { lanesContract } from "./options-lanes";
import { routingContract } from "./options-routing";
import { rateLimitContract } from "./options-rate";

/**
 * optionsContract checks SPEC §9's per-endpoint delivery options as storage keeps them (issue 16):
 * options round-trip, per-endpoint leases, FIFO lanes and rate limits, and SPEC §10's routing data (issue 17), through the Storage interface
 * alone. A backend's test file registers it beside storageContract: `optionsContract("sqlite", open)`.
 */
export function optionsContract(name: string, factory: BackendFactory): void {
  describe(`storage options contract: ${name}`, () => {
    const f = useBackend(factory);
    endpointOptionsContract(f);
    leasePerEndpointContract(f);
    lanesContract(f);
    rateLimitContract(f);
    routingContract(f);
  });
}

/** leaseOf is the lease rule the suite claims with: 2 × timeout (10 s default) + 5 s for OAuth2 + 30 s. */
export function leaseOf(e: LeaseBasis): number {
  return 2 * (e.timeout_ms ?? 10 * SEC) + (e.oauth2 !== null ? 5 * SEC : 0) + 30 * SEC;
}

/** claimNow asks for due work now with room for everything, leasing per endpoint with leaseOf. */
export function claimNow(f: Fixture, over: Partial<ClaimRequest> = {}): Promise<ClaimedDelivery[]> {
  return f.s.deliveries.claimDue({ now: f.clock.now(), total: 1000, perEndpoint: 1000, leaseMs: leaseOf, owner: OWNER, ...over });
}

/** addEndpoint creates an active "*" endpoint with the options in `over` (the rest at their defaults). */
export async function addEndpoint(f: Fixture, over: Partial<WebhookRecord> = {}): Promise<WebhookRecord> {
  const w = webhookRecord(f, { ...ENDPOINT_OPTION_DEFAULTS, ...over });
  expect(await f.s.webhooks.create(w, 10_000)).toBe("created");
  return w;
}

/** publishData stores an event of `type` whose data is `data`, now; returns its delivery ids. */
export async function publishData(f: Fixture, data: unknown = {}, type = "a.b"): Promise<string[]> {
  return (await f.s.events.insert(buildEvent(type, JSON.stringify(data), "api", f.clock.now()))).deliveryIds;
}

/** deliverAll claims and delivers everything due now until nothing is; returns the ids in claim order. */
export async function deliverAll(f: Fixture): Promise<string[]> {
  const order: string[] = [];
  for (;;) {
    const due = await claimNow(f);
    if (due.length === 0) return order;
    order.push(...due.map((d) => d.id));
    await complete(f, due.map((d) => ok(f, d)));
  }
}

const ALL_SET: EndpointOptions = {
  headers: { "X-Api-Key": "k-123", "X-Tenant": "acme" },
  timeout_ms: 5 * SEC,
  rate_limit: 50,
  ordering: "fifo",
  ordering_key: "/document_no",
  client_tls: "sap-mtls",
  oauth2: "sap-oauth",
  // SPEC §10's routing options have their own section (./routing.ts).
  filter: null,
  transform: null,
  content_type: null,
};

function endpointOptionsContract(f: Fixture): void {
  describe("endpoint options", () => {
    test("an endpoint created without options reads back every option unset", async () => {
      const w = await addEndpoint(f);
      expect(await f.s.webhooks.get(w.id)).toEqual({ ...w, ...ENDPOINT_OPTION_DEFAULTS });
      expect(await f.s.webhooks.active()).toEqual([{ id: w.id, events: ["*"], ordering: "none", ordering_key: null, filter: null }]);
    });

    test("options round-trip through create, get, getAny, list and active", async () => {
      const w = await addEndpoint(f, ALL_SET);
      expect(await f.s.webhooks.get(w.id)).toEqual(w);
      expect(await f.s.webhooks.getAny(w.id)).toEqual({ ...w, deleted: false });
      expect(await f.s.webhooks.list({ limit: 10 })).toEqual([w]);
      expect(await f.s.webhooks.active()).toEqual([{ id: w.id, events: ["*"], ordering: "fifo", ordering_key: "/document_no", filter: null }]);
    });

    test("update keeps options it is not given, sets the ones given and clears those given null", async () => {
      const w = await addEndpoint(f, ALL_SET);
      f.clock.advance(SEC);
      const kept = await f.s.webhooks.update(w.id, { description: "only this" }, f.clock.now());
      expect(kept).toEqual({ ...w, description: "only this", updated_at: f.clock.now() });
      const changed = await f.s.webhooks.update(
        w.id, { headers: { "X-Other": "1" }, timeout_ms: 30 * SEC, rate_limit: null, client_tls: null, oauth2: null, ordering_key: null },
        f.clock.now(),
      );
      const expected = {
        ...kept!, headers: { "X-Other": "1" }, timeout_ms: 30 * SEC, rate_limit: null, client_tls: null, oauth2: null, ordering_key: null,
      };
      expect(changed).toEqual(expected);
      expect(await f.s.webhooks.get(w.id)).toEqual(expected);
      const cleared = await f.s.webhooks.update(w.id, { headers: null, timeout_ms: null, ordering: "none" }, f.clock.now());
      expect(cleared).toEqual({ ...kept!, ...ENDPOINT_OPTION_DEFAULTS });
      expect(await f.s.webhooks.get(w.id)).toEqual(cleared);
      expect(await f.s.webhooks.active()).toEqual([{ id: w.id, events: ["*"], ordering: "none", ordering_key: null, filter: null }]);
    });

    test("a claim carries the endpoint's options as they are when claimed", async () => {
      const w = await addEndpoint(f, { headers: { "X-A": "1" }, timeout_ms: 3 * SEC, client_tls: "tls-a", oauth2: "oauth-a" });
      const [first] = await publishData(f);
      const [d] = await claimNow(f);
      expect(d).toMatchObject({
        id: first, webhook_id: w.id, sequence: null, headers: { "X-A": "1" }, timeout_ms: 3 * SEC, client_tls: "tls-a", oauth2: "oauth-a",
      });
      await f.s.webhooks.update(w.id, { headers: null, timeout_ms: null, client_tls: null, oauth2: null }, f.clock.now());
      await publishData(f);
      const [next] = await claimNow(f);
      expect(next).toMatchObject({ sequence: null, headers: null, timeout_ms: null, client_tls: null, oauth2: null });
    });

    test("an endpoint without options delivers as before: no lanes, no rate, everything due claimed at once", async () => {
      await addEndpoint(f);
      const created: string[] = [];
      for (let i = 0; i < 30; i++) created.push(...(await publishData(f, { i })));
      const due = await claimNow(f);
      expect(due.map((d) => d.id).sort()).toEqual([...created].sort());
      expect(due.every((d) => d.sequence === null && d.headers === null)).toBe(true);
      const record = await f.s.deliveries.get(created[0]!);
      expect(record).toMatchObject({ lane: null, sequence: null, leased: true });
      expect(await f.s.deliveries.nextWakeAt(1000)).toBe(f.clock.now() + leaseOf({ timeout_ms: null, oauth2: null }));
    });
  });
}

function leasePerEndpointContract(f: Fixture): void {
  describe("leases per endpoint", () => {
    test("each endpoint's lease is leaseMs of its own timeout and OAuth2 profile", async () => {
      const plain = await addEndpoint(f);
      const slow = await addEndpoint(f, { timeout_ms: 60 * SEC });
      const oauth = await addEndpoint(f, { timeout_ms: SEC, oauth2: "p" });
      await publishData(f);
      const asked: LeaseBasis[] = [];
      const claimed = await claimNow(f, { leaseMs: (e) => (asked.push({ ...e }), leaseOf(e)) });
      expect(claimed).toHaveLength(3);
      expect(asked).toContainEqual({ timeout_ms: 60 * SEC, oauth2: null });
      expect(asked).toContainEqual({ timeout_ms: SEC, oauth2: "p" });
      expect(asked).toContainEqual({ timeout_ms: null, oauth2: null });
      const start = f.clock.now();
      // Shortest first: oauth (2 s + 5 s + 30 s = 37 s), plain (50 s), slow (150 s).
      expect(await f.s.deliveries.nextWakeAt(1000)).toBe(start + 37 * SEC);
      f.clock.advance(37 * SEC);
      expect((await claimNow(f)).map((d) => d.webhook_id)).toEqual([oauth.id]);
      f.clock.advance(13 * SEC);
      expect((await claimNow(f)).map((d) => d.webhook_id)).toEqual([plain.id]);
      f.clock.advance(100 * SEC - 1);
      expect((await claimNow(f)).map((d) => d.webhook_id)).not.toContain(slow.id);
      f.clock.advance(1);
      expect((await claimNow(f)).map((d) => d.webhook_id)).toContain(slow.id);
    });

    test("a result reported within the endpoint's own lease is recorded; past it, it is stale", async () => {
      await addEndpoint(f, { timeout_ms: 60 * SEC });
      await addEndpoint(f, { timeout_ms: SEC });
      await publishData(f);
      const claimed = await claimNow(f);
      f.clock.advance(100 * SEC);
      await claimNow(f, { owner: "node-b" }); // takes back whatever lease has lapsed
      const outcome = await complete(f, claimed.map((d) => fail(f, d, SEC)));
      const short = claimed.find((d) => d.timeout_ms === SEC)!;
      expect(outcome.stale).toEqual([short.id]);
      expect(await f.s.deliveries.get(claimed.find((d) => d.timeout_ms !== SEC)!.id)).toMatchObject({ status: "failed", attempts: 1 });
    });
  });
}
