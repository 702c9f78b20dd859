import type { Database } from "bun:sqlite";
import type { PageQuery, WebhookPatch, WebhookRecord, WebhookStore } from "./types";

interface WebhookRow extends Omit<WebhookRecord, "events"> {
  events: string;
}

const COLUMNS =
  "id, url, events, description, status, secret, failure_count, last_failure_at, failing_since, created_at, updated_at";

function fromRow(row: WebhookRow): WebhookRecord {
  return { ...row, events: JSON.parse(row.events) as string[] };
}

/** sqliteWebhookStore keeps endpoints; deleted ones keep their row (deleted_at) for delivery history. */
export function sqliteWebhookStore(db: Database): WebhookStore {
  const countLive = db.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM webhooks WHERE deleted_at IS NULL");
  const insert = db.query(
    `INSERT INTO webhooks (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const getOne = db.query<WebhookRow, [string]>(`SELECT ${COLUMNS} FROM webhooks WHERE id = ? AND deleted_at IS NULL`);
  const firstPage = db.query<WebhookRow, [number]>(
    `SELECT ${COLUMNS} FROM webhooks WHERE deleted_at IS NULL ORDER BY id DESC LIMIT ?`,
  );
  const nextPage = db.query<WebhookRow, [string, number]>(
    `SELECT ${COLUMNS} FROM webhooks WHERE deleted_at IS NULL AND id < ? ORDER BY id DESC LIMIT ?`,
  );
  const markDeleted = db.query("UPDATE webhooks SET deleted_at = ?, updated_at = ? WHERE id = ? AND deleted_at IS NULL");

  const create = db.transaction((r: WebhookRecord, maxEndpoints: number) => {
    if ((countLive.get()?.n ?? 0) >= maxEndpoints) return "limit_reached" as const;
    insert.run(
      r.id, r.url, JSON.stringify(r.events), r.description, r.status, r.secret,
      r.failure_count, r.last_failure_at, r.failing_since, r.created_at, r.updated_at,
    );
    return "created" as const;
  });

  const update = db.transaction((id: string, patch: WebhookPatch, now: number) => {
    const current = getOne.get(id);
    if (!current) return null;
    const next = { ...fromRow(current), ...definedOnly(patch), updated_at: now };
    db.run(
      "UPDATE webhooks SET url = ?, events = ?, description = ?, status = ?, updated_at = ? WHERE id = ?",
      [next.url, JSON.stringify(next.events), next.description, next.status, now, id],
    );
    return next;
  });

  return {
    create: (record, maxEndpoints) => create(record, maxEndpoints),
    get: (id) => {
      const row = getOne.get(id);
      return row ? fromRow(row) : null;
    },
    list: ({ limit, before }: PageQuery) =>
      (before ? nextPage.all(before, limit) : firstPage.all(limit)).map(fromRow),
    update: (id, patch, now) => update(id, patch, now),
    remove: (id, now) => markDeleted.run(now, now, id).changes > 0,
  };
}

function definedOnly<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<T>;
}
