// The storage interface: everything the API and (later) the delivery engine may ask of the
// database. Route handlers and the queue only see these methods, so a Postgres backend is a
// new implementation of this file's interfaces, not a rewrite.

/** WebhookStatus is what PATCH may set; deleted endpoints are hidden, not a status. */
export type WebhookStatus = "active" | "disabled";

/** WebhookRecord is one subscription as stored; `secret` never leaves the API except on create. */
export interface WebhookRecord {
  id: string;
  url: string;
  events: string[];
  description: string;
  status: WebhookStatus;
  secret: string;
  failure_count: number;
  last_failure_at: number | null;
  failing_since: number | null;
  created_at: number;
  updated_at: number;
}

/** WebhookPatch holds the fields PATCH may change. */
export interface WebhookPatch {
  url?: string;
  events?: string[];
  description?: string;
  status?: WebhookStatus;
}

/** EventOrigin says what produced an event (metrics label, event listing). */
export type EventOrigin = "api" | "inbound" | "resource" | "test";

/** EventRecord is a stored event; `body` is the exact envelope subscribers receive, byte for byte. */
export interface EventRecord {
  id: string;
  type: string;
  origin: EventOrigin;
  body: string;
  created_at: number;
}

/** ResourceRecord is one entry of the generic resource registry. */
export interface ResourceRecord {
  id: string;
  type: string;
  name: string;
  status: string;
  metadata: Record<string, unknown>;
  created_at: number;
  updated_at: number;
}

/** PageQuery asks for up to `limit` rows older than the row `before` (ids sort by time). */
export interface PageQuery {
  limit: number;
  before?: string;
}

/** EventQuery filters the event listing. */
export interface EventQuery extends PageQuery {
  type?: string;
  since?: number;
}

/** IdempotencyBegin is the outcome of claiming an Idempotency-Key for a request. */
export type IdempotencyBegin =
  | { kind: "started" }
  | { kind: "in_progress" }
  | { kind: "mismatch" }
  | { kind: "replay"; status: number; body: string; contentType: string };

/** WebhookStore keeps outbound subscriptions. */
export interface WebhookStore {
  /** create inserts the endpoint unless `maxEndpoints` live endpoints exist already. */
  create(record: WebhookRecord, maxEndpoints: number): "created" | "limit_reached";
  get(id: string): WebhookRecord | null;
  list(page: PageQuery): WebhookRecord[];
  update(id: string, patch: WebhookPatch, now: number): WebhookRecord | null;
  /** remove hides the endpoint; its deliveries and history stay readable. */
  remove(id: string, now: number): boolean;
}

/** EventStore keeps the event log. */
export interface EventStore {
  /** insert stores an event (and, from the delivery issue on, its deliveries) in one transaction. */
  insert(event: EventRecord): { deliveries: number };
  get(id: string): EventRecord | null;
  list(query: EventQuery): EventRecord[];
  /** typesSeen lists distinct stored event types, for free-form catalogues. */
  typesSeen(): string[];
}

/** ResourceStore keeps the resource registry; every change stores its events in the same transaction. */
export interface ResourceStore {
  create(resource: ResourceRecord, events: EventRecord[]): void;
  get(id: string): ResourceRecord | null;
  list(page: PageQuery): ResourceRecord[];
  update(resource: ResourceRecord, events: EventRecord[]): void;
  remove(id: string, events: EventRecord[]): boolean;
}

/** IdempotencyStore remembers admin POST answers per (scope, key) for `ttlMs`. */
export interface IdempotencyStore {
  begin(scope: string, key: string, requestHash: string, now: number, ttlMs: number, lockMs: number): IdempotencyBegin;
  complete(scope: string, key: string, status: number, body: string, contentType: string, now: number): void;
  /** release forgets a claim whose request did not finish (5xx, validation error), so a retry runs again. */
  release(scope: string, key: string): void;
}

/** Storage is the whole backend, opened once per process. */
export interface Storage {
  readonly webhooks: WebhookStore;
  readonly events: EventStore;
  readonly resources: ResourceStore;
  readonly idempotency: IdempotencyStore;
  /** checkWritable is the readiness probe: true when a write transaction can commit. */
  checkWritable(): boolean;
  close(): void;
}

/** StorageUnavailableError marks a storage outage; the HTTP layer answers 503 + Retry-After. */
export class StorageUnavailableError extends Error {
  override readonly name = "StorageUnavailableError";
}
