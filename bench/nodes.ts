/**
 * nodes measures hookd on several nodes over one PostgreSQL (issue 15, must-show 4), in one run:
 *
 * - accepts/s: durable inbound accepts, as bench/ingest.ts drives them: wrk with pre-signed ~1 KB
 *   erp-events (bench/wrk/signed-erp-event.lua) to one `auth = "hmac"` source, no endpoints. With N
 *   nodes there is one wrk per node, run concurrently (wrk takes one URL), 64 connections split
 *   between them; a phase's figure is the sum of their 2xx/s. No proxy in front. All four
 *   configurations stay up and take turns in ROUNDS rounds (order reversed every other round); each
 *   accepts/s figure is the median of its rounds.
 * - deliveries/s: then 3 endpoints subscribed to "*" on one local counting receiver, and the same wrk
 *   load for a few seconds (every event fans out to 3 deliveries); deliveries counted at the
 *   receiver from its first arrival to its last (the queue drains after wrk stops, up to a deadline).
 *   Whether the queue was still non-empty when wrk stopped is printed: if it was, delivery ran at its
 *   capacity; if not, it kept up with ingest and the figure is ingest-bound.
 * - for 1, 2 and 3 `hookd serve` nodes on one PostgreSQL (fsync, synchronous_commit and
 *   full_page_writes on, as shipped; a fresh database each), and SQLite single-node beside them
 *   (WAL, synchronous = FULL, as shipped), all with [delivery] defaults except the https rule.
 * - failover: 2 nodes, `[delivery] timeout = "1s"` (so lease = 2 × 1 s + 30 s = 32 s); an endpoint on a
 *   receiver in this process that holds the first request of a delivery open. When it arrives, the
 *   bench reads the delivery's lease owner (deliveries.lease_owner, "<node id> <run>.<round>"; node id
 *   defaults to host:port) and SIGKILLs that node; failover_s is the time from the SIGKILL until the
 *   other node's request for the same X-Hookd-Delivery arrives. It is bounded below by the lease's end
 *   (lease_until, printed) plus up to one rescan (≤ 5 s) or the sleep-until-next-due of the survivor.
 *
 * Nothing is pinned: hookd nodes, PostgreSQL, wrk and the receiver share both cores of this box, so
 * there is no scaling target; beside each figure the bench prints the CPU (from /proc, ÷ wall time,
 * 1.0 = one core) of the hookd processes, this bench's postgres processes (postmaster and its
 * children), wrk (the load generator), the receiver, how busy the whole machine was, and how much of
 * that was not this bench's (other sessions' processes, kernel threads, irq/softirq, steal) — the
 * reader sees what bounds it.
 * Run: npm run bench:nodes   (or: bun bench/nodes.ts [accept_seconds=4] [deliver_seconds=4] [rounds=3])
 * Needs wrk and PostgreSQL's server binaries (initdb, pg_ctl).
 * Last line: RESULT pg1=… pg2=… pg3=… sqlite=… failover_s=…, where pg<N> and sqlite are durable
 * inbound accepts/s; deliveries/s are on the line above it (`deliveries/s: pg1=… …`).
 */
import { SQL } from "bun";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { cpuTicks, pct, procCpuSeconds } from "./cpu.ts";
import { startBenchPg, type BenchPg } from "./postgres.ts";
import { erpEventSource, fmt, load, machine, measureFsync, spawnReceiver, startHookd, waitUntil, wallNow, type Hookd, type Receiver } from "./support.ts";
import { ensureWrk, runWrk, type WrkResult } from "./wrk.ts";

const ACCEPT_SECONDS = Number(process.argv[2] ?? 4);
const DELIVER_SECONDS = Number(process.argv[3] ?? 4);
const ROUNDS = Number(process.argv[4] ?? 3);
const WARMUP_SECONDS = 1;
const DRAIN_MS = 12_000; // after the delivery phase's wrk stops, how long the queue may take to empty
const CONNECTIONS = 64; // in total, split between the nodes' wrks
const ENDPOINTS = 3;
const SIGNED_REQUESTS = 20_000;
const SOURCE = "bench-erp";
const SECRET = `bench-secret-${crypto.randomUUID()}`;
const BODY_BYTES = 1024;
const SCRIPT = join(import.meta.dir, "wrk/signed-erp-event.lua");
const FAILOVER_TIMEOUT = "1s";
const FAILOVER_DEADLINE_MS = 70_000;

ensureWrk();
const benchStarted = performance.now();
const root = mkdtempSync(join(tmpdir(), "hookd-bench-nodes-"));
console.log(`bench:nodes  ${machine()}  ${load()}  data dir ${root}`);
console.log(
  `accepts/s = durable inbound 2xx/s (wrk, ${CONNECTIONS} connections split over one wrk per node, ~${BODY_BYTES} B signed erp-events, no endpoints, ${WARMUP_SECONDS}s warm-up, then ${ROUNDS} rounds of ${ACCEPT_SECONDS}s per configuration, taking turns; median); ` +
    `deliveries/s = arrivals at a counting receiver, ${ENDPOINTS} endpoints "*", same inbound load for ${DELIVER_SECONDS}s then drain ≤ ${DRAIN_MS / 1000}s; nothing pinned`,
);

// ---- signed requests, replayed by wrk ----
const requestsFile = join(root, "signed-requests.tsv");
const events = erpEventSource(SOURCE, SECRET, BODY_BYTES);
const lines: string[] = [];
for (let i = 0; i < SIGNED_REQUESTS; i++) {
  const body = events.nextBody();
  lines.push(`${events.sign(body)}\t${body}\n`);
}
writeFileSync(requestsFile, lines.join(""));

// ---- CPU accounting over process groups, from /proc ----

/**
 * postgresCpu is the CPU seconds of this bench's PostgreSQL: its postmaster (with what it reaped from
 * exited backends) and every live child of it. Only this cluster's: other sessions' test clusters on the
 * box are also processes named postgres.
 */
function postgresCpu(postmaster: number): number {
  let total = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // f[1] ppid, f[11..14] utime stime cutime cstime
      if (Number(entry) === postmaster) total += (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
      else if (Number(f[1]) === postmaster) total += (Number(f[11]) + Number(f[12])) / 100;
    } catch {
      // exited meanwhile
    }
  }
  return total;
}

const cores = cpus().length;

/** procTable reads every process's ppid and utime + stime (s) from /proc, kernel threads included. */
function procTable(): Map<number, { ppid: number; cpu: number }> {
  const out = new Map<number, { ppid: number; cpu: number }>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.set(Number(entry), { ppid: Number(f[1]), cpu: (Number(f[11]) + Number(f[12])) / 100 });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/**
 * foreignCpu is the CPU seconds, between two procTables, of processes that are not this bench, its
 * descendants (hookd nodes, wrk, receiver) or this bench's PostgreSQL: other sessions' work and kernel threads.
 * A process that started and exited between the two reads is missed (short-lived test processes).
 */
function foreignCpu(before: Map<number, { ppid: number; cpu: number }>, after: Map<number, { ppid: number; cpu: number }>, postmaster: number): number {
  const ours = (pid: number): boolean => {
    for (let p = pid, hops = 0; p > 1 && hops < 64; hops++) {
      if (p === process.pid || p === postmaster) return true;
      p = after.get(p)?.ppid ?? 0;
    }
    return false;
  };
  let total = 0;
  for (const [pid, row] of after) if (!ours(pid)) total += row.cpu - (before.get(pid)?.cpu ?? 0);
  return total;
}

/** irqTicks is the machine's irq + softirq jiffies so far (/proc/stat): mostly loopback packet work here. */
function irqTicks(): number {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/);
  return Number(f[6] ?? 0) + Number(f[7] ?? 0);
}

/** stealTicks is the machine's steal jiffies so far (/proc/stat, 8th field of the "cpu" line). */
function stealTicks(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!;
  return Number(line.trim().split(/\s+/)[8] ?? 0);
}

const safeCpu = (pid: number) => {
  try {
    return procCpuSeconds(pid);
  } catch {
    return Number.NaN;
  }
};

/** groupMeter measures CPU ÷ wall of named groups of pids (and all postgres), and the machine's busy share of its 2 cores. */
function groupMeter(groups: Record<string, number[]>, withPostgres: boolean) {
  const read = () => {
    const out: Record<string, number> = {};
    for (const [name, pids] of Object.entries(groups)) out[name] = pids.reduce((s, p) => s + safeCpu(p), 0);
    if (withPostgres) out.postgres = postgresCpu(pg.postmasterPid);
    return out;
  };
  const c0 = read();
  const t0 = cpuTicks().get("machine")!;
  const s0 = stealTicks();
  const i0 = irqTicks();
  const p0 = procTable();
  const w0 = performance.now();
  return {
    done(): Record<string, number> {
      const wall = (performance.now() - w0) / 1000;
      const c1 = read();
      const t1 = cpuTicks().get("machine")!;
      const out: Record<string, number> = {};
      for (const name of Object.keys(c1)) out[name] = (c1[name]! - c0[name]!) / wall;
      out.machine = (t1.busy - t0.busy) / Math.max(1, t1.total - t0.total); // share of ALL cores
      // steal: time the hypervisor gave this VM's cores to someone else (counted as busy above)
      out.steal = (stealTicks() - s0) / Math.max(1, t1.total - t0.total);
      out.irq = ((irqTicks() - i0) / Math.max(1, t1.total - t0.total)) * cores; // in cores, like the processes
      out.foreign = foreignCpu(p0, procTable(), pg.postmasterPid) / wall;
      // other: busy core time no measured process accounts for (softirq of loopback packets, steal, other processes)
      const ours = Object.entries(out).filter(([k]) => !["machine", "steal", "irq", "foreign"].includes(k)).reduce((a, [, v]) => a + v, 0);
      out.other = out.machine * cores - ours;
      return out;
    },
  };
}

/** withWrk adds wrk's CPU (measured by runWrk) to a meter's reading and takes it out of "other". */
const withWrk = (cpu: Record<string, number>, wrk: number): Record<string, number> => ({ ...cpu, wrk, other: cpu.other! - wrk });

const cpuText = (cpu: Record<string, number>, nodes: number) =>
  `hookd ×${nodes} ${pct(cpu.hookd)}` +
  (cpu.postgres !== undefined ? `, postgres ${pct(cpu.postgres)}` : "") +
  `, wrk ${pct(cpu.wrk)}` +
  (cpu.receiver !== undefined ? `, receiver ${pct(cpu.receiver)}` : "") +
  `; machine ${pct(cpu.machine)} of ${cores} cores busy (not ours: ${pct(cpu.other)} of a core, of which processes not this bench's (seen alive at the end) ${pct(cpu.foreign)}, irq+softirq ${pct(cpu.irq)}, steal ${pct(cpu.steal)} of the machine)`;

/** boundBy names the likely bound: the machine when both cores are near full, else an event loop near its core's limit, else waiting (commit round trips, fsync). */
function boundBy(cpu: Record<string, number>, nodes: number, storage: "postgres" | "sqlite"): string {
  const contended = cpu.foreign! > 0.25 ? `; CONTENDED: other sessions' processes and kernel threads took ${pct(cpu.foreign)} of a core` : "";
  if (cpu.machine! >= 0.9) {
    const groups = ["hookd", "postgres", "wrk", "receiver"].filter((g) => cpu[g] !== undefined).sort((a, b) => cpu[b]! - cpu[a]!);
    return `bound by the ${cores} cores (all in use; by share: ${groups.map((g) => `${g} ${pct(cpu[g])}`).join(" > ")}, other ${pct(cpu.other)})${contended}`;
  }
  if (cpu.hookd! / nodes >= 0.8) return `bound by hookd's event loop${nodes > 1 ? "s" : ""} (≥ 80% of a core each; the rest waits on the synchronous COMMIT)${contended}`;
  if ((cpu.wrk ?? 0) >= 0.8 * Math.min(nodes, cores)) return `bound by wrk, not by hookd${contended}`;
  return storage === "postgres"
    ? `no process at a core's limit and cores to spare: bound by waiting on PostgreSQL (statement round trips, row locks, WAL flush at COMMIT)${contended}`
    : `no process at a core's limit: bound by waiting (the synchronous COMMIT's fsync)${contended}`;
}

/** perOp prints CPU µs per operation for hookd (and postgres). */
const perOp = (cpu: Record<string, number>, rate: number) =>
  `CPU per op: hookd ${fmt((cpu.hookd! / rate) * 1e6, 0)} µs` + (cpu.postgres !== undefined ? `, postgres ${fmt((cpu.postgres / rate) * 1e6, 0)} µs` : "");

// ---- one configuration: N nodes on PostgreSQL, or SQLite ----

interface Config {
  label: string;
  nodes: (Hookd & { killed?: boolean })[];
}

const baseSections = (storage: string) => ({
  storage,
  log: 'level = "warn"',
  delivery: ["require_https = false", 'allow_targets = ["127.0.0.0/8"]'].join("\n"),
  // startHookd writes `[${name}]`, so this key becomes the array-of-tables header [[sources]].
  "[sources]": [`id = "${SOURCE}"`, 'auth = "hmac"', `secret = "${SECRET}"`, 'schema = "erp-event"'].join("\n"),
});

async function startNodes(label: string, count: number, storage: string, extra: Record<string, string> = {}): Promise<Config> {
  const nodes: Hookd[] = [];
  for (let i = 0; i < count; i++) {
    const dir = join(root, `${label}-node${i + 1}`);
    mkdirSync(dir);
    nodes.push(await startHookd(dir, { ...baseSections(storage), ...extra }));
  }
  return { label, nodes };
}

/** runWrks drives every node at once, one wrk each, CONNECTIONS split between them; sums the rates. */
async function runWrks(nodes: Hookd[], seconds: number): Promise<{ results: WrkResult[]; okPerSec: number; non2xx: number; wrkCpu: number }> {
  const per = Math.max(1, Math.round(CONNECTIONS / nodes.length));
  const results = await Promise.all(
    nodes.map((n) => runWrk({ url: `${n.url}/in/${SOURCE}`, seconds, connections: per, script: SCRIPT, scriptArgs: [requestsFile, SOURCE] })),
  );
  return {
    results,
    okPerSec: results.reduce((s, r) => s + r.okPerSec, 0),
    non2xx: results.reduce((s, r) => s + r.non2xx, 0),
    wrkCpu: results.reduce((s, r) => s + r.cpu.wrk!, 0),
  };
}

async function pending(hookd: Hookd): Promise<number> {
  const text = await (await fetch(`${hookd.url}/metrics`, { proxy: false, signal: AbortSignal.timeout(30_000) })).text();
  const value = (status: string) => Number(new RegExp(`^hookd_deliveries\\{status="${status}"\\} (\\S+)$`, "m").exec(text)?.[1] ?? Number.NaN);
  return value("pending") + value("failed");
}

interface Accepts {
  aps: number;
  lines: string[];
}

/** acceptPhase measures durable accepts/s on every node of `config` at once (no endpoints). */
async function acceptPhase(config: Config, storage: "postgres" | "sqlite"): Promise<Accepts> {
  const { nodes } = config;
  const meter = groupMeter({ hookd: nodes.map((n) => n.pid) }, storage === "postgres");
  const accepts = await runWrks(nodes, ACCEPT_SECONDS);
  const cpu = withWrk(meter.done(), accepts.wrkCpu);
  const p99 = Math.max(...accepts.results.map((r) => r.latencyMs.p99));
  return {
    aps: accepts.okPerSec,
    lines: [
      `  accepts ${fmt(accepts.okPerSec, 0).padStart(6)} /s  (${accepts.results.map((r) => fmt(r.okPerSec, 0)).join(" + ")}; worst p99 ${fmt(p99, 1)} ms` +
        `${accepts.non2xx > 0 || accepts.results.some((r) => r.socketErrors) ? `; NOT 2xx: ${accepts.non2xx}, socket errors: ${accepts.results.map((r) => r.socketErrors || "none").join(" / ")}` : ""})`,
      `    CPU: ${cpuText(cpu, nodes.length)}; ${perOp(cpu, accepts.okPerSec)}: ${boundBy(cpu, nodes.length, storage)}`,
    ],
  };
}

interface Deliveries {
  dps: number;
  lines: string[];
}

/** deliverPhase adds ENDPOINTS endpoints on `receiver`, drives the same inbound load, and counts deliveries at the receiver. */
async function deliverPhase(config: Config, storage: "postgres" | "sqlite", receiver: Receiver): Promise<Deliveries> {
  const { nodes } = config;
  for (let i = 0; i < ENDPOINTS; i++) {
    const created = await nodes[0]!.api("POST", "/v1/webhooks", { url: `${receiver.url}/ep/${i}`, events: ["*"] });
    if (created.status !== 201) throw new Error(`creating endpoint ${i} answered ${created.status}: ${JSON.stringify(created.body)}`);
  }
  await Bun.sleep(500); // other nodes drop their cached endpoint list on the NOTIFY
  await receiver.reset(false);
  const meter = groupMeter({ hookd: nodes.map((n) => n.pid), receiver: [receiver.pid] }, storage === "postgres");
  const windowStarted = performance.now();
  const load2 = await runWrks(nodes, DELIVER_SECONDS);
  const backlogAtStop = await pending(nodes[0]!);
  const drained = await waitUntil(async () => (await pending(nodes[0]!)) === 0, DRAIN_MS, 100);
  // wrk ran for its seconds of the window only: its CPU spread over the whole window (wrk + drain).
  const cpu = withWrk(meter.done(), (load2.wrkCpu * load2.results[0]!.seconds) / ((performance.now() - windowStarted) / 1000));
  const stats = await receiver.stats();
  const left = drained ? 0 : await pending(nodes[0]!);
  const span = (stats.lastAt - stats.firstAt) / 1000;
  const dps = stats.count / span;
  const acceptedEvents = load2.results.reduce((s, r) => s + r.requests - r.non2xx, 0);
  return {
    dps,
    lines: [
      `  deliveries ${fmt(dps, 0).padStart(6)} /s  (${stats.count} arrivals in ${fmt(span, 2)} s, first to last; ${acceptedEvents} events accepted at ${fmt(load2.okPerSec, 0)}/s × ${ENDPOINTS} endpoints; ` +
        `queue at wrk stop ${backlogAtStop}${backlogAtStop > 0 ? " → delivery at capacity" : " → delivery kept up: ingest-bound"}; ${drained ? "drained" : `NOT drained in ${DRAIN_MS / 1000} s, ${left} left`})`,
      `    CPU over wrk + drain: ${cpuText(cpu, nodes.length)}; ${perOp(cpu, dps)}: ${boundBy(cpu, nodes.length, storage)}`,
    ],
  };
}

async function stopAll(config: Config): Promise<string> {
  const exits = await Promise.all(config.nodes.map((n) => n.stop()));
  return exits
    .map((e, i) => {
      if (config.nodes[i]!.killed) return `node${i + 1} SIGKILLed by the bench`;
      // Every node warns twice at start about require_https = false (the receiver is plain HTTP); anything else is shown.
      // and that its temp config file (written 0644 by bench/support.ts) holds secrets.
      const unexpected = e.tail.filter((l) => l.trim() !== "" && !l.includes("require_https") && !l.includes("holds secrets"));
      return `node${i + 1} exit ${e.code}${unexpected.length > 0 ? `, ${unexpected.length} unexpected log lines, last: ${unexpected.at(-1)!.slice(0, 200)}` : ""}`;
    })
    .join("; ");
}

// ---- failover ----

interface Failover {
  seconds: number;
  lines: string[];
}

async function failover(pg: BenchPg): Promise<Failover> {
  const url = await pg.createDatabase("failover");
  const out: string[] = [];
  // A receiver in this process: the first request of each delivery is held open (never answered),
  // any later one is answered 200 and timed.
  const firstSeen = new Map<string, number>();
  const redelivered = new Map<string, number>();
  let onFirst: ((id: string) => void) | null = null;
  const holder = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(request) {
      const id = request.headers.get("x-hookd-delivery") ?? "";
      await request.text();
      if (!firstSeen.has(id)) {
        firstSeen.set(id, wallNow());
        onFirst?.(id);
        return new Promise<Response>(() => {}); // held until the node holding it dies
      }
      if (!redelivered.has(id)) redelivered.set(id, wallNow());
      return new Response("ok");
    },
  });
  const config = await startNodes("failover", 2, `url = "${url}"`, {
    delivery: ["require_https = false", 'allow_targets = ["127.0.0.0/8"]', `timeout = "${FAILOVER_TIMEOUT}"`].join("\n"),
  });
  const sql = new SQL({ url, max: 1 });
  try {
    const created = await config.nodes[0]!.api("POST", "/v1/webhooks", { url: `http://127.0.0.1:${holder.port}/hold`, events: ["*"] });
    if (created.status !== 201) throw new Error(`creating the endpoint answered ${created.status}`);
    await Bun.sleep(500);
    const arrived = new Promise<string>((resolve) => (onFirst = resolve));
    const published = await config.nodes[1]!.api("POST", "/v1/events", { type: "bench.failover", data: { n: 1 } });
    if (published.status !== 202) throw new Error(`publish answered ${published.status}`);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const id = await Promise.race([arrived, new Promise<string>((_, reject) => (timer = setTimeout(() => reject(new Error("the delivery never arrived")), 15_000)))]);
    clearTimeout(timer);
    const rows = (await sql`SELECT lease_owner, lease_until FROM deliveries WHERE id = ${id}`) as { lease_owner: string | null; lease_until: string | number | null }[];
    const owner = rows[0]?.lease_owner ?? "";
    const port = Number(/:(\d+) /.exec(owner)?.[1] ?? Number.NaN);
    const victim = config.nodes.find((n) => n.url.endsWith(`:${port}`));
    if (!victim) throw new Error(`lease owner ${JSON.stringify(owner)} names no node of ${config.nodes.map((n) => n.url).join(", ")}`);
    process.kill(victim.pid, "SIGKILL");
    victim.killed = true;
    const killedAt = wallNow();
    const leaseUntil = Number(rows[0]!.lease_until);
    const survivor = config.nodes.find((n) => n !== victim)!;
    out.push(
      `failover: delivery ${id} held by ${owner.split(" ")[0]} (node${config.nodes.indexOf(victim) + 1}); SIGKILL ${fmt((killedAt - firstSeen.get(id)!) / 1000, 3)} s after its request arrived; ` +
        `lease ends ${fmt((leaseUntil - killedAt) / 1000, 2)} s after the kill ([delivery] timeout = "${FAILOVER_TIMEOUT}" → lease 2 × timeout + 30 s)`,
    );
    const delivered = await waitUntil(() => redelivered.has(id), FAILOVER_DEADLINE_MS, 20);
    if (!delivered) {
      out.push(`failover: NOT redelivered within ${FAILOVER_DEADLINE_MS / 1000} s of the kill`);
      return { seconds: Number.NaN, lines: out };
    }
    const at = redelivered.get(id)!;
    const seconds = (at - killedAt) / 1000;
    let state: { status: string; attempts: number }[] = [];
    await waitUntil(async () => {
      state = (await sql`SELECT status, attempts FROM deliveries WHERE id = ${id}`) as { status: string; attempts: number }[];
      return state[0]?.status === "delivered";
    }, 5_000, 50);
    out.push(
      `failover: node${config.nodes.indexOf(survivor) + 1} delivered it ${fmt(seconds, 2)} s after the SIGKILL, ${fmt((at - leaseUntil) / 1000, 2)} s after the lease ended ` +
        `(the survivor's rescan / sleep-until-due); row now ${state[0]?.status}, attempts ${state[0]?.attempts}`,
    );
    return { seconds, lines: out };
  } finally {
    await sql.close();
    out.push(`failover nodes: ${await stopAll(config)}`);
    holder.stop(true);
  }
}

// ---- the run ----
// Every configuration is started first and stays up through the accept rounds (an idle node costs a rescan
// every 5 s); the accept phases take turns, order reversed every other round, and each figure is the median
// of its ROUNDS phases, so a burst of other work on this shared box lands on one phase of each, not on one
// configuration. Then each configuration's delivery phase, and it is stopped; then the failover.

interface Run {
  key: "pg1" | "pg2" | "pg3" | "sqlite";
  label: string;
  storage: "postgres" | "sqlite";
  config: Config;
  accepts: Accepts[];
  deliveries?: Deliveries;
  exit?: string;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const pg = await startBenchPg();
const receiver = await spawnReceiver();
const runs: Run[] = [];
let fail: Failover = { seconds: Number.NaN, lines: [] };
try {
  // How busy the box is before anything of this bench runs: other sessions' tests share these cores.
  const idle = groupMeter({}, false);
  await Bun.sleep(2000);
  console.log(`before the run: machine ${pct(idle.done().machine)} of ${cores} cores busy over 2 s (other sessions' work; during phases it shows as "not ours")`);
  const fsync = measureFsync(root, 200);
  console.log(`PostgreSQL: ${await pg.settings()}; fsync of the data disk (4 KiB write + fsync, 200×): p50 ${fmt(fsync.p50, 2)} ms, p99 ${fmt(fsync.p99, 2)} ms`);
  for (const n of [1, 2, 3] as const) {
    const url = await pg.createDatabase(`pg${n}`);
    runs.push({ key: `pg${n}`, label: `PostgreSQL, ${n} node${n > 1 ? "s" : ""}`, storage: "postgres", config: await startNodes(`pg${n}`, n, `url = "${url}"`), accepts: [] });
  }
  const sqliteDir = join(root, "sqlite-data");
  mkdirSync(sqliteDir);
  runs.push({ key: "sqlite", label: "SQLite, 1 node", storage: "sqlite", config: await startNodes("sqlite", 1, `path = ${JSON.stringify(join(sqliteDir, "hookd.db"))}`), accepts: [] });
  for (const run of runs) await runWrks(run.config.nodes, WARMUP_SECONDS);
  for (let round = 0; round < ROUNDS; round++) {
    for (const run of round % 2 === 0 ? runs : [...runs].reverse()) run.accepts.push(await acceptPhase(run.config, run.storage));
  }
  for (const run of runs) {
    try {
      run.deliveries = await deliverPhase(run.config, run.storage, receiver);
    } finally {
      run.exit = await stopAll(run.config);
    }
  }
  fail = await failover(pg);
} finally {
  for (const run of runs) if (run.exit === undefined) run.exit = await stopAll(run.config);
  await receiver.stop();
  await pg.stop();
  rmSync(root, { recursive: true, force: true });
}

console.log("");
const aps = new Map(runs.map((r) => [r.key, median(r.accepts.map((a) => a.aps))]));
for (const run of runs) {
  console.log(`${run.label}: accepts/s median of ${run.accepts.length} = ${fmt(aps.get(run.key)!, 0)}, deliveries/s = ${fmt(run.deliveries?.dps ?? Number.NaN, 0)}`);
  run.accepts.forEach((a, i) => a.lines.forEach((l, j) => console.log(j === 0 ? `  round ${i + 1}${l}` : l)));
  for (const l of run.deliveries?.lines ?? []) console.log(l);
}
for (const l of fail.lines) console.log(l);
for (const run of runs) console.log(`exits ${run.key}: ${run.exit}`);
console.log(`${load()} at the end; whole bench ${fmt((performance.now() - benchStarted) / 1000, 0)} s`);
const dps = (key: Run["key"]) => fmt(runs.find((r) => r.key === key)?.deliveries?.dps ?? Number.NaN, 0);
const a = (key: Run["key"]) => fmt(aps.get(key) ?? Number.NaN, 0);
console.log(`deliveries/s: pg1=${dps("pg1")} pg2=${dps("pg2")} pg3=${dps("pg3")} sqlite=${dps("sqlite")}`);
console.log(`RESULT pg1=${a("pg1")} pg2=${a("pg2")} pg3=${a("pg3")} sqlite=${a("sqlite")} failover_s=${fmt(fail.seconds, 1)}`);
