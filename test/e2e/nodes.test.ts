import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SQL } from "bun";
import { startHitReceiver, type HitReceiver } from "../chaos/hit-receiver";
import { type PgNode, pgNodes } from "../chaos/pg-nodes";
import { type PgCluster, startPgCluster } from "../support/postgres";
import { waitFor } from "../support/process";

// SPEC §12: three real `hookd serve` processes (own ports and node_ids) on one PostgreSQL database,
// one receiver on 127.0.0.1. Each test creates its own endpoints (distinct paths) and deletes them after.

const cluster: PgCluster | string = await startPgCluster();

if (typeof cluster === "string") {
  console.warn(cluster);
  test.skip(`several nodes on one PostgreSQL (${cluster})`, () => {});
} else {
  let db: SQL;
  let nodes: PgNode[];
  let receiver: HitReceiver;
  const holds = new Map<string, number>(); // path → ms each request is held
  const failFirst = new Set<string>();

  beforeAll(async () => {
    const url = await cluster.createDatabase("hookd_nodes");
    db = new SQL({ url, max: 2 });
    receiver = startHitReceiver();
    // A path in `failFirst` answers 503 to the first attempt of each event: its retries fall due on every
    // node's timer at once, so the nodes race for that endpoint's slot.
    receiver.setAnswer((path, hit) => ({
      status: failFirst.has(path) && receiver.count(path, hit.eventId) === 1 ? 503 : 200,
      holdMs: holds.get(path) ?? 0,
    }));
    // concurrency = 2 per node: no node can take every endpoint's slot, so work spreads over the nodes
    // and they contend for the same endpoints.
    nodes = pgNodes(url, 3, ['timeout = "10s"', 'retry_schedule = ["200ms", "500ms", "1s", "1s", "1s"]', "per_endpoint_concurrency = 1", "concurrency = 2", "max_endpoints = 100"]);
    // One at a time: the first migrates; the others find the schema in place.
    for (const n of nodes) await n.start();
  }, 60_000);

  afterAll(async () => {
    await Promise.all((nodes ?? []).map((n) => n.kill("SIGKILL")));
    await receiver?.stop();
    await db?.close();
    await cluster.stop();
  });

  const createEndpoints = async (paths: string[]): Promise<string[]> => {
    const ids: string[] = [];
    for (const [i, path] of paths.entries()) {
      const created = await nodes[i % nodes.length]!.api("POST", "/v1/webhooks", { url: `${receiver.url}${path}`, events: ["*"] });
      expect({ status: created.status, body: created.status === 201 ? null : created.body }).toEqual({ status: 201, body: null });
      ids.push(created.body.data.id);
    }
    // Every node must see the new endpoints before events are sent to it (NOTIFY drops their cached list).
    await Bun.sleep(300);
    return ids;
  };
  const deleteEndpoints = async (ids: string[]) => {
    for (const id of ids) expect((await nodes[0]!.api("DELETE", `/v1/webhooks/${id}`)).status).toBeLessThan(300);
  };
  const unfinished = async (webhookIds: string[]): Promise<number> => {
    const rows = await db`SELECT COUNT(*)::int AS n FROM deliveries WHERE webhook_id IN ${db(webhookIds)} AND status IN ('pending', 'failed')`;
    return rows[0].n;
  };
  const sendersOf = (paths: string[]): Record<string, number> => {
    const by: Record<string, number> = {};
    for (const h of receiver.hits) if (paths.includes(h.path)) by[h.node] = (by[h.node] ?? 0) + 1;
    return by;
  };
  const noErrors = () => {
    for (const n of nodes) expect({ node: n.id, errors: n.errors }).toEqual({ node: n.id, errors: [] });
  };

  describe("three hookd nodes on one PostgreSQL", () => {
    test("events sent round-robin to all three nodes reach every endpoint exactly once", async () => {
      const paths = ["/a1", "/a2", "/a3"];
      const endpoints = await createEndpoints(paths);
      const ids: string[] = [];
      await Promise.all(
        Array.from({ length: 90 }, async (_, i) => {
          const answer = await nodes[i % 3]!.inbound({ n: i, test: "round-robin" }, `rr-${i}`);
          expect(answer.status).toBe(200);
          ids.push(answer.id!);
        }),
      );
      expect(new Set(ids).size).toBe(90);
      await waitFor(() => ids.every((id) => paths.every((p) => receiver.count(p, id) > 0)), 20_000, "every event at every endpoint");
      await waitFor(async () => (await unfinished(endpoints)) === 0, 10_000, "no delivery left unfinished");
      // Give a stray second attempt time to show up before counting.
      await Bun.sleep(500);
      const counts: Record<string, number> = {};
      for (const id of ids) for (const p of paths) counts[receiver.count(p, id)] = (counts[receiver.count(p, id)] ?? 0) + 1;
      expect(counts).toEqual({ 1: 270 });
      const byNode = sendersOf(paths);
      console.log(`round-robin: 90 events × 3 endpoints, each delivered once; attempts by node ${JSON.stringify(byNode)}`);
      expect(Object.keys(byNode).length).toBeGreaterThanOrEqual(2);
      await deleteEndpoints(endpoints);
      noErrors();
    }, 40_000);

    test("per_endpoint_concurrency = 1 holds across nodes: a slow endpoint never has two requests open", async () => {
      // Four more busy endpoints keep every node's two slots in demand, so /slow moves between nodes.
      const paths = ["/slow", "/fast", "/busy1", "/busy2", "/busy3", "/busy4"];
      for (const p of paths.slice(2)) holds.set(p, 40);
      holds.set("/slow", 60);
      failFirst.add("/slow");
      const endpoints = await createEndpoints(paths);
      const ids = await Promise.all(
        Array.from({ length: 40 }, async (_, i) => {
          const answer = await nodes[i % 3]!.inbound({ n: i, test: "concurrency" }, `pec-${i}`);
          expect(answer.status).toBe(200);
          return answer.id!;
        }),
      );
      await waitFor(() => ids.every((id) => receiver.count("/slow", id, true) > 0 && receiver.count("/fast", id) > 0), 25_000, "every event at both endpoints");
      expect(receiver.maxOpen.get("/slow")).toBe(1);
      for (const p of paths) expect({ p, max: receiver.maxOpen.get(p) }).toEqual({ p, max: 1 });
      // The slow endpoint's attempts came from more than one node, else this would prove nothing across nodes.
      const slowBy = sendersOf(["/slow"]);
      console.log(`concurrency: 40 events, /slow held 60 ms each and 503 first, at most ${receiver.maxOpen.get("/slow")} open; /slow attempts by node ${JSON.stringify(slowBy)}`);
      expect(Object.keys(slowBy).length).toBeGreaterThanOrEqual(2);
      for (const p of paths) holds.delete(p);
      failFirst.delete("/slow");
      await deleteEndpoints(endpoints);
      noErrors();
    }, 40_000);

    test("the same webhook-id sent at once to two nodes, 100 times: 100 events, both answers carry one id", async () => {
      const before = (await db`SELECT COUNT(*)::int AS n FROM events`)[0].n;
      const results = await Promise.all(
        Array.from({ length: 100 }, async (_, i) => {
          const body = { n: i, test: "dedupe" };
          const [x, y] = await Promise.all([nodes[i % 3]!.inbound(body, `dup-${i}`), nodes[(i + 1) % 3]!.inbound(body, `dup-${i}`)]);
          return { i, statuses: [x.status, y.status], ids: [x.id, y.id] };
        }),
      );
      for (const r of results) {
        expect(r.statuses).toEqual([200, 200]);
        expect(r.ids[0]).toBeTruthy();
        expect(r.ids[1]).toBe(r.ids[0]);
      }
      expect(new Set(results.map((r) => r.ids[0])).size).toBe(100);
      const after = (await db`SELECT COUNT(*)::int AS n FROM events`)[0].n;
      expect(after - before).toBe(100);
      const dedupe = await db`SELECT COUNT(*)::int AS n FROM inbound WHERE status = 'duplicate'`;
      console.log(`dedupe: 200 requests → ${after - before} events, ${dedupe[0].n} inbound records marked duplicate`);
      noErrors();
    }, 30_000);

    test("a node restarted (SIGKILL, then SIGTERM) while the others hold leases does not take their work", async () => {
      // One endpoint per event type, each event published to a different node, so the leases spread.
      const paths = Array.from({ length: 6 }, (_, i) => `/held${i}`);
      for (const p of paths) holds.set(p, 2500);
      const endpoints: string[] = [];
      for (const [i, path] of paths.entries()) {
        const created = await nodes[i % 3]!.api("POST", "/v1/webhooks", { url: `${receiver.url}${path}`, events: [`held.t${i}`] });
        expect({ status: created.status, body: created.status === 201 ? null : created.body }).toEqual({ status: 201, body: null });
        endpoints.push(created.body.data.id);
      }
      await Bun.sleep(300);
      for (let round = 0; round < 2; round++) {
        for (let i = 0; i < 6; i++) expect((await nodes[(i + round) % 3]!.api("POST", "/v1/events", { type: `held.t${i}`, data: { i, round } })).status).toBe(202);
      }
      await waitFor(() => receiver.open() === 6, 10_000, "six attempts open at the receiver");
      const leased = async () =>
        (await db`SELECT id, split_part(lease_owner, ' ', 1) AS node FROM deliveries WHERE webhook_id IN ${db(endpoints)} AND lease_until IS NOT NULL`) as { id: string; node: string }[];
      const killedWith = new Set<string>(); // deliveries a SIGKILLed node held: their attempt may be repeated
      const heldByOthers = new Set<string>(); // deliveries another node held while one was restarted
      const byNode = (leases: { node: string }[]) => nodes.map((n) => leases.filter((l) => l.node === n.id).length);
      // SIGKILL the node with the most leases among those that leave some to the others.
      let leases = await leased();
      const counts = byNode(leases);
      const ranked = nodes.map((n, i) => ({ n, c: counts[i]! })).sort((a, b) => b.c - a.c);
      const killed = (ranked.find((r) => r.c > 0 && r.c < leases.length) ?? ranked.find((r) => r.c === 0) ?? ranked[0]!).n;
      const stopped = nodes.find((n) => n !== killed && counts[nodes.indexOf(n)]! > 0) ?? nodes.find((n) => n !== killed)!;
      for (const [victim, signal] of [[killed, "SIGKILL"], [stopped, "SIGTERM"]] as const) {
        if (signal === "SIGTERM") {
          await waitFor(() => receiver.open() >= 5, 10_000, "attempts open before the second restart");
          leases = await leased();
        }
        for (const l of leases) (l.node === victim.id ? (signal === "SIGKILL" ? killedWith : new Set<string>()) : heldByOthers).add(l.id);
        const own = leases.filter((l) => l.node === victim.id).length;
        const code = await victim.kill(signal);
        if (signal === "SIGTERM") expect(code).toBe(0);
        await victim.start();
        // Its log line comes through a pipe: give it a moment.
        await Bun.sleep(50);
        console.log(`restart: ${victim.id} ${signal} with leases by node ${JSON.stringify(byNode(leases))} (${own} its own); released at start: ${victim.released.at(-1)}`);
        if (signal === "SIGKILL") expect(victim.released.at(-1)).toBe(own);
      }
      await waitFor(() => receiver.open() === 0 && paths.every((p) => receiver.hits.filter((h) => h.path === p && h.status === 200).length >= 2), 25_000, "every held delivery answered");
      await waitFor(async () => (await unfinished(endpoints)) === 0, 10_000, "all finished");
      // A delivery's next attempt starts only after the previous one was answered, unless the previous
      // one came from a node SIGKILLed while it was in flight.
      const byDelivery = new Map<string, typeof receiver.hits>();
      for (const h of receiver.hits.filter((x) => paths.includes(x.path))) byDelivery.set(h.deliveryId, [...(byDelivery.get(h.deliveryId) ?? []), h]);
      const overlaps: string[] = [];
      for (const [id, list] of byDelivery) {
        list.sort((a, b) => a.arrived - b.arrived);
        for (let i = 1; i < list.length; i++) {
          if (list[i]!.arrived < list[i - 1]!.answered! && !killedWith.has(id)) overlaps.push(`${id}: attempt ${i + 1} (${list[i]!.node}) while attempt ${i} (${list[i - 1]!.node}) was open`);
        }
      }
      expect(overlaps).toEqual([]);
      expect(heldByOthers.size).toBeGreaterThan(0);
      for (const id of heldByOthers) if (!killedWith.has(id)) expect({ id, attempts: byDelivery.get(id)?.length }).toEqual({ id, attempts: 1 });
      const repeated = [...killedWith].map((id) => byDelivery.get(id)?.length ?? 0);
      console.log(`restart: ${[...heldByOthers].filter((id) => !killedWith.has(id)).length} deliveries held by other nodes at a restart, each attempted once; ${killedWith.size} held by the SIGKILLed node, attempted ${repeated.join("/") || "-"} times`);
      for (const p of paths) holds.delete(p);
      await deleteEndpoints(endpoints);
      noErrors();
    }, 45_000);
  });
}
