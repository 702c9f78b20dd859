/**
 * fairness shows a claim round costs the same with a huge backlog behind a busy endpoint (issue 13,
 * must-show 2): endpoint A has 1 000 000 due deliveries and a receiver that never answers in time, so
 * it sits at its per_endpoint_concurrency limit; endpoint B is idle.
 *   1. In process, on the real SQLite storage: with A's 8 slots leased, claim rounds are timed (they
 *      must skip A without reading its backlog), then one event for B is stored and the round that
 *      claims it is timed. Rounds go through the group commit, so each includes its COMMIT.
 *   1b. The same with FULL_ENDPOINTS endpoints at their limit (1 here), each with due work behind it:
 *      rounds and the next wake-up must not step over them either.
 *   2. End to end: `hookd serve` on that database (A's 8 attempts hang on the slow receiver), one event
 *      at a time is published for B and its publish→arrival time at B's receiver is measured.
 * Run: npm run bench:fairness   (or: bun bench/fairness.ts [backlog=1000000] [full_endpoints=5000])
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { systemClock } from "../src/clock.ts";
import { createRouter } from "../src/delivery/fanout.ts";
import { newId } from "../src/ids.ts";
import { migrate } from "../src/storage/sqlite/migrate.ts";
import { openDatabase } from "../src/storage/sqlite/open.ts";
import { openSqliteStorage } from "../src/storage/sqlite/storage.ts";
import { ENDPOINT_OPTION_DEFAULTS } from "../src/storage/types.ts";
import { fmt, load, machine, percentile, startHookd, waitUntil, wallNow } from "./support.ts";

const BACKLOG = Number(process.argv[2] ?? 1_000_000);
const PER_ENDPOINT = 8; // the default per_endpoint_concurrency
const TOTAL = 64; // the default [delivery] concurrency
const LEASE_MS = 50_000;
const ROUNDS = 50;
const PUBLISHES = 20;
const SECRET = `whsec_${Buffer.alloc(32, 1).toString("base64")}`;
const FULL_ENDPOINTS = Number(process.argv[3] ?? 5000);
const DELIVERIES_PER_EVENT = 1000; // the fill shares events between deliveries: only the queue matters here

if (process.argv[2] === "fill") {
  fill(process.argv[3]!, process.argv[4]!, Number(process.argv[5]));
  process.exit(0);
}

/** fill writes endpoint A and its backlog with raw SQL, as a long outage would have left it. */
function fill(path: string, slowUrl: string, n: number): void {
  const db = openDatabase(path);
  migrate(db, Date.now());
  const now = Date.now();
  const a = newId("wh");
  db.run(
    `INSERT INTO webhooks (id, url, events, description, status, secret, failure_count, created_at, updated_at)
     VALUES (?, ?, '["fair.a"]', 'A: slow, huge backlog', 'active', ?, 0, ?, ?)`,
    [a, slowUrl, SECRET, now, now],
  );
  const insertEvent = db.query("INSERT INTO events (id, type, origin, body, created_at) VALUES (?, 'fair.a', 'api', ?, ?)");
  const insertDelivery = db.query(
    `INSERT INTO deliveries (id, event_id, webhook_id, event_type, status, next_attempt_at, created_at, updated_at)
     VALUES (?, ?, ?, 'fair.a', 'pending', ?, ?, ?)`,
  );
  const span = 24 * 3600 * 1000;
  const chunk = db.transaction((start: number, end: number) => {
    let eventId = "";
    for (let i = start; i < end; i++) {
      const due = now - span + Math.floor((i / n) * span);
      if (i % DELIVERIES_PER_EVENT === 0) {
        eventId = newId("evt");
        insertEvent.run(eventId, `{"id":"${eventId}","type":"fair.a","data":{"i":${i}}}`, due);
      }
      insertDelivery.run(newId("dlv"), eventId, a, due, due, due);
    }
  });
  for (let start = 0; start < n; start += 50_000) chunk(start, Math.min(n, start + 50_000));
  // The ready row summarises the backlog, as the storage keeps it for every endpoint.
  db.run(
    `INSERT INTO delivery_queues (webhook_id, next_due_at, in_flight, served_at, ready_at)
     SELECT ?1, MIN(next_attempt_at), 0, 0, MIN(next_attempt_at) FROM deliveries WHERE webhook_id = ?1`,
    [a],
  );
  db.run("PRAGMA wal_checkpoint(TRUNCATE)");
  db.close();
}

const dir = mkdtempSync(join(tmpdir(), "hookd-fairness-"));
const path = join(dir, "hookd.db");
console.log(`bench:fairness  ${machine()}  ${load()}  data dir ${dir}`);

// A's receiver holds every request until hookd gives up on it (its timeout); B's answers at once.
const hanging: (() => void)[] = [];
const slow = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Promise<Response>((resolve) => hanging.push(() => resolve(new Response("late")))) });
const arrivals = new Map<string, number>();
const fast = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(request) {
    const body = (await request.json()) as { data?: { tag?: string } };
    if (body.data?.tag !== undefined) arrivals.set(body.data.tag, wallNow());
    return new Response("ok");
  },
});

try {
  const fillStarted = performance.now();
  const child = Bun.spawn([process.execPath, import.meta.path, "fill", path, `http://127.0.0.1:${slow.port}/a`, String(BACKLOG)], {
    stdout: "inherit",
    stderr: "inherit",
  });
  if ((await child.exited) !== 0) throw new Error("fill failed");
  console.log(`filled ${BACKLOG} due deliveries for endpoint A in ${fmt((performance.now() - fillStarted) / 1000, 1)} s`);

  // 1. In process.
  const storage = openSqliteStorage(path, systemClock, { route: createRouter() });
  await storage.deliveries.releaseAbandoned("bench", Date.now());
  const b = newId("wh");
  const now = Date.now();
  await storage.webhooks.create(
    { id: b, url: `http://127.0.0.1:${fast.port}/b`, events: ["fair.b"], description: "B: idle", status: "active", secret: SECRET, failure_count: 0, last_failure_at: null, failing_since: null, created_at: now, updated_at: now, ...ENDPOINT_OPTION_DEFAULTS },
    10,
  );
  const claim = () => storage.deliveries.claimDue({ now: Date.now(), total: TOTAL, perEndpoint: PER_ENDPOINT, leaseMs: () => LEASE_MS, owner: "bench" });
  const first = await claim();
  if (first.length !== PER_ENDPOINT) throw new Error(`A should fill its ${PER_ENDPOINT} slots, got ${first.length}`);
  const skipping: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const started = performance.now();
    const got = await claim();
    skipping.push(performance.now() - started);
    if (got.length !== 0) throw new Error(`A is at its limit; the round should claim nothing, got ${got.length}`);
  }
  skipping.sort((x, y) => x - y);
  const forB: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    await storage.events.insert({ id: newId("evt"), type: "fair.b", origin: "api", body: `{"i":${i}}`, created_at: Date.now(), source: null });
    const started = performance.now();
    const got = await claim();
    forB.push(performance.now() - started);
    if (got.length !== 1 || got[0]!.webhook_id !== b) throw new Error(`the round should claim B's one delivery, got ${got.length}`);
    await storage.deliveries.complete(
      got.map((d) => ({ attemptId: newId("att"), deliveryId: d.id, webhookId: d.webhook_id, lease: d.lease, attemptedAt: Date.now(), durationMs: 1, statusCode: 200, error: null, response: "", ok: true, nextAttemptAt: null, gone: false })),
      () => ({ delivery: { status: "delivered", nextAttemptAt: null, error: null, deliveredAt: Date.now() }, endpoint: "unchanged", disable: null }),
      Date.now(),
    );
  }
  forB.sort((x, y) => x - y);

  // 1b. Many endpoints at their limit (perEndpoint 1), each with a second delivery due behind the one it holds.
  const many = Array.from({ length: FULL_ENDPOINTS }, () => newId("wh"));
  await Promise.all(
    many.map((id) =>
      storage.webhooks.create(
        { id, url: `http://127.0.0.1:${fast.port}/full`, events: ["fair.full"], description: "", status: "active", secret: SECRET, failure_count: 0, last_failure_at: null, failing_since: null, created_at: now, updated_at: now, ...ENDPOINT_OPTION_DEFAULTS },
        FULL_ENDPOINTS + 10,
      ),
    ),
  );
  for (let k = 0; k < 2; k++) {
    await Promise.all(many.map((id) => storage.events.insert({ id: newId("evt"), type: "fair.full", origin: "api", body: "{}", created_at: Date.now(), source: null }, { onlyWebhook: id })));
  }
  const fill = await storage.deliveries.claimDue({ now: Date.now(), total: FULL_ENDPOINTS * 2, perEndpoint: 1, leaseMs: () => LEASE_MS, owner: "bench" });
  if (fill.length !== FULL_ENDPOINTS) throw new Error(`each of ${FULL_ENDPOINTS} endpoints should take one, got ${fill.length}`);
  const fullRounds: number[] = [];
  const wakeReads: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    let started = performance.now();
    const got = await storage.deliveries.claimDue({ now: Date.now(), total: TOTAL, perEndpoint: 1, leaseMs: () => LEASE_MS, owner: "bench" });
    fullRounds.push(performance.now() - started);
    if (got.length !== 0) throw new Error(`every endpoint is at its limit; the round should claim nothing, got ${got.length}`);
    started = performance.now();
    await storage.deliveries.nextWakeAt(1);
    wakeReads.push(performance.now() - started);
  }
  fullRounds.sort((x, y) => x - y);
  wakeReads.sort((x, y) => x - y);
  // Part 2 is about A and B alone: the full endpoints go (their deliveries expire with them).
  await Promise.all(many.map((id) => storage.webhooks.remove(id, Date.now())));
  await storage.close();
  console.log(`claim round with A at its limit and ${BACKLOG} due behind it (claims nothing): median ${fmt(percentile(skipping, 50), 3)} ms  p99 ${fmt(percentile(skipping, 99), 3)} ms  max ${fmt(skipping.at(-1)!, 3)} ms`);
  console.log(`claim round that takes B's one delivery (writes + fsync): median ${fmt(percentile(forB, 50), 3)} ms  p99 ${fmt(percentile(forB, 99), 3)} ms  max ${fmt(forB.at(-1)!, 3)} ms`);
  console.log(`claim round with ${FULL_ENDPOINTS} endpoints at their limit, work due behind each (claims nothing): median ${fmt(percentile(fullRounds, 50), 3)} ms  max ${fmt(fullRounds.at(-1)!, 3)} ms; nextWakeAt: median ${fmt(percentile(wakeReads, 50), 3)} ms`);

  // 2. End to end.
  const hookd = await startHookd(dir, {
    delivery: ['require_https = false', 'allow_targets = ["127.0.0.0/8"]', `per_endpoint_concurrency = ${PER_ENDPOINT}`, `concurrency = ${TOTAL}`, 'timeout = "10s"'].join("\n"),
    log: 'level = "warn"',
  });
  try {
    if (!(await waitUntil(() => hanging.length >= PER_ENDPOINT, 10_000))) throw new Error("A's attempts did not reach its receiver");
    const latencies: number[] = [];
    for (let i = 0; i < PUBLISHES; i++) {
      const tag = `b-${i}`;
      const sent = wallNow();
      const answer = await hookd.api("POST", "/v1/events", { type: "fair.b", data: { tag } });
      if (answer.status !== 202) throw new Error(`publish answered ${answer.status}`);
      if (!(await waitUntil(() => arrivals.has(tag), 5_000, 1))) throw new Error(`B's event ${tag} did not arrive within 5 s`);
      latencies.push(arrivals.get(tag)! - sent);
    }
    latencies.sort((x, y) => x - y);
    console.log(`A holding ${hanging.length} hanging attempts; B publish→arrival over ${PUBLISHES} events: median ${fmt(percentile(latencies, 50), 1)} ms  max ${fmt(latencies.at(-1)!, 1)} ms (target ≤ 100 ms)`);
    console.log(
      `RESULT backlog=${BACKLOG} skip_round_ms_p50=${fmt(percentile(skipping, 50), 3)} skip_round_ms_max=${fmt(skipping.at(-1)!, 3)} claim_b_round_ms_p50=${fmt(percentile(forB, 50), 3)} full_${FULL_ENDPOINTS}_round_ms_p50=${fmt(percentile(fullRounds, 50), 3)} b_arrival_ms_p50=${fmt(percentile(latencies, 50), 1)} b_arrival_ms_max=${fmt(latencies.at(-1)!, 1)}`,
    );
  } finally {
    await hookd.stop();
  }
} finally {
  for (const release of hanging.splice(0)) release();
  slow.stop(true);
  fast.stop(true);
  rmSync(dir, { recursive: true, force: true });
}
