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
 * Run: npm run bench:ingest   (or: bun bench/ingest.ts [seconds=8] [warmup_seconds=2])
 * Needs wrk (installed with apt-get when missing). BENCH_HOOKD_FLAGS="--cpu-prof-md --cpu-prof-dir=/tmp/prof"
 * passes Bun flags to the hookd children for profiling.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { canPin, pct, pinSelf } from "./cpu.ts";
import { erpEventSource, fmt, load, machine, measureFsync, spawnReceiver, startHookd, type Hookd } from "./support.ts";
import { ensureWrk, runWrk, type WrkResult } from "./wrk.ts";

const SECONDS = Number(process.argv[2] ?? 8);
const WARMUP_SECONDS = Number(process.argv[3] ?? 2);
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
  `wrk, 1 thread, ${CONNECTIONS} connections, ~${BODY_BYTES} B signed erp-events to one hmac source, no endpoints; ${WARMUP_SECONDS}s warm-up + ${SECONDS}s per phase; ` +
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

/** drive warms `url` up with wrk, then measures one phase with the server's CPU beside wrk's. */
async function drive(url: string, serverPid: number, between?: () => Promise<void>): Promise<WrkResult> {
  const common = { url, connections: CONNECTIONS, script: SCRIPT, scriptArgs: [requestsFile, SOURCE], cpu: LOAD_CPU };
  await runWrk({ ...common, seconds: WARMUP_SECONDS });
  await between?.();
  return runWrk({ ...common, seconds: SECONDS, measure: { server: serverPid } });
}

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

interface HookdRun {
  result: WrkResult;
  batches: string;
  stored: number;
  exit: { code: number | null; lines: number; tail: string[] };
}

/** measureHookd drives a started hookd, reads its metrics around the measured phase, and stops it. */
async function measureHookd(hookd: Hookd): Promise<HookdRun> {
  try {
    let before: Scrape | undefined;
    const result = await drive(`${hookd.url}/in/${SOURCE}`, hookd.pid, async () => {
      before = await scrape(hookd);
    });
    const after = await scrape(hookd);
    return { result, batches: batchReport(before!, after, result.seconds), stored: after.inboundEvents - before!.inboundEvents, exit: await hookd.stop() };
  } finally {
    await hookd.stop();
  }
}

const ok = (r: WrkResult) => r.requests - r.non2xx;
const line = (label: string, r: WrkResult) =>
  `${label.padEnd(46)} ${fmt(r.okPerSec, 0).padStart(6)} /s  (${ok(r)} × 2xx in ${fmt(r.seconds, 2)} s)  ` +
  `p50 ${fmt(r.latencyMs.p50, 2)} ms  p90 ${fmt(r.latencyMs.p90, 2)} ms  p99 ${fmt(r.latencyMs.p99, 2)} ms  max ${fmt(r.latencyMs.max, 2)} ms`;
const serverCore = `core${SERVER_CPU}`;
const loadCore = `core${LOAD_CPU}`;
const bound = (r: WrkResult) =>
  r.cpu[serverCore]! >= SATURATED ? "bound by the server's core" : r.cpu[loadCore]! >= SATURATED ? "bound by wrk's core, NOT the server: not saturated" : "neither core saturated";
const cpuLine = (r: WrkResult, server: string) =>
  `  CPU: ${server} ${pct(r.cpu.server)} (core ${SERVER_CPU} busy ${pct(r.cpu[serverCore])}), wrk ${pct(r.cpu.wrk)} (core ${LOAD_CPU} busy ${pct(r.cpu[loadCore])}): ${bound(r)}` +
  (r.non2xx > 0 || r.socketErrors ? `; NOT 2xx: ${r.non2xx}, socket errors: ${r.socketErrors || "none"}` : "");
const storedLine = (run: HookdRun) =>
  `  events stored (hookd_events_created_total{origin="inbound"}): ${run.stored} for ${ok(run.result)} 2xx counted by wrk` +
  ` (${run.stored - ok(run.result)} more: requests in flight when wrk stopped, at most ${CONNECTIONS})`;

const bare = await spawnReceiver({ cpu: SERVER_CPU });
try {
  // Context first, while everything is idle: what one durable commit costs this disk.
  const fsync = measureFsync(dir, 200);

  const a = hookdSections("group-commit");
  const shipped = await measureHookd(await startHookd(a.dir, a.sections, FLAGS, { cpu: SERVER_CPU }));

  const bareResult = await drive(`${bare.url}/in/${SOURCE}`, bare.pid, () => bare.reset(false));
  const bareSeen = (await bare.stats()).count;

  const b = hookdSections("one-per-request");
  const off = await measureHookd(await startHookd(b.dir, b.sections, [...FLAGS, RUNNER, "--group-commit-max-batch=1"], { cpu: SERVER_CPU }));

  const ratio = shipped.result.okPerSec / bareResult.okPerSec;
  console.log("");
  console.log(`fsync (write 4 KiB + fsync, ${fsync.n}×, data dir)  p50 ${fmt(fsync.p50, 2)} ms  p99 ${fmt(fsync.p99, 2)} ms  max ${fmt(fsync.max, 2)} ms`);
  console.log(line("hookd durable accepts (group commit, as shipped)", shipped.result));
  console.log(cpuLine(shipped.result, "hookd"));
  console.log(`  group commit: ${shipped.batches}`);
  console.log(storedLine(shipped));
  console.log(line("bare Bun.serve, reads the body, answers 200", bareResult));
  console.log(cpuLine(bareResult, "bare server"));
  console.log(`  requests the bare server counted: ${bareSeen}`);
  console.log(`ratio hookd ÷ bare                              ${fmt(ratio, 3)}   (CPU per request: hookd ${fmt((shipped.result.cpu.server! / shipped.result.okPerSec) * 1e6, 1)} µs, bare ${fmt((bareResult.cpu.server! / bareResult.okPerSec) * 1e6, 1)} µs)`);
  console.log(line("hookd, group commit off (1 write per commit)", off.result));
  console.log(cpuLine(off.result, "hookd"));
  console.log(`  group commit: ${off.batches}`);
  console.log(storedLine(off));
  console.log(`group commit on ÷ off                           ${fmt(shipped.result.okPerSec / off.result.okPerSec, 2)}×`);
  for (const [label, run] of [["as shipped", shipped], ["group commit off", off]] as const) {
    console.log(`hookd (${label}): exit ${run.exit.code}, ${run.exit.lines} log lines at warn${run.exit.lines > 0 ? `; last: ${run.exit.tail.slice(-3).join(" | ")}` : ""}`);
  }
  console.log(`${load()} at the end`);
  console.log(
    `RESULT ratio=${fmt(ratio, 3)} p50_ms=${fmt(shipped.result.latencyMs.p50, 2)} p99_ms=${fmt(shipped.result.latencyMs.p99, 2)} ` +
      `hookd_rps=${fmt(shipped.result.okPerSec, 0)} bare_rps=${fmt(bareResult.okPerSec, 0)} hookd_cpu=${fmt(shipped.result.cpu.server!, 2)} bare_cpu=${fmt(bareResult.cpu.server!, 2)}`,
  );
} finally {
  await bare.stop();
  rmSync(dir, { recursive: true, force: true });
}
