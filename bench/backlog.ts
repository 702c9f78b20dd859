/**
 * backlog shows the queue stays index-driven as it grows (issue 4, must-show 6): it fills the
 * deliveries table to 10k, 100k and 1M pending rows over 10 endpoints, all due in the past, and
 * times the real `storage.deliveries.claimDue` for a batch of 64 at each size, with the process RSS.
 * The per-endpoint limit is set out of reach here (leases are never completed, so in-flight counts only
 * grow); bench/fairness.ts measures a round that skips an endpoint at its limit.
 * Claims go through the group commit, so each timing includes its COMMIT (fsync, synchronous = FULL).
 * Leases accumulate between claims (nothing is released): 25 × 64 leased rows per size, which stay
 * in the table but are no longer due, so the claim must step over nothing.
 * The fill runs in a child process so its allocations do not count in the RSS measured here.
 * Run: npm run bench:backlog   (or: bun bench/backlog.ts)
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { systemClock } from "../src/clock.ts";
import { newId } from "../src/ids.ts";
import { migrate } from "../src/storage/sqlite/migrate.ts";
import { openDatabase } from "../src/storage/sqlite/open.ts";
import { openSqliteStorage } from "../src/storage/sqlite/storage.ts";
import { fmt, load, machine, percentile } from "./support.ts";

const SIZES = [10_000, 100_000, 1_000_000];
const ENDPOINTS = 10;
const PER_EVENT = ENDPOINTS; // every event fans out to all 10 endpoints, as with filters "*"
const ROWS_PER_TXN = 50_000;
const BATCH = 64; // the default [delivery] concurrency
const LEASE_MS = 50_000; // the scheduler's lease for the default 10 s timeout: timeout × 2 + 30 s
const WARMUP = 5;
const CLAIMS = 20;
const BODY_PAD = "x".repeat(200);

if (process.argv[2] === "fill") {
  fill(process.argv[3]!, Number(process.argv[4]), Number(process.argv[5]));
  process.exit(0);
}

/** fill adds pending deliveries until the table holds `to` (from `from`); raw SQL, for the bulk fill only. */
function fill(path: string, from: number, to: number): void {
  const db = openDatabase(path);
  migrate(db, Date.now());
  const now = Date.now();
  let webhookIds = db.query<{ id: string }, []>("SELECT id FROM webhooks ORDER BY id").all().map((r) => r.id);
  if (webhookIds.length === 0) {
    const insert = db.query(
      `INSERT INTO webhooks (id, url, events, description, status, secret, failure_count, created_at, updated_at)
       VALUES (?, ?, '["*"]', '', 'active', ?, 0, ?, ?)`,
    );
    db.transaction(() => {
      for (let i = 0; i < ENDPOINTS; i++) insert.run(newId("wh"), `http://127.0.0.1:9/ep/${i}`, `whsec_${"A".repeat(43)}=`, now, now);
    })();
    webhookIds = db.query<{ id: string }, []>("SELECT id FROM webhooks ORDER BY id").all().map((r) => r.id);
  }
  const insertEvent = db.query("INSERT INTO events (id, type, origin, body, created_at) VALUES (?, ?, 'api', ?, ?)");
  const insertDelivery = db.query(
    `INSERT INTO deliveries (id, event_id, webhook_id, event_type, status, next_attempt_at, created_at, updated_at)
     VALUES (?, ?, ?, 'bench.tick', 'pending', ?, ?, ?)`,
  );
  // Due times spread over the past day, oldest first, as a backlog built up behind a long outage would be.
  const span = 24 * 3600 * 1000;
  const chunk = db.transaction((start: number, end: number) => {
    for (let n = start; n < end; n += PER_EVENT) {
      const eventId = newId("evt");
      const due = now - span + Math.floor((n / 1_000_000) * span);
      insertEvent.run(eventId, "bench.tick", `{"id":"${eventId}","type":"bench.tick","data":{"n":${n},"pad":"${BODY_PAD}"}}`, due);
      for (let k = 0; k < PER_EVENT && n + k < end; k++) insertDelivery.run(newId("dlv"), eventId, webhookIds[k]!, due, due, due);
    }
  });
  for (let start = from; start < to; start += ROWS_PER_TXN) chunk(start, Math.min(to, start + ROWS_PER_TXN));
  db.run("PRAGMA wal_checkpoint(TRUNCATE)");
  db.close();
}

/** fillInChild runs `fill` in a separate process, so this process's RSS shows only what claiming holds. */
async function fillInChild(path: string, from: number, to: number): Promise<number> {
  const started = performance.now();
  const child = Bun.spawn([process.execPath, import.meta.path, "fill", path, String(from), String(to)], {
    stdin: "ignore",
    stdout: "inherit",
    stderr: "inherit",
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const code = await Promise.race([child.exited, new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), 150_000)))]);
  clearTimeout(timer);
  if (code !== 0) {
    child.kill("SIGKILL");
    throw new Error(code === null ? "fill took longer than 150 s" : `fill exited with ${code}`);
  }
  return performance.now() - started;
}

const mb = (bytes: number) => bytes / 2 ** 20;
const dir = mkdtempSync(join(tmpdir(), "hookd-backlog-"));
const path = join(dir, "hookd.db");
console.log(`bench:backlog  ${machine()}  ${load()}  data dir ${dir}`);
console.log(`claimDue(total ${BATCH}, ${ENDPOINTS} endpoints, lease ${LEASE_MS} ms): ${WARMUP} warm-up + ${CLAIMS} timed claims per size; leases accumulate (not released)`);

const results: { size: number; median: number; p90: number; rss: number }[] = [];
try {
  let filled = 0;
  for (const size of SIZES) {
    const fillMs = await fillInChild(path, filled, size);
    filled = size;
    const storage = openSqliteStorage(path, systemClock);
    // What `serve` does at start: releases leases and summarises every endpoint's queue into its ready row.
    await storage.deliveries.releaseAbandoned("bench", Date.now());
    const times: number[] = [];
    let claimed = 0;
    for (let i = 0; i < WARMUP + CLAIMS; i++) {
      const started = performance.now();
      const batch = await storage.deliveries.claimDue({ now: Date.now(), total: BATCH, perEndpoint: 1 << 30, leaseMs: () => LEASE_MS, owner: "bench" });
      const ms = performance.now() - started;
      if (batch.length !== BATCH) throw new Error(`claim ${i} at ${size}: got ${batch.length}, expected ${BATCH}`);
      if (i >= WARMUP) {
        times.push(ms);
        claimed += batch.length;
      }
    }
    await storage.close();
    Bun.gc(true);
    const rss = process.memoryUsage().rss;
    times.sort((a, b) => a - b);
    const row = { size, median: percentile(times, 50), p90: percentile(times, 90), rss };
    results.push(row);
    console.log(
      `${String(size).padStart(9)} pending  fill ${fmt(fillMs / 1000, 1)} s  db ${fmt(mb(statSync(path).size), 0)} MiB  claim ${BATCH}: median ${fmt(row.median, 3)} ms  p90 ${fmt(row.p90, 3)} ms  min ${fmt(times[0]!, 3)} ms  max ${fmt(times.at(-1)!, 3)} ms  RSS ${fmt(mb(rss), 1)} MiB`,
    );
  }

  // The plans of the claim's reads (copies of queue.ts's and deliveries.ts's), to show each reads an index.
  const db = openDatabase(path);
  const planOf = (sql: string) => db.query<{ detail: string }, []>(`EXPLAIN QUERY PLAN ${sql}`).all().map((p) => p.detail).join("; ");
  console.log(`ready endpoints plan: ${planOf("SELECT webhook_id, in_flight FROM delivery_queues WHERE ready_at IS NOT NULL AND ready_at <= 0 AND in_flight < 8 ORDER BY ready_at LIMIT 64")}`);
  console.log(`endpoint's due rows plan: ${planOf("SELECT id FROM deliveries WHERE webhook_id = 'wh_x' AND next_attempt_at IS NOT NULL AND next_attempt_at <= 0 ORDER BY next_attempt_at LIMIT 8")}`);
  console.log(`lapsed leases plan: ${planOf("SELECT webhook_id FROM deliveries WHERE lease_until IS NOT NULL AND lease_until <= 0")}`);
  db.close();

  const at = (n: number) => results.find((r) => r.size === n)!;
  const growth = at(1_000_000).median / at(10_000).median;
  const rssGrowth = at(1_000_000).rss - at(10_000).rss;
  console.log(`1M ÷ 10k claim median: ${fmt(growth, 2)}× (limit 2×) ${growth <= 2 ? "ok" : "OVER"}; RSS 10k → 1M: ${rssGrowth >= 0 ? "+" : ""}${fmt(mb(rssGrowth), 1)} MiB`);
  console.log(
    `RESULT claim_ms_10k=${fmt(at(10_000).median, 3)} claim_ms_100k=${fmt(at(100_000).median, 3)} claim_ms_1m=${fmt(at(1_000_000).median, 3)} ratio_1m_10k=${fmt(growth, 2)} rss_mb_10k=${fmt(mb(at(10_000).rss), 1)} rss_mb_1m=${fmt(mb(at(1_000_000).rss), 1)}`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
