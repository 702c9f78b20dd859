/**
 * undelivered shows SPEC §11's undelivered view and bulk replay at scale (issue 18, must-show 3). A
 * child process fills a fresh database with 1M deliveries over 10 endpoints (raw SQL, as
 * bench/backlog.ts does): 80 000 expired and 20 000 failed (retry a day away) spread over the timeline,
 * the rest delivered. Then, through a real `hookd serve`:
 *   1. `GET /v1/deliveries?status=failed,expired` (first page, 50) is timed: median of 20 after warm-up
 *      (target ≤ 20 ms), beside the same with an endpoint filter and a type filter, and
 *      `status=delivered` with an endpoint and a type that have none (900 000 delivered rows checked one by
 *      one but for EXAMINE_CAP: such a page comes back empty with a next_cursor); the SQLite plan of each
 *      status's range is printed;
 *   2. 500 signed inbound requests/s (open loop: latency counts from the time each request was due, so a
 *      stalled event loop shows in full) run alone, then again while `POST /v1/deliveries/replay`
 *      re-queues all 100 000; the p99 of each (target < 50 ms while replaying) is printed, and how long
 *      replay and the re-delivery to a local receiver took.
 * Run: npm run bench:undelivered   (or: bun bench/undelivered.ts [seconds_of_baseline=8])
 */
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { newId } from "../src/ids.ts";
import { migrate } from "../src/storage/sqlite/migrate.ts";
import { openDatabase } from "../src/storage/sqlite/open.ts";
import { EXAMINE_CAP } from "../src/storage/search-order.ts";
import { horizonSql, searchSql } from "../src/storage/sqlite/delivery-search.ts";
import type { DeliveryStatus } from "../src/storage/types.ts";
import { erpEventSource, fmt, load, machine, percentile, spawnReceiver, startHookd, waitUntil } from "./support.ts";

const TOTAL = 1_000_000;
const ENDPOINTS = 10;
const EXPIRED_EVERY = 12.5; // 1 in 12.5 expired (80 000), 1 in 50 failed (20 000)
const FAILED_EVERY = 50;
const UNDELIVERED = 100_000;
const ROWS_PER_TXN = 50_000;
const GETS = 20;
const RATE = 500; // inbound requests per second
const BASELINE_SECONDS = Number(process.argv[2] ?? 8);
const SOURCE = "bench-erp";
const SECRET = `bench-secret-${crypto.randomUUID()}`;

if (process.argv[2] === "fill") {
  fill(process.argv[3]!, process.argv[4]!);
  process.exit(0);
}

/** fill writes 1M deliveries (10 per event, one per endpoint), created over the past 30 days, oldest first. */
function fill(path: string, receiverUrl: string): void {
  const db = openDatabase(path);
  migrate(db, Date.now());
  const now = Date.now();
  const insertWebhook = db.query(
    `INSERT INTO webhooks (id, url, events, description, status, secret, failure_count, created_at, updated_at)
     VALUES (?, ?, '["bench.*"]', '', 'active', ?, 0, ?, ?)`,
  );
  const webhookIds = Array.from({ length: ENDPOINTS }, () => newId("wh"));
  db.transaction(() => {
    webhookIds.forEach((id, i) => insertWebhook.run(id, `${receiverUrl}/ep/${i}`, `whsec_${"A".repeat(43)}=`, now, now));
  })();
  const insertEvent = db.query("INSERT INTO events (id, type, origin, body, created_at) VALUES (?, ?, 'api', ?, ?)");
  const insertDelivery = db.query(
    `INSERT INTO deliveries (id, event_id, webhook_id, event_type, status, attempts, schedule_attempts, next_attempt_at,
       last_status_code, last_error, created_at, updated_at, delivered_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const span = 30 * 24 * 3600 * 1000;
  let expired = 0;
  let failed = 0;
  const chunk = db.transaction((start: number, end: number) => {
    for (let n = start; n < end; n += ENDPOINTS) {
      const eventId = newId("evt");
      const type = `bench.t${(n / ENDPOINTS) % 20}`;
      const at = now - span + Math.floor((n / TOTAL) * span);
      insertEvent.run(eventId, type, `{"id":"${eventId}","type":"${type}","data":{"n":${n}}}`, at);
      for (let k = 0; k < ENDPOINTS; k++) {
        const i = n + k;
        // Spread evenly: expired where i crosses a multiple of 12.5, failed on every 50th (not already expired).
        const status = Math.floor((i + 1) / EXPIRED_EVERY) > Math.floor(i / EXPIRED_EVERY) && expired < 80_000 ? "expired"
          : i % FAILED_EVERY === 7 && failed < 20_000 ? "failed" : "delivered";
        if (status === "expired") expired++;
        if (status === "failed") failed++;
        const finished = status !== "failed";
        insertDelivery.run(newId("dlv"), eventId, webhookIds[k]!, type, status, status === "delivered" ? 1 : 3, status === "delivered" ? 1 : 3,
          finished ? null : now + 24 * 3600 * 1000, status === "delivered" ? 200 : 503, status === "delivered" ? null : "HTTP 503",
          at, at, status === "delivered" ? at : null);
      }
    }
  });
  for (let start = 0; start < TOTAL; start += ROWS_PER_TXN) chunk(start, Math.min(TOTAL, start + ROWS_PER_TXN));
  if (expired + failed !== UNDELIVERED) throw new Error(`fill made ${expired} expired + ${failed} failed, not ${UNDELIVERED}`);
  db.run("PRAGMA wal_checkpoint(TRUNCATE)");
  db.close();
}

async function fillInChild(path: string, receiverUrl: string): Promise<number> {
  const started = performance.now();
  const child = Bun.spawn([process.execPath, import.meta.path, "fill", path, receiverUrl], { stdin: "ignore", stdout: "inherit", stderr: "inherit" });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const code = await Promise.race([child.exited, new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), 400_000)))]);
  clearTimeout(timer);
  if (code !== 0) {
    child.kill("SIGKILL");
    throw new Error(code === null ? "fill took longer than 400 s" : `fill exited with ${code}`);
  }
  return performance.now() - started;
}

/**
 * openLoop sends RATE signed requests per second to `url` until `done()`, each at its due time;
 * latency is answer − due, so time the event loop was stalled counts in full (no coordinated omission).
 */
async function openLoop(url: string, source: ReturnType<typeof erpEventSource>, done: () => boolean) {
  const session = new Bun.FetchSession({ proxy: false });
  const sent: { due: number; ms: number; ok: boolean }[] = [];
  const start = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; !done(); i++) {
    const due = start + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 1) await Bun.sleep(wait);
    const { body, headers } = source.nextRequest();
    inflight.push(
      session.fetch(url, { method: "POST", proxy: false, headers, body, signal: AbortSignal.timeout(10_000) })
        .then(async (r) => {
          const text = await r.text();
          sent.push({ due, ms: performance.now() - due, ok: r.status === 200 && text.includes('"received":true') });
        })
        .catch(() => void sent.push({ due, ms: performance.now() - due, ok: false })),
    );
  }
  await Promise.all(inflight);
  session.close();
  return sent;
}

/** forSeconds is a `done` for openLoop: true once `seconds` have passed since it was made. */
const forSeconds = (seconds: number) => {
  const end = performance.now() + seconds * 1000;
  return () => performance.now() >= end;
};

function summary(rows: { ms: number; ok: boolean }[]) {
  const ms = rows.map((r) => r.ms).sort((a, b) => a - b);
  return { n: rows.length, failed: rows.filter((r) => !r.ok).length, p50: percentile(ms, 50), p99: percentile(ms, 99), max: ms.at(-1) ?? NaN };
}
const line = (s: ReturnType<typeof summary>) =>
  `${s.n} requests (${s.failed} not accepted): p50 ${fmt(s.p50, 2)} ms  p99 ${fmt(s.p99, 2)} ms  max ${fmt(s.max, 1)} ms`;

const dir = mkdtempSync(join(tmpdir(), "hookd-undelivered-"));
const path = join(dir, "hookd.db");
console.log(`bench:undelivered  ${machine()}  ${load()}  data dir ${dir}`);
const receiver = await spawnReceiver();
let hookd: Awaited<ReturnType<typeof startHookd>> | null = null;
try {
  const fillMs = await fillInChild(path, receiver.url);
  console.log(`filled ${TOTAL} deliveries (${UNDELIVERED} failed or expired) over ${ENDPOINTS} endpoints in ${fmt(fillMs / 1000, 1)} s`);
  hookd = await startHookd(dir, {
    log: 'level = "warn"',
    delivery: 'require_https = false\nallow_targets = ["127.0.0.0/8"]',
    "[sources]": [`id = "${SOURCE}"`, 'auth = "hmac"', `secret = "${SECRET}"`, 'schema = "erp-event"'].join("\n"),
  });
  const h = hookd;

  // ---- 1. the undelivered view's first page ----
  const webhookId = (await h.api("GET", "/v1/webhooks?limit=1")).body.data[0].id as string;
  const timeGet = async (query: string) => {
    const session = new Bun.FetchSession({ proxy: false });
    const times: number[] = [];
    let rows = 0;
    let cursor = false;
    for (let i = 0; i < 5 + GETS; i++) {
      const started = performance.now();
      const r = await session.fetch(`${h.url}/v1/deliveries?${query}`, { proxy: false, headers: { authorization: `Bearer ${h.key}` } });
      const body = (await r.json()) as { data: unknown[]; next_cursor: string | null };
      if (r.status !== 200) throw new Error(`GET ${query}: ${r.status} ${JSON.stringify(body)}`);
      if (i >= 5) times.push(performance.now() - started);
      rows = body.data.length;
      cursor = body.next_cursor !== null;
    }
    session.close();
    times.sort((a, b) => a - b);
    return { median: percentile(times, 50), p90: percentile(times, 90), max: times.at(-1) ?? NaN, rows, cursor };
  };
  const NO_ENDPOINT = "wh_00000000000000000000000000";
  const queries = {
    undelivered: "status=failed,expired", endpoint: `status=failed,expired&webhook_id=${webhookId}`, type: "status=expired&event_type=bench.t3", all: "",
    deliveredNoEndpoint: `status=delivered&webhook_id=${NO_ENDPOINT}`, deliveredNoType: "status=delivered&event_type=bench.none",
  };
  const gets: Record<string, Awaited<ReturnType<typeof timeGet>>> = {};
  for (const [name, query] of Object.entries(queries)) {
    gets[name] = await timeGet(query);
    const g = gets[name]!;
    console.log(`GET /v1/deliveries?${query.replace(webhookId, "wh_…")}: ${g.rows} rows${g.cursor ? " + next_cursor" : ""}, median ${fmt(g.median, 2)} ms, p90 ${fmt(g.p90, 2)} ms, max ${fmt(g.max, 2)} ms (${GETS} runs)`);
  }
  const db = new Database(path, { readonly: true });
  for (const [label, filter] of [["status", {}], ["status+endpoint", { webhookId }], ["status+type", { eventType: "bench.t3" }]] as const) {
    for (const status of ["failed", "expired"] as DeliveryStatus[]) {
      const { sql, args } = searchSql({ statuses: [status], ...filter }, status, { created_at: Date.now(), id: "dlv_z" });
      const plan = db.query<{ detail: string }, (string | number)[]>(`EXPLAIN QUERY PLAN ${sql}`).all(...args, 51).map((r) => r.detail).join("; ");
      console.log(`plan (${label}, ${status}, after a cursor): ${plan}`);
    }
  }
  for (const [label, filter] of [["endpoint with none", { webhookId: NO_ENDPOINT }], ["type with none", { eventType: "bench.none" }]] as const) {
    const at = { created_at: Date.now(), id: "dlv_z" };
    const h = horizonSql({ statuses: ["delivered"], ...filter }, "delivered", true, at);
    const horizon = db.query<{ detail: string }, (string | number)[]>(`EXPLAIN QUERY PLAN ${h.sql}`).all(...h.args, 1, EXAMINE_CAP - 1).map((r) => r.detail).join("; ");
    const { sql, args } = searchSql({ statuses: ["delivered"], ...filter }, "delivered", at, { created_at: 0, id: "dlv_a" });
    const page = db.query<{ detail: string }, (string | number)[]>(`EXPLAIN QUERY PLAN ${sql}`).all(...args, 51).map((r) => r.detail).join("; ");
    console.log(`plan (delivered, ${label}): horizon ${horizon}; bounded page ${page}`);
  }
  db.close();

  // ---- 2. inbound latency alone, then during a replay of 100 000 ----
  const inUrl = `${h.url}/in/${SOURCE}`;
  const source = erpEventSource(SOURCE, SECRET, 1024);
  await openLoop(inUrl, source, forSeconds(2)); // warm-up
  const baseline = summary(await openLoop(inUrl, source, forSeconds(BASELINE_SECONDS)));
  console.log(`inbound ${RATE}/s alone:                 ${line(baseline)}`);

  const dryStarted = performance.now();
  const dry = await h.api("POST", "/v1/deliveries/replay", { since: "1970-01-01T00:00:00Z", dry_run: true });
  const dryMs = performance.now() - dryStarted;
  console.log(`dry_run: ${JSON.stringify(dry.body)} in ${fmt(dryMs, 0)} ms`);
  await receiver.reset(false);

  // The load starts, the replay a second later; the load goes on until every replayed delivery arrived (or 120 s).
  let stop = false;
  const during = openLoop(inUrl, source, () => stop);
  await Bun.sleep(1000);
  const replayStarted = performance.now();
  // Not h.api: its 10 s timeout is for quick calls.
  const control = new Bun.FetchSession({ proxy: false });
  const replayAnswer = await control.fetch(`${h.url}/v1/deliveries/replay`, {
    method: "POST", proxy: false, headers: { authorization: `Bearer ${h.key}`, "content-type": "application/json" },
    body: JSON.stringify({ since: "1970-01-01T00:00:00Z" }), signal: AbortSignal.timeout(300_000),
  });
  const replay = { status: replayAnswer.status, body: (await replayAnswer.json()) as { data: { replayed: number } } };
  control.close();
  const replayEnded = performance.now();
  if (replay.status !== 202) throw new Error(`replay: ${replay.status} ${JSON.stringify(replay.body)}`);
  const arrivedAll = await waitUntil(async () => (await receiver.stats()).count >= UNDELIVERED, 120_000, 250);
  const drainedAt = performance.now();
  await Bun.sleep(500);
  stop = true;
  const sent = await during;
  const stats = await receiver.stats();
  const inReplay = summary(sent.filter((r) => r.due >= replayStarted && r.due <= replayEnded));
  const inRedelivery = summary(sent.filter((r) => r.due > replayEnded && r.due <= drainedAt));
  const replayMs = replayEnded - replayStarted;
  console.log(`replay: ${JSON.stringify(replay.body)} in ${fmt(replayMs, 0)} ms (${fmt(UNDELIVERED / (replayMs / 1000), 0)} deliveries/s re-queued)`);
  console.log(`inbound ${RATE}/s during the replay call:  ${line(inReplay)}`);
  console.log(`inbound ${RATE}/s during re-delivery:      ${line(inRedelivery)}`);
  console.log(`re-delivered ${stats.count} of ${UNDELIVERED} to the receiver ${arrivedAll ? "" : "(NOT ALL) "}in ${fmt((drainedAt - replayStarted) / 1000, 1)} s from the replay's start`);
  const verdict = (ok: boolean) => (ok ? "ok" : "OVER");
  console.log(`first page ${fmt(gets.undelivered!.median, 2)} ms (target ≤ 20) ${verdict(gets.undelivered!.median <= 20)}; inbound p99 while replaying ${fmt(inReplay.p99, 2)} ms (target < 50) ${verdict(inReplay.p99 < 50)}`);
  console.log(
    `RESULT undelivered_first_page_ms=${fmt(gets.undelivered!.median, 2)} endpoint_page_ms=${fmt(gets.endpoint!.median, 2)} type_page_ms=${fmt(gets.type!.median, 2)} ` +
      `delivered_no_endpoint_page_ms=${fmt(gets.deliveredNoEndpoint!.median, 2)} delivered_no_type_page_ms=${fmt(gets.deliveredNoType!.median, 2)} ` +
      `dry_run_ms=${fmt(dryMs, 0)} replay_ms=${fmt(replayMs, 0)} replayed=${replay.body.data.replayed} inbound_p99_alone_ms=${fmt(baseline.p99, 2)} ` +
      `inbound_p99_replay_ms=${fmt(inReplay.p99, 2)} inbound_p99_redelivery_ms=${fmt(inRedelivery.p99, 2)} redelivered=${stats.count}`,
  );
} finally {
  await hookd?.stop();
  await receiver.stop();
  rmSync(dir, { recursive: true, force: true });
}
