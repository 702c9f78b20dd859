import { countBy } from "../guarded";
import type { Database } from "bun:sqlite";
import { LANE_WAITING } from "../delivery-types";
import type {
  AttemptResult, ClaimedDelivery, ClaimRequest, CompleteOutcome, DecideAttempt, DeliveryStatus, EndpointState, LeaseRef, RetryOutcome,
} from "../types";
import type { BodyCache } from "../body-cache";
import { type EndpointRow, endpointFields, endpointState } from "../claim-endpoint";
import type { AlertRows } from "./alerts";
import type { AfterCommit } from "./group-commit";
import type { LaneRows } from "./lanes";
import type { QueueRows, ReadyRow } from "./queue";
import { afterClaim, parseRuns, room } from "../rate-window";


/** Pace is what a claim may take from a rate-limited endpoint now, and how to record what it took. */
interface Pace {
  room: number;
  record(claimed: number): { pacedUntil: number; log: string | null };
}

/** paceOf applies SPEC §9 rate_limit to a ready row; unlimited endpoints cost nothing (no log is read). */
function paceOf(ready: ReadyRow, rate: number | null, now: number): Pace {
  if (rate === null) return { room: Number.POSITIVE_INFINITY, record: () => ({ pacedUntil: 0, log: null }) };
  const runs = parseRuns(ready.rate_log, now);
  return { room: room(runs, rate), record: (claimed) => afterClaim(runs, claimed, now, rate) };
}

/**
 * deliveryQueue is the queue on the write connection: claims, attempt records, releases and
 * re-enqueues, each inside the caller's transaction. A claim round costs a bounded number of index
 * reads: lapsed leases (usually none), up to `total` ready endpoints, and per endpoint one range of its
 * queue index, one endpoint row and one ready-row update, whatever the number of endpoints or backlog.
 * FIFO lanes (./lanes.ts) cost nothing here: only a lane's head is ever due.
 */
export function deliveryQueue(
  db: Database, queue: QueueRows, lanes: LaneRows, bodies: BodyCache, onEndpointsChanged: () => void, onEnqueued: () => void,
  alerts: AlertRows,
) {
  const lapsed = db.query<{ webhook_id: string }, [number]>(
    `UPDATE deliveries SET lease_until = NULL, lease_owner = NULL
     WHERE lease_until IS NOT NULL AND lease_until <= ? RETURNING webhook_id`,
  );
  // next_attempt_at moves to the lease's end so a held row is not due again until the lease lapses.
  const claim = db.query<
    { id: string; event_id: string; event_type: string; attempts: number; schedule_attempts: number; sequence: number | null },
    [number, string, string, number, number]
  >(
    `UPDATE deliveries SET lease_until = ?1, next_attempt_at = ?1, lease_owner = ?2
     WHERE id IN (SELECT id FROM deliveries WHERE webhook_id = ?3 AND next_attempt_at IS NOT NULL AND next_attempt_at <= ?4
                  ORDER BY next_attempt_at LIMIT ?5)
     RETURNING id, event_id, event_type, attempts, schedule_attempts, sequence`,
  );
  const eventBody = db.query<{ body: string; source: string | null }, [string]>("SELECT body, source FROM events WHERE id = ?");
  const endpoint = db.query<EndpointRow, [string]>(
    `SELECT url, status, deleted_at, failure_count, failing_since, failing_reported, secret, previous_secret, previous_secret_until,
       headers, timeout_ms, rate_limit, client_tls, oauth2, transform, content_type
     FROM webhooks WHERE id = ?`,
  );
  const insertAttempt = db.query(
    "INSERT INTO attempts (id, delivery_id, attempted_at, status_code, duration_ms, error, response) VALUES (?, ?, ?, ?, ?, ?, ?)",
  );
  const finishAttempt = db.query<
    { lane: string | null; event_type: string },
    [string, number | null, number | null, string, string | null, number, number | null, string, string]
  >(
    `UPDATE deliveries SET status = ?, attempts = attempts + 1, schedule_attempts = schedule_attempts + 1,
       next_attempt_at = ?, lease_until = NULL, lease_owner = NULL, last_status_code = ?, last_response = ?, last_error = ?,
       updated_at = ?, delivered_at = COALESCE(?, delivered_at)
     WHERE id = ? AND lease_owner = ? RETURNING lane, event_type`,
  );
  const endpointSucceeded = db.query("UPDATE webhooks SET failure_count = 0, failing_since = NULL WHERE id = ?");
  const endpointFailed = db.query(
    `UPDATE webhooks SET failure_count = failure_count + 1, last_failure_at = ?, failing_since = COALESCE(failing_since, ?)
     WHERE id = ?`,
  );
  const disableEndpoint = db.query("UPDATE webhooks SET status = 'disabled', updated_at = ? WHERE id = ? AND status = 'active'");
  const expireUnfinished = db.query(
    `UPDATE deliveries SET status = 'expired', next_attempt_at = NULL, last_error = 'endpoint_disabled', updated_at = ?
     WHERE webhook_id = ? AND next_attempt_at IS NOT NULL AND lease_until IS NULL`,
  );
  const releaseAll = db.query("UPDATE deliveries SET lease_until = NULL, lease_owner = NULL, next_attempt_at = ? WHERE lease_until IS NOT NULL");
  // A delivery whose worker never reported back while its endpoint was deleted or disabled would
  // otherwise stay unfinished for an endpoint nothing claims from any more.
  const expireOrphans = db.query(
    `UPDATE deliveries SET status = 'expired', next_attempt_at = NULL, lease_until = NULL, lease_owner = NULL, updated_at = ?1,
       last_error = (SELECT CASE WHEN w.deleted_at IS NOT NULL THEN 'endpoint_deleted' ELSE 'endpoint_disabled' END
                     FROM webhooks w WHERE w.id = deliveries.webhook_id)
     WHERE next_attempt_at IS NOT NULL AND lease_until IS NULL
       AND webhook_id IN (SELECT id FROM webhooks WHERE deleted_at IS NOT NULL OR status <> 'active')`,
  );
  const releaseOne = db.query<{ webhook_id: string }, [number, string, string]>(
    "UPDATE deliveries SET lease_until = NULL, lease_owner = NULL, next_attempt_at = ? WHERE id = ? AND lease_owner = ? RETURNING webhook_id",
  );
  const getRow = db.query<
    { webhook_id: string; status: DeliveryStatus; lease_until: number | null; lane: string | null; sequence: number | null },
    [string]
  >("SELECT webhook_id, status, lease_until, lane, sequence FROM deliveries WHERE id = ?");
  const isActive = db.query<{ n: number }, [string]>(
    "SELECT COUNT(*) AS n FROM webhooks WHERE id = ? AND status = 'active' AND deleted_at IS NULL",
  );
  const restart = db.query(
    "UPDATE deliveries SET status = 'pending', schedule_attempts = 0, next_attempt_at = ?, updated_at = ? WHERE id = ?",
  );
  const recover = db.query(
    `UPDATE deliveries SET status = 'pending', schedule_attempts = 0, next_attempt_at = ?, updated_at = ?
     WHERE webhook_id = ? AND status IN ('failed', 'expired') AND created_at >= ? AND lease_until IS NULL AND lane IS NULL`,
  );
  // Lane deliveries go back one by one, each lane in position order, so the lowest one leads it.
  const toRecoverInLanes = db.query<{ id: string; lane: string; sequence: number }, [string, number]>(
    `SELECT id, lane, sequence FROM deliveries
     WHERE webhook_id = ? AND status IN ('failed', 'expired') AND created_at >= ? AND lease_until IS NULL AND lane IS NOT NULL
     ORDER BY lane, sequence`,
  );
  let round = 0;
  // The per-endpoint limit the ready rows were last computed with; set only once that commits.
  let appliedLimit: number | null = null;
  // The round counter starts again at every open, so tokens also carry this open's random run id:
  // otherwise the first claim after a restart would reuse the previous run's "<owner> 1", and a
  // result reported under that old token would be recorded against the new claim (contract suite).
  const run = crypto.randomUUID().slice(0, 8);


  return {
    claim(after: AfterCommit, { now, total, perEndpoint, leaseMs, owner }: ClaimRequest): ClaimedDelivery[] {
      if (perEndpoint !== appliedLimit) {
        queue.limit(perEndpoint);
        after(() => (appliedLimit = perEndpoint));
      }
      const lapsedRows = lapsed.all(now);
      for (const [webhookId, n] of countBy(lapsedRows, (r) => r.webhook_id)) queue.returned(webhookId, n);
      // A lapsed lease's worker can no longer report (its result is stale), and that report is what
      // expires a delivery whose endpoint was deleted or disabled while it was leased: expire them here,
      // or they stay pending for an endpoint nothing claims from until the next start (contract suite).
      if (lapsedRows.length > 0) expireOrphans.run(now);
      const lease = `${owner} ${run}.${++round}`;
      const claimed: ClaimedDelivery[] = [];
      for (const ready of queue.ready(now, total)) {
        if (claimed.length >= total) break;
        const limit = Math.min(perEndpoint - ready.in_flight, total - claimed.length);
        if (limit <= 0) {
          // At a limit lowered since its last claim: record the limit, which takes the row off the index
          // (its rate window is kept as it is).
          queue.took(ready.webhook_id, 0, now, perEndpoint, ready.paced_until, ready.rate_log);
          continue;
        }
        const w = endpoint.get(ready.webhook_id);
        if (!w || w.deleted_at !== null || w.status !== "active") {
          queue.close(ready.webhook_id);
          continue;
        }
        const pace = paceOf(ready, w.rate_limit, now);
        const leaseUntil = now + leaseMs({ timeout_ms: w.timeout_ms, oauth2: w.oauth2 });
        const rows = pace.room > 0 ? claim.all(leaseUntil, lease, ready.webhook_id, now, Math.min(limit, pace.room)) : [];
        const { pacedUntil, log } = pace.record(rows.length);
        queue.took(ready.webhook_id, rows.length, now, perEndpoint, pacedUntil, log);
        const fields = endpointFields(w, now);
        for (const row of rows) {
          const { body, source } = bodies.get(row.event_id) ?? eventBody.get(row.event_id) ?? { body: "", source: null };
          claimed.push({ ...row, ...fields, webhook_id: ready.webhook_id, body, source, lease });
        }
      }
      return claimed;
    },

    complete(after: AfterCommit, results: AttemptResult[], decide: DecideAttempt, now: number): CompleteOutcome {
      const outcome: CompleteOutcome = { disabled: [], stale: [] };
      // Each endpoint is read once per batch and its state kept up to date here as decisions apply,
      // and its ready row is settled once: a batch costs per result one update and one insert.
      const states = new Map<string, EndpointState>();
      // What operational events need of each endpoint besides its state (SPEC §11).
      const known = new Map<string, { url: string; reported: boolean }>();
      const returned = new Map<string, number>();
      for (const r of results) {
        let state = states.get(r.webhookId);
        if (!state) {
          const row = endpoint.get(r.webhookId);
          states.set(r.webhookId, (state = endpointState(row)));
          known.set(r.webhookId, { url: row?.url ?? "", reported: row?.failing_reported === 1 });
        }
        const facts = known.get(r.webhookId)!;
        const before = { ...state, failing_reported: facts.reported };
        const d = decide(r, state);
        const { status, nextAttemptAt, error, deliveredAt } = d.delivery;
        // Recording requires the lease this attempt was made under: a lapsed one may be someone else's now.
        const finished = finishAttempt.get(status, nextAttemptAt, r.statusCode, r.response, error, now, deliveredAt, r.deliveryId, r.lease);
        if (!finished) {
          outcome.stale.push(r.deliveryId);
          continue;
        }
        // A finished head hands its lane on; a failed one with a retry keeps holding it.
        if (finished.lane !== null && status !== "failed") lanes.finished(r.webhookId, finished.lane, r.deliveryId, now);
        insertAttempt.run(r.attemptId, r.deliveryId, r.attemptedAt, r.statusCode, Math.round(r.durationMs), r.error, r.response);
        returned.set(r.webhookId, (returned.get(r.webhookId) ?? 0) + 1);
        if (d.endpoint === "reset") {
          endpointSucceeded.run(r.webhookId);
          state.failure_count = 0;
          state.failing_since = null;
        } else if (d.endpoint === "failed") {
          endpointFailed.run(r.attemptedAt, r.attemptedAt, r.webhookId);
          state.failure_count++;
          state.failing_since ??= r.attemptedAt;
        }
        facts.reported = alerts.attempt(after, d, before, state, {
          webhookId: r.webhookId, url: facts.url, deliveryId: r.deliveryId, eventType: finished.event_type,
          attemptError: r.error, deliveryError: error, attemptedAt: r.attemptedAt,
        }, now);
        if (d.disable && disableEndpoint.run(now, r.webhookId).changes > 0) {
          // With it expire its unfinished deliveries, this one too if its answer (a 410) ended it.
          const expired = expireUnfinished.run(now, r.webhookId).changes + (status === "expired" ? 1 : 0);
          queue.close(r.webhookId);
          state.status = "disabled";
          outcome.disabled.push({ webhookId: r.webhookId, reason: d.disable });
          alerts.disabled(after, r.webhookId, facts.url, d.disable, expired, now);
        }
      }
      for (const [webhookId, n] of returned) queue.returned(webhookId, n);
      if (outcome.disabled.length > 0) after(onEndpointsChanged);
      return outcome;
    },

    release(leases: readonly LeaseRef[], now: number): number {
      const rows = leases.flatMap(({ id, lease }) => releaseOne.all(now, id, lease));
      for (const [webhookId, count] of countBy(rows, (r) => r.webhook_id)) queue.returned(webhookId, count);
      const n = rows.length;
      // One released for an endpoint disabled or deleted while it was out would never be claimed again.
      if (n > 0) expireOrphans.run(now);
      return n;
    },

    /** releaseAbandoned: only one `serve` runs on a SQLite database, so every lease is a dead process's. */
    releaseAbandoned(now: number): number {
      const released = releaseAll.run(now).changes;
      expireOrphans.run(now);
      queue.reset(now);
      return released;
    },

    retry(after: AfterCommit, id: string, now: number): RetryOutcome {
      const row = getRow.get(id);
      if (!row) return "not_found";
      // Checked here, in the transaction: nothing would ever claim it for an endpoint that takes no work.
      if (!isActive.get(row.webhook_id)?.n) return "inactive";
      if (row.lease_until !== null) return "leased";
      if (row.status === "pending") return "already_pending";
      const due = row.lane === null ? now : lanes.resend(row.webhook_id, row.lane, id, row.sequence ?? 0, now);
      restart.run(due, now, id);
      queue.refresh(row.webhook_id);
      after(onEnqueued);
      return due === LANE_WAITING ? "waiting" : "ok";
    },

    recover(after: AfterCommit, webhookId: string, since: number, now: number): number {
      if (!isActive.get(webhookId)?.n) return 0;
      let n = recover.run(now, now, webhookId, since).changes;
      // Every recovered lane delivery waits first (a failed head among them too), then each lane goes
      // on from its lowest position, so a recovered lane keeps its order whatever its head was doing.
      const inLanes = toRecoverInLanes.all(webhookId, since);
      for (const row of inLanes) restart.run(LANE_WAITING, now, row.id);
      for (const lane of new Set(inLanes.map((r) => r.lane))) lanes.settle(webhookId, lane, now);
      n += inLanes.length;
      if (n > 0) {
        queue.refresh(webhookId);
        after(onEnqueued);
      }
      return n;
    },
  };
}
