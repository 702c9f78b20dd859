import { Database } from "bun:sqlite";
import { SQL } from "bun";
import { describe, expect, test } from "bun:test";
import { horizonSql as pgHorizonSql, searchSql as pgSearchSql } from "../../src/storage/postgres/delivery-search";
import { horizonSql as sqliteHorizonSql, searchSql as sqliteSearchSql } from "../../src/storage/sqlite/delivery-search";
import { byPosition } from "../../src/storage/search-order";
import type { DeliveryFilter, DeliveryRecord, DeliveryStatus, ReplayBatch, SearchPosition } from "../../src/storage/types";
import { type BackendFactory, DAY, type Fixture, HOUR, SEC, addWebhook, claim, complete, fail, ok, publish, publishMany, useBackend } from "./harness";
import { addEndpoint, claimNow, deliverAll, publishData } from "./options-contract";

/**
 * Explain renders the plan of one status's page query for `filter` on the database at `location`:
 * "page" as read after a cursor, "bounded" the same up to a horizon, "horizon" the query that finds it.
 */
export type Explain = (location: string, filter: DeliveryFilter, status: DeliveryStatus, kind?: PlanKind) => Promise<string>;
export type PlanKind = "page" | "bounded" | "horizon";

const AT: SearchPosition = { created_at: 1, id: "dlv_x" };
const HORIZON: SearchPosition = { created_at: 0, id: "dlv_a" };

/** sqliteExplain: EXPLAIN QUERY PLAN's details, one per line, read on a connection of its own. */
export const sqliteExplain: Explain = async (location, filter, status, kind = "page") => {
  const db = new Database(location, { readonly: true });
  try {
    const { sql, args } = kind === "horizon" ? sqliteHorizonSql(filter, status, true, AT) : sqliteSearchSql(filter, status, AT, kind === "bounded" ? HORIZON : undefined);
    const tail = kind === "horizon" ? [1, 9] : [51];
    return db.query<{ detail: string }, (string | number)[]>(`EXPLAIN QUERY PLAN ${sql}`).all(...args, ...tail).map((r) => r.detail).join("\n");
  } finally {
    db.close();
  }
};

/** postgresExplain: EXPLAIN with sequential scans priced out, as a table of 1M rows would price them (a test table is tiny). */
export const postgresExplain = (url: string): Explain => async (_location, filter, status, kind = "page") => {
  const sql = new SQL({ url, max: 1 });
  try {
    const { sql: text, args } = kind === "horizon" ? pgHorizonSql(filter, status, true, 10, AT) : pgSearchSql(filter, status, 51, AT, kind === "bounded" ? HORIZON : undefined);
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

/**
 * pageAll reads every page of `size`, following resumeAfter, and returns the ids in the order shown;
 * `short` counts pages with fewer than `size` rows that still had a next one. No page is longer than `size`.
 */
async function pages(f: Fixture, filter: DeliveryFilter, size: number): Promise<{ ids: string[]; calls: number; short: number }> {
  const shown: string[] = [];
  let before: SearchPosition | undefined;
  let calls = 0;
  let short = 0;
  for (;;) {
    const { rows, resumeAfter } = await f.s.deliveries.search(filter, { limit: size, before });
    calls++;
    expect(rows.length).toBeLessThanOrEqual(size);
    shown.push(...idsOf(rows));
    if (resumeAfter === null) return { ids: shown, calls, short };
    if (rows.length < size) short++;
    if (before) expect(byPosition(resumeAfter, before)).toBeLessThan(0);
    before = resumeAfter;
  }
}

const pageAll = async (f: Fixture, filter: DeliveryFilter, size: number) => (await pages(f, filter, size)).ids;

/** rowsOf is one search call's rows. */
const rowsOf = async (f: Fixture, filter: DeliveryFilter, limit: number) => (await f.s.deliveries.search(filter, { limit })).rows;

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

      const search = (over: Partial<DeliveryFilter>) => rowsOf(f, { statuses: all, ...over }, 50);
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
      const everything = idsOf(await rowsOf(f, { statuses: all }, 500));
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
      const ids = idsOf(await rowsOf(f, { statuses: ["pending"] }, 100));
      expect(ids).toHaveLength(24);
      // Every fifth stays pending (claimed, so leased: replayable skips it).
      const to = ["retrying", "failed", "delivered", "expired", null] as const;
      await settle(f, Object.fromEntries(ids.flatMap((id, i) => (to[i % 5] ? [[id, to[i % 5]!]] : []))));
      const stored = await Promise.all(ids.map(async (id) => (await f.s.deliveries.get(id))!));
      const filters: Partial<DeliveryFilter>[] = [
        {}, { webhookId: a.id }, { eventType: "b.two" }, { webhookId: b.id, eventType: "a.one" }, { since, until: since + 3 }, { webhookId: a.id, since },
      ];
      const statusLists: DeliveryStatus[][] = [...all.map((s) => [s]), all, undelivered, ["pending", "expired"]];
      // With the usual cap one call sees everything; with a cap of 2 entries pages and steps stop at horizons.
      for (const examine of [undefined, 2]) {
        for (const over of filters) {
          for (const statuses of statusLists) {
            const filter: DeliveryFilter = { statuses, ...over, examine };
            const matches = stored.filter((d) => statuses.includes(d.status) && (over.webhookId === undefined || d.webhook_id === over.webhookId)
              && (over.eventType === undefined || d.event_type === over.eventType) && (over.since === undefined || d.created_at >= over.since)
              && (over.until === undefined || d.created_at < over.until));
            const expected = idsOf([...matches].sort((x, y) => byPosition(y, x)));
            const replayable = matches.filter((d) => !d.leased).length;
            if (examine === undefined) {
              expect(await f.s.deliveries.search(filter, { limit: 100 })).toEqual({ rows: [...matches].sort((x, y) => byPosition(y, x)), resumeAfter: null });
              expect(await f.s.deliveries.replayable(filter, null, 100)).toEqual({ count: replayable, next: null });
            } else {
              expect(await pageAll(f, filter, 100)).toEqual(expected);
              expect((await walkAll(f, filter, 100, false)).total).toBe(replayable);
            }
            expect(await pageAll(f, filter, 3)).toEqual(expected);
            expect((await walkAll(f, filter, 3, false)).total).toBe(replayable);
          }
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
        for (const kind of ["page", "bounded"] as const) {
          const plan = await explain(f.backend.facts.location, { statuses: [status], ...over }, status, kind);
          expect(plan).toMatch(undelivered.includes(status) ? undeliveredIndex : /deliveries_status/);
          expect(plan).not.toMatch(/\bSCAN\b|Seq Scan|TEMP B-TREE|Sort/);
        }
        // A bounded range's horizon: the index the range reads, by what it narrows alone (deliveries_status, or
        // for failed/expired of an endpoint that endpoint's undelivered index), no table row read.
        const horizon = await explain(f.backend.facts.location, { statuses: [status], ...over }, status, "horizon");
        const counted = undelivered.includes(status) && over.webhookId !== undefined ? "deliveries_undelivered_webhook" : "deliveries_status";
        expect(horizon).toMatch(new RegExp(`COVERING INDEX ${counted}|Index Only Scan (Backward )?using ${counted}`));
        expect(horizon).not.toMatch(/\bSCAN\b|Seq Scan|TEMP B-TREE|Sort/);
      }
    });

    test("a filter that matches rarely: pages stop at a horizon, short or empty with a cursor, and visit every match once", async () => {
      const busy = await addWebhook(f, { events: ["*"] });
      const rare = await addWebhook(f, { events: ["rare.*"] });
      // 40 events delivered, then 30 left pending; 3 of them (2 delivered, 1 pending) also go to `rare`.
      const publishRun = async (n: number, rareAt: number[]) => {
        for (let i = 0; i < n; i++) {
          await publish(f, rareAt.includes(i) ? "rare.x" : "common.x");
          if (i % 3 === 0) f.clock.advance(1);
        }
      };
      await publishRun(40, [4, 33]);
      await complete(f, (await claim(f)).map((d) => ok(f, d)));
      await publishRun(30, [12]);
      const stored = idsOf(await rowsOf(f, { statuses: all }, 500));
      const records = await Promise.all(stored.map(async (id) => (await f.s.deliveries.get(id))!));
      const newest = (keep: (d: DeliveryRecord) => boolean) => idsOf(records.filter(keep).sort((x, y) => byPosition(y, x)));
      expect(records).toHaveLength(73);

      const cases: [DeliveryFilter, string[]][] = [
        [{ statuses: all, webhookId: rare.id }, newest((d) => d.webhook_id === rare.id)],
        [{ statuses: ["delivered"], webhookId: rare.id }, newest((d) => d.webhook_id === rare.id && d.status === "delivered")],
        [{ statuses: ["pending", "delivered"], eventType: "rare.x" }, newest((d) => d.event_type === "rare.x")],
        [{ statuses: ["pending"], webhookId: busy.id, eventType: "rare.x" }, newest((d) => d.webhook_id === busy.id && d.event_type === "rare.x" && d.status === "pending")],
        [{ statuses: ["delivered"], webhookId: "wh_00000000000000000000000000" }, []],
      ];
      for (const [filter, expected] of cases) {
        const capped = { ...filter, examine: 10 };
        for (const size of [1, 2, 5, 100]) {
          const walked = await pages(f, capped, size);
          expect(walked.ids).toEqual(expected);
          expect(new Set(walked.ids).size).toBe(walked.ids.length);
          // Each call examines at most 10 entries per bounded range: about one call per 10 deliveries of the largest range.
          expect(walked.calls).toBeGreaterThanOrEqual(3);
          expect(walked.short).toBeGreaterThan(0);
        }
        expect(await pageAll(f, filter, 2)).toEqual(expected);
      }
      // The first page of an endpoint with no delivered deliveries: nothing, and where to go on.
      const first = await f.s.deliveries.search({ statuses: ["delivered"], webhookId: "wh_00000000000000000000000000", examine: 10 }, { limit: 50 });
      expect(first.rows).toEqual([]);
      expect(first.resumeAfter).not.toBeNull();

      // Dry run and replay walk the same bounded steps: they count and send exactly the matches.
      const delivered: DeliveryFilter = { statuses: ["delivered"], webhookId: rare.id, since: 0, examine: 10 };
      const expectedIds = newest((d) => d.webhook_id === rare.id && d.status === "delivered");
      expect(expectedIds).toHaveLength(2);
      for (const step of [1, 3, 100]) {
        const counted = await walkAll(f, delivered, step, false);
        expect(counted.total).toBe(2);
        expect(counted.steps).toBeGreaterThanOrEqual(4);
      }
      const unchanged = records.filter((d) => !expectedIds.includes(d.id));
      expect(await walkAll(f, delivered, 1, true)).toMatchObject({ total: 2 });
      for (const id of expectedIds) expect(await f.s.deliveries.get(id)).toMatchObject({ status: "pending", leased: false });
      for (const d of unchanged) expect((await f.s.deliveries.get(d.id))!.status).toBe(d.status);
      expect(await walkAll(f, delivered, 1, false)).toMatchObject({ total: 0 });
    });
  });
}

/** walkAll runs replayable (or replay) steps of `step` from the start until `next` is null. */
async function walkAll(f: Fixture, filter: DeliveryFilter, step: number, replay: boolean): Promise<{ total: number; steps: number }> {
  let total = 0;
  let steps = 0;
  let from: SearchPosition | null = null;
  do {
    const batch: ReplayBatch = replay ? await f.s.deliveries.replay(filter, from, step, f.clock.now()) : await f.s.deliveries.replayable(filter, from, step);
    if (from && batch.next) expect(byPosition(batch.next, from)).toBeGreaterThan(0);
    total += batch.count;
    from = batch.next;
    steps++;
  } while (from);
  return { total, steps };
}

function replayContract(f: Fixture): void {
  const everything = (filter: DeliveryFilter, step: number, replay: boolean) => walkAll(f, filter, step, replay);

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
