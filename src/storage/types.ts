import type { DeliveryStore } from "./delivery-types";
import type { InboundStore } from "./inbound-types";

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
  /** create inserts the endpoint unless `maxEndpoints` live endpoints exist already; `alsoInTransaction` commits with it. */
  create(record: WebhookRecord, maxEndpoints: number, alsoInTransaction?: () => void): "created" | "limit_reached";
  get(id: string): WebhookRecord | null;
  list(page: PageQuery): WebhookRecord[];
  update(id: string, patch: WebhookPatch, now: number): WebhookRecord | null;
  /** remove hides the endpoint and expires its unfinished deliveries; its history stays readable. */
  remove(id: string, now: number): boolean;
  /** getAny finds an endpoint even after deletion, for its delivery history. */
  getAny(id: string): (WebhookRecord & { deleted: boolean }) | null;
  /** rotateSecret makes `secret` current; the old one keeps signing webhook-signature until `previousUntil`. */
  rotateSecret(id: string, secret: string, previousUntil: number, now: number): WebhookRecord | null;
  /** activeIds lists endpoints the queue should serve. */
  activeIds(): string[];
}

/** InsertOptions: `onlyWebhook` targets one endpoint (webhook.test); `alsoInTransaction` runs in the same transaction (the idempotency answer). */
export interface InsertOptions {
  onlyWebhook?: string;
  alsoInTransaction?: (result: { deliveries: number; deliveryIds: string[] }) => void;
}

/** EventStore keeps the event log. */
export interface EventStore {
  /** insert stores an event and one delivery per matching active endpoint in one durable transaction. */
  insert(event: EventRecord, options?: InsertOptions): Promise<{ deliveries: number; deliveryIds: string[] }>;
  get(id: string): EventRecord | null;
  list(query: EventQuery): EventRecord[];
  /** typesSeen lists distinct stored event types, for free-form catalogues. */
  typesSeen(): string[];
}

/** ResourceStore keeps the resource registry; every change stores its events in the same transaction. */
export interface ResourceStore {
  create(resource: ResourceRecord, events: EventRecord[], alsoInTransaction?: () => void): Promise<void>;
  get(id: string): ResourceRecord | null;
  list(page: PageQuery): ResourceRecord[];
  /**
   * update reads the current row and applies `change` to it inside one transaction, so concurrent
   * changes cannot lose each other's writes or emit events for a state that never existed.
   * `change` returns null for "nothing to change". Resolves with the row after, or null if missing.
   */
  update(id: string, change: (before: ResourceRecord) => ResourceChange | null): Promise<ResourceRecord | null>;
  /** remove deletes the row and stores the events `describe` makes from its last state; null if missing. */
  remove(id: string, describe: (before: ResourceRecord) => EventRecord[]): Promise<ResourceRecord | null>;
}

/** ResourceChange is a resource's new state and the events that announce it. */
export interface ResourceChange {
  after: ResourceRecord;
  events: EventRecord[];
}

/** IdempotencyStore remembers admin POST answers per (scope, key) for `ttlMs`. */
export interface IdempotencyStore {
  begin(scope: string, key: string, requestHash: string, now: number, ttlMs: number, lockMs: number): IdempotencyBegin;
  complete(scope: string, key: string, status: number, body: string, contentType: string, now: number): void;
  /** release forgets a claim whose request did not finish (5xx, validation error), so a retry runs again. */
  release(scope: string, key: string): void;
  /** releaseAbandoned lets claims left running by a process that died be retried at once (called at start). */
  releaseAbandoned(): number;
}

/** PruneCutoffs: rows older than these times go (epoch ms). */
export interface PruneCutoffs {
  now: number;
  deliveriesBefore: number;
  eventsBefore: number;
  inboundBefore: number;
  rateWindowsBefore: number;
}

/** PruneCounts says how many rows of each kind retention removed. */
export interface PruneCounts {
  deliveries: number;
  events: number;
  inbound: number;
  idempotencyKeys: number;
  rateWindows: number;
}

/** MaintenanceStore is retention and backup. */
export interface MaintenanceStore {
  /** prune deletes finished deliveries (with attempts), events owed nothing, inbound records, expired keys and windows, in batches. */
  prune(cutoffs: PruneCutoffs, batch?: number): Promise<PruneCounts>;
  /** backupTo writes a consistent copy of the database to `dest` while others keep writing. */
  backupTo(dest: string, overwrite: boolean): void;
}

export * from "./delivery-types";
export * from "./inbound-types";

/** Storage is the whole backend, opened once per process. */
export interface Storage {
  readonly webhooks: WebhookStore;
  readonly events: EventStore;
  readonly resources: ResourceStore;
  readonly deliveries: DeliveryStore;
  readonly inbound: InboundStore;
  readonly idempotency: IdempotencyStore;
  readonly maintenance: MaintenanceStore;
  /** checkWritable is the readiness probe: true when a write transaction can commit. */
  checkWritable(): boolean;
  close(): void;
}

/** StorageUnavailableError marks a storage outage; the HTTP layer answers 503 + Retry-After. */
export class StorageUnavailableError extends Error {
  override readonly name = "StorageUnavailableError";
}
