import type { Database } from "bun:sqlite";
import type { BodyCache } from "./body-cache";
import type { GroupCommit } from "./group-commit";
import { whereClause } from "./where";
import type {
  AttemptResult, AttemptRow, ClaimedDelivery, CompleteOutcome, DeliveryQuery, DeliveryRecord, DeliveryStatus, DeliveryStore,
} from "../types";

interface DeliveryRow extends Omit<DeliveryRecord, "leased"> {
  lease_until: number | null;
}
interface EndpointRow {
  url: string;
  failure_count: number;
  secret: string;
  previous_secret: string | null;
  previous_secret_until: number | null;
  status: string;
  deleted_at: number | null;
  failing_since: number | null;
}

const COLUMNS = `id, event_id, webhook_id, event_type, status, attempts, next_attempt_at, lease_until,
  last_status_code, last_response, last_error, created_at, updated_at, delivered_at`;

function fromRow(row: DeliveryRow): DeliveryRecord {
  const { lease_until, ...rest } = row;
  return { ...rest, leased: lease_until !== null };
}

/** sqliteDeliveryStore is the queue and the history; `onEndpointsChanged` refreshes fan-out's endpoint cache. */
export function sqliteDeliveryStore(
  db: Database,
  commits: GroupCommit,
  onEndpointsChanged: () => void,
  onEnqueued: () => void,
  bodies: BodyCache,
): DeliveryStore {
  // One statement claims: due rows of one endpoint, earliest first, read off the queue index.
  // next_attempt_at moves to the lease's end so a held row is not due again until the lease lapses.
  const claim = db.query<{ id: string; event_id: string; event_type: string; attempts: number; schedule_attempts: number }, [number, number, string, number, number]>(
    `UPDATE deliveries SET lease_until = ?, next_attempt_at = ?
     WHERE id IN (SELECT id FROM deliveries WHERE webhook_id = ? AND next_attempt_at IS NOT NULL AND next_attempt_at <= ?
                  ORDER BY next_attempt_at LIMIT ?)
     RETURNING id, event_id, event_type, attempts, schedule_attempts`,
  );
  const eventBody = db.query<{ body: string }, [string]>("SELECT body FROM events WHERE id = ?");
  const endpoint = db.query<EndpointRow, [string]>(
    "SELECT url, failure_count, secret, previous_secret, previous_secret_until, status, deleted_at, failing_since FROM webhooks WHERE id = ?",
  );
  const insertAttempt = db.query(
    "INSERT INTO attempts (id, delivery_id, attempted_at, status_code, duration_ms, error, response) VALUES (?, ?, ?, ?, ?, ?, ?)",
  );
  const finishAttempt = db.query(
    `UPDATE deliveries SET status = ?, attempts = attempts + 1, schedule_attempts = schedule_attempts + 1,
       next_attempt_at = ?, lease_until = NULL, last_status_code = ?, last_response = ?, last_error = ?,
       updated_at = ?, delivered_at = COALESCE(?, delivered_at)
     WHERE id = ?`,
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
  const releaseAll = db.query("UPDATE deliveries SET lease_until = NULL, next_attempt_at = ? WHERE lease_until IS NOT NULL");
  // A delivery whose worker never reported back while its endpoint was deleted or disabled would
  // otherwise stay due forever for an endpoint the scheduler no longer serves.
  const expireOrphans = db.query(
    `UPDATE deliveries SET status = 'expired', next_attempt_at = NULL, lease_until = NULL, updated_at = ?1,
       last_error = (SELECT CASE WHEN w.deleted_at IS NOT NULL THEN 'endpoint_deleted' ELSE 'endpoint_disabled' END
                     FROM webhooks w WHERE w.id = deliveries.webhook_id)
     WHERE next_attempt_at IS NOT NULL AND lease_until IS NULL
       AND webhook_id IN (SELECT id FROM webhooks WHERE deleted_at IS NOT NULL OR status <> 'active')`,
  );
  const releaseOne = db.query("UPDATE deliveries SET lease_until = NULL, next_attempt_at = ? WHERE id = ? AND lease_until IS NOT NULL");
  const minDue = db.query<{ t: number | null }, [string]>(
    "SELECT MIN(next_attempt_at) AS t FROM deliveries WHERE webhook_id = ? AND next_attempt_at IS NOT NULL",
  );
  const getOne = db.query<DeliveryRow, [string]>(`SELECT ${COLUMNS} FROM deliveries WHERE id = ?`);
  const attemptsOf = db.query<AttemptRow, [string]>(
    "SELECT id, delivery_id, attempted_at, status_code, duration_ms, error, response FROM attempts WHERE delivery_id = ? ORDER BY id",
  );
  const byEvent = db.query<DeliveryRow, [string]>(`SELECT ${COLUMNS} FROM deliveries WHERE event_id = ? ORDER BY id`);
  const restart = db.query(
    "UPDATE deliveries SET status = 'pending', schedule_attempts = 0, next_attempt_at = ?, updated_at = ? WHERE id = ?",
  );
  const byStatus = db.query<{ status: DeliveryStatus; n: number }, []>("SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status");
  const oldest = db.query<{ t: number | null }, []>(
    "SELECT MIN(t) AS t FROM (SELECT MIN(created_at) AS t FROM deliveries WHERE status = 'pending' UNION ALL SELECT MIN(created_at) FROM deliveries WHERE status = 'failed')",
  );
  const attemptsAfter = db.query<{ n: number }, [number]>("SELECT COUNT(*) AS n FROM attempts WHERE attempted_at >= ?");
  const recover = db.query(
    `UPDATE deliveries SET status = 'pending', schedule_attempts = 0, next_attempt_at = ?, updated_at = ?
     WHERE webhook_id = ? AND status IN ('failed', 'expired') AND created_at >= ? AND lease_until IS NULL`,
  );

  const claimNow = (slots: ReadonlyMap<string, number>, total: number, now: number, leaseMs: number): ClaimedDelivery[] => {
    const claimed: ClaimedDelivery[] = [];
    for (const [webhookId, offered] of slots) {
      const limit = Math.min(offered, total - claimed.length);
      if (limit <= 0) continue;
      const w = endpoint.get(webhookId);
      if (!w || w.deleted_at !== null || w.status !== "active") {
        expireOrphans.run(now);
        continue;
      }
      const secrets = w.previous_secret && (w.previous_secret_until ?? 0) > now ? [w.secret, w.previous_secret] : [w.secret];
      for (const row of claim.all(now + leaseMs, now + leaseMs, webhookId, now, limit)) {
        const body = bodies.get(row.event_id) ?? eventBody.get(row.event_id)?.body ?? "";
        claimed.push({ ...row, webhook_id: webhookId, url: w.url, secrets, body });
      }
    }
    return claimed;
  };

  const completeNow = (results: AttemptResult[], now: number, disableAfterMs: number): CompleteOutcome => {
    const outcome: CompleteOutcome = { disabled: [] };
    for (const r of results) {
      insertAttempt.run(r.attemptId, r.deliveryId, r.attemptedAt, r.statusCode, Math.round(r.durationMs), r.error, r.response);
      const w = endpoint.get(r.webhookId);
      const endpointGone = !w || w.deleted_at !== null;
      const endpointOff = endpointGone || w.status !== "active";
      let status: string;
      let next: number | null = null;
      let error = r.error;
      if (r.ok) status = "delivered";
      else if (r.nextAttemptAt !== null && !r.gone && !endpointOff) {
        status = "failed";
        next = r.nextAttemptAt;
      } else {
        status = "expired";
        if (endpointOff && !r.gone && r.nextAttemptAt !== null) error = endpointGone ? "endpoint_deleted" : "endpoint_disabled";
      }
      finishAttempt.run(status, next, r.statusCode, r.response, error, now, r.ok ? now : null, r.deliveryId);
      if (endpointGone) continue;
      if (r.ok) {
        // Most successes follow successes: skip the write when there is no failure record to clear.
        if (w.failure_count > 0 || w.failing_since !== null) endpointSucceeded.run(r.webhookId);
        continue;
      }
      endpointFailed.run(r.attemptedAt, r.attemptedAt, r.webhookId);
      const failingSince = w.failing_since ?? r.attemptedAt;
      const reason = r.gone ? "gone" : disableAfterMs > 0 && now - failingSince >= disableAfterMs ? "failing" : null;
      if (reason && disableEndpoint.run(now, r.webhookId).changes > 0) {
        expireUnfinished.run(now, r.webhookId);
        outcome.disabled.push({ webhookId: r.webhookId, reason });
      }
    }
    if (outcome.disabled.length > 0) onEndpointsChanged();
    return outcome;
  };

  return {
    claimDue: (slots, total, now, leaseMs) => commits.run(() => claimNow(slots, total, now, leaseMs)),
    complete: (results, now, disableAfterMs) => commits.run(() => completeNow(results, now, disableAfterMs)),
    releaseLeases: (now, ids) => {
      if (ids === undefined) {
        return db.transaction(() => {
          const released = releaseAll.run(now).changes;
          expireOrphans.run(now);
          return released;
        })();
      }
      let n = 0;
      db.transaction(() => {
        for (const id of ids) n += releaseOne.run(now, id).changes;
      })();
      return n;
    },
    nextDueAt: (webhookId) => minDue.get(webhookId)?.t ?? null,
    get: (id) => {
      const row = getOne.get(id);
      return row ? fromRow(row) : null;
    },
    attempts: (deliveryId) => attemptsOf.all(deliveryId),
    listForWebhook: (webhookId, { status, limit, before }: DeliveryQuery) => {
      const { clause, args } = whereClause([["webhook_id = ?", webhookId], ["status = ?", status], ["id < ?", before]]);
      return db
        .query<DeliveryRow, (string | number)[]>(`SELECT ${COLUMNS} FROM deliveries ${clause} ORDER BY id DESC LIMIT ?`)
        .all(...args, limit)
        .map(fromRow);
    },
    listForEvent: (eventId) => byEvent.all(eventId).map(fromRow),
    retry: (id, now) => {
      const row = getOne.get(id);
      if (!row) return "not_found";
      if (row.lease_until !== null) return "leased";
      if (row.status === "pending") return "already_pending";
      restart.run(now, now, id);
      onEnqueued();
      return "ok";
    },
    countByStatus: () => {
      const counts: Record<DeliveryStatus, number> = { pending: 0, failed: 0, delivered: 0, expired: 0 };
      for (const row of byStatus.all()) counts[row.status] = row.n;
      return counts;
    },
    oldestUnfinishedAt: () => oldest.get()?.t ?? null,
    attemptsSince: (since) => attemptsAfter.get(since)?.n ?? 0,
    recover: (webhookId, since, now) => {
      const n = recover.run(now, now, webhookId, since).changes;
      if (n > 0) onEnqueued();
      return n;
    },
  };
}
