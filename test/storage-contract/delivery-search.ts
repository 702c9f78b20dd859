import { Database } from "bun:sqlite";
import { SQL } from "bun";
import { describe, expect, test } from "bun:test";
import { searchSql as pgSearchSql } from "../../src/storage/postgres/delivery-search";
import { searchSql as sqliteSearchSql } from "../../src/storage/sqlite/delivery-search";
import { byPosition } from "../../src/storage/search-order";
import type { DeliveryFilter, DeliveryRecord, DeliveryStatus, ReplayBatch, SearchPosition } from "../../src/storage/types";
import { type BackendFactory, DAY, type Fixture, HOUR, SEC, addWebhook, claim, complete, fail, ok, publish, publishMany, useBackend } from "./harness";
import { addEndpoint, claimNow, deliverAll, publishData } from "./options-contract";

/** Explain renders the plan of one status's page query for `filter` on the database at `location`. */
export type Explain = (location: string, filter: DeliveryFilter, status: DeliveryStatus) => Promise<string>;

/** sqliteExplain: EXPLAIN QUERY PLAN's details, one per line, read on a connection of its own. */
export const sqliteExplain: Explain = async (location, filter, status) => {
  const db = new Database(location, { readonly: true });
  try {
    const { sql, args } = sqliteSearchSql(filter, status, { created_at: 1, id: "dlv_x" });
    return db.query<{ detail: string }, (string | number)[]>(`EXPLAIN QUERY PLAN ${sql}`).all(...args, 51).map((r) => r.detail).join("\n");
  } finally {
    db.close();
  }
};

/** postgresExplain: EXPLAIN with sequential scans priced out, as a table of 1M rows would price them (a test table is tiny). */
export const postgresExplain = (url: string): Explain => async (_location, filter, status) => {
  const sql = new SQL({ url, max: 1 });
  try {
    const { sql: text, args } = pgSearchSql(filter, status, 51, { created_at: 1, id: "dlv_x" });
    const plan = await sql.begin(async (tx) => {
      await tx.unsafe("SET LOCAL enable_seqscan = off");
      return (await tx.unsafe(`EXPLAIN ${text}`, args)) as { "QUERY PLAN": string }[];
    });
    return plan.map((r) => r["QUERY PLAN"]).join("\n");
  } finally {
    await sql.close();
  }
};

/**
 * deliverySearchContract checks SPEC §11's reads and bulk replay across endpoints: filters, paging by
 * (created_at, id) with ties, counts equal to what replay sends, skipped leased and inactive ones,
 * bounded steps, FIFO lanes keeping their order, and index-only plans. Registered beside storageContract.
 */
export function deliverySearchContract(name: string, factory: BackendFactory, explain: Explain): void {
  describe(`storage delivery search contract: ${name}`, () => {
    const f = useBackend(factory);
    searchContract(f, explain);
    replayContract(f);
  });
}

const all: DeliveryStatus[] = ["pending", "failed", "delivered", "expired"];
const undelivered: DeliveryStatus[] = ["failed", "expired"];
const idsOf = (rows: readonly DeliveryRecord[]) => rows.map((r) => r.id);

/** pageAll reads every page of `size` and returns the ids in the order shown. */
async function pageAll(f: Fixture, filter: DeliveryFilter, size: number): Promise<string[]> {
  const shown: string[] = [];
  let before: SearchPosition | undefined;
  for (;;) {
    const rows = await f.s.deliveries.search(filter, { limit: size, before });
    shown.push(...idsOf(rows));
    if (rows.length < size) return shown;
    const last = rows.at(-1)!;
    before = { created_at: last.created_at, id: last.id };
  }
}

/** settle brings each claimed delivery to a status: failed with a retry a day away ("retrying": an hour), expired or delivered. */
async function settle(f: Fixture, plan: Record<string, "failed" | "retrying" | "expired" | "delivered">) {
  const retryIn = { failed: DAY, retrying: HOUR, expired: null };
  const claimed = (await claim(f)).filter((d) => plan[d.id]);
  await complete(f, claimed.map((d) => {
    const to = plan[d.id]!;
    return to === "delivered" ? ok(f, d) : fail(f, d, retryIn[to]);
  }));
}

function searchContract(f: Fixture, explain: Explain): void {
  describe("deliveries.search", () => {
    test("lists every endpoint's deliveries newest first, filtered by status list, endpoint, type and time", async () => {
      const a = await addWebhook(f, { events: ["a.*"] });
      const b = await addWebhook(f, { events: ["*"] });
      const { deliveryIds: first } = await publish(f, "a.one");
      f.clock.advance(SEC);
      const since = f.clock.now();
      const { deliveryIds: second } = await publish(f, "b.two");
      f.clock.advance(SEC);
      const { deliveryIds: third } = await publish(f, "a.one");
      const byEndpoint = async (ids: string[], w: string) => {
        for (const id of ids) if ((await f.s.deliveries.get(id))!.webhook_id === w) return id;
        throw new Error("none");
      };
      const [a1, b1, b2, a3, b3] = [await byEndpoint(first, a.id), await byEndpoint(first, b.id), second[0]!, await byEndpoint(third, a.id), await byEndpoint(third, b.id)];
      await settle(f, { [a1]: "expired", [b1]: "failed", [b2]: "delivered", [a3]: "failed" });

      const search = (over: Partial<DeliveryFilter>) => f.s.deliveries.search({ statuses: all, ...over }, { limit: 50 });
      expect(idsOf(await search({}))).toEqual([...[a3, b3].sort().reverse(), b2, ...[a1, b1].sort().reverse()]);
      expect(idsOf(await search({ statuses: undelivered }))).toEqual([a3, ...[a1, b1].sort().reverse()]);
      expect(idsOf(await search({ statuses: ["pending"] }))).toEqual([b3]);
      expect(idsOf(await search({ webhookId: a.id }))).toEqual([a3, a1]);
      expect(idsOf(await search({ webhookId: b.id, statuses: ["failed", "delivered"] }))).toEqual([b2, b1]);
      expect(idsOf(await search({ eventType: "a.one", statuses: undelivered }))).toEqual([a3, ...[a1, b1].sort().reverse()]);
      expect(idsOf(await search({ eventType: "b.two" }))).toEqual([b2]);
      expect(idsOf(await search({ webhookId: a.id, eventType: "a.one", statuses: ["expired"] }))).toEqual([a1]);
      expect(idsOf(await search({ since, until: since + SEC }))).toEqual([b2]);
      expect(idsOf(await search({ since }))).toHaveLength(3);
      expect(await search({ webhookId: "wh_00000000000000000000000000" })).toEqual([]);
      expect(await f.s.deliveries.get(a3)).toEqual((await search({ webhookId: a.id }))[0]!);
    });

    test("pages through deliveries created in the same millisecond without losing or repeating one", async () => {
      await addWebhook(f);
      await addWebhook(f);
      const made = await publishMany(f, 11);
      f.clock.advance(SEC);
      made.push(...(await publishMany(f, 4)));
      const everything = idsOf(await f.s.deliveries.search({ statuses: all }, { limit: 500 }));
      expect([...everything].sort()).toEqual([...made].sort());
      for (const size of [1, 3, 7]) expect(await pageAll(f, { statuses: all }, size)).toEqual(everything);
      expect(await pageAll(f, { statuses: ["pending", "failed"] }, 4)).toEqual(everything);
    });

    test("every status with every filter lists what a scan of all deliveries would, and replayable counts the same", async () => {
      const a = await addWebhook(f);
      const b = await addWebhook(f);
      const since = f.clock.now() + 2;
      for (let i = 0; i < 12; i++) {
        await publish(f, i % 3 === 0 ? "b.two" : "a.one");
        if (i % 2 === 1) f.clock.advance(1);
      }
      const ids = idsOf(await f.s.deliveries.search({ statuses: ["pending"] }, { limit: 100 }));
      expect(ids).toHaveLength(24);
      // Every fifth stays pending (claimed, so leased: replayable skips it).
      const to = ["retrying", "failed", "delivered", "expired", null] as const;
      await settle(f, Object.fromEntries(ids.flatMap((id, i) => (to[i % 5] ? [[id, to[i % 5]!]] : []))));
      const stored = await Promise.all(ids.map(async (id) => (await f.s.deliveries.get(id))!));
      const filters: Partial<DeliveryFilter>[] = [
        {}, { webhookId: a.id }, { eventType: "b.two" }, { webhookId: b.id, eventType: "a.one" }, { since, until: since + 3 }, { webhookId: a.id, since },
      ];
      const statusLists: DeliveryStatus[][] = [...all.map((s) => [s]), all, undelivered, ["pending", "expired"]];
      for (const over of filters) {
        for (const statuses of statusLists) {
          const filter: DeliveryFilter = { statuses, ...over };
          const matches = stored.filter((d) => statuses.includes(d.status) && (over.webhookId === undefined || d.webhook_id === over.webhookId)
            && (over.eventType === undefined || d.event_type === over.eventType) && (over.since === undefined || d.created_at >= over.since)
            && (over.until === undefined || d.created_at < over.until));
          const expected = idsOf([...matches].sort((x, y) => byPosition(y, x)));
          expect(idsOf(await f.s.deliveries.search(filter, { limit: 100 }))).toEqual(expected);
          expect(await pageAll(f, filter, 3)).toEqual(expected);
          expect(await f.s.deliveries.replayable(filter, null, 100)).toEqual({ count: matches.filter((d) => !d.leased).length, next: null });
        }
      }
    });

    // Per shape: the index a failed or expired page reads; a pending or delivered page reads deliveries_status
    // whatever the filter (migration 014: only the undelivered statuses have per-endpoint and per-type indexes).
    const W = "wh_00000000000000000000000000";
    const shapes: [string, Partial<DeliveryFilter>, RegExp][] = [
      ["status", {}, /deliveries_status/],
      ["status and endpoint", { webhookId: W }, /deliveries_undelivered_webhook/],
      ["status and type", { eventType: "a.b" }, /deliveries_undelivered_type/],
      ["status, endpoint and type", { webhookId: W, eventType: "a.b" }, /deliveries_undelivered_(webhook|type)/],
      ["status and time", { since: 1, until: 2 }, /deliveries_status/],
    ];
    test.each(shapes)("a page by %s reads one index range in order, whatever its status: no scan, no sort", async (_name, over, undeliveredIndex) => {
      await addWebhook(f);
      await publishMany(f, 3);
      for (const status of all) {
        const plan = await explain(f.backend.facts.location, { statuses: [status], ...over }, status);
        expect(plan).toMatch(undelivered.includes(status) ? undeliveredIndex : /deliveries_status/);
        expect(plan).not.toMatch(/\bSCAN\b|Seq Scan|TEMP B-TREE|Sort/);
      }
    });
  });
}

function replayContract(f: Fixture): void {
  const everything = async (filter: DeliveryFilter, step: number, replay: boolean) => {
    let total = 0;
    let steps = 0;
    let from: SearchPosition | null = null;
    do {
      const batch: ReplayBatch = replay ? await f.s.deliveries.replay(filter, from, step, f.clock.now()) : await f.s.deliveries.replayable(filter, from, step);
      total += batch.count;
      from = batch.next;
      steps++;
    } while (from);
    return { total, steps };
  };

  describe("deliveries.replay", () => {
    test("sends again exactly what replayable counted: unleased deliveries of active endpoints, in bounded steps", async () => {
      const a = await addWebhook(f);
      const off = await addWebhook(f);
      const made = await publishMany(f, 6);
      const of = async (w: string) => (await Promise.all(made.map((id) => f.s.deliveries.get(id)))).filter((d) => d!.webhook_id === w).map((d) => d!.id);
      const [f1, f2, e1, e2, d1, held] = await of(a.id);
      const offIds = await of(off.id);
      await settle(f, { [f1!]: "failed", [f2!]: "failed", [e1!]: "expired", [e2!]: "expired", [d1!]: "delivered", [held!]: "retrying",
        ...Object.fromEntries(offIds.map((id) => [id, "expired" as const])) });
      await f.s.webhooks.update(off.id, { status: "disabled" }, f.clock.now());
      f.clock.advance(2 * HOUR);
      const [again] = await claim(f);
      expect(again!.id).toBe(held!);

      const filter: DeliveryFilter = { statuses: undelivered, since: 0 };
      // 11 match: 4 to send again, the leased one and the disabled endpoint's 6 skipped; 2 per step.
      expect(await everything(filter, 2, false)).toEqual({ total: 4, steps: 6 });
      f.clock.advance(SEC);
      const now = f.clock.now();
      expect(await everything(filter, 2, true)).toEqual({ total: 4, steps: 6 });
      for (const id of [f1!, f2!, e1!, e2!]) {
        expect(await f.s.deliveries.get(id)).toMatchObject({ status: "pending", next_attempt_at: now, leased: false, attempts: 1 });
      }
      expect(await f.s.deliveries.get(held!)).toMatchObject({ status: "failed", leased: true });
      expect(await f.s.deliveries.get(d1!)).toMatchObject({ status: "delivered" });
      for (const id of offIds) expect(await f.s.deliveries.get(id)).toMatchObject({ status: "expired" });
      const claimed = await claim(f);
      expect(claimed.map((d) => d.id).sort()).toEqual([f1!, f2!, e1!, e2!].sort());
      expect(claimed.every((d) => d.schedule_attempts === 0)).toBe(true);
      expect(await everything(filter, 2, false)).toEqual({ total: 0, steps: 4 });
    });

    test("replays only the statuses, endpoint, type and time range asked for", async () => {
      const a = await addWebhook(f, { events: ["a.*"] });
      const b = await addWebhook(f, { events: ["*"] });
      await publish(f, "a.x");
      f.clock.advance(SEC);
      const since = f.clock.now();
      await publish(f, "a.x");
      await publish(f, "b.x");
      const claimed = await claim(f);
      await complete(f, claimed.map((d) => (d.event_type === "b.x" ? ok(f, d) : fail(f, d, null))));
      const count = (over: Partial<DeliveryFilter>) => everything({ statuses: undelivered, ...over }, 10, false).then((r) => r.total);
      expect(await count({})).toBe(4);
      expect(await count({ since })).toBe(2);
      expect(await count({ until: since })).toBe(2);
      expect(await count({ webhookId: a.id })).toBe(2);
      expect(await count({ webhookId: b.id, since })).toBe(1);
      expect(await count({ eventType: "b.x" })).toBe(0);
      expect(await count({ eventType: "b.x", statuses: ["delivered"] })).toBe(1);
      expect(await count({ statuses: ["failed"] })).toBe(0);
      expect(await everything({ statuses: ["delivered"], since: 0 }, 10, true)).toEqual({ total: 1, steps: 1 });
      expect((await claim(f)).map((d) => d.event_type)).toEqual(["b.x"]);
    });

    test("a FIFO lane replayed one delivery per step keeps its order, a failing head included", async () => {
      await addEndpoint(f, { ordering: "fifo", ordering_key: null });
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) {
        ids.push(...(await publishData(f, { i })));
        f.clock.advance(1);
      }
      // Positions 1-3 expire one after another; 4 becomes the head and fails with a retry an hour away.
      for (let i = 0; i < 3; i++) await complete(f, (await claimNow(f)).map((d) => fail(f, d, null)));
      await complete(f, (await claimNow(f)).map((d) => fail(f, d, HOUR)));
      f.clock.advance(SEC);
      expect(await everything({ statuses: undelivered }, 1, true)).toEqual({ total: 4, steps: 5 });
      expect(await deliverAll(f)).toEqual(ids);
    });

    test("a FIFO lane whose head is in flight: replayed ones wait behind it", async () => {
      await addEndpoint(f, { ordering: "fifo", ordering_key: null });
      const ids = [...(await publishData(f, { i: 0 })), ...(await publishData(f, { i: 1 }))];
      await complete(f, (await claimNow(f)).map((d) => fail(f, d, null)));
      const [head] = await claimNow(f);
      expect(head!.id).toBe(ids[1]!);
      expect(await everything({ statuses: undelivered }, 10, true)).toEqual({ total: 1, steps: 1 });
      expect(await claimNow(f)).toEqual([]);
      await complete(f, [ok(f, head!)]);
      expect(await deliverAll(f)).toEqual([ids[0]!]);
    });
  });
}
