/**
 * delivery measures hookd end to end (issue 4, must-show 5): events published through POST /v1/events
 * to 10 endpoints on one local receiver, counted as deliveries at the receiver, against the same
 * receiver's requests/s from a bare fetch loop at hookd's delivery concurrency; then publish→arrival
 * latency at a fixed offered rate. hookd, the receiver and this client are three processes.
 * Run: npm run bench:delivery   (or: bun bench/delivery.ts [seconds=10] [rate=500])
 * BENCH_HOOKD_FLAGS="--cpu-prof-md --cpu-prof-dir=/tmp/prof" passes Bun flags to the hookd child for profiling.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fmt, load, machine, measureFsync, percentile, spawnReceiver, startHookd, waitUntil, wallNow, type Receiver } from "./support.ts";

const SECONDS = Number(process.argv[2] ?? 10);
const RATE = Number(process.argv[3] ?? 500);
const ENDPOINTS = 10;
const CONCURRENCY = 64; // hookd's [delivery] concurrency (the default), also the baseline's
const PER_ENDPOINT = 8; // the default per_endpoint_concurrency: 10 × 8 ≥ 64, so it never binds here
const PUBLISHERS = 64; // publish requests in flight during the throughput phase
const MAX_OPEN_PUBLISHES = 512; // the open-loop latency phase never has more than this outstanding
const DRAIN_MS = 180_000; // deadline for all deliveries of a phase to arrive
const PAD = "x".repeat(200);
const FLAGS = (process.env.BENCH_HOOKD_FLAGS ?? "").split(" ").filter(Boolean);

const dir = mkdtempSync(join(tmpdir(), "hookd-bench-"));
console.log(`bench:delivery  ${machine()}  ${load()}  data dir ${dir}`);
console.log(`${ENDPOINTS} endpoints subscribed to "*", delivery concurrency ${CONCURRENCY} (per endpoint ${PER_ENDPOINT}), ${SECONDS}s phases`);

const receiver = await spawnReceiver();
const hookd = await startHookd(
  dir,
  {
    delivery: [
      "require_https = false",
      'allow_targets = ["127.0.0.0/8"]',
      `max_endpoints = ${ENDPOINTS * 2}`,
      `concurrency = ${CONCURRENCY}`,
      `per_endpoint_concurrency = ${PER_ENDPOINT}`,
    ].join("\n"),
    log: 'level = "warn"',
  },
  FLAGS,
);

const publisher = new Bun.FetchSession({ proxy: false });
const publishHeaders = { authorization: `Bearer ${hookd.key}`, "content-type": "application/json" };

/** publish sends one event carrying its send time and returns how many deliveries hookd made of it. */
async function publish(seq: number): Promise<number> {
  const body = `{"type":"bench.tick","data":{"seq":${seq},"bench_t":${wallNow()},"pad":"${PAD}"}}`;
  const response = await publisher.fetch(`${hookd.url}/v1/events`, {
    method: "POST",
    proxy: false,
    headers: publishHeaders,
    body,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  if (response.status !== 202) throw new Error(`publish answered ${response.status}: ${text.slice(0, 200)}`);
  return (JSON.parse(text) as { data: { deliveries: number } }).data.deliveries;
}

/** drain waits until the receiver has seen `expected` deliveries (or the deadline passes). */
async function drain(r: Receiver, expected: number): Promise<boolean> {
  return waitUntil(async () => (await r.stats()).count >= expected, DRAIN_MS, 100);
}

let failures = 0;
let firstFailure = "";
const noteFailure = (error: unknown) => {
  failures++;
  if (firstFailure === "") firstFailure = String(error);
};

try {
  for (let i = 0; i < ENDPOINTS; i++) {
    const created = await hookd.api("POST", "/v1/webhooks", { url: `${receiver.url}/ep/${i}`, events: ["*"] });
    if (created.status !== 201) throw new Error(`creating endpoint ${i} answered ${created.status}: ${JSON.stringify(created.body)}`);
  }

  // Context first, while everything is idle: what one durable commit costs this disk.
  const fsync = measureFsync(dir, 200);

  // Warm-up: JIT, prepared statements and keep-alive pools on every side; also captures a real delivery.
  await receiver.reset(false);
  let warmExpected = 0;
  for (let i = 0; i < 20; i++) {
    const batch = await Promise.all(Array.from({ length: 16 }, (_, j) => publish(-(i * 16 + j) - 1)));
    warmExpected += batch.reduce((a, b) => a + b, 0);
  }
  if (warmExpected !== 320 * ENDPOINTS) throw new Error(`warm-up: expected ${320 * ENDPOINTS} deliveries, hookd made ${warmExpected}`);
  if (!(await drain(receiver, warmExpected))) throw new Error("warm-up deliveries did not all arrive");
  const sample = (await receiver.stats()).sample;
  if (sample === null) throw new Error("no delivery sampled");

  // Baseline: the same receiver, the same body and headers as a real delivery, bare fetch at hookd's concurrency.
  const bareHeaders: Record<string, string> = {};
  for (const [k, v] of Object.entries(sample.headers)) if (k !== "host" && k !== "content-length") bareHeaders[k] = v;
  const bareUrl = `${receiver.url}/ep/0`;
  const bareOnce = async () => {
    const response = await fetch(bareUrl, { method: "POST", headers: bareHeaders, body: sample.body, proxy: false });
    await response.arrayBuffer();
  };
  for (let i = 0; i < 500; i++) await bareOnce();
  await receiver.reset(false);
  let bareDone = 0;
  const bareStart = performance.now();
  const bareStop = bareStart + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < bareStop) {
        try {
          await bareOnce();
          bareDone++;
        } catch (error) {
          noteFailure(error);
          await Bun.sleep(1);
        }
      }
    }),
  );
  const bareRps = bareDone / ((performance.now() - bareStart) / 1000);

  // Throughput: publish as fast as PUBLISHERS concurrent requests allow for SECONDS, then let every delivery arrive.
  await receiver.reset(false);
  let seq = 0;
  let published = 0;
  let expected = 0;
  const tpStart = wallNow();
  const tpStop = performance.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: PUBLISHERS }, async () => {
      while (performance.now() < tpStop) {
        try {
          // Not `expected += await …`: that reads `expected` before the await and loses concurrent adds.
          const made = await publish(seq++);
          expected += made;
          published++;
        } catch (error) {
          noteFailure(error);
          await Bun.sleep(1);
        }
      }
    }),
  );
  const tpPublishEnd = wallNow();
  const atPublishEnd = (await receiver.stats()).count;
  const tpAllArrived = await drain(receiver, expected);
  const tp = await receiver.stats();
  const tpSpan = (tp.lastAt - tpStart) / 1000;
  const deliveriesPerSec = tp.count / tpSpan;
  const ratio = deliveriesPerSec / bareRps;

  // Latency: an open-loop publisher at RATE events/s for SECONDS; each delivery's arrival minus its event's send time.
  await receiver.reset(true);
  const total = Math.round(RATE * SECONDS);
  const interval = 1000 / RATE;
  let sent = 0;
  let open = 0;
  let latExpected = 0;
  const lags: number[] = [];
  const latStart = performance.now();
  while (sent < total && performance.now() - latStart < SECONDS * 1000 + 10_000) {
    const due = Math.min(total, Math.floor((performance.now() - latStart) / interval) + 1);
    while (sent < due && open < MAX_OPEN_PUBLISHES) {
      lags.push(performance.now() - latStart - sent * interval);
      open++;
      publish(sent++).then(
        (n) => {
          latExpected += n;
        },
        noteFailure,
      ).finally(() => open--);
    }
    await Bun.sleep(1);
  }
  const offeredSeconds = (performance.now() - latStart) / 1000;
  await waitUntil(() => open === 0, 15_000, 10);
  const latAllArrived = await drain(receiver, latExpected);
  const lat = await receiver.stats();
  const latencies = Float64Array.from(lat.latencies).sort();
  lags.sort((a, b) => a - b);
  const p50 = percentile(latencies, 50);
  const p99 = percentile(latencies, 99);

  const stopped = await hookd.stop();
  const drainRate = (tp.count - atPublishEnd) / Math.max(0.001, (tp.lastAt - tpPublishEnd) / 1000);

  console.log("");
  console.log(`fsync (write 4 KiB + fsync, ${fsync.n}×, data dir)  p50 ${fmt(fsync.p50, 2)} ms  p99 ${fmt(fsync.p99, 2)} ms  max ${fmt(fsync.max, 2)} ms`);
  console.log(`bare fetch → receiver, concurrency ${CONCURRENCY}            ${fmt(bareRps, 0)} req/s  (${bareDone} in ${SECONDS}s)`);
  console.log(
    `hookd publish, ${PUBLISHERS} in flight                       ${fmt(published / SECONDS, 0)} events/s  (${published} events → ${expected} deliveries)`,
  );
  console.log(
    `  deliveries arrived while publishing            ${atPublishEnd} (${fmt(atPublishEnd / ((tpPublishEnd - tpStart) / 1000), 0)}/s); drain after publishing ${fmt(drainRate, 0)}/s`,
  );
  console.log(
    `hookd deliveries end to end                      ${fmt(deliveriesPerSec, 0)} deliveries/s  (${tp.count}/${expected} arrived in ${fmt(tpSpan, 2)} s${tpAllArrived ? "" : ", DRAIN DEADLINE HIT"})`,
  );
  console.log(`ratio deliveries/s ÷ bare fetch req/s           ${fmt(ratio, 3)}   (target ≥ 0.5; drain-only rate ÷ bare: ${fmt(drainRate / bareRps, 3)})`);
  console.log(
    `latency at ${RATE} events/s offered (${ENDPOINTS * RATE} deliveries/s) for ${fmt(offeredSeconds, 1)} s: ${sent} events → ${latExpected} deliveries, ${latencies.length} timed${latAllArrived ? "" : ", DRAIN DEADLINE HIT"}`,
  );
  console.log(
    `  publish→arrival per delivery                   p50 ${fmt(p50, 2)} ms  p90 ${fmt(percentile(latencies, 90), 2)} ms  p99 ${fmt(p99, 2)} ms  max ${fmt(latencies.at(-1) ?? NaN, 2)} ms  (target p99 ≤ 25)`,
  );
  console.log(`  publisher lag behind schedule                  p50 ${fmt(percentile(lags, 50), 2)} ms  p99 ${fmt(percentile(lags, 99), 2)} ms`);
  console.log(`hookd: exit ${stopped.code}, ${stopped.lines} log lines at warn${stopped.lines > 0 ? `; last: ${stopped.tail.slice(-3).join(" | ")}` : ""}`);
  if (failures > 0) console.log(`client failures: ${failures} (first: ${firstFailure})`);
  console.log(`RESULT ratio=${fmt(ratio, 3)} p50_ms=${fmt(p50, 2)} p99_ms=${fmt(p99, 2)}`);
} finally {
  publisher.close();
  await hookd.stop();
  await receiver.stop();
  rmSync(dir, { recursive: true, force: true });
}
