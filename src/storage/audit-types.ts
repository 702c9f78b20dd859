// The audit log (SPEC §14): one entry per change made through the admin API or a config reload,
// written by the caller into the transaction of the change itself (`tx.audit.record`), so a change
// that rolls back leaves no entry and a committed one always has one. Entries arrive masked: storage
// never sees a secret or sensitive header value here.

/** AuditChange is one field's value before and after the change (null when it did not exist). */
export interface AuditChange {
  before: unknown;
  after: unknown;
}

/** AuditEntry is one stored entry, as `GET /v1/audit` shows it. */
export interface AuditEntry {
  /** id: `aud_…` (time-ordered). */
  id: string;
  /** time of the change (epoch ms). */
  time: number;
  /** key: the API key's name, or "sighup" for a config reload. */
  key: string;
  /** client_ip: the caller's address; null for a reload. */
  client_ip: string | null;
  /** request_id: the X-Request-Id answered; null for a reload. */
  request_id: string | null;
  /** method: the HTTP method, or "SIGHUP". */
  method: string;
  /** path: the request path (no query); "" for a reload. */
  path: string;
  /** target_id: the object changed (`wh_…`, `dlv_…`, `res_…`), or null (a bulk replay, a reload). */
  target_id: string | null;
  /** changes: per field (or config key path), masked. */
  changes: Record<string, AuditChange>;
}

/** AuditQuery filters and pages the listing, newest first; `before` is the id of the last entry seen. */
export interface AuditQuery {
  limit: number;
  before?: string;
  target_id?: string;
  key?: string;
  /** since: entries at or after this time (epoch ms). */
  since?: number;
}

/** AuditWrites records an entry inside the transaction of the change it describes. */
export interface AuditWrites {
  record(entry: AuditEntry): Promise<void>;
}

/** AuditStore reads the audit log; `record` outside a `tx` is its own transaction (config reloads). */
export interface AuditStore extends AuditWrites {
  list(query: AuditQuery): Promise<AuditEntry[]>;
}
