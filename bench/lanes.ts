/**
 * lanes shows a FIFO lane's bookkeeping does not grow with the work queued behind its head (issue 16:
 * a naive "is anything older in my lane unfinished" query took 28 ms with 50k rows behind a head
 * waiting to retry). One FIFO endpoint's head has failed and waits an hour to retry; 0, 50 000 and
 * 500 000 deliveries wait behind it. At each size, through the real storage API (SQLite, group commit,
 * synchronous = FULL, so each write includes its fsync):
 *   - publish: one more event into the lane (sequence assigned under the lane lock, waits behind the head);
 *   - claim:   a claim round that finds nothing of the lane due (only the head could be);
 *   - promote: the head is delivered, the next is promoted, claimed and failed again (a complete + claim + complete).
 * The same publish and claim on an unordered endpoint with the same backlog (not due) are the baseline.
 * Run: npm run bench:lanes   (or: bun bench/lanes.ts)
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { systemClock } from "../src/clock.ts";
import { createRouter } from "../src/delivery/fanout.ts";
import { decideAttempt } from "../src/delivery/outcome.ts";
import { buildEvent } from "../src/events/envelope.ts";
import { newId } from "../src/ids.ts";
import { openSqliteStorage } from "../src/storage/sqlite/storage.ts";
import { type AttemptResult, type ClaimedDelivery, ENDPOINT_OPTION_DEFAULTS, type Storage } from "../src/storage/types.ts";
import { fmt, load, machine, percentile } from "./support.ts";

const SIZES = [0, 50_000, 500_000];
const PER_TX = 2_000;
const SAMPLES = 40;
const HOUR = 3_600_000;
const lease = () => 60_000;

const dir = mkdtempSync(join(tmpdir(), "hookd-lanes-"));
console.log(`bench:lanes  ${machine()}  ${load()}  data dir ${dir}`);
const storage: Storage = openSqliteStorage(join(dir, "hookd.db"), systemClock, { route: createRouter() });

async function endpoint(type: string, ordering: "none" | "fifo"): Promise<string> {
  const now = Date.now();
  const id = newId("wh");
  await storage.webhooks.create(
    {
      id, url: "http://127.0.0.1:9/hook", events: [type], description: "", status: "active", secret: `whsec_${"A".repeat(43)}=`,
      failure_count: 0, last_failure_at: null, failing_since: null, created_at: now, updated_at: now, ...ENDPOINT_OPTION_DEFAULTS, ordering,
    },
    10,
  );
  return id;
}

const event = (type: string) => buildEvent(type, '{"doc":"4711"}', "api", Date.now());

function result(d: ClaimedDelivery, ok: boolean): AttemptResult {
  const now = Date.now();
  return {
    attemptId: newId("att"), deliveryId: d.id, webhookId: d.webhook_id, lease: d.lease, attemptedAt: now, durationMs: 1,
    statusCode: ok ? 200 : 500, error: ok ? null : "HTTP 500", response: "", ok, nextAttemptAt: ok ? null : now + HOUR, gone: false,
  };
}

/** fill adds `n` events of `type` in transactions of PER_TX (for the unordered endpoint: due in an hour). */
async function fill(type: string, n: number): Promise<void> {
  for (let done = 0; done < n; done += PER_TX) {
    await storage.tx(async (tx) => {
      for (let i = 0; i < Math.min(PER_TX, n - done); i++) await tx.events.insert(event(type));
    });
  }
}

async function timed(fn: () => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const started = performance.now();
    await fn();
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b);
}

const claimAll = () => storage.deliveries.claimDue({ now: Date.now(), total: 64, perEndpoint: 8, leaseMs: lease, owner: "bench" });

try {
  const fifo = await endpoint("lane.fifo", "fifo");
  // The head: claimed, failed, due again in an hour.
  await storage.events.insert(event("lane.fifo"));
  const [head] = await claimAll();
  if (!head || head.sequence !== 1) throw new Error(`expected the lane's head (sequence 1), got ${JSON.stringify(head?.sequence)}`);
  await storage.deliveries.complete([result(head, false)], (r, e) => decideAttempt(r, e, Date.now(), { disableAfterMs: 0 }), Date.now());
  const rows: string[] = [];
  const medians: { size: number; publish: number; claim: number }[] = [];
  let filled = 0;
  for (const size of SIZES) {
    await fill("lane.fifo", size - filled);
    filled = size;
    const publish = await timed(() => storage.events.insert(event("lane.fifo")));
    filled += SAMPLES;
    const claim = await timed(async () => {
      const got = await claimAll();
      if (got.length > 0) throw new Error(`nothing of the lane is due, yet ${got.length} were claimed`);
    });
    medians.push({ size, publish: percentile(publish, 50), claim: percentile(claim, 50) });
    rows.push(`${String(size).padStart(7)} waiting  publish median ${fmt(percentile(publish, 50), 3)} ms p90 ${fmt(percentile(publish, 90), 3)}  claim round median ${fmt(percentile(claim, 50), 3)} ms p90 ${fmt(percentile(claim, 90), 3)}`);
    console.log(rows.at(-1));
  }
  // Promotion with the largest backlog: deliver the head (the next one is promoted), claim it, fail it again.
  let current: ClaimedDelivery | undefined;
  await storage.deliveries.retry(head.id, Date.now());
  [current] = await claimAll();
  const promote = await timed(async () => {
    await storage.deliveries.complete([result(current!, true)], (r, e) => decideAttempt(r, e, Date.now(), { disableAfterMs: 0 }), Date.now());
    const [next] = await claimAll();
    if (!next || next.sequence !== current!.sequence! + 1) throw new Error(`expected sequence ${current!.sequence! + 1} next, got ${next?.sequence}`);
    current = next;
  });
  console.log(`promote at ${filled} waiting (complete head + claim next): median ${fmt(percentile(promote, 50), 3)} ms p90 ${fmt(percentile(promote, 90), 3)} ms`);

  // Baseline: an unordered endpoint with the same backlog, none of it due.
  await storage.webhooks.update(fifo, { status: "disabled" }, Date.now());
  await endpoint("lane.plain", "none");
  await fill("lane.plain", 0);
  const plainPublish = await timed(() => storage.events.insert(event("lane.plain")));
  const plain = percentile(plainPublish, 50);
  console.log(`baseline: unordered endpoint, publish median ${fmt(plain, 3)} ms`);
  const small = medians.find((m) => m.size === 50_000)!;
  const large = medians.at(-1)!;
  console.log(
    `RESULT publish_500k_vs_unordered=${fmt(large.publish / plain, 2)} publish_growth_50k_to_500k=${fmt(large.publish / small.publish, 2)} claim_growth_50k_to_500k=${fmt(large.claim / small.claim, 2)} promote_ms=${fmt(percentile(promote, 50), 3)}`,
  );
} finally {
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
}
