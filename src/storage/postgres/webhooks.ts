import { type ActiveEndpoint, ENDPOINT_OPTION_DEFAULTS, type Ordering, type PageQuery, type WebhookPatch, type WebhookRecord } from "../types";
import { type Db, one, rows, run } from "./client";
import type { AlertRows } from "./alerts";
import type { AfterCommit } from "./group-commit";
import { queueRows } from "./queue";

interface WebhookRow extends Omit<WebhookRecord, "events" | "headers"> {
  events: string;
  headers: string | null;
  deleted_at: number | null;
}

// SPEC §9's options (§10's routing ones last), in the order create and update write them.
const OPTIONS = "headers, timeout_ms, rate_limit, ordering, ordering_key, client_tls, oauth2, filter, transform, content_type";
const COLUMNS =
  `id, url, events, description, status, secret, failure_count, last_failure_at, failing_since, created_at, updated_at, deleted_at, ${OPTIONS}`;

// The transaction-scoped advisory lock that serialises endpoint creation across nodes.
const CREATE_LOCK = 0x686f6f6d; // "hoom"

// Another node's endpoint changes reach this one's routing cache within this long at most.
const ACTIVE_CACHE_MS = 1000;

function fromRow(row: WebhookRow): WebhookRecord {
  const { deleted_at: _deleted, ...rest } = row;
  return { ...rest, events: JSON.parse(row.events) as string[], headers: row.headers === null ? null : (JSON.parse(row.headers) as Record<string, string>) };
}

// The option columns' values, in OPTIONS order; a record made before issue 16 has them unset.
function optionValues(r: Partial<WebhookRecord>): (string | number | null)[] {
  const o = { ...ENDPOINT_OPTION_DEFAULTS, ...definedOnly(r) };
  return [
    o.headers === null ? null : JSON.stringify(o.headers), o.timeout_ms, o.rate_limit, o.ordering, o.ordering_key, o.client_tls, o.oauth2,
    o.filter, o.transform, o.content_type,
  ];
}

/**
 * webhookReads answers endpoint reads off the pool and serves routing the active endpoints from
 * memory: this node's changes invalidate the list once committed, other nodes' within ACTIVE_CACHE_MS
 * (a delivery is only ever written for an endpoint whose ready row exists, so a stale list can miss a
 * new endpoint for that long but never feed a disabled or deleted one).
 */
export function webhookReads(db: Db, now: () => number = Date.now) {
  let cache: { at: number; list: Promise<readonly ActiveEndpoint[]> } | null = null;
  const getAny = (id: string) => one<WebhookRow>(db, `SELECT ${COLUMNS} FROM webhooks WHERE id = $1`, [id]);
  return {
    get: async (id: string) => {
      const row = await getAny(id);
      return row && row.deleted_at === null ? fromRow(row) : null;
    },
    getAny: async (id: string) => {
      const row = await getAny(id);
      return row ? { ...fromRow(row), deleted: row.deleted_at !== null } : null;
    },
    list: async ({ limit, before }: PageQuery) =>
      (before
        ? await rows<WebhookRow>(db, `SELECT ${COLUMNS} FROM webhooks WHERE deleted_at IS NULL AND id < $1 ORDER BY id DESC LIMIT $2`, [before, limit])
        : await rows<WebhookRow>(db, `SELECT ${COLUMNS} FROM webhooks WHERE deleted_at IS NULL ORDER BY id DESC LIMIT $1`, [limit])
      ).map(fromRow),
    active: (): Promise<readonly ActiveEndpoint[]> => {
      const t = now();
      if (!cache || t - cache.at > ACTIVE_CACHE_MS) {
        const list = rows<{ id: string; events: string; ordering: Ordering; ordering_key: string | null; filter: string | null }>(
          db, "SELECT id, events, ordering, ordering_key, filter FROM webhooks WHERE status = 'active' AND deleted_at IS NULL ORDER BY id",
        ).then((found): readonly ActiveEndpoint[] =>
          found.map((r) => ({ id: r.id, events: JSON.parse(r.events) as string[], ordering: r.ordering, ordering_key: r.ordering_key, filter: r.filter })),
        );
        cache = { at: t, list };
        list.catch(() => {
          if (cache?.list === list) cache = null;
        });
      }
      return cache.list;
    },
    invalidate: () => {
      cache = null;
    },
  };
}

const EXPIRE_UNFINISHED = `UPDATE deliveries SET status = 'expired', next_attempt_at = NULL, last_error = $1, updated_at = $2
  WHERE webhook_id = $3 AND next_attempt_at IS NOT NULL AND lease_until IS NULL`;

/** webhookWrites changes endpoints inside a batch's transaction. */
export function webhookWrites(invalidate: () => void, alerts: AlertRows) {
  const live = async (db: Db, id: string, lock = false) => {
    const row = await one<WebhookRow>(db, `SELECT ${COLUMNS} FROM webhooks WHERE id = $1${lock ? " FOR UPDATE" : ""}`, [id]);
    return row && row.deleted_at === null ? fromRow(row) : null;
  };
  return {
    async create(db: Db, after: AfterCommit, r: WebhookRecord, maxEndpoints: number): Promise<"created" | "limit_reached"> {
      // Creates on all nodes take turns (until COMMIT), so two at once cannot both pass max_endpoints.
      await run(db, "SELECT pg_advisory_xact_lock($1)", [CREATE_LOCK]);
      const n = (await one<{ n: number }>(db, "SELECT COUNT(*) AS n FROM webhooks WHERE deleted_at IS NULL"))?.n ?? 0;
      if (n >= maxEndpoints) return "limit_reached";
      await run(
        db,
        `INSERT INTO webhooks (id, url, events, description, status, secret, failure_count, last_failure_at, failing_since, created_at, updated_at, ${OPTIONS})
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)`,
        [
          r.id, r.url, JSON.stringify(r.events), r.description, r.status, r.secret, r.failure_count, r.last_failure_at, r.failing_since,
          r.created_at, r.updated_at, ...optionValues(r),
        ],
      );
      if (r.status === "active") await queueRows(db).open(r.id);
      after(invalidate);
      return "created";
    },
    async update(db: Db, after: AfterCommit, id: string, patch: WebhookPatch, now: number): Promise<WebhookRecord | null> {
      const current = await live(db, id, true);
      if (!current) return null;
      const next = { ...current, ...definedOnly(patch), updated_at: now };
      const queue = queueRows(db);
      if (current.status === "active" && next.status === "disabled") {
        const expired = await run(db, EXPIRE_UNFINISHED, ["endpoint_disabled", now, id]);
        await queue.close(id);
        await alerts.disabled(db, after, id, current.url, "api", expired, now);
      }
      if (current.status === "disabled" && next.status === "active") {
        next.failure_count = 0;
        next.failing_since = null;
        await alerts.clearReported(db, id);
      }
      await run(
        db,
        `UPDATE webhooks SET url = $1, events = $2, description = $3, status = $4, failure_count = $5, failing_since = $6, updated_at = $7,
           headers = $9, timeout_ms = $10, rate_limit = $11, ordering = $12, ordering_key = $13, client_tls = $14, oauth2 = $15,
           filter = $16, transform = $17, content_type = $18
         WHERE id = $8`,
        [next.url, JSON.stringify(next.events), next.description, next.status, next.failure_count, next.failing_since, now, id, ...optionValues(next)],
      );
      if (current.status === "disabled" && next.status === "active") await queue.open(id);
      // Whatever the old rate paced is void; a cleared rate forgets its window, a changed one keeps counting it.
      else if (next.status === "active" && next.rate_limit !== current.rate_limit) await queue.repace(id, next.rate_limit !== null);
      after(invalidate);
      return next;
    },
    async remove(db: Db, after: AfterCommit, id: string, now: number): Promise<boolean> {
      // The row stays for the delivery history; its credentials go, since nothing will be signed or sent again.
      const deleted = await one<{ url: string }>(
        db,
        `UPDATE webhooks SET deleted_at = $1, updated_at = $1, secret = '', previous_secret = NULL, previous_secret_until = NULL, headers = NULL
         WHERE id = $2 AND deleted_at IS NULL RETURNING url`,
        [now, id],
      );
      if (!deleted) return false;
      const expired = await run(db, EXPIRE_UNFINISHED, ["endpoint_deleted", now, id]);
      await queueRows(db).close(id);
      await alerts.disabled(db, after, id, deleted.url, "deleted", expired, now);
      after(invalidate);
      return true;
    },
    async rotateSecret(db: Db, _after: AfterCommit, id: string, secret: string, previousUntil: number, now: number): Promise<WebhookRecord | null> {
      const n = await run(
        db,
        "UPDATE webhooks SET previous_secret = secret, previous_secret_until = $1, secret = $2, updated_at = $3 WHERE id = $4 AND deleted_at IS NULL",
        [previousUntil, secret, now, id],
      );
      return n === 0 ? null : live(db, id);
    },
  };
}

function definedOnly<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<T>;
}
