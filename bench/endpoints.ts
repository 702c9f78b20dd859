/**
 * endpoints shows whether a delivery's cost grows with the number of endpoints (issue 13). For
 * N = 10, 1 000 and 10 000, a fresh hookd gets N endpoints, endpoint i subscribed to its own event
 * type `bench.ep<i>.tick` and pointing at `/ep/<i>` on one local receiver (which counts any delivery
 * that lands on the wrong path). 16 publishers then POST /v1/events round-robin over the N types, so
 * every event makes exactly one delivery, and after a warm-up the bench measures deliveries/s at the
 * receiver and publish→arrival latency (p50/p99, from `bench_t` in the event data) for a fixed time.
 * All N hookds stay up and take turns in ROUNDS rounds (each phase waits until the previous hookd's
 * queue is empty); each figure is the median over the rounds, so a burst of other work on a shared
 * box lands on one phase of each N instead of on one N.
 * The baseline is the same run at N = 10: targets are dps(10 000) ≥ 0.75 × dps(10) and
 * p99(10 000) ≤ 1.5 × p99(10) (printed, not asserted).
 * hookd runs on core 0; the receiver and this process (the publishers) share core 1 (taskset), and
 * each one's CPU is printed beside the rates, so the reader sees which of them bounds the figures.
 * Run: npm run bench:endpoints   (or: bun bench/endpoints.ts [seconds=4] [warmup_seconds=2] [rounds=3] [counts=10,1000,10000])
 * BENCH_HOOKD_FLAGS="--cpu-prof-md --cpu-prof-dir=/tmp/prof" passes Bun flags to the hookd child for profiling.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { canPin, contention, cpuMeter, pct, pinSelf } from "./cpu.ts";
import { eventPublisher, type EventPublisher } from "./publish.ts";
import { fmt, load, machine, percentile, spawnReceiver, startHookd, waitUntil, type Hookd, type Receiver } from "./support.ts";

const SECONDS = Number(process.argv[2] ?? 4);
const WARMUP_SECONDS = Number(process.argv[3] ?? 2);
const ROUNDS = Number(process.argv[4] ?? 3);
const COUNTS = (process.argv[5] ?? "10,1000,10000").split(",").map(Number);
const DRAIN_MS = 120_000; // deadline for a hookd's queue to empty after its phase
const PUBLISHERS = 16;
const CREATORS = 32; // POST /v1/webhooks in flight while setting up
const CONCURRENCY = 64;
const PER_ENDPOINT = 8;
const HOOKD_CPU = 0;
const LOAD_CPU = 1;
const SATURATED = 0.9;
const FLAGS = (process.env.BENCH_HOOKD_FLAGS ?? "").split(" ").filter(Boolean);

pinSelf(LOAD_CPU);
const root = mkdtempSync(join(tmpdir(), "hookd-bench-endpoints-"));
console.log(`bench:endpoints  ${machine()}  ${load()}  data dir ${root}`);
console.log(
  `N endpoints, one event type each, ${PUBLISHERS} publishers round-robin over the types (1 delivery per event); concurrency ${CONCURRENCY}, per endpoint ${PER_ENDPOINT}; ` +
    `${ROUNDS} rounds of ${WARMUP_SECONDS}s warm-up + ${SECONDS}s measured per N; ` +
    (canPin ? `hookd on core ${HOOKD_CPU}, receiver + publishers on core ${LOAD_CPU}` : "NOT PINNED (needs 2 cores and taskset)"),
);

/** createEndpoints makes endpoints 0…n-1 with CREATORS requests in flight; returns the seconds it took. */
async function createEndpoints(hookd: Hookd, receiver: Receiver, n: number): Promise<number> {
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(CREATORS, n) }, async () => {
      for (let i = next++; i < n; i = next++) {
        const created = await hookd.api("POST", "/v1/webhooks", { url: `${receiver.url}/ep/${i}`, events: [`bench.ep${i}.tick`] });
        if (created.status !== 201) throw new Error(`creating endpoint ${i} answered ${created.status}: ${JSON.stringify(created.body)}`);
      }
    }),
  );
  return (performance.now() - started) / 1000;
}

/** pendingDeliveries reads the queue depth from /metrics (pending + failed), or NaN if hookd does not report it. */
async function pendingDeliveries(hookd: Hookd): Promise<number> {
  const text = await (await fetch(`${hookd.url}/metrics`, { proxy: false, signal: AbortSignal.timeout(30_000) })).text();
  const value = (status: string) => Number(new RegExp(`^hookd_deliveries\\{status="${status}"\\} (\\S+)$`, "m").exec(text)?.[1] ?? Number.NaN);
  return value("pending") + value("failed");
}

/** Setup is one hookd with its endpoints, kept up for every round. */
interface Setup {
  n: number;
  hookd: Hookd;
  publisher: EventPublisher;
  createSeconds: number;
}

/** Phase is one measured window against one setup. */
interface Phase {
  dps: number;
  publishedPerSec: number;
  p50: number;
  p99: number;
  timed: number;
  misrouted: number;
  queueAtEnd: number;
  failures: number;
  firstFailure: string;
  cpu: Record<string, number>;
}

/** setUp starts a hookd pinned to its core and makes its N endpoints. */
async function setUp(n: number, receiver: Receiver): Promise<Setup> {
  const dir = mkdtempSync(join(root, `n${n}-`));
  const delivery = [
    "require_https = false",
    'allow_targets = ["127.0.0.0/8"]',
    `max_endpoints = ${n}`,
    `concurrency = ${CONCURRENCY}`,
    `per_endpoint_concurrency = ${PER_ENDPOINT}`,
  ].join("\n");
  const hookd = await startHookd(dir, { delivery, log: 'level = "warn"' }, FLAGS, { cpu: HOOKD_CPU });
  return { n, hookd, publisher: eventPublisher(hookd), createSeconds: await createEndpoints(hookd, receiver, n) };
}

/** measure publishes to one setup for the warm-up and the measured window, then waits for its queue to empty. */
async function measure({ n, hookd, publisher }: Setup, receiver: Receiver): Promise<Phase> {
  let seq = 0;
  let published = 0;
  let failures = 0;
  let firstFailure = "";
  const stopAt = performance.now() + (WARMUP_SECONDS + SECONDS) * 1000;
  const publishing = Promise.all(
    Array.from({ length: PUBLISHERS }, async () => {
      while (performance.now() < stopAt) {
        const i = seq++;
        try {
          const made = await publisher.publish(`bench.ep${i % n}.tick`, i);
          if (made !== 1) throw new Error(`event ${i} made ${made} deliveries, expected 1`);
          published++;
        } catch (error) {
          failures++;
          if (firstFailure === "") firstFailure = String(error);
          await Bun.sleep(1);
        }
      }
    }),
  );
  // The warm-up is a fixed span of the same load (JIT, pools, the queue in its steady state), not a condition.
  await Bun.sleep(WARMUP_SECONDS * 1000);
  await receiver.reset(true);
  const meter = cpuMeter({ hookd: hookd.pid, receiver: receiver.pid, publishers: process.pid });
  const started = performance.now();
  const published0 = published;
  await publishing;
  const cpu = meter.done();
  const stats = await receiver.stats();
  const seconds = (performance.now() - started) / 1000;
  const queueAtEnd = await pendingDeliveries(hookd);
  // The next phase runs another hookd on the same core: this one must have nothing left to send.
  const drained = Number.isNaN(queueAtEnd) || (await waitUntil(async () => (await pendingDeliveries(hookd)) === 0, DRAIN_MS, 50));
  if (!drained) throw new Error(`N=${n}: queue not empty ${DRAIN_MS / 1000} s after publishing stopped`);
  const latencies = Float64Array.from(stats.latencies).sort();
  return {
    dps: stats.count / seconds,
    publishedPerSec: (published - published0) / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    timed: latencies.length,
    misrouted: stats.misrouted,
    queueAtEnd,
    failures,
    firstFailure,
    cpu,
  };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const bound = (cpu: Record<string, number>) =>
  cpu.hookd! >= SATURATED
    ? "hookd (at its core's limit)"
    : cpu[`core${HOOKD_CPU}`]! >= SATURATED
      ? "hookd's core (full; the rest of it is kernel network work or other processes)"
      : cpu.receiver! + cpu.publishers! >= SATURATED
        ? "the receiver + publishers' core (NOT hookd)"
        : "no process at its core's limit";

const receiver = await spawnReceiver({ cpu: LOAD_CPU });
const setups: Setup[] = [];
const phases = new Map<number, Phase[]>(COUNTS.map((n) => [n, []]));
try {
  for (const n of COUNTS) {
    const setup = await setUp(n, receiver);
    setups.push(setup);
    console.log(`N=${n}: ${n} endpoints created in ${fmt(setup.createSeconds, 1)} s (${fmt(n / setup.createSeconds, 0)}/s, ${CREATORS} requests in flight)`);
  }
  // Every hookd stays up and they take turns, order reversed every other round, so a burst of other
  // work on this shared box lands on one phase of each N rather than on all of one N's.
  for (let round = 0; round < ROUNDS; round++) {
    for (const setup of round % 2 === 0 ? setups : [...setups].reverse()) {
      const p = await measure(setup, receiver);
      phases.get(setup.n)!.push(p);
      const c = p.cpu;
      console.log(
        `round ${round + 1} N=${setup.n}: ${fmt(p.dps, 0)} deliveries/s, published ${fmt(p.publishedPerSec, 0)} events/s, queue at the end ${p.queueAtEnd}; ` +
          `${p.timed} timed, p50 ${fmt(p.p50, 2)} ms, p99 ${fmt(p.p99, 2)} ms; misrouted ${p.misrouted}` +
          (p.failures > 0 ? `; PUBLISH FAILURES ${p.failures} (first: ${p.firstFailure})` : ""),
      );
      console.log(
        `  CPU: hookd ${pct(c.hookd)} (core ${HOOKD_CPU} busy ${pct(c[`core${HOOKD_CPU}`])}), receiver ${pct(c.receiver)} + publishers ${pct(c.publishers)} ` +
          `(core ${LOAD_CPU} busy ${pct(c[`core${LOAD_CPU}`])}): bound by ${bound(c)}${contention(c, HOOKD_CPU, ["hookd"])}`,
      );
    }
  }
} finally {
  for (const { hookd, publisher } of setups) {
    publisher.close();
    const stopped = await hookd.stop();
    // Startup's require_https warning is expected; anything more is printed.
    if (stopped.lines > 1) console.log(`hookd exit ${stopped.code}, ${stopped.lines} log lines at warn; last: ${stopped.tail.slice(-2).join(" | ")}`);
  }
  await receiver.stop();
  rmSync(root, { recursive: true, force: true });
}

interface Row {
  n: number;
  dps: number;
  p50: number;
  p99: number;
  publishedPerSec: number;
  hookdCpu: number;
  bound: string;
}
const rows: Row[] = COUNTS.map((n) => {
  const ps = phases.get(n)!;
  const middle = [...ps].sort((a, b) => a.dps - b.dps)[Math.floor(ps.length / 2)]!;
  return {
    n,
    dps: median(ps.map((p) => p.dps)),
    p50: median(ps.map((p) => p.p50)),
    p99: median(ps.map((p) => p.p99)),
    publishedPerSec: median(ps.map((p) => p.publishedPerSec)),
    hookdCpu: median(ps.map((p) => p.cpu.hookd!)),
    bound: bound(middle.cpu),
  };
});
console.log("");
console.log(`medians of ${ROUNDS} rounds`);
console.log("endpoints  deliveries/s   p50 ms   p99 ms   published/s  hookd CPU  bound by (median round)");
for (const r of rows) {
  console.log(
    `${String(r.n).padStart(9)}  ${fmt(r.dps, 0).padStart(12)}  ${fmt(r.p50, 2).padStart(7)}  ${fmt(r.p99, 2).padStart(7)}  ${fmt(r.publishedPerSec, 0).padStart(12)}  ${pct(r.hookdCpu).padStart(9)}  ${r.bound}`,
  );
}
const first = rows[0]!;
const last = rows.at(-1)!;
const growth = first.dps / last.dps;
const p99Growth = last.p99 / first.p99;
console.log(
  `targets: dps(${last.n}) ≥ 0.75 × dps(${first.n}): ${last.dps >= 0.75 * first.dps ? "met" : "MISSED"} (${fmt(last.dps / first.dps, 3)} ×); ` +
    `p99(${last.n}) ≤ 1.5 × p99(${first.n}): ${p99Growth <= 1.5 ? "met" : "MISSED"} (${fmt(p99Growth, 2)} ×)`,
);
console.log(`${load()} at the end`);
console.log(`RESULT growth=${fmt(growth, 3)} p99_growth=${fmt(p99Growth, 3)}`);
