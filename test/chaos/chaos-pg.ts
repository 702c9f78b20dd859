import { SQL } from "bun";
import { type Hit, startHitReceiver } from "./hit-receiver";
import { type PgNode, pgNodes, restartPostgres } from "./pg-nodes";
import { type PgCluster, startPgCluster } from "../support/postgres";

/**
 * Chaos across nodes (SPEC §12): three `hookd serve` processes on one PostgreSQL database under steady
 * inbound and publish load, a receiver that sometimes fails or times out, random nodes SIGKILLed and
 * restarted with the same node_id, and one `pg_ctl restart` of the database in the middle. At the end
 * (receiver always 200, drain with a deadline) every acknowledged event must have reached every
 * subscribed endpoint; each duplicate must be tied to an attempt in flight when its node was killed or
 * when the database went away. Everything listens on 127.0.0.1; every loop is bounded.
 */

export interface PgChaosOptions {
  /** SIGKILLs of random nodes, each followed by a restart of that node. */
  kills: number;
  /** `pg_ctl restart` of the database once, after this many kills (default kills / 2; 0 = before the first); -1 = never. */
  pgRestartAfterKill?: number;
  /** "random" (default): any node each time; "each": the nodes in turn, so every node is killed once per three kills. */
  victims?: "random" | "each";
  seed?: number;
  /** Time between kills, random in [minGapMs, maxGapMs]. */
  minGapMs?: number;
  maxGapMs?: number;
  /** Concurrent load loops; each pauses up to maxPauseMs between requests. */
  workers?: number;
  maxPauseMs?: number;
  drainDeadlineMs?: number;
  log?: (line: string) => void;
}

export interface PgChaosReport {
  seed: number;
  durationMs: number;
  kills: { n: number; node: string; at: number; openAtKill: number; leased: number; released: number; stillHeld: number; restartMs: number }[];
  pgRestart: { at: number; ms: number; refusedDuring: number } | null;
  requests: { total: number; acknowledged: number; refused: number; unanswered: number; statuses: Record<string, number> };
  events: { acknowledged: number; stored: number; storedTwice: number };
  deliveries: { expected: number; arrived: number; lost: number; receiverRequests: number; byNode: Record<string, number>; dbStatus: Record<string, number> };
  duplicates: { total: number; atKill: number; atPgRestart: number; unexplained: string[]; doubleRecorded: number };
  nodeErrorLines: number;
  /** Error lines naming 40P01 (deadlock detected): claims, inbound writes or attempt records that PostgreSQL aborted. */
  deadlocks: number;
  /** The server log's account of the first deadlocks (which statements waited for which), when there were any. */
  deadlockDetail: string[];
  nodeErrorSample: string[];
  finalExitCodes: (number | null)[];
  violations: string[];
  /** Hits of the known bug of test/e2e/nodes-outage.test.ts (a node's start-time lease release fails, it exits 1): reported, not failed. */
  knownBug: string[];
  ok: boolean;
}

/** A 2xx answered this long before its node died may not have been recorded yet (completion batching, group commit). */
const IN_FLIGHT_WINDOW_MS = 1000;
const DELIVERY_TIMEOUT_MS = 1000;

const ENDPOINTS: { path: string; events: string[] }[] = [
  { path: "/all", events: ["*"] },
  { path: "/orders", events: ["order.*"] },
  { path: "/billing", events: ["invoice.*"] },
];
const PUBLISH_TYPES = ["order.updated", "invoice.paid", "invoice.created"];
const subscribed = (type: string) =>
  ENDPOINTS.filter((e) => e.events.some((f) => f === "*" || (f.endsWith(".*") ? type.startsWith(f.slice(0, -1)) : f === type))).map((e) => e.path);

/** mulberry32, so a run's random choices can be replayed from its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Req {
  ref: string;
  type: string;
  node: string;
  status: number | null;
  eventId: string | null;
  error: string | null;
}

/** runPgChaos runs the scenario once; it throws only when the harness itself breaks, never for a finding. */
export async function runPgChaos(options: PgChaosOptions): Promise<PgChaosReport | string> {
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const o = { minGapMs: 700, maxGapMs: 1800, workers: 6, maxPauseMs: 20, drainDeadlineMs: 60_000, log: () => {}, pgRestartAfterKill: Math.floor(options.kills / 2), ...options };
  const cluster: PgCluster | string = await startPgCluster();
  if (typeof cluster === "string") return cluster;
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const violations: string[] = [];
  const knownBugHits: string[] = [];
  const r = rng(seed);
  const url = await cluster.createDatabase("hookd_chaos");
  const db = new SQL({ url, max: 2 });
  const receiver = startHitReceiver(now);
  let alwaysOk = false;
  receiver.setAnswer(() => {
    if (alwaysOk) return { status: 200 };
    const x = r();
    if (x < 0.75) return { status: 200 };
    if (x < 0.85) return { status: 500 };
    if (x < 0.95) return { status: 503 };
    // Past the timeout and not a 2xx: a late 200 would be a duplicate with no kill behind it.
    return { status: 504, holdMs: DELIVERY_TIMEOUT_MS + 300 };
  });
  const schedule = ["100ms", "200ms", "500ms", ...Array.from({ length: 40 }, () => "1s")];
  const nodes = pgNodes(url, 3, [`timeout = "${DELIVERY_TIMEOUT_MS}ms"`, `retry_schedule = ${JSON.stringify(schedule)}`, "concurrency = 8", "max_endpoints = 100"], "chaos");
  const up = new Set<PgNode>();
  const reqs: Req[] = [];
  let stopLoad = false;
  const kills: PgChaosReport["kills"] = [];
  let pgRestart = null as PgChaosReport["pgRestart"];
  let pgDown = null as { from: number; to: number } | null;
  // Deliveries a killed node still held a lease on (read after the kill, before its restart): attempts in flight.
  const leasedAtKill = new Map<string, { node: string; at: number }[]>();
  try {
    for (const n of nodes) {
      await n.start();
      up.add(n);
    }
    for (const e of ENDPOINTS) {
      const created = await nodes[0]!.api("POST", "/v1/webhooks", { url: `${receiver.url}${e.path}`, events: e.events });
      if (created.status !== 201) throw new Error(`creating ${e.path}: ${created.status} ${JSON.stringify(created.body)}`);
    }
    await Bun.sleep(300);
    o.log(`chaos-pg: seed ${seed}, ${o.kills} kills, pg restart after kill ${o.pgRestartAfterKill}, nodes ${nodes.map((n) => `${n.id}@${n.url}`).join(" ")}`);

    // ---- load ---------------------------------------------------------------------------------
    let seq = 0;
    let rr = 0;
    const worker = async () => {
      while (!stopLoad && seq < 100_000) {
        const live = [...up];
        if (live.length === 0) {
          await Bun.sleep(5);
          continue;
        }
        const node = live[rr++ % live.length]!;
        const ref = `ref-${String(seq++).padStart(6, "0")}`;
        const inbound = r() < 0.6;
        const type = inbound ? "order.created" : PUBLISH_TYPES[Math.floor(r() * PUBLISH_TYPES.length)]!;
        const req: Req = { ref, type, node: node.id, status: null, eventId: null, error: null };
        reqs.push(req);
        if (inbound) {
          const a = await node.inbound({ ref }, `wh-${ref}`);
          req.status = a.status;
          req.eventId = a.status === 200 ? a.id : null;
          req.error = a.error;
        } else {
          try {
            const a = await node.api("POST", "/v1/events", { type, data: { ref } });
            req.status = a.status;
            req.eventId = a.status === 202 ? (a.body?.data?.id ?? a.body?.id ?? null) : null;
          } catch (error) {
            const e = error as { code?: string; name?: string };
            req.error = e.code ?? e.name ?? "error";
          }
        }
        const pause = r() * o.maxPauseMs;
        if (pause >= 1) await Bun.sleep(pause);
      }
    };
    const workers = Array.from({ length: o.workers }, () => worker());

    // ---- kills and the database restart -------------------------------------------------------------
    // Not right after a node's restart: a node whose start-time lease release meets the restart exits 1
    // (see test/e2e/nodes-outage.test.ts, a known bug); this run measures the rest.
    const restartDatabase = async () => {
      await Bun.sleep(800);
      const from = now();
      const ms = await restartPostgres(cluster);
      pgDown = { from, to: now() };
      pgRestart = { at: Math.round(from), ms: Math.round(ms), refusedDuring: 0 };
      o.log(`pg_ctl restart at ${(from / 1000).toFixed(1)} s took ${Math.round(ms)} ms`);
    };
    if (o.pgRestartAfterKill === 0) await restartDatabase();
    for (let k = 1; k <= o.kills; k++) {
      await Bun.sleep(o.minGapMs + r() * (o.maxGapMs - o.minGapMs));
      const victim = o.victims === "each" ? nodes[(k - 1) % nodes.length]! : nodes[Math.floor(r() * nodes.length)]!;
      up.delete(victim);
      const at = now();
      await victim.kill("SIGKILL");
      const open = receiver.hits.filter((h) => h.node === victim.id && h.answered === null).length;
      // Nobody takes a dead node's leases before they lapse or it restarts: what it holds now is what it had in flight.
      const leased = (await db`SELECT id, lease_owner FROM deliveries WHERE split_part(lease_owner, ' ', 1) = ${victim.id}`) as { id: string; lease_owner: string }[];
      await Bun.sleep(r() * 300);
      // `at` is when its successor is spawned: the receiver may stamp a request the dead node sent a little after the kill.
      for (const { id } of leased) leasedAtKill.set(id, [...(leasedAtKill.get(id) ?? []), { node: victim.id, at: now() }]);
      const began = performance.now();
      await victim.start();
      // Its restart must release every lease it held when it died (a token of the dead run still on a row = not
      // released). That happens just after /readyz answers, and may wait on row locks: allow 3 s.
      const tokens = [...new Set(leased.map((l) => l.lease_owner))];
      const held = async () => (tokens.length === 0 ? 0 : Number((await db`SELECT COUNT(*)::int AS n FROM deliveries WHERE lease_owner IN ${db(tokens)}`)[0].n));
      const waitUntil = performance.now() + 3000;
      let stillHeld = await held();
      while (stillHeld > 0 && performance.now() < waitUntil) {
        await Bun.sleep(50);
        stillHeld = await held();
      }
      up.add(victim);
      const record = { n: k, node: victim.id, at: Math.round(at), openAtKill: open, leased: leased.length, released: victim.released.at(-1) ?? 0, stillHeld, restartMs: Math.round(performance.now() - began) };
      kills.push(record);
      o.log(`kill ${k}/${o.kills} ${victim.id} at ${(at / 1000).toFixed(1)} s: ${leased.length} leases held, ${open} attempts open at the receiver; restarted in ${record.restartMs} ms, released ${record.released} leases, ${stillHeld} of the old ones still held`);
      if (stillHeld !== 0) {
        // The known bug (test/e2e/nodes-outage.test.ts): the start-time release failed and the node exited 1
        // after it was ready. Its leases lapse (32 s here) and other nodes take them; the drain waits for that.
        const knownBug = victim.errors.some((e) => e.startsWith("(stderr) hookd: StorageUnavailableError"));
        (knownBug ? knownBugHits : violations).push(`kill ${k}: ${victim.id} restarted and 3 s later ${stillHeld} of the ${leased.length} leases it died with were still held${knownBug ? ` (it exited: ${victim.errors.find((e) => e.startsWith("(stderr) hookd:"))})` : ""}`);
      }
      if (k === o.pgRestartAfterKill) await restartDatabase();
    }
    await Bun.sleep(500);
    stopLoad = true;
    await Promise.all(workers);

    // ---- drain ------------------------------------------------------------------------------------
    alwaysOk = true;
    const acked = reqs.filter((q) => q.eventId !== null);
    const missing = () => {
      const out: string[] = [];
      for (const q of acked) for (const p of subscribed(q.type)) if (receiver.count(p, q.eventId!, true) === 0) out.push(`${q.eventId} ${p}`);
      return out;
    };
    const unfinished = async () => Number((await db`SELECT COUNT(*)::int AS n FROM deliveries WHERE status IN ('pending', 'failed')`)[0].n);
    const drainStart = now();
    let last = -1;
    // An attempt whose record failed (database restart, 40P01 deadlock) keeps its lease, as do the leases of a
    // node that hit the known start-time bug: they lapse 2 × timeout + 30 s after their claim, then another
    // node takes them. The drain waits for that before anything counts as lost.
    const leasesLeft = () => knownBugHits.length > 0 || nodes.some((n) => n.errors.some((e) => e.includes("recording a delivery attempt failed")));
    while (now() - drainStart < o.drainDeadlineMs + (leasesLeft() ? 35_000 : 0)) {
      const m = missing().length;
      const left = await unfinished().catch(() => -1);
      if (m === 0 && left === 0 && receiver.open() === 0) break;
      if (m !== last) o.log(`drain: ${m} acknowledged (event, endpoint) pairs missing, ${left} deliveries unfinished`);
      last = m;
      await Bun.sleep(200);
    }
    const lost = missing();
    for (const m of lost.slice(0, 10)) violations.push(`lost: ${m} (acknowledged, never delivered with a 2xx)`);

    // ---- verdicts -----------------------------------------------------------------------------------
    const statuses: Record<string, number> = {};
    for (const q of reqs) {
      const label = q.status === null ? `none:${q.error}` : String(q.status);
      statuses[label] = (statuses[label] ?? 0) + 1;
    }
    // A request that timed out was sent to a node that was up and did not answer within 15 s: a hung node.
    const hung = reqs.filter((q) => q.error === "TimeoutError");
    if (hung.length > 0) violations.push(`${hung.length} requests got no answer within 15 s from a live node (first to ${hung[0]!.node}, ${hung[0]!.ref})`);
    if (pgRestart && pgDown) {
      // Requests refused while the database was away; answers are not timed, so this counts 503s overall.
      pgRestart.refusedDuring = reqs.filter((q) => q.status === 503).length;
    }
    const badStatus = reqs.filter((q) => q.status !== null && q.status !== 200 && q.status !== 202 && q.status !== 503);
    for (const q of badStatus.slice(0, 5)) violations.push(`request ${q.ref} answered ${q.status} (only 200/202, or 503 while the database is away, are expected)`);
    const okHits = new Map<string, Hit[]>();
    for (const h of receiver.hits) if (h.status !== null && h.status < 300) okHits.set(`${h.path} ${h.eventId}`, [...(okHits.get(`${h.path} ${h.eventId}`) ?? []), h]);
    let dupTotal = 0;
    let atKill = 0;
    let atPg = 0;
    const unexplained: string[] = [];
    for (const [key, list] of okHits) {
      list.sort((a, b) => a.arrived - b.arrived);
      for (let i = 1; i < list.length; i++) {
        dupTotal++;
        const prev = list[i - 1]!;
        if (leasedAtKill.get(prev.deliveryId)?.some((x) => x.node === prev.node && x.at > prev.arrived)) atKill++;
        // A 2xx whose recording could not commit while the database restarted: its lease lapses and it is sent again.
        else if (pgDown && prev.arrived < pgDown.to && prev.answered! > pgDown.from - IN_FLIGHT_WINDOW_MS) atPg++;
        else unexplained.push(`${key}: 2xx by ${prev.node} at ${Math.round(prev.arrived)}→${Math.round(prev.answered!)} ms, again by ${list[i]!.node} at ${Math.round(list[i]!.arrived)} ms`);
      }
    }
    for (const u of unexplained.slice(0, 10)) violations.push(`duplicate not explained by a kill or the database restart: ${u}`);
    const stored = (await db`SELECT substring(body from '"ref":"(ref-[0-9]+)"') AS ref, COUNT(*)::int AS n FROM events GROUP BY 1`) as { ref: string | null; n: number }[];
    const storedTwice = stored.filter((s) => s.ref !== null && s.n > 1).length;
    if (storedTwice > 0) violations.push(`${storedTwice} requests stored as more than one event`);
    const dbStatus: Record<string, number> = {};
    for (const row of await db`SELECT status, COUNT(*)::int AS n FROM deliveries GROUP BY status`) dbStatus[row.status] = row.n;
    for (const s of ["pending", "failed", "expired"]) if ((dbStatus[s] ?? 0) > 0) violations.push(`${dbStatus[s]} deliveries left ${s} after the drain`);
    const doubleRecorded = Number(
      (await db`SELECT COUNT(*)::int AS n FROM (SELECT delivery_id FROM attempts WHERE status_code BETWEEN 200 AND 299 GROUP BY delivery_id HAVING COUNT(*) > 1) x`)[0].n,
    );
    if (doubleRecorded > 0) violations.push(`${doubleRecorded} deliveries have two recorded successes`);
    const byNode: Record<string, number> = {};
    for (const h of receiver.hits) byNode[h.node] = (byNode[h.node] ?? 0) + 1;
    for (const n of nodes) if ((byNode[n.id] ?? 0) === 0) violations.push(`${n.id} never attempted a delivery`);

    const finalExitCodes = await Promise.all(nodes.map((n) => n.kill("SIGTERM")));
    finalExitCodes.forEach((c, i) => {
      if (c === 0) return;
      const exited = nodes[i]!.errors.find((e) => e.startsWith("(stderr) hookd: StorageUnavailableError"));
      if (exited) knownBugHits.push(`${nodes[i]!.id} had exited ${c} by itself: ${exited}`);
      else violations.push(`${nodes[i]!.id} exited ${c} after SIGTERM`);
    });
    const errors = nodes.flatMap((n) => n.errors.map((e) => `${n.id}: ${e}`));
    let expected = 0;
    for (const q of acked) expected += subscribed(q.type).length;
    return {
      seed,
      durationMs: Math.round(now()),
      kills,
      pgRestart,
      requests: {
        total: reqs.length,
        acknowledged: acked.length,
        refused: reqs.filter((q) => q.status !== null && q.eventId === null).length,
        unanswered: reqs.filter((q) => q.status === null).length,
        statuses,
      },
      events: { acknowledged: acked.length, stored: stored.reduce((s, x) => s + x.n, 0), storedTwice },
      deliveries: { expected, arrived: expected - lost.length, lost: lost.length, receiverRequests: receiver.hits.length, byNode, dbStatus },
      duplicates: { total: dupTotal, atKill, atPgRestart: atPg, unexplained, doubleRecorded },
      nodeErrorLines: errors.length,
      deadlocks: errors.filter((e) => e.includes("40P01")).length,
      deadlockDetail: await serverLogDeadlocks(db),
      nodeErrorSample: errors.slice(0, 30),
      finalExitCodes,
      violations,
      knownBug: knownBugHits,
      ok: violations.length === 0,
    };
  } finally {
    stopLoad = true;
    await Promise.all(nodes.map((n) => n.kill("SIGKILL")));
    await receiver.stop();
    await db.close();
    await cluster.stop();
  }
}

/** serverLogDeadlocks reads the test cluster's server log (superuser pg_read_file) for its deadlock reports. */
async function serverLogDeadlocks(db: SQL): Promise<string[]> {
  try {
    const dir = ((await db`SHOW data_directory`) as { data_directory: string }[])[0]!.data_directory;
    const text = ((await db`SELECT pg_read_file(${`${dir}/../server.log`}) AS t`) as { t: string }[])[0]!.t;
    const lines = text.split("\n");
    const out: string[] = [];
    for (let i = 0; i < lines.length && out.length < 40; i++) {
      if (!lines[i]!.includes("deadlock detected")) continue;
      for (let j = i; j < Math.min(lines.length, i + 8); j++) out.push(lines[j]!.slice(0, 400));
    }
    return out;
  } catch (error) {
    return [`server log not readable: ${(error as Error).message}`];
  }
}

/** formatPgSummary is the human summary of a run; its last line is `RESULT …`. */
export function formatPgSummary(x: PgChaosReport): string {
  const st = (m: Record<string, number>) => Object.entries(m).map(([k, v]) => `${k}×${v}`).join(" ");
  return [
    `chaos-pg summary (seed ${x.seed}): ${x.ok ? "PASS" : "FAIL"} in ${(x.durationMs / 1000).toFixed(1)} s`,
    `  kills            ${x.kills.length} SIGKILL (${st(Object.fromEntries(["chaos-a", "chaos-b", "chaos-c"].map((n) => [n, x.kills.filter((k) => k.node === n).length])))}), restart mean ${Math.round(x.kills.reduce((s, k) => s + k.restartMs, 0) / Math.max(1, x.kills.length))} ms; in flight at the kills: ${x.kills.reduce((s, k) => s + k.leased, 0)} leases held (${x.kills.reduce((s, k) => s + k.openAtKill, 0)} attempts open at the receiver), ${x.kills.reduce((s, k) => s + k.released, 0)} released by the restarted nodes`,
    `  database         ${x.pgRestart ? `pg_ctl restart at ${(x.pgRestart.at / 1000).toFixed(1)} s took ${x.pgRestart.ms} ms; 503 answers over the run ${x.pgRestart.refusedDuring}` : "not restarted"}`,
    `  requests         ${x.requests.total}: acknowledged ${x.requests.acknowledged}, refused ${x.requests.refused}, unanswered ${x.requests.unanswered} (${st(x.requests.statuses)})`,
    `  events           acknowledged ${x.events.acknowledged}, stored ${x.events.stored}, stored twice ${x.events.storedTwice}`,
    `  deliveries       expected ${x.deliveries.expected}, arrived ${x.deliveries.arrived}, LOST ${x.deliveries.lost}; receiver saw ${x.deliveries.receiverRequests} attempts (by node ${st(x.deliveries.byNode)}); db ${st(x.deliveries.dbStatus)}`,
    `  duplicates       ${x.duplicates.total} extra 2xx: in flight at a kill ${x.duplicates.atKill}, at the database restart ${x.duplicates.atPgRestart}, unexplained ${x.duplicates.unexplained.length}; deliveries with two recorded successes ${x.duplicates.doubleRecorded}`,
    `  node log         ${x.nodeErrorLines} error lines (${x.deadlocks} with 40P01 deadlock detected)${x.nodeErrorSample.length ? `, e.g. ${x.nodeErrorSample[0]!.slice(0, 240)}` : ""}`,
    `  final SIGTERM    exit codes ${x.finalExitCodes.join(", ")}`,
    ...(x.knownBug.length ? ["  known bug (nodes-outage.test.ts todo):", ...x.knownBug.map((v) => `    - ${v.slice(0, 400)}`)] : []),
    ...(x.violations.length ? ["  VIOLATIONS:", ...x.violations.map((v) => `    - ${v}`)] : []),
    `RESULT kills=${x.kills.length} pg_restarts=${x.pgRestart ? 1 : 0} acked=${x.requests.acknowledged} expected=${x.deliveries.expected} arrived=${x.deliveries.arrived} lost=${x.deliveries.lost} duplicates=${x.duplicates.total} dup_at_kill=${x.duplicates.atKill} dup_at_pg_restart=${x.duplicates.atPgRestart} unexplained=${x.duplicates.unexplained.length} known_bug_hits=${x.knownBug.length}`,
  ].join("\n");
}
