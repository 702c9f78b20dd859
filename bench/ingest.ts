/**
 * ingest measures durable inbound accepts (issue 5, must-show 4): `wrk` keeps 64 connections busy
 * POSTing ~1 KB HMAC-signed erp-events to one `auth = "hmac"` source on `POST /in/:source`. There
 * are no webhook endpoints, so this is ingest alone: auth, validation and the group-committed
 * transaction (SQLite WAL, synchronous = FULL as shipped) before the 200. The same wrk run, with the
 * same requests, then drives a bare `Bun.serve` that reads the body and answers 200, and the bench
 * prints hookd's rate over that one's. Last, a second hookd with group commit off
 * (`groupCommitMaxBatch = 1`, one transaction per request, via bench/hookd-runner.ts) shows what
 * group commit buys.
 *
 * The server under test runs on core 0 and wrk on core 1 (taskset), and each server's CPU is printed
 * beside its rate: the baseline counts only if it is at its core's limit (a Bun fetch loop could not
 * get a bare Bun.serve there, which made the old ratio flatter hookd). wrk's Lua has no HMAC, so the
 * bench signs 20 000 unique bodies into a file that bench/wrk/signed-erp-event.lua cycles through.
 * hookd and the bare server take turns in ROUNDS rounds of one phase each (order alternating), and the
 * ratio is of the two medians: on a shared 2-core box a burst of someone else's work then lands on
 * one phase of each, not on one side's only phase.
 * Run: npm run bench:ingest   (or: bun bench/ingest.ts [seconds_per_phase=5] [warmup_seconds=2] [rounds=3])
 * Needs wrk (installed with apt-get when missing). BENCH_HOOKD_FLAGS="--cpu-prof-md --cpu-prof-dir=/tmp/prof"
 * passes Bun flags to the hookd children for profiling.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { canPin, contention, pct, pinSelf } from "./cpu.ts";
import { erpEventSource, fmt, load, machine, measureFsync, spawnReceiver, startHookd, type Hookd } from "./support.ts";
import { ensureWrk, runWrk, type WrkResult } from "./wrk.ts";

const SECONDS = Number(process.argv[2] ?? 5);
const WARMUP_SECONDS = Number(process.argv[3] ?? 2);
const ROUNDS = Number(process.argv[4] ?? 3);
const CONNECTIONS = 64;
const SIGNED_REQUESTS = 20_000; // unique bodies in the file wrk cycles through (~26 MB)
const SOURCE = "bench-erp";
const SECRET = `bench-secret-${crypto.randomUUID()}`;
const BODY_BYTES = 1024; // the events are padded to about this size
const FLAGS = (process.env.BENCH_HOOKD_FLAGS ?? "").split(" ").filter(Boolean);
const RUNNER = join(import.meta.dir, "hookd-runner.ts");
const SCRIPT = join(import.meta.dir, "wrk/signed-erp-event.lua");
const SERVER_CPU = 0;
const LOAD_CPU = 1;
const SATURATED = 0.9; // a process at or above this share of its core is what bounds the figure

ensureWrk();
pinSelf(LOAD_CPU); // this process only waits on wrk; keep it off the server's core
const dir = mkdtempSync(join(tmpdir(), "hookd-bench-ingest-"));
console.log(`bench:ingest  ${machine()}  ${load()}  data dir ${dir}`);
console.log(
  `wrk, 1 thread, ${CONNECTIONS} connections, ~${BODY_BYTES} B signed erp-events to one hmac source, no endpoints; ${WARMUP_SECONDS}s warm-up, then ${ROUNDS} rounds of ${SECONDS}s per server; ` +
    (canPin ? `server on core ${SERVER_CPU}, wrk on core ${LOAD_CPU}` : "NOT PINNED (needs 2 cores and taskset)"),
);

// ---- the requests: signed here, replayed by wrk ----

const requestsFile = join(dir, "signed-requests.tsv");
const events = erpEventSource(SOURCE, SECRET, BODY_BYTES);
const lines: string[] = [];
for (let i = 0; i < SIGNED_REQUESTS; i++) {
  const body = events.nextBody();
  lines.push(`${events.sign(body)}\t${body}\n`);
}
writeFileSync(requestsFile, lines.join(""));

const wrkFor = (url: string) => ({ url, connections: CONNECTIONS, script: SCRIPT, scriptArgs: [requestsFile, SOURCE], cpu: LOAD_CPU });
/** warm drives `url` for the warm-up time, unmeasured (JIT, prepared statements, page cache). */
const warm = (url: string) => runWrk({ ...wrkFor(url), seconds: WARMUP_SECONDS });
/** phase measures one phase against `url` with the server's CPU beside wrk's. */
const phase = (url: string, serverPid: number) => runWrk({ ...wrkFor(url), seconds: SECONDS, measure: { server: serverPid } });
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

// ---- hookd's /metrics: group-commit batch sizes and events stored ----

interface Scrape {
  buckets: Map<string, number>; // le → cumulative count
  sum: number;
  count: number;
  inboundEvents: number;
}

async function scrape(hookd: Hookd): Promise<Scrape> {
  const response = await fetch(`${hookd.url}/metrics`, { proxy: false, signal: AbortSignal.timeout(10_000) });
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

const ok = (r: WrkResult) => r.requests - r.non2xx;
const line = (label: string, r: WrkResult) =>
  `${label.padEnd(46)} ${fmt(r.okPerSec, 0).padStart(6)} /s  (${ok(r)} × 2xx in ${fmt(r.seconds, 2)} s)  ` +
  `p50 ${fmt(r.latencyMs.p50, 2)} ms  p90 ${fmt(r.latencyMs.p90, 2)} ms  p99 ${fmt(r.latencyMs.p99, 2)} ms  max ${fmt(r.latencyMs.max, 2)} ms`;
const serverCore = `core${SERVER_CPU}`;
const loadCore = `core${LOAD_CPU}`;
const bound = (r: WrkResult) =>
  r.cpu.server! >= SATURATED
    ? "bound by the server (at its core's limit)"
    : r.cpu[serverCore]! >= SATURATED
      ? "the server's core (full; the rest of it is kernel network work or other processes)"
      : r.cpu.wrk! >= SATURATED
        ? "bound by wrk, NOT the server: not saturated"
        : "neither process at its core's limit: the server's loop also waits (hookd: the fsync in its synchronous COMMIT)";
const cpuLine = (r: WrkResult, server: string) =>
  `  CPU: ${server} ${pct(r.cpu.server)} (core ${SERVER_CPU} busy ${pct(r.cpu[serverCore])}), wrk ${pct(r.cpu.wrk)} (core ${LOAD_CPU} busy ${pct(r.cpu[loadCore])}): ${bound(r)}` +
  contention(r.cpu, SERVER_CPU, ["server"]) +
  (r.non2xx > 0 || r.socketErrors ? `; NOT 2xx: ${r.non2xx}, socket errors: ${r.socketErrors || "none"}` : "");
const ratioOf = (hookd: WrkResult[], bare: WrkResult[]) => median(hookd.map((r) => r.okPerSec)) / median(bare.map((r) => r.okPerSec));
const exitLine = (label: string, exit: { code: number | null; lines: number; tail: string[] }) =>
  `hookd (${label}): exit ${exit.code}, ${exit.lines} log lines at warn${exit.lines > 0 ? `; last: ${exit.tail.slice(-3).join(" | ")}` : ""}`;

const bare = await spawnReceiver({ cpu: SERVER_CPU });
const a = hookdSections("group-commit");
const shipped = await startHookd(a.dir, a.sections, FLAGS, { cpu: SERVER_CPU });
try {
  // Context first, while everything is idle: what one durable commit costs this disk.
  const fsync = measureFsync(dir, 200);
  const hookdUrl = `${shipped.url}/in/${SOURCE}`;
  const bareUrl = `${bare.url}/in/${SOURCE}`;
  await warm(hookdUrl);
  await warm(bareUrl);
  await bare.reset(false);

  // Both servers stay up (the idle one costs nothing) and take turns, order alternating per round.
  const hookdRuns: WrkResult[] = [];
  const bareRuns: WrkResult[] = [];
  const before = await scrape(shipped);
  for (let round = 0; round < ROUNDS; round++) {
    const turns = [() => phase(hookdUrl, shipped.pid).then((r) => hookdRuns.push(r)), () => phase(bareUrl, bare.pid).then((r) => bareRuns.push(r))];
    for (const turn of round % 2 === 0 ? turns : turns.reverse()) await turn();
  }
  const after = await scrape(shipped);
  const bareSeen = (await bare.stats()).count;
  const shippedExit = await shipped.stop();

  const b = hookdSections("one-per-request");
  const offHookd = await startHookd(b.dir, b.sections, [...FLAGS, RUNNER, "--group-commit-max-batch=1"], { cpu: SERVER_CPU });
  let off: WrkResult;
  let offExit: Awaited<ReturnType<Hookd["stop"]>>;
  try {
    await warm(`${offHookd.url}/in/${SOURCE}`);
    off = await phase(`${offHookd.url}/in/${SOURCE}`, offHookd.pid);
    offExit = await offHookd.stop();
  } finally {
    await offHookd.stop();
  }

  const hookdOk = hookdRuns.reduce((sum, r) => sum + ok(r), 0);
  const hookdSeconds = hookdRuns.reduce((sum, r) => sum + r.seconds, 0);
  const ratio = ratioOf(hookdRuns, bareRuns);
  const hookdRate = median(hookdRuns.map((r) => r.okPerSec));
  const bareRate = median(bareRuns.map((r) => r.okPerSec));
  const hookdCpu = median(hookdRuns.map((r) => r.cpu.server!));
  const bareCpu = median(bareRuns.map((r) => r.cpu.server!));
  console.log("");
  console.log(`fsync (write 4 KiB + fsync, ${fsync.n}×, data dir)  p50 ${fmt(fsync.p50, 2)} ms  p99 ${fmt(fsync.p99, 2)} ms  max ${fmt(fsync.max, 2)} ms`);
  for (let round = 0; round < ROUNDS; round++) {
    console.log(`round ${round + 1}`);
    console.log(line("  hookd durable accepts (group commit, as shipped)", hookdRuns[round]!));
    console.log(cpuLine(hookdRuns[round]!, "hookd"));
    console.log(line("  bare Bun.serve, reads the body, answers 200", bareRuns[round]!));
    console.log(cpuLine(bareRuns[round]!, "bare server"));
  }
  console.log(`hookd group commit over its ${ROUNDS} phases: ${batchReport(before, after, hookdSeconds)}`);
  console.log(
    `  events stored (hookd_events_created_total{origin="inbound"}): ${after.inboundEvents - before.inboundEvents} for ${hookdOk} 2xx counted by wrk` +
      ` (the difference: requests in flight when wrk stopped, at most ${CONNECTIONS} per phase)`,
  );
  console.log(`  requests the bare server counted: ${bareSeen} for ${bareRuns.reduce((sum, r) => sum + ok(r), 0)} 2xx counted by wrk`);
  console.log(`median of ${ROUNDS}: hookd ${fmt(hookdRate, 0)} /s at ${pct(hookdCpu)} of its core, bare ${fmt(bareRate, 0)} /s at ${pct(bareCpu)} of its core`);
  console.log(`ratio hookd ÷ bare (medians)                    ${fmt(ratio, 3)}   (CPU per request: hookd ${fmt((hookdCpu / hookdRate) * 1e6, 1)} µs, bare ${fmt((bareCpu / bareRate) * 1e6, 1)} µs)`);
  console.log(line("hookd, group commit off (1 write per commit)", off));
  console.log(cpuLine(off, "hookd"));
  console.log(`group commit on ÷ off                           ${fmt(hookdRate / off.okPerSec, 2)}×`);
  console.log(exitLine("as shipped", shippedExit));
  console.log(exitLine("group commit off", offExit));
  console.log(`${load()} at the end`);
  const p50 = median(hookdRuns.map((r) => r.latencyMs.p50));
  const p99 = median(hookdRuns.map((r) => r.latencyMs.p99));
  console.log(
    `RESULT ratio=${fmt(ratio, 3)} p50_ms=${fmt(p50, 2)} p99_ms=${fmt(p99, 2)} hookd_rps=${fmt(hookdRate, 0)} bare_rps=${fmt(bareRate, 0)} hookd_cpu=${fmt(hookdCpu, 2)} bare_cpu=${fmt(bareCpu, 2)}`,
  );
} finally {
  await shipped.stop();
  await bare.stop();
  rmSync(dir, { recursive: true, force: true });
}
