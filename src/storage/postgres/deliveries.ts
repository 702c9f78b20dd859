import { countBy } from "../guarded";
import type {
  AttemptResult, ClaimedDelivery, ClaimRequest, CompleteOutcome, DecideAttempt, EndpointState, LeaseRef,
} from "../types";
import type { BodyCache } from "../body-cache";
import { type EndpointRow, endpointFields, endpointState } from "../claim-endpoint";
import { type Db, one, rows, run } from "./client";
import type { AlertRows } from "./alerts";
import type { AfterCommit } from "./group-commit";
import { laneRows } from "./lanes";
import { queueRows } from "./queue";
import { formatRuns, pacedUntil, parseRuns, record, room } from "../rate-window";


interface TakenRow {
  id: string;
  event_id: string;
  event_type: string;
  attempts: number;
  schedule_attempts: number;
  sequence: number | null;
}

// Lapsed leases of any node; rows another claimer is releasing right now are left to it.
const LAPSED = `UPDATE deliveries SET lease_until = NULL, lease_owner = NULL
  WHERE id IN (SELECT id FROM deliveries WHERE lease_until IS NOT NULL AND lease_until <= $1 FOR UPDATE SKIP LOCKED)
  RETURNING webhook_id`;
// next_attempt_at moves to the lease's end so a held row is not due again until the lease lapses. Equal due
// times go oldest delivery first (ids sort by creation): PostgreSQL has no rowid order to fall back on.
// Rows still leased (a lapsed lease another transaction holds) or locked (a result being recorded
// right now on another node) are skipped, not waited for: no claim can overwrite a finished attempt.
const CLAIM = `UPDATE deliveries SET lease_until = $1, next_attempt_at = $1, lease_owner = $2
  WHERE id IN (SELECT id FROM deliveries WHERE webhook_id = $3 AND next_attempt_at IS NOT NULL AND next_attempt_at <= $4
               AND lease_until IS NULL ORDER BY next_attempt_at, id LIMIT $5 FOR UPDATE SKIP LOCKED)
  RETURNING id, event_id, event_type, attempts, schedule_attempts, sequence`;
const ENDPOINT = `SELECT url, status, deleted_at, failure_count, failing_since, failing_reported, secret, previous_secret, previous_secret_until,
    headers, timeout_ms, rate_limit, client_tls, oauth2, transform, content_type
  FROM webhooks WHERE id = $1`;
const INSERT_ATTEMPT = "INSERT INTO attempts (id, delivery_id, attempted_at, status_code, duration_ms, error, response) VALUES ($1, $2, $3, $4, $5, $6, $7)";
const FINISH_ATTEMPT = `UPDATE deliveries SET status = $1, attempts = attempts + 1, schedule_attempts = schedule_attempts + 1,
    next_attempt_at = $2, lease_until = NULL, lease_owner = NULL, last_status_code = $3, last_response = $4, last_error = $5,
    updated_at = $6, delivered_at = COALESCE($7, delivered_at)
  WHERE id = $8 AND lease_owner = $9
  RETURNING lane, event_type`;
const EXPIRE_UNFINISHED = `UPDATE deliveries SET status = 'expired', next_attempt_at = NULL, last_error = 'endpoint_disabled', updated_at = $1
  WHERE webhook_id = $2 AND next_attempt_at IS NOT NULL AND lease_until IS NULL`;
const EXPIRE_ORPHANS = `UPDATE deliveries SET status = 'expired', next_attempt_at = NULL, lease_until = NULL, lease_owner = NULL, updated_at = $1,
    last_error = CASE WHEN w.deleted_at IS NOT NULL THEN 'endpoint_deleted' ELSE 'endpoint_disabled' END
  FROM webhooks w
  WHERE w.id = deliveries.webhook_id AND (w.deleted_at IS NOT NULL OR w.status <> 'active')
    AND deliveries.next_attempt_at IS NOT NULL AND deliveries.lease_until IS NULL`;
// Only this node's leases: the token is "<owner> <run>.<round>", and other nodes' leases are live.
const RELEASE_OWN = `UPDATE deliveries SET lease_until = NULL, lease_owner = NULL, next_attempt_at = $1
  WHERE lease_until IS NOT NULL AND starts_with(lease_owner, $2 || ' ') RETURNING webhook_id`;
const RELEASE_ONE = "UPDATE deliveries SET lease_until = NULL, lease_owner = NULL, next_attempt_at = $1 WHERE id = $2 AND lease_owner = $3 RETURNING webhook_id";

/**
 * deliveryQueue is the queue inside a batch's transaction: claims, attempt records, releases and
 * re-enqueues, as on SQLite (src/storage/sqlite/deliveries.ts). What differs is concurrency: other
 * nodes claim from the same tables at the same time. A claim takes its endpoints' ready rows
 * FOR UPDATE SKIP LOCKED and holds them to COMMIT, so one endpoint is claimed from by one node at a
 * time and its in_flight count, read under that lock, holds per_endpoint_concurrency across nodes.
 */
export function deliveryQueue(bodies: BodyCache, onEndpointsChanged: () => void, alerts: AlertRows) {
  let round = 0;
  // The per-endpoint limit the ready rows were last computed with; set only once that commits.
  let appliedLimit: number | null = null;
  // Tokens carry this open's random run id: round numbers start again at every open.
  const runId = crypto.randomUUID().slice(0, 8);

  // Ready rows are updated in endpoint id order, the order every multi-row change takes, so two nodes
  // settling the same endpoints cannot deadlock.
  const settle = async (db: Db, returnedRows: { webhook_id: string }[]) => {
    const queue = queueRows(db);
    const counts = [...countBy(returnedRows, (r) => r.webhook_id)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [webhookId, n] of counts) await queue.returned(webhookId, n);
  };

  return {
    async claim(db: Db, after: AfterCommit, { now, total, perEndpoint, leaseMs, owner }: ClaimRequest): Promise<ClaimedDelivery[]> {
      const queue = queueRows(db);
      if (perEndpoint !== appliedLimit) {
        await queue.limit(perEndpoint);
        after(() => (appliedLimit = perEndpoint));
      }
      const lapsedRows = await rows<{ webhook_id: string }>(db, LAPSED, [now]);
      await settle(db, lapsedRows);
      // A lapsed lease's worker can no longer report; its endpoint may have gone inactive meanwhile.
      if (lapsedRows.length > 0) await run(db, EXPIRE_ORPHANS, [now]);
      const lease = `${owner} ${runId}.${++round}`;
      const claimed: ClaimedDelivery[] = [];
      for (const ready of await queue.ready(now, total)) {
        if (claimed.length >= total) break;
        const limit = Math.min(perEndpoint - ready.in_flight, total - claimed.length);
        if (limit <= 0) {
          // At a limit lowered since its last claim: the row leaves the index; its rate window stays.
          await queue.took(ready.webhook_id, 0, now, perEndpoint, null, ready.rate_log);
          continue;
        }
        const w = await one<EndpointRow>(db, ENDPOINT, [ready.webhook_id]);
        if (!w || w.deleted_at !== null || w.status !== "active") {
          await queue.close(ready.webhook_id);
          continue;
        }
        // Rate limit: the window is read and written under the ready-row lock READY took; unlimited endpoints skip it.
        const window = w.rate_limit === null ? null : parseRuns(ready.rate_log, now);
        const allowed = window === null ? limit : Math.min(limit, room(window, w.rate_limit!));
        const taken = allowed <= 0
          ? []
          : await rows<TakenRow>(db, CLAIM, [now + leaseMs({ timeout_ms: w.timeout_ms, oauth2: w.oauth2 }), lease, ready.webhook_id, now, allowed]);
        if (window === null) {
          await queue.took(ready.webhook_id, taken.length, now, perEndpoint);
        } else {
          const runs = record(window, now, taken.length);
          await queue.took(ready.webhook_id, taken.length, now, perEndpoint, pacedUntil(runs, w.rate_limit!), formatRuns(runs));
        }
        const fields = endpointFields(w, now);
        for (const row of taken) {
          const cached = bodies.get(row.event_id);
          claimed.push({ ...row, ...fields, webhook_id: ready.webhook_id, body: cached?.body ?? "", source: cached?.source ?? null, lease });
        }
      }
      // Events stored by another node are not in this one's cache: their bodies (and sources) come in one query.
      const missing = [...new Set(claimed.filter((d) => bodies.get(d.event_id) === undefined).map((d) => d.event_id))];
      if (missing.length > 0) {
        const found = await rows<{ id: string; body: string; source: string | null }>(
          db, `SELECT id, body, source FROM events WHERE id IN (${missing.map((_, i) => `$${i + 1}`).join(", ")})`, missing,
        );
        const byId = new Map(found.map((r) => [r.id, r]));
        for (const d of claimed) {
          if (bodies.get(d.event_id) !== undefined) continue;
          d.body = byId.get(d.event_id)?.body ?? "";
          d.source = byId.get(d.event_id)?.source ?? null;
        }
      }
      return claimed;
    },

    async complete(db: Db, after: AfterCommit, results: AttemptResult[], decide: DecideAttempt, now: number): Promise<CompleteOutcome> {
      const outcome: CompleteOutcome = { disabled: [], stale: [] };
      const states = new Map<string, EndpointState>();
      // What operational events need of each endpoint besides its state (SPEC §11).
      const known = new Map<string, { url: string; reported: boolean }>();
      const returned: { webhook_id: string }[] = [];
      const queue = queueRows(db);
      const lanes = laneRows(db);
      // By endpoint (stable, so one endpoint's results keep their order): endpoint rows are locked in id order.
      const ordered = [...results].sort((a, b) => (a.webhookId < b.webhookId ? -1 : a.webhookId > b.webhookId ? 1 : 0));
      for (const r of ordered) {
        let state = states.get(r.webhookId);
        if (!state) {
          // Locked as it is read: two nodes recording results of one endpoint must not both decide from
          // the same failure_count (a hookd.endpoint.failing or .recovered reported twice).
          const row = await one<EndpointRow>(db, `${ENDPOINT} FOR UPDATE`, [r.webhookId]);
          states.set(r.webhookId, (state = endpointState(row)));
          known.set(r.webhookId, { url: row?.url ?? "", reported: row?.failing_reported === 1 });
        }
        const facts = known.get(r.webhookId)!;
        const before = { ...state, failing_reported: facts.reported };
        const d = decide(r, state);
        const { status, nextAttemptAt, error, deliveredAt } = d.delivery;
        const params = [status, nextAttemptAt, r.statusCode, r.response, error, now, deliveredAt, r.deliveryId, r.lease];
        const finished = await one<{ lane: string | null; event_type: string }>(db, FINISH_ATTEMPT, params);
        if (!finished) {
          outcome.stale.push(r.deliveryId);
          continue;
        }
        // A lane's head delivered or out of attempts: the next in line goes.
        if (finished.lane !== null && status !== "failed") {
          await queue.lock(r.webhookId);
          await lanes.advance({ webhook_id: r.webhookId, lane: finished.lane }, r.deliveryId, now);
        }
        await run(db, INSERT_ATTEMPT, [r.attemptId, r.deliveryId, r.attemptedAt, r.statusCode, Math.round(r.durationMs), r.error, r.response]);
        returned.push({ webhook_id: r.webhookId });
        if (d.endpoint === "reset") {
          await run(db, "UPDATE webhooks SET failure_count = 0, failing_since = NULL WHERE id = $1", [r.webhookId]);
          state.failure_count = 0;
          state.failing_since = null;
        } else if (d.endpoint === "failed") {
          await run(
            db,
            "UPDATE webhooks SET failure_count = failure_count + 1, last_failure_at = $1, failing_since = COALESCE(failing_since, $1) WHERE id = $2",
            [r.attemptedAt, r.webhookId],
          );
          state.failure_count++;
          state.failing_since ??= r.attemptedAt;
        }
        facts.reported = await alerts.attempt(db, after, d, before, state, {
          webhookId: r.webhookId, url: facts.url, deliveryId: r.deliveryId, eventType: finished.event_type,
          attemptError: r.error, deliveryError: error, attemptedAt: r.attemptedAt,
        }, now);
        if (d.disable && (await run(db, "UPDATE webhooks SET status = 'disabled', updated_at = $1 WHERE id = $2 AND status = 'active'", [now, r.webhookId])) > 0) {
          // With it expire its unfinished deliveries, this one too if its answer (a 410) ended it.
          const expired = (await run(db, EXPIRE_UNFINISHED, [now, r.webhookId])) + (status === "expired" ? 1 : 0);
          await queue.close(r.webhookId);
          state.status = "disabled";
          outcome.disabled.push({ webhookId: r.webhookId, reason: d.disable });
          await alerts.disabled(db, after, r.webhookId, facts.url, d.disable, expired, now);
        }
      }
      await settle(db, returned);
      if (outcome.disabled.length > 0) after(onEndpointsChanged);
      return outcome;
    },

    async release(db: Db, leases: readonly LeaseRef[], now: number): Promise<number> {
      const released: { webhook_id: string }[] = [];
      for (const { id, lease } of leases) released.push(...(await rows<{ webhook_id: string }>(db, RELEASE_ONE, [now, id, lease])));
      await settle(db, released);
      if (released.length > 0) await run(db, EXPIRE_ORPHANS, [now]);
      return released.length;
    },

    /** releaseAbandoned frees only `owner`'s leases (a previous run of this node): other nodes' are live. */
    async releaseAbandoned(db: Db, owner: string, now: number): Promise<number> {
      const released = await rows<{ webhook_id: string }>(db, RELEASE_OWN, [now, owner]);
      await queueRows(db).openMissing();
      await settle(db, released);
      await run(db, EXPIRE_ORPHANS, [now]);
      return released.length;
    },
  };
}
