import type { Database } from "bun:sqlite";
import { type ActiveEndpoint, ENDPOINT_OPTION_DEFAULTS, type EndpointOptions, type Ordering, type PageQuery, type WebhookPatch, type WebhookRecord } from "../types";
import type { AlertRows } from "./alerts";
import type { AfterCommit } from "./group-commit";
import type { QueueRows } from "./queue";

interface WebhookRow extends Omit<WebhookRecord, "events" | "headers"> {
  events: string;
  headers: string | null;
  deleted_at: number | null;
}

const OPTION_COLUMNS = "headers, timeout_ms, rate_limit, ordering, ordering_key, client_tls, oauth2, filter, transform, content_type";
const COLUMNS = `id, url, events, description, status, secret, failure_count, last_failure_at, failing_since, created_at, updated_at,
  deleted_at, ${OPTION_COLUMNS}`;

function fromRow(row: WebhookRow): WebhookRecord {
  const { deleted_at: _deleted, ...rest } = row;
  return { ...rest, events: JSON.parse(row.events) as string[], headers: row.headers === null ? null : (JSON.parse(row.headers) as Record<string, string>) };
}

/** optionValues are the option columns' values in OPTION_COLUMNS order; a record made without options stores the defaults. */
function optionValues(o: Partial<EndpointOptions>): (string | number | null)[] {
  return [
    o.headers == null ? null : JSON.stringify(o.headers), o.timeout_ms ?? null, o.rate_limit ?? null, o.ordering ?? "none",
    o.ordering_key ?? null, o.client_tls ?? null, o.oauth2 ?? null, o.filter ?? null, o.transform ?? null, o.content_type ?? null,
  ];
}

/**
 * webhookReads answers endpoint reads off the read connection, and serves routing the list of active
 * endpoints from memory: every endpoint change invalidates it once committed. The same array is
 * handed out until then, so routing can build its index once per change.
 */
export function webhookReads(db: Database) {
  const getAny = db.query<WebhookRow, [string]>(`SELECT ${COLUMNS} FROM webhooks WHERE id = ?`);
  const firstPage = db.query<WebhookRow, [number]>(`SELECT ${COLUMNS} FROM webhooks WHERE deleted_at IS NULL ORDER BY id DESC LIMIT ?`);
  const nextPage = db.query<WebhookRow, [string, number]>(
    `SELECT ${COLUMNS} FROM webhooks WHERE deleted_at IS NULL AND id < ? ORDER BY id DESC LIMIT ?`,
  );
  const activeRows = db.query<{ id: string; events: string; ordering: Ordering; ordering_key: string | null; filter: string | null }, []>(
    "SELECT id, events, ordering, ordering_key, filter FROM webhooks WHERE status = 'active' AND deleted_at IS NULL ORDER BY id",
  );
  let activeCache: readonly ActiveEndpoint[] | null = null;
  const get = (id: string) => {
    const row = getAny.get(id);
    return row && row.deleted_at === null ? fromRow(row) : null;
  };
  return {
    get,
    getAny: (id: string) => {
      const row = getAny.get(id);
      return row ? { ...fromRow(row), deleted: row.deleted_at !== null } : null;
    },
    list: ({ limit, before }: PageQuery) => (before ? nextPage.all(before, limit) : firstPage.all(limit)).map(fromRow),
    active: (): readonly ActiveEndpoint[] =>
      (activeCache ??= activeRows.all().map((r) => ({ ...r, events: JSON.parse(r.events) as string[] }))),
    invalidate: () => {
      activeCache = null;
    },
  };
}

/** webhookWrites changes endpoints on the write connection, inside the caller's transaction. */
export function webhookWrites(db: Database, queue: QueueRows, invalidate: () => void, alerts: AlertRows) {
  const countLive = db.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM webhooks WHERE deleted_at IS NULL");
  const insert = db.query(
    `INSERT INTO webhooks (id, url, events, description, status, secret, failure_count, last_failure_at, failing_since, created_at, updated_at,
       ${OPTION_COLUMNS})
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const getAny = db.query<WebhookRow, [string]>(`SELECT ${COLUMNS} FROM webhooks WHERE id = ?`);
  const updateRow = db.query(
    `UPDATE webhooks SET url = ?, events = ?, description = ?, status = ?, failure_count = ?, failing_since = ?, updated_at = ?,
       headers = ?, timeout_ms = ?, rate_limit = ?, ordering = ?, ordering_key = ?, client_tls = ?, oauth2 = ?,
       filter = ?, transform = ?, content_type = ?
     WHERE id = ?`,
  );
  const markDeleted = db.query<{ url: string }, [number, number, string]>(
    // The row stays for the delivery history; its credentials go, since nothing will be signed or sent again.
    `UPDATE webhooks SET deleted_at = ?, updated_at = ?, secret = '', previous_secret = NULL, previous_secret_until = NULL, headers = NULL
     WHERE id = ? AND deleted_at IS NULL RETURNING url`,
  );
  // Leased deliveries are left to their worker, which expires them when it reports back.
  const expireUnfinished = db.query(
    `UPDATE deliveries SET status = 'expired', next_attempt_at = NULL, last_error = ?, updated_at = ?
     WHERE webhook_id = ? AND next_attempt_at IS NOT NULL AND lease_until IS NULL`,
  );
  const rotate = db.query(
    "UPDATE webhooks SET previous_secret = secret, previous_secret_until = ?, secret = ?, updated_at = ? WHERE id = ? AND deleted_at IS NULL",
  );
  const live = (id: string) => {
    const row = getAny.get(id);
    return row && row.deleted_at === null ? fromRow(row) : null;
  };

  return {
    create(after: AfterCommit, r: WebhookRecord, maxEndpoints: number): "created" | "limit_reached" {
      if ((countLive.get()?.n ?? 0) >= maxEndpoints) return "limit_reached";
      insert.run(
        r.id, r.url, JSON.stringify(r.events), r.description, r.status, r.secret,
        r.failure_count, r.last_failure_at, r.failing_since, r.created_at, r.updated_at, ...optionValues(r),
      );
      if (r.status === "active") queue.open(r.id);
      after(invalidate);
      return "created";
    },
    update(after: AfterCommit, id: string, patch: WebhookPatch, now: number): WebhookRecord | null {
      const current = live(id);
      if (!current) return null;
      const next: WebhookRecord = { ...ENDPOINT_OPTION_DEFAULTS, ...current, ...definedOnly(patch), updated_at: now };
      if (current.status === "active" && next.status === "disabled") {
        const expired = expireUnfinished.run("endpoint_disabled", now, id).changes;
        queue.close(id);
        alerts.disabled(after, id, current.url, "api", expired, now);
      }
      // Re-enabled by an operator: it starts with a clean record, or disable_after would strike again at the first failure.
      if (current.status === "disabled" && next.status === "active") {
        next.failure_count = 0;
        next.failing_since = null;
        queue.open(id);
        alerts.clearReported(id);
      }
      updateRow.run(
        next.url, JSON.stringify(next.events), next.description, next.status, next.failure_count, next.failing_since, now,
        ...optionValues(next), id,
      );
      // A changed rate takes effect at once: the pacing the old one set must not hold the endpoint back.
      if (patch.rate_limit !== undefined && next.status === "active") queue.unpace(id);
      after(invalidate);
      return next;
    },
    remove(after: AfterCommit, id: string, now: number): boolean {
      const deleted = markDeleted.get(now, now, id);
      if (!deleted) return false;
      const expired = expireUnfinished.run("endpoint_deleted", now, id).changes;
      queue.close(id);
      alerts.disabled(after, id, deleted.url, "deleted", expired, now);
      after(invalidate);
      return true;
    },
    rotateSecret(_after: AfterCommit, id: string, secret: string, previousUntil: number, now: number): WebhookRecord | null {
      if (rotate.run(previousUntil, secret, now, id).changes === 0) return null;
      return live(id);
    },
  };
}

function definedOnly<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<T>;
}
