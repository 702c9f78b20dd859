import type { AlertStore } from "./alert-types";
import type { AuditStore, AuditWrites } from "./audit-types";
import type { IdempotencyStore, IdempotencyWrites, MaintenanceStore } from "./maintenance-types";
import type { DeliveryStore, DeliveryWrites } from "./delivery-types";
import type { InboundStore } from "./inbound-types";
import type { StatsStore } from "./stats-types";

// The storage contract: everything the API, the inbound path and the delivery engine may ask of the
// database, the same for every backend (SQLite in ./sqlite, PostgreSQL later). Rules of the contract:
// - Every method returns a Promise, reads included, so a network database can implement it.
// - Writes that must commit together take one `Tx` from `Storage.tx`; a write called on a store
//   directly is its own transaction. An answer is resolved only once its transaction is durable.
// - Storage saves decisions, it does not make them: which endpoints an event goes to is a `RouteEvent`
//   handed in when the backend is opened, and what an attempt's result means is a `DecideAttempt`
//   handed to `complete` (both live in src/delivery/).
// - A backend turns its driver's outage errors (locked, disk full, connection refused) into
//   `StorageUnavailableError`; the HTTP layer answers those 503 + Retry-After.
// test/storage-contract/ checks all of this against every backend.

/** WebhookStatus is what PATCH may set; deleted endpoints are hidden, not a status. */
export type WebhookStatus = "active" | "disabled";

/** Ordering is SPEC §9 `ordering`: "fifo" puts an endpoint's deliveries in lanes, one in flight per lane. */
export type Ordering = "none" | "fifo";

/**
 * EndpointOptions are SPEC §9's per-endpoint delivery options as stored; null = unset (the config's
 * default applies). `headers` values are stored as given (sensitive ones too: they must be sent);
 * masking is the API's job. Profiles are referred to by name and resolved from config at send time.
 */
export interface EndpointOptions {
  headers: Record<string, string> | null;
  /** timeout_ms replaces `[delivery] timeout` for this endpoint. */
  timeout_ms: number | null;
  /** rate_limit: attempts that may start in any 1-second window, across all nodes; null = unlimited. */
  rate_limit: number | null;
  ordering: Ordering;
  /** ordering_key: RFC 6901 JSON Pointer into the event's `data`; lanes per value (only with "fifo"). */
  ordering_key: string | null;
  client_tls: string | null;
  oauth2: string | null;
  /** filter: SPEC §10 query object as compact JSON text (the API validates and shows it as an object). */
  filter: string | null;
  /** transform: SPEC §10 JSONata expression applied at send time; content_type for its string results. */
  transform: string | null;
  content_type: string | null;
}

/** ENDPOINT_OPTION_DEFAULTS is what an endpoint created without options has. */
export const ENDPOINT_OPTION_DEFAULTS: Readonly<EndpointOptions> = Object.freeze({
  headers: null,
  timeout_ms: null,
  rate_limit: null,
  ordering: "none",
  ordering_key: null,
  client_tls: null,
  oauth2: null,
  filter: null,
  transform: null,
  content_type: null,
});

/** WebhookRecord is one subscription as stored; `secret` never leaves the API except on create. */
export interface WebhookRecord extends EndpointOptions {
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

/** WebhookPatch holds the fields PATCH may change; an option set to null is cleared, undefined is kept. */
export interface WebhookPatch extends Partial<EndpointOptions> {
  url?: string;
  events?: string[];
  description?: string;
  status?: WebhookStatus;
}

/** ActiveEndpoint is what routing needs to know of an endpoint: who is subscribed to what, and its lanes. */
export interface ActiveEndpoint {
  id: string;
  events: readonly string[];
  ordering: Ordering;
  ordering_key: string | null;
  /** filter as stored (compact JSON text), or null: routing compiles it once per endpoint change. */
  filter: string | null;
}

/**
 * FilterVerdicts are filter results computed before the storing transaction (SPEC §10: a slow filter
 * must never run inside it): endpoint id → the filter text it was evaluated for and whether it matched.
 * Routing uses a verdict only if the endpoint's filter is still that text.
 */
export type FilterVerdicts = ReadonlyMap<string, { filter: string; matches: boolean }>;

/**
 * RouteTarget is one delivery fan-out makes: the endpoint and, for a FIFO endpoint, the lane the
 * delivery joins ("" = the endpoint's one lane, or its "no key" lane; else the key value as JSON).
 * null = not ordered.
 */
export interface RouteTarget {
  id: string;
  lane: string | null;
}

/** EventOrigin says what produced an event (metrics label, event listing). */
export type EventOrigin = "api" | "inbound" | "resource" | "test" | "hookd";

/** EventRecord is a stored event; `body` is the exact envelope subscribers receive, byte for byte. */
export interface EventRecord {
  id: string;
  type: string;
  origin: EventOrigin;
  body: string;
  created_at: number;
  /** source: the `[[sources]]` id of an inbound event; null for events from the API, resources or tests. */
  source: string | null;
  /** verdicts: filter results worked out before the transaction (not stored); see FilterVerdicts. */
  verdicts?: FilterVerdicts;
}

/**
 * RouteEvent decides which active endpoints an event is fanned out to, and in which FIFO lane. It is pure and runs inside
 * the storing transaction against the active endpoints as last committed (a backend may cache the
 * list between endpoint changes): an endpoint created in the same transaction, or concurrently, may
 * miss the event; one disabled or deleted before the event commits never gets a delivery.
 */
export type RouteEvent = (event: EventRecord, endpoints: readonly ActiveEndpoint[]) => RouteTarget[];

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

/** WebhookWrites are the endpoint changes that may commit together with others. */
export interface WebhookWrites {
  /** create inserts the endpoint unless `maxEndpoints` live endpoints exist already. */
  create(record: WebhookRecord, maxEndpoints: number): Promise<"created" | "limit_reached">;
  /** update applies `patch`; disabling expires unfinished deliveries, re-enabling clears the failure record. */
  update(id: string, patch: WebhookPatch, now: number): Promise<WebhookRecord | null>;
  /** remove hides the endpoint and expires its unfinished deliveries; its history stays readable. */
  remove(id: string, now: number): Promise<boolean>;
  /** rotateSecret makes `secret` current; the old one keeps signing webhook-signature until `previousUntil`. */
  rotateSecret(id: string, secret: string, previousUntil: number, now: number): Promise<WebhookRecord | null>;
}

/** WebhookStore keeps outbound subscriptions; deleted ones keep their row for delivery history. */
export interface WebhookStore extends WebhookWrites {
  get(id: string): Promise<WebhookRecord | null>;
  list(page: PageQuery): Promise<WebhookRecord[]>;
  /** getAny finds an endpoint even after deletion, for its delivery history. */
  getAny(id: string): Promise<(WebhookRecord & { deleted: boolean }) | null>;
  /** active lists the endpoints events may be routed to. */
  active(): Promise<readonly ActiveEndpoint[]>;
}

/** InsertOptions: `onlyWebhook` targets one endpoint whatever routing says (webhook.test; outside any FIFO lane). */
export interface InsertOptions {
  onlyWebhook?: string;
}

/** InsertResult says which deliveries an event made. */
export interface InsertResult {
  deliveries: number;
  deliveryIds: string[];
}

/** EventWrites stores events. */
export interface EventWrites {
  /** insert stores an event and one delivery per endpoint RouteEvent picks, in one transaction. */
  insert(event: EventRecord, options?: InsertOptions): Promise<InsertResult>;
}

/** EventStore keeps the event log. */
export interface EventStore extends EventWrites {
  get(id: string): Promise<EventRecord | null>;
  list(query: EventQuery): Promise<EventRecord[]>;
  /** typesSeen lists distinct stored event types, for free-form catalogues. */
  typesSeen(): Promise<string[]>;
}

/** ResourceChange is a resource's new state and the events that announce it. */
export interface ResourceChange {
  after: ResourceRecord;
  events: EventRecord[];
}

/** ResourceWrites change the registry; every change stores its events in the same transaction. */
export interface ResourceWrites {
  create(resource: ResourceRecord, events: EventRecord[]): Promise<void>;
  /**
   * update reads the current row and applies `change` (pure) to it inside the transaction, so
   * concurrent changes cannot lose each other's writes or emit events for a state that never
   * existed. `change` returns null for "nothing to change". Resolves with the row after, or null if missing.
   */
  update(id: string, change: (before: ResourceRecord) => ResourceChange | null): Promise<ResourceRecord | null>;
  /** remove deletes the row and stores the events `describe` (pure) makes from its last state; null if missing. */
  remove(id: string, describe: (before: ResourceRecord) => EventRecord[]): Promise<ResourceRecord | null>;
}

/** ResourceStore keeps the resource registry. */
export interface ResourceStore extends ResourceWrites {
  get(id: string): Promise<ResourceRecord | null>;
  list(page: PageQuery): Promise<ResourceRecord[]>;
}

/** Tx is one open transaction: the writes given it commit together or not at all. */
export interface Tx {
  readonly webhooks: WebhookWrites;
  readonly events: EventWrites;
  readonly resources: ResourceWrites;
  readonly deliveries: DeliveryWrites;
  readonly idempotency: IdempotencyWrites;
  readonly audit: AuditWrites;
}

/** StorageFacts describe the backend for the startup report. */
export interface StorageFacts {
  backend: "sqlite" | "postgres";
  /** location names the database without credentials (a path, or host/database). */
  location: string;
  /** bytes on disk, when the backend knows it cheaply. */
  bytes: number | null;
}

export * from "./alert-types";
export * from "./audit-types";
export * from "./maintenance-types";
export * from "./delivery-types";
export * from "./inbound-types";
export * from "./stats-types";

/** Storage is the whole backend, opened once per process. */
export interface Storage {
  readonly webhooks: WebhookStore;
  readonly events: EventStore;
  readonly resources: ResourceStore;
  readonly deliveries: DeliveryStore;
  readonly inbound: InboundStore;
  readonly idempotency: IdempotencyStore;
  readonly maintenance: MaintenanceStore;
  /** alerts: SPEC §11's periodic checks (backlog, expiry windows); no-ops without OperationalEvents at open. */
  readonly alerts: AlertStore;
  /** stats answers the dashboard overview (GET /v1/stats). */
  readonly stats: StatsStore;
  /** audit is the audit log (SPEC §14); entries are written through `tx.audit` with the change. */
  readonly audit: AuditStore;
  /**
   * tx runs `fn` in one transaction and resolves with its result once committed; if `fn` throws,
   * nothing it wrote is kept and the error is rethrown. `fn` must await only `tx`'s methods (no
   * network or timers): on SQLite it runs inside a group commit shared with other writers, and it may
   * be run a second time (isolated) if another operation of the batch fails.
   */
  tx<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** checkWritable is the readiness probe: true when a write transaction can commit. */
  checkWritable(): Promise<boolean>;
  describe(): Promise<StorageFacts>;
  close(): Promise<void>;
}

/** StorageUnavailableError marks a storage outage; the HTTP layer answers 503 + Retry-After. */
export class StorageUnavailableError extends Error {
  override readonly name = "StorageUnavailableError";
}
