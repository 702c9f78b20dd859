/**
 * ingest measures durable inbound accepts (issue 5, must-show 4): 64 concurrent senders POST ~1 KB
 * HMAC-signed erp-events, each with a unique message, to one `auth = "hmac"` source on
 * `POST /in/:source`. There are no webhook endpoints, so this is ingest alone: auth, validation and
 * the group-committed transaction (SQLite WAL, synchronous = FULL as shipped) before the 200. The
 * same client, at the same concurrency, then sends the same kind of requests to a bare `Bun.serve`
 * that reads the body and answers 200, and the bench prints hookd's rate over that one's. Last, a
 * second hookd with group commit off (`groupCommitMaxBatch = 1`, one transaction per request, via
 * bench/hookd-runner.ts) shows what group commit buys. hookd, the bare server and this client are
 * separate processes; the data directory's fsync latency is taken in the same run for context.
 * Run: npm run bench:ingest   (or: bun bench/ingest.ts [seconds=8] [warmup_seconds=2])
 * BENCH_HOOKD_FLAGS="--cpu-prof-md --cpu-prof-dir=/tmp/prof" passes Bun flags to the hookd children for profiling.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closedLoop, emptyTally, erpEventSource, fmt, load, machine, measureFsync, percentile, spawnReceiver, startHookd, type Hookd } from "./support.ts";

const SECONDS = Number(process.argv[2] ?? 8);
const WARMUP_SECONDS = Number(process.argv[3] ?? 2);
const SENDERS = 64;
const SOURCE = "bench-erp";
const SECRET = `bench-secret-${crypto.randomUUID()}`;
const BODY_BYTES = 1024; // the events are padded to about this size
const REQUEST_TIMEOUT_MS = 10_000;
const FLAGS = (process.env.BENCH_HOOKD_FLAGS ?? "").split(" ").filter(Boolean);
const RUNNER = join(import.meta.dir, "hookd-runner.ts");
const CLK_TCK = 100; // Linux USER_HZ (`getconf CLK_TCK`): the unit of utime/stime in /proc/<pid>/stat

const dir = mkdtempSync(join(tmpdir(), "hookd-bench-ingest-"));
console.log(`bench:ingest  ${machine()}  ${load()}  data dir ${dir}`);
console.log(`${SENDERS} concurrent senders, ~${BODY_BYTES} B signed erp-events to one hmac source, no endpoints; ${WARMUP_SECONDS}s warm-up + ${SECONDS}s per phase`);

// ---- the requests ----

const events = erpEventSource(SOURCE, SECRET, BODY_BYTES);
const nextRequest = events.nextRequest;

// ---- the client ----

interface PhaseResult {
  ok: number;
  rejected: number;
  failed: number;
  firstProblem: string;
  seconds: number;
  /** ms per 200, send to answer read, ascending */
  latencies: Float64Array;
  cpu: CpuSpan;
}

/** phase keeps SENDERS requests in flight against `url` for `seconds` and counts the 200s. */
async function phase(url: string, seconds: number, serverPid: number | null): Promise<PhaseResult> {
  const tally = emptyTally();
  const cpu = cpuMeter(serverPid);
  const elapsed = await closedLoop({ url, seconds, senders: SENDERS, next: nextRequest, accepted: (status) => status === 200, tally, timeoutMs: REQUEST_TIMEOUT_MS });
  const span = cpu.done();
  const { ok, notOk: rejected, failed, firstProblem } = tally;
  return { ok, rejected, failed, firstProblem, seconds: elapsed, latencies: Float64Array.from(tally.latencies).sort(), cpu: span };
}

// ---- CPU accounting, so a rate can be read against what each process used ----

interface CpuSpan {
  /** the server's CPU time ÷ wall time (1.0 = one core busy), null when no pid */
  server: number | null;
  client: number;
  /** busy share of all CPUs (from /proc/stat), including other people's work */
  machine: number;
}

function procCpuSeconds(pid: number): number {
  // Fields after the ")" of the command name: state is field 3, utime 14, stime 15.
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** childPidRunning finds this process's child whose command line contains `marker` (spawnReceiver does not expose its pid). */
function childPidRunning(marker: string): number | null {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === process.pid && readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(marker)) return Number(entry);
    } catch {
      // the process went away meanwhile
    }
  }
  return null;
}

function machineTicks(): { busy: number; total: number } {
  const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  const idle = cpu[3]! + (cpu[4] ?? 0);
  return { busy: total - idle, total };
}

function cpuMeter(serverPid: number | null): { done(): CpuSpan } {
  const wall0 = performance.now();
  const server0 = serverPid === null ? 0 : procCpuSeconds(serverPid);
  const client0 = process.cpuUsage();
  const machine0 = machineTicks();
  return {
    done() {
      const wall = (performance.now() - wall0) / 1000;
      const client = process.cpuUsage(client0);
      const machine1 = machineTicks();
      return {
        server: serverPid === null ? null : (procCpuSeconds(serverPid) - server0) / wall,
        client: (client.user + client.system) / 1e6 / wall,
        machine: (machine1.busy - machine0.busy) / Math.max(1, machine1.total - machine0.total),
      };
    },
  };
}

// ---- hookd's /metrics: group-commit batch sizes and events stored ----

interface Scrape {
  buckets: Map<string, number>; // le → cumulative count
  sum: number;
  count: number;
  inboundEvents: number;
}

async function scrape(hookd: Hookd): Promise<Scrape> {
  const response = await fetch(`${hookd.url}/metrics`, { proxy: false, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const text = await response.text();
  const buckets = new Map<string, number>();
  let sum = 0;
  let count = 0;
  let inboundEvents = 0;
  for (const line of text.split("\n")) {
    const bucket = /^hookd_group_commit_batch_size_bucket\{le="([^"]+)"\} (\S+)$/.exec(line);
    if (bucket) buckets.set(bucket[1]!, Number(bucket[2]));
    else if (line.startsWith("hookd_group_commit_batch_size_sum ")) sum = Number(line.split(" ")[1]);
    else if (line.startsWith("hookd_group_commit_batch_size_count ")) count = Number(line.split(" ")[1]);
    else if (/^hookd_events_created_total\{[^}]*origin="inbound"[^}]*\} /.test(line)) inboundEvents = Number(line.split(" ").at(-1));
  }
  return { buckets, sum, count, inboundEvents };
}

/** batchReport describes the commits between two scrapes: how many, their mean size, and how many fell in each bucket. */
function batchReport(before: Scrape, after: Scrape, seconds: number): string {
  const commits = after.count - before.count;
  if (commits <= 0) return "no group commits recorded";
  const parts: string[] = [];
  let previousLe = "0";
  let previous = 0;
  for (const [le, cumulative] of after.buckets) {
    const inBucket = cumulative - (before.buckets.get(le) ?? 0) - previous;
    previous += inBucket;
    const low = Number(previousLe) + 1;
    const range = le === "+Inf" ? `${low}+` : low === Number(le) ? le : `${low}-${le}`;
    if (inBucket > 0) parts.push(`${range}: ${inBucket}`);
    previousLe = le;
  }
  const mean = (after.sum - before.sum) / commits;
  return `${commits} commits (${fmt(commits / seconds, 0)}/s), mean ${fmt(mean, 1)} writes per commit; by size ${parts.join(", ")}`;
}

// ---- the run ----

const hookdSections = (sub: string) => {
  const data = join(dir, sub);
  mkdirSync(data);
  return {
    dir: data,
    sections: {
      storage: `path = ${JSON.stringify(join(data, "hookd.db"))}`,
      log: 'level = "warn"',
      // startHookd writes `[${name}]`, so this key becomes the array-of-tables header [[sources]].
      "[sources]": [`id = "${SOURCE}"`, 'auth = "hmac"', `secret = "${SECRET}"`, 'schema = "erp-event"'].join("\n"),
    },
  };
};

interface HookdRun {
  result: PhaseResult;
  batches: string;
  stored: number;
  exit: { code: number | null; lines: number; tail: string[] };
}

/** measureHookd warms up, then measures one phase against a started hookd and stops it. */
async function measureHookd(hookd: Hookd): Promise<HookdRun> {
  try {
    const url = `${hookd.url}/in/${SOURCE}`;
    await phase(url, WARMUP_SECONDS, null);
    const before = await scrape(hookd);
    const result = await phase(url, SECONDS, hookd.pid);
    const after = await scrape(hookd);
    return {
      result,
      batches: batchReport(before, after, result.seconds),
      stored: after.inboundEvents - before.inboundEvents,
      exit: await hookd.stop(),
    };
  } finally {
    await hookd.stop();
  }
}

const rate = (r: PhaseResult) => r.ok / r.seconds;
const line = (label: string, r: PhaseResult) =>
  `${label.padEnd(46)} ${fmt(rate(r), 0).padStart(6)} /s  (${r.ok} × 200 in ${fmt(r.seconds, 2)} s)  ` +
  `p50 ${fmt(percentile(r.latencies, 50), 2)} ms  p90 ${fmt(percentile(r.latencies, 90), 2)} ms  p99 ${fmt(percentile(r.latencies, 99), 2)} ms  max ${fmt(r.latencies.at(-1) ?? NaN, 2)} ms`;
const cpuLine = (r: PhaseResult, server: string) =>
  `  CPU: ${server} ${r.cpu.server === null ? "n/a" : `${fmt(r.cpu.server * 100, 0)}%`} of a core, client ${fmt(r.cpu.client * 100, 0)}%, machine ${fmt(r.cpu.machine * 100, 0)}% of all cores` +
  (r.rejected + r.failed > 0 ? `; NOT 200: ${r.rejected} answered, ${r.failed} failed (first: ${r.firstProblem})` : "");

const bare = await spawnReceiver();
try {
  // Context first, while everything is idle: what one durable commit costs this disk.
  const fsync = measureFsync(dir, 200);

  const a = hookdSections("group-commit");
  const shipped = await measureHookd(await startHookd(a.dir, a.sections, FLAGS));

  const bareUrl = `${bare.url}/in/${SOURCE}`;
  await phase(bareUrl, WARMUP_SECONDS, null);
  await bare.reset(false);
  const bareResult = await phase(bareUrl, SECONDS, childPidRunning("Bun.serve"));
  const bareSeen = (await bare.stats()).count;

  const b = hookdSections("one-per-request");
  const off = await measureHookd(await startHookd(b.dir, b.sections, [...FLAGS, RUNNER, "--group-commit-max-batch=1"]));

  const ratio = rate(shipped.result) / rate(bareResult);
  const p50 = percentile(shipped.result.latencies, 50);
  const p99 = percentile(shipped.result.latencies, 99);

  console.log("");
  console.log(`fsync (write 4 KiB + fsync, ${fsync.n}×, data dir)  p50 ${fmt(fsync.p50, 2)} ms  p99 ${fmt(fsync.p99, 2)} ms  max ${fmt(fsync.max, 2)} ms`);
  console.log(line("hookd durable accepts (group commit, as shipped)", shipped.result));
  console.log(cpuLine(shipped.result, "hookd"));
  console.log(`  group commit: ${shipped.batches}`);
  console.log(`  events stored (hookd_events_created_total{origin="inbound"}): ${shipped.stored}${shipped.stored === shipped.result.ok ? " = the 200s" : ` ≠ ${shipped.result.ok} 200s`}`);
  console.log(line("bare Bun.serve, reads the body, answers 200", bareResult));
  console.log(cpuLine(bareResult, "bare server"));
  console.log(`  requests the bare server counted: ${bareSeen}`);
  console.log(`ratio hookd ÷ bare                              ${fmt(ratio, 3)}   (target ≥ 0.3, aim 0.4)`);
  console.log(line("hookd, group commit off (1 write per commit)", off.result));
  console.log(cpuLine(off.result, "hookd"));
  console.log(`  group commit: ${off.batches}`);
  console.log(`  events stored: ${off.stored}${off.stored === off.result.ok ? " = the 200s" : ` ≠ ${off.result.ok} 200s`}`);
  console.log(`group commit on ÷ off                           ${fmt(rate(shipped.result) / rate(off.result), 2)}×`);
  for (const [label, run] of [["as shipped", shipped], ["group commit off", off]] as const) {
    console.log(`hookd (${label}): exit ${run.exit.code}, ${run.exit.lines} log lines at warn${run.exit.lines > 0 ? `; last: ${run.exit.tail.slice(-3).join(" | ")}` : ""}`);
  }
  console.log(`${load()} at the end`);
  console.log(`RESULT ratio=${fmt(ratio, 3)} p50_ms=${fmt(p50, 2)} p99_ms=${fmt(p99, 2)}`);
} finally {
  await bare.stop();
  rmSync(dir, { recursive: true, force: true });
}
