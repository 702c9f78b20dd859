import type { Database } from "bun:sqlite";
import type { PageQuery, WebhookPatch, WebhookRecord, WebhookStore } from "../types";

interface WebhookRow extends Omit<WebhookRecord, "events"> {
  events: string;
  deleted_at: number | null;
}

/** ActiveEndpoint is what fan-out needs: who is subscribed to what. */
export interface ActiveEndpoint {
  id: string;
  events: string[];
}

const COLUMNS =
  "id, url, events, description, status, secret, failure_count, last_failure_at, failing_since, created_at, updated_at, deleted_at";

function fromRow(row: WebhookRow): WebhookRecord {
  const { deleted_at: _deleted, ...rest } = row;
  return { ...rest, events: JSON.parse(row.events) as string[] };
}

/**
 * sqliteWebhookStore keeps endpoints; deleted ones keep their row (deleted_at) for delivery history.
 * It also serves fan-out the list of active endpoints from memory: every write to the table goes
 * through this store (or calls `invalidate`), so the cache cannot go stale within the process.
 */
export function sqliteWebhookStore(db: Database): WebhookStore & { active(): ActiveEndpoint[]; invalidate(): void } {
  const countLive = db.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM webhooks WHERE deleted_at IS NULL");
  const insert = db.query(
    `INSERT INTO webhooks (id, url, events, description, status, secret, failure_count, last_failure_at, failing_since, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const getAny = db.query<WebhookRow, [string]>(`SELECT ${COLUMNS} FROM webhooks WHERE id = ?`);
  const firstPage = db.query<WebhookRow, [number]>(
    `SELECT ${COLUMNS} FROM webhooks WHERE deleted_at IS NULL ORDER BY id DESC LIMIT ?`,
  );
  const nextPage = db.query<WebhookRow, [string, number]>(
    `SELECT ${COLUMNS} FROM webhooks WHERE deleted_at IS NULL AND id < ? ORDER BY id DESC LIMIT ?`,
  );
  const activeRows = db.query<{ id: string; events: string }, []>(
    "SELECT id, events FROM webhooks WHERE status = 'active' AND deleted_at IS NULL ORDER BY id",
  );
  const markDeleted = db.query("UPDATE webhooks SET deleted_at = ?, updated_at = ? WHERE id = ? AND deleted_at IS NULL");
  // Leased deliveries are left to their worker, which expires them when it reports back.
  const expireUnfinished = db.query(
    `UPDATE deliveries SET status = 'expired', next_attempt_at = NULL, last_error = ?, updated_at = ?
     WHERE webhook_id = ? AND next_attempt_at IS NOT NULL AND lease_until IS NULL`,
  );
  const rotate = db.query(
    "UPDATE webhooks SET previous_secret = secret, previous_secret_until = ?, secret = ?, updated_at = ? WHERE id = ? AND deleted_at IS NULL",
  );

  let activeCache: ActiveEndpoint[] | null = null;
  const invalidate = () => {
    activeCache = null;
  };
  const get = (id: string) => {
    const row = getAny.get(id);
    return row && row.deleted_at === null ? fromRow(row) : null;
  };

  const create = db.transaction((r: WebhookRecord, maxEndpoints: number, alsoInTransaction?: () => void) => {
    if ((countLive.get()?.n ?? 0) >= maxEndpoints) return "limit_reached" as const;
    insert.run(
      r.id, r.url, JSON.stringify(r.events), r.description, r.status, r.secret,
      r.failure_count, r.last_failure_at, r.failing_since, r.created_at, r.updated_at,
    );
    alsoInTransaction?.();
    invalidate();
    return "created" as const;
  });

  const update = db.transaction((id: string, patch: WebhookPatch, now: number) => {
    const current = get(id);
    if (!current) return null;
    const next = { ...current, ...definedOnly(patch), updated_at: now };
    db.run(
      "UPDATE webhooks SET url = ?, events = ?, description = ?, status = ?, updated_at = ? WHERE id = ?",
      [next.url, JSON.stringify(next.events), next.description, next.status, now, id],
    );
    if (current.status === "active" && next.status === "disabled") expireUnfinished.run("endpoint_disabled", now, id);
    // Re-enabled by an operator: it starts with a clean record, or disable_after would strike again at the first failure.
    if (current.status === "disabled" && next.status === "active") {
      db.run("UPDATE webhooks SET failure_count = 0, failing_since = NULL WHERE id = ?", [id]);
      next.failure_count = 0;
      next.failing_since = null;
    }
    invalidate();
    return next;
  });

  const remove = db.transaction((id: string, now: number) => {
    if (markDeleted.run(now, now, id).changes === 0) return false;
    expireUnfinished.run("endpoint_deleted", now, id);
    invalidate();
    return true;
  });

  return {
    create: (record, maxEndpoints, alsoInTransaction) => create(record, maxEndpoints, alsoInTransaction),
    get,
    getAny: (id) => {
      const row = getAny.get(id);
      return row ? { ...fromRow(row), deleted: row.deleted_at !== null } : null;
    },
    list: ({ limit, before }: PageQuery) =>
      (before ? nextPage.all(before, limit) : firstPage.all(limit)).map(fromRow),
    update: (id, patch, now) => update(id, patch, now),
    remove: (id, now) => remove(id, now),
    rotateSecret: (id, secret, previousUntil, now) => {
      if (rotate.run(previousUntil, secret, now, id).changes === 0) return null;
      return get(id);
    },
    activeIds: () => (activeCache ?? loadActive()).map((e) => e.id),
    active: () => activeCache ?? loadActive(),
    invalidate,
  };

  function loadActive(): ActiveEndpoint[] {
    activeCache = activeRows.all().map((r) => ({ id: r.id, events: JSON.parse(r.events) as string[] }));
    return activeCache;
  }
}

function definedOnly<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<T>;
}
