import { afterEach, describe, expect, test } from "bun:test";
import { SQL } from "bun";
import { createRouter } from "../../src/delivery/fanout";
import { decideAttempt } from "../../src/delivery/outcome";
import { buildEvent } from "../../src/events/envelope";
import { newId } from "../../src/ids";
import { toStorageError } from "../../src/storage/postgres/errors";
import { MIGRATIONS } from "../../src/storage/postgres/migrations";
import { describeUrl, openPostgresStorage } from "../../src/storage/postgres/storage";
import {
  type AttemptResult, type ClaimedDelivery, ENDPOINT_OPTION_DEFAULTS, type EndpointOptions, type Storage, StorageUnavailableError,
} from "../../src/storage/types";
import { FakeClock } from "../support/fake-clock";
import type { PgCluster } from "../support/postgres";
import { freePort, waitFor } from "../support/process";

const START = Date.UTC(2030, 0, 1, 12);
const MIN = 60_000;
const DAY = 24 * 60 * MIN;

/**
 * postgresNodesContract: what must hold when several hookd processes share one database, each test on
 * a fresh database with real concurrent transactions (one pool per node), beyond the storage contract.
 */
export function postgresNodesContract(cluster: PgCluster): void {
  const open: Storage[] = [];
  let dbCount = 0;
  const clock = new FakeClock(START);
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close().catch(() => {})));
  });
  const freshUrl = () => cluster.createDatabase(`hookd_nodes_${++dbCount}`);
  const node = async (url: string, nodeId: string) => {
    const s = await openPostgresStorage(url, clock, { route: createRouter(), nodeId });
    open.push(s);
    return s;
  };
  const endpoint = async (s: Storage, events = ["*"], options: Partial<EndpointOptions> = {}) => {
    const now = clock.now();
    const w = {
      id: newId("wh"), url: "https://hooks.example/in", events, description: "", status: "active" as const, secret: "whsec_x",
      failure_count: 0, last_failure_at: null, failing_since: null, created_at: now, updated_at: now, ...ENDPOINT_OPTION_DEFAULTS, ...options,
    };
    expect(await s.webhooks.create(w, 1000)).toBe("created");
    return w.id;
  };
  const delivered = (d: ClaimedDelivery): AttemptResult => ({
    attemptId: newId("att"), deliveryId: d.id, webhookId: d.webhook_id, lease: d.lease, attemptedAt: clock.now(), durationMs: 1,
    statusCode: 200, error: null, response: "", ok: true, nextAttemptAt: null, gone: false,
  });
  const decide = (r: AttemptResult, e: Parameters<typeof decideAttempt>[1]) => decideAttempt(r, e, clock.now(), { disableAfterMs: 0 });

  describe("several nodes on one database", () => {
    test("nodes starting at once apply the migrations once", async () => {
      const url = await freshUrl();
      const nodes = await Promise.all(["a", "b", "c"].map((id) => openPostgresStorage(url, clock, { nodeId: id })));
      open.push(...nodes);
      expect(nodes.map((n) => n.migrationsApplied.length).sort()).toEqual([0, 0, MIGRATIONS.length]);
    });

    test("a database whose schema is newer than this hookd is refused", async () => {
      const url = await freshUrl();
      await node(url, "a");
      const admin = new SQL({ url, max: 1 });
      await admin.unsafe("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)");
      await admin.close();
      expect(openPostgresStorage(url, clock, { nodeId: "b" })).rejects.toThrow("newer than this hookd");
    });

    test("concurrent claims of two nodes never lease one delivery twice nor pass perEndpoint", async () => {
      const url = await freshUrl();
      const [a, b] = [await node(url, "node-a"), await node(url, "node-b")];
      for (let i = 0; i < 4; i++) await endpoint(a);
      await a.tx(async (tx) => {
        for (let i = 0; i < 15; i++) await tx.events.insert(buildEvent("a.b", "{}", "api", clock.now()));
      });
      const admin = new SQL({ url, max: 1, bigint: false });
      const seen = new Map<string, number>();
      for (let round = 0; round < 40 && seen.size < 60; round++) {
        const claims = await Promise.all([a, b, a, b].map((s, i) =>
          s.deliveries.claimDue({ now: clock.now(), total: 3, perEndpoint: 1, leaseMs: () => MIN, owner: i % 2 ? "node-b" : "node-a" })));
        const held = await admin.unsafe("SELECT webhook_id, COUNT(*)::int AS n FROM deliveries WHERE lease_until IS NOT NULL GROUP BY webhook_id");
        for (const row of held as { n: number }[]) expect(row.n).toBeLessThanOrEqual(1);
        for (const d of claims.flat()) seen.set(d.id, (seen.get(d.id) ?? 0) + 1);
        await Promise.all(claims.map((c, i) => (i % 2 ? b : a).deliveries.complete(c.map(delivered), decide, clock.now())));
      }
      await admin.close();
      expect(seen.size).toBe(60);
      expect([...seen.values()].every((n) => n === 1)).toBe(true);
      expect(await a.deliveries.countByStatus()).toEqual({ pending: 0, failed: 0, delivered: 60, expired: 0 });
    });

    test("events stored on two nodes at once get gapless lane positions, and the lane runs them one at a time in order", async () => {
      const url = await freshUrl();
      const [a, b] = [await node(url, "node-a"), await node(url, "node-b")];
      const id = await endpoint(a, ["*"], { ordering: "fifo" });
      await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? b : a).events.insert(buildEvent("a.b", `{"i":${i}}`, "api", clock.now()))));
      const stored = await a.deliveries.listForWebhook(id, { limit: 100 });
      expect(stored.map((d) => d.sequence).sort((x, y) => x! - y!)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
      const order: number[] = [];
      for (let round = 0; round < 60 && order.length < 30; round++) {
        const claims = (await Promise.all([a, b].map((s, i) =>
          s.deliveries.claimDue({ now: clock.now(), total: 5, perEndpoint: 5, leaseMs: () => MIN, owner: i ? "node-b" : "node-a" })))).flat();
        expect(claims.length).toBeLessThanOrEqual(1);
        order.push(...claims.map((d) => d.sequence!));
        await Promise.all(claims.map((d) => (d.lease.startsWith("node-a") ? a : b).deliveries.complete([delivered(d)], decide, clock.now())));
      }
      expect(order).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    });

    test("a rate limit holds over concurrent claims of two nodes", async () => {
      const url = await freshUrl();
      const [a, b] = [await node(url, "node-a"), await node(url, "node-b")];
      await endpoint(a, ["*"], { rate_limit: 3 });
      await a.tx(async (tx) => {
        for (let i = 0; i < 20; i++) await tx.events.insert(buildEvent("a.b", "{}", "api", clock.now()));
      });
      const start = clock.now();
      const times: number[] = [];
      for (let step = 0; step < 12; step++) {
        const claims = (await Promise.all([a, b, a, b].map((s, i) =>
          s.deliveries.claimDue({ now: clock.now(), total: 10, perEndpoint: 10, leaseMs: () => MIN, owner: i % 2 ? "node-b" : "node-a" })))).flat();
        for (const d of claims) times.push(clock.now() - start);
        await a.deliveries.complete(claims.map(delivered), decide, clock.now());
        clock.advance(250);
      }
      const most = Math.max(...times.map((t) => times.filter((u) => u >= t && u < t + 1000).length));
      expect(most).toBe(3);
      expect(times.length).toBe(9);
    });

    test("a node restarted while another holds leases releases only its own", async () => {
      const url = await freshUrl();
      const a = await node(url, "node-a");
      const b = await node(url, "node-b");
      await endpoint(a);
      await a.tx(async (tx) => {
        for (let i = 0; i < 4; i++) await tx.events.insert(buildEvent("a.b", "{}", "api", clock.now()));
      });
      const mine = await a.deliveries.claimDue({ now: clock.now(), total: 2, perEndpoint: 10, leaseMs: () => MIN, owner: "node-a" });
      const theirs = await b.deliveries.claimDue({ now: clock.now(), total: 2, perEndpoint: 10, leaseMs: () => MIN, owner: "node-b" });
      expect(mine).toHaveLength(2);
      expect(theirs).toHaveLength(2);
      // Stored by node a: node b has the bodies from the database, not from its cache.
      for (const d of theirs) expect(d.body).toBe((await b.events.get(d.event_id))!.body);
      expect(theirs[0]!.body.length).toBeGreaterThan(2);
      await a.close();
      // "node-a2" shares the prefix "node-a" but is another node: its leases are not node-a's.
      const a2 = await node(url, "node-a");
      expect(await a2.deliveries.releaseAbandoned("node-a", clock.now())).toBe(2);
      expect(await a2.deliveries.releaseAbandoned("node-", clock.now())).toBe(0);
      for (const d of theirs) expect(await a2.deliveries.get(d.id)).toMatchObject({ leased: true });
      expect(await b.deliveries.complete(theirs.map(delivered), decide, clock.now())).toEqual({ disabled: [], stale: [] });
      const retaken = await a2.deliveries.claimDue({ now: clock.now(), total: 10, perEndpoint: 10, leaseMs: () => MIN, owner: "node-a" });
      expect(retaken.map((d) => d.id).sort()).toEqual(mine.map((d) => d.id).sort());
    });

    test("the same inbound key sent to two nodes at once is stored once, each answered with its event", async () => {
      const url = await freshUrl();
      const nodes = [await node(url, "a"), await node(url, "b")];
      const send = (s: Storage, key: string) => {
        const event = buildEvent("inbound.received", `{"k":"${key}"}`, "inbound", clock.now());
        const record = {
          id: newId("in"), source: "erp", status: "accepted" as const, reason: null, event_id: event.id, client_ip: "203.0.113.7",
          headers: {}, body: event.body, body_sha256: `sha-${key}`, size: 1, received_at: clock.now(),
        };
        return s.inbound.accept({ record, event, dedupeKey: key, bodyHash: `sha-${key}`, dedupeWindowMs: DAY, rateLimit: null, now: clock.now() });
      };
      const keys = Array.from({ length: 30 }, (_, i) => `key-${i}`);
      const outs = await Promise.all(keys.flatMap((k) => nodes.map((s) => send(s, k))));
      for (let i = 0; i < keys.length; i++) {
        const pair = [outs[2 * i]!, outs[2 * i + 1]!];
        expect(pair.map((o) => o.kind).sort()).toEqual(["accepted", "duplicate"]);
        const ids = pair.map((o) => ("eventId" in o ? o.eventId : null));
        expect(ids[0]).toBe(ids[1]!);
      }
      expect(await nodes[0]!.events.list({ limit: 100 })).toHaveLength(30);
    });

    test("an inbound rate limit holds over concurrent requests to two nodes", async () => {
      const url = await freshUrl();
      const nodes = [await node(url, "a"), await node(url, "b")];
      const outs = await Promise.all(Array.from({ length: 20 }, (_, i) => {
        const event = buildEvent("inbound.received", "{}", "inbound", clock.now());
        const record = {
          id: newId("in"), source: "erp", status: "accepted" as const, reason: null, event_id: event.id, client_ip: "203.0.113.7",
          headers: {}, body: "{}", body_sha256: "h", size: 2, received_at: clock.now(),
        };
        return nodes[i % 2]!.inbound.accept({
          record, event, dedupeKey: null, bodyHash: "h", dedupeWindowMs: DAY, rateLimit: { count: 5, windowMs: MIN }, now: clock.now(),
        });
      }));
      expect(outs.filter((o) => o.kind === "accepted")).toHaveLength(5);
    });

    test("one Idempotency-Key begun on two nodes at once starts once", async () => {
      const url = await freshUrl();
      const nodes = [await node(url, "a"), await node(url, "b")];
      const outs = await Promise.all(Array.from({ length: 10 }, (_, i) => nodes[i % 2]!.idempotency.begin("s", "k", "h", clock.now(), DAY, MIN)));
      expect(outs.filter((o) => o.kind === "started")).toHaveLength(1);
    });

    test("new work and endpoint changes on one node wake the other and refresh its endpoint list", async () => {
      const url = await freshUrl();
      let wakes = 0;
      const a = await node(url, "a");
      const b = await openPostgresStorage(url, clock, { route: createRouter(), nodeId: "b", onEnqueued: () => wakes++ });
      open.push(b);
      expect(await b.webhooks.active()).toEqual([]);
      wakes = 0;
      const id = await endpoint(a);
      await waitFor(async () => (await b.webhooks.active()).length === 1, 3000, "b sees a's new endpoint");
      await a.events.insert(buildEvent("a.b", "{}", "api", clock.now()));
      await waitFor(() => wakes > 0, 3000, "b woken by a's new delivery");
      await a.webhooks.update(id, { status: "disabled" }, clock.now());
      await waitFor(async () => (await b.webhooks.active()).length === 0, 3000, "b sees the endpoint disabled");
    });

    test("retention run by two nodes at once removes each row once", async () => {
      const url = await freshUrl();
      const nodes = [await node(url, "a"), await node(url, "b")];
      for (let i = 0; i < 30; i++) await nodes[0]!.events.insert(buildEvent("nobody.listens", "{}", "api", clock.now()));
      const now = clock.now() + DAY;
      const cut = { now, deliveriesBefore: now, eventsBefore: now, inboundBefore: now, rateWindowsBefore: now, auditBefore: now };
      const counts = await Promise.all(nodes.map((s) => s.maintenance.prune(cut, 5)));
      expect(counts[0]!.events + counts[1]!.events).toBe(30);
      expect(await nodes[0]!.events.list({ limit: 10 })).toEqual([]);
    });
  });

  describe("outages and facts", () => {
    test("an unreachable server is StorageUnavailableError at open", async () => {
      const url = `postgres://postgres@127.0.0.1:${freePort()}/none`;
      const opening = openPostgresStorage(url, clock, { nodeId: "a" });
      expect(opening).rejects.toBeInstanceOf(StorageUnavailableError);
    });

    test("a terminated connection is StorageUnavailableError, and the pool reconnects", async () => {
      const url = await freshUrl();
      const s = await node(url, "a");
      const admin = new SQL({ url: cluster.url("postgres"), max: 1 });
      await admin.unsafe(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${new URL(url).pathname.slice(1)}'`);
      await admin.close();
      // Each pooled connection that was cut fails its next query once; then fresh ones are opened.
      let answered = false;
      for (let i = 0; i < 20 && !answered; i++) {
        const error = await s.events.get("evt_x").then(() => null, (e: unknown) => e);
        if (error === null) answered = true;
        else expect(error).toBeInstanceOf(StorageUnavailableError);
      }
      expect(answered).toBe(true);
      let writable = false;
      for (let i = 0; i < 20 && !writable; i++) writable = await s.checkWritable();
      expect(writable).toBe(true);
    });

    test.each([
      [{ code: "ERR_POSTGRES_CONNECTION_REFUSED" }, true],
      [{ code: "ERR_POSTGRES_CONNECTION_CLOSED" }, true],
      [{ code: "ECONNRESET" }, true],
      [{ code: "ERR_POSTGRES_SERVER_ERROR", errno: "57P01" }, true],
      [{ code: "ERR_POSTGRES_SERVER_ERROR", errno: "53300" }, true],
      [{ code: "ERR_POSTGRES_SERVER_ERROR", errno: "08006" }, true],
      [{ code: "ERR_POSTGRES_SERVER_ERROR", errno: "55P03" }, true],
      [{ code: "ERR_POSTGRES_SERVER_ERROR", errno: "40P01" }, true],
      [{ code: "ERR_POSTGRES_SERVER_ERROR", errno: "23505" }, false],
      [{ code: "ERR_POSTGRES_SERVER_ERROR", errno: "42601" }, false],
      [{ code: "ERR_POSTGRES_SERVER_ERROR", errno: "55P032" }, false],
      [new Error("plain"), false],
    ])("%j is an outage: %p", (error, outage) => {
      expect(toStorageError(error) instanceof StorageUnavailableError).toBe(outage);
    });

    test("describe names host, port and database, never the user's password", () => {
      expect(describeUrl("postgres://hookd:s3cret@db.internal:6432/hookd?sslmode=require")).toBe("db.internal:6432/hookd");
      expect(describeUrl("postgresql://hookd:s3cret@db.internal/hookd")).toBe("db.internal:5432/hookd");
    });

    test("backup points at pg_dump", async () => {
      const s = await node(await freshUrl(), "a");
      expect(s.maintenance.backupTo("/tmp/x.db", false)).rejects.toThrow("pg_dump");
    });
  });
}
