import { Database } from "bun:sqlite";
import { SQL } from "bun";
import { describe, expect, test } from "bun:test";
import { encodeBase32 } from "../../src/ids";
import { auditListSql as pgAuditSql } from "../../src/storage/postgres/audit";
import { auditListSql as sqliteAuditSql } from "../../src/storage/sqlite/audit";
import type { AuditEntry, AuditQuery } from "../../src/storage/types";
import { type BackendFactory, DAY, type Fixture, SEC, addWebhook, useBackend, webhookRecord } from "./harness";

/** AuditExplain renders the plan of one listing page (continuing after an entry) on the database at `location`. */
export type AuditExplain = (location: string, query: AuditQuery) => Promise<string>;

const AT = { time: 1, id: "aud_x" };

/** sqliteAuditExplain: EXPLAIN QUERY PLAN's details, one per line, read on a connection of its own. */
export const sqliteAuditExplain: AuditExplain = async (location, query) => {
  const db = new Database(location, { readonly: true });
  try {
    const { sql, args } = sqliteAuditSql(query, AT);
    return db.query<{ detail: string }, (string | number)[]>(`EXPLAIN QUERY PLAN ${sql}`).all(...args).map((r) => r.detail).join("\n");
  } finally {
    db.close();
  }
};

/**
 * postgresAuditExplain: EXPLAIN with sequential and bitmap scans priced out, as a large table would price
 * them against a LIMIT read in index order (a test table is tiny and has no statistics).
 */
export const postgresAuditExplain = (url: string): AuditExplain => async (_location, query) => {
  const sql = new SQL({ url, max: 1 });
  try {
    const { sql: text, args } = pgAuditSql(query, AT);
    const plan = await sql.begin(async (tx) => {
      await tx.unsafe("SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off");
      return (await tx.unsafe(`EXPLAIN ${text}`, args)) as { "QUERY PLAN": string }[];
    });
    return plan.map((r) => r["QUERY PLAN"]).join("\n");
  } finally {
    await sql.close();
  }
};

/** auditId makes an `aud_` id whose UUIDv7 carries `time`, as the API's ids do. */
export function auditId(time: number): string {
  return `aud_${encodeBase32(Bun.randomUUIDv7("buffer", time))}`;
}

/** auditEntry is a PATCH of an endpoint by key "ops" now, unless `over` says otherwise. */
export function auditEntry(f: Fixture, over: Partial<AuditEntry> = {}): AuditEntry {
  const time = over.time ?? f.clock.now();
  return {
    id: auditId(time), time, key: "ops", client_ip: "192.0.2.7", request_id: "req_1", method: "PATCH", path: "/v1/webhooks/wh_1",
    target_id: "wh_1", changes: { url: { before: "https://a.example/", after: "https://b.example/" } }, ...over,
  };
}

/** newestFirst is the listing order: time descending, ties by id descending (byte order). */
const newestFirst = (entries: readonly AuditEntry[]) =>
  [...entries].sort((a, b) => b.time - a.time || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)).map((e) => e.id);

/**
 * auditContract checks SPEC §14's audit log: entries come back as written, newest first, paged by id
 * and filtered by target, key and time; an entry commits or rolls back with the change it records;
 * retention removes the old ones; every listing shape is one index range. Registered beside storageContract.
 */
export function auditContract(name: string, factory: BackendFactory, explain: AuditExplain): void {
  describe(`storage audit contract: ${name}`, () => {
    const f = useBackend(factory);

    // Ten entries over three seconds (ties within a millisecond included) by two keys on three targets.
    async function history(): Promise<AuditEntry[]> {
      const made: AuditEntry[] = [];
      const plan: [string, string | null][] = [
        ["ops", "wh_1"], ["ops", "wh_2"], ["ci", "wh_1"], ["ci", null], ["ops", "dlv_1"],
        ["ci", "wh_1"], ["ops", "wh_1"], ["sighup", null], ["ci", "wh_2"], ["ops", "wh_1"],
      ];
      for (const [i, [key, target_id]] of plan.entries()) {
        if (i % 4 === 3) f.clock.advance(SEC);
        made.push(auditEntry(f, { key, target_id }));
      }
      await f.s.tx(async (tx) => {
        for (const e of made) await tx.audit.record(e);
      });
      return made;
    }

    const list = (query: Partial<AuditQuery>) => f.s.audit.list({ limit: 100, ...query });
    const idsOf = (rows: readonly AuditEntry[]) => rows.map((e) => e.id);

    async function pageAll(query: Partial<AuditQuery>, size: number): Promise<string[]> {
      const shown: string[] = [];
      let before: string | undefined;
      for (;;) {
        const rows = await list({ ...query, limit: size, before });
        shown.push(...idsOf(rows));
        if (rows.length < size) return shown;
        before = rows.at(-1)!.id;
      }
    }

    test("an entry recorded outside a tx comes back as written, its changes' fields in the order given", async () => {
      const reload = auditEntry(f, {
        key: "sighup", client_ip: null, request_id: null, method: "SIGHUP", path: "", target_id: null,
        changes: { "retention.audit": { before: "365d", after: "30d" }, "api.keys[0].secret": { before: "***", after: "***" }, "a.b": { before: null, after: [1, { x: true }] } },
      });
      await f.s.audit.record(reload);
      const [got] = await list({});
      expect(got).toEqual(reload);
      expect(Object.keys(got!.changes)).toEqual(["retention.audit", "api.keys[0].secret", "a.b"]);
      const created = auditEntry(f, { method: "POST", path: "/v1/webhooks", changes: {} });
      await f.s.audit.record(created);
      expect(await list({})).toEqual([created, reload].sort((a, b) => (a.id < b.id ? 1 : -1)));
    });

    test("lists newest first and pages with `before` without losing or repeating an entry", async () => {
      const made = await history();
      const everything = idsOf(await list({}));
      expect(everything).toEqual(newestFirst(made));
      for (const size of [1, 3, 4]) expect(await pageAll({}, size)).toEqual(everything);
      expect(idsOf(await list({ limit: 2, before: everything[6] }))).toEqual(everything.slice(7, 9));
      expect(await list({ before: auditId(f.clock.now()) })).toEqual([]);
    });

    test("filters by target, key and time, alone and together, and pages within a filter", async () => {
      const made = await history();
      const since = made[3]!.time;
      const expected = (keep: (e: AuditEntry) => boolean) => newestFirst(made.filter(keep));
      const shapes: [Partial<AuditQuery>, (e: AuditEntry) => boolean][] = [
        [{ target_id: "wh_1" }, (e) => e.target_id === "wh_1"],
        [{ key: "ci" }, (e) => e.key === "ci"],
        [{ since }, (e) => e.time >= since],
        [{ target_id: "wh_1", key: "ops" }, (e) => e.target_id === "wh_1" && e.key === "ops"],
        [{ target_id: "wh_2", since }, (e) => e.target_id === "wh_2" && e.time >= since],
        [{ key: "ops", since: since + SEC }, (e) => e.key === "ops" && e.time >= since + SEC],
        [{ target_id: "wh_1", key: "ci", since }, (e) => e.target_id === "wh_1" && e.key === "ci" && e.time >= since],
        [{ target_id: "wh_9" }, () => false],
        [{ key: "nobody" }, () => false],
        [{ since: f.clock.now() + 1 }, () => false],
      ];
      for (const [query, keep] of shapes) {
        const want = expected(keep);
        expect(idsOf(await list(query))).toEqual(want);
        expect(await pageAll(query, 2)).toEqual(want);
      }
      expect(expected((e) => e.target_id === "wh_1")).toHaveLength(5);
    });

    test("an entry recorded in a tx that throws is not kept; one in a tx that commits is, with the change", async () => {
      const w = webhookRecord(f);
      const lost = auditEntry(f, { method: "POST", path: "/v1/webhooks", target_id: w.id });
      const failing = f.s.tx(async (tx) => {
        await tx.webhooks.create(w, 100);
        await tx.audit.record(lost);
        throw new Error("after the audit entry");
      });
      await expect(failing).rejects.toThrow("after the audit entry");
      expect(await list({})).toEqual([]);
      expect(await f.s.webhooks.get(w.id)).toBeNull();

      const kept = auditEntry(f, { method: "POST", path: "/v1/webhooks", target_id: w.id });
      await f.s.tx(async (tx) => {
        await tx.webhooks.create(w, 100);
        await tx.audit.record(kept);
      });
      expect(await list({ target_id: w.id })).toEqual([kept]);
      expect(await f.s.webhooks.get(w.id)).not.toBeNull();
    });

    test("entries written beside other writes in one batch commit or fail each with its own change", async () => {
      const endpoint = await addWebhook(f);
      const entries = Array.from({ length: 8 }, (_, i) => auditEntry(f, { target_id: `wh_${i}` }));
      const settled = await Promise.allSettled(entries.map((e, i) => f.s.tx(async (tx) => {
        await tx.audit.record(e);
        if (i === 5) throw new Error("only this one");
        await tx.webhooks.update(endpoint.id, { description: `v${i}` }, f.clock.now());
      })));
      expect(settled.map((r) => r.status)).toEqual(entries.map((_, i) => (i === 5 ? "rejected" : "fulfilled")));
      expect(idsOf(await list({})).sort()).toEqual(entries.filter((_, i) => i !== 5).map((e) => e.id).sort());
    });

    test.each([["one batch", undefined], ["batches of one", 1]] as const)("prune removes entries older than auditBefore (%s)", async (_name, batch) => {
      const old = [auditEntry(f, { time: f.clock.now() - 400 * DAY }), auditEntry(f, { time: f.clock.now() - 366 * DAY }), auditEntry(f, { time: f.clock.now() - 365 * DAY - 1 })];
      const edge = auditEntry(f, { time: f.clock.now() - 365 * DAY });
      const fresh = auditEntry(f);
      for (const e of [...old, edge, fresh]) await f.s.audit.record(e);
      const now = f.clock.now();
      const cut = { now, deliveriesBefore: 0, eventsBefore: 0, inboundBefore: 0, rateWindowsBefore: 0, auditBefore: now - 365 * DAY };
      expect(await f.s.maintenance.prune(cut, batch)).toMatchObject({ audit: 3, deliveries: 0, events: 0 });
      expect(idsOf(await list({}))).toEqual([fresh.id, edge.id]);
      // A cursor at an entry retention removed: everything older went with it.
      expect(await list({ before: old[2]!.id })).toEqual([]);
      expect((await f.s.maintenance.prune(cut, batch)).audit).toBe(0);
    });

    const shapes: [string, Partial<AuditQuery>, RegExp][] = [
      ["nothing", {}, /audit_log_time/],
      ["target", { target_id: "wh_1" }, /audit_log_target/],
      ["key", { key: "ops" }, /audit_log_key/],
      ["time", { since: 1 }, /audit_log_time/],
      ["target, key and time", { target_id: "wh_1", key: "ops", since: 1 }, /audit_log_target/],
      ["key and time", { key: "ops", since: 1 }, /audit_log_key/],
    ];
    test.each(shapes)("a page filtered by %s reads one index range in order: no scan, no sort", async (_name, over, index) => {
      await history();
      const plan = await explain(f.backend.facts.location, { limit: 50, ...over });
      expect(plan).toMatch(index);
      expect(plan).not.toMatch(/\bSCAN\b|Seq Scan|TEMP B-TREE|Sort/);
    });
  });
}
