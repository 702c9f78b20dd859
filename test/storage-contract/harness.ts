import { afterEach, beforeEach, expect } from "bun:test";
import type { Clock } from "../../src/clock";
import { createRouter } from "../../src/delivery/fanout";
import { decideAttempt } from "../../src/delivery/outcome";
import { buildEvent } from "../../src/events/envelope";
import { newId } from "../../src/ids";
import { ENDPOINT_OPTION_DEFAULTS } from "../../src/storage/types";
import type {
  AttemptResult, ClaimedDelivery, ClaimRequest, CompleteOutcome, DecideAttempt, EventRecord, InsertOptions, RouteEvent, Storage,
  StorageFacts, WebhookRecord,
} from "../../src/storage/types";

/** ContractClock is a clock the suite moves by hand (test/support/fake-clock.ts). */
export interface ContractClock extends Clock {
  advance(ms: number): void;
}

/** ContractBackend is one freshly opened, empty database of the backend under test. */
export interface ContractBackend {
  /** storage is the one open now: reopen() replaces it. */
  readonly storage: Storage;
  readonly clock: ContractClock;
  /** reopen closes the storage and opens the same database again, as a restart would. */
  reopen(): Promise<Storage>;
  /** close closes whatever is open and throws the database away. */
  close(): Promise<void>;
  /** facts are what describe() must say of this database. */
  readonly facts: { backend: StorageFacts["backend"]; location: string };
  /** routed lists every event `route` was handed, in order (from recordingRouter). */
  readonly routed: readonly EventRecord[];
}

/** BackendFactory opens an empty database; it must hand the backend `route` from recordingRouter(). */
export type BackendFactory = () => Promise<ContractBackend>;

/** recordingRouter is createRouter() (src/delivery/fanout.ts) noting each event it is handed in `routed`. */
export function recordingRouter(): { route: RouteEvent; routed: EventRecord[] } {
  const routed: EventRecord[] = [];
  const inner = createRouter();
  return { routed, route: (event, endpoints) => (routed.push(event), inner(event, endpoints)) };
}

/** Fixture gives each test of a section the backend opened for it. */
export interface Fixture {
  readonly backend: ContractBackend;
  readonly s: Storage;
  readonly clock: ContractClock;
}

/** useBackend opens a fresh database before each test and closes it after. */
export function useBackend(factory: BackendFactory): Fixture {
  let current: ContractBackend | null = null;
  beforeEach(async () => {
    current = await factory();
  });
  afterEach(async () => {
    await current?.close();
    current = null;
  });
  const open = () => {
    if (!current) throw new Error("no backend open outside a test");
    return current;
  };
  return {
    get backend() {
      return open();
    },
    get s() {
      return open().storage;
    },
    get clock() {
      return open().clock;
    },
  };
}

export const SEC = 1000;
export const MIN = 60 * SEC;
export const HOUR = 60 * MIN;
export const DAY = 24 * HOUR;
export const OWNER = "node-a";
export const LEASE_MS = MIN;

/** webhookRecord is an active "*" endpoint unless `over` says otherwise. */
export function webhookRecord(f: Fixture, over: Partial<WebhookRecord> = {}): WebhookRecord {
  const now = f.clock.now();
  const record: WebhookRecord = {
    id: newId("wh"), url: "https://hooks.example/in", events: ["*"], description: "", status: "active", secret: "whsec_current",
    failure_count: 0, last_failure_at: null, failing_since: null, created_at: now, updated_at: now, ...ENDPOINT_OPTION_DEFAULTS,
  };
  return { ...record, ...definedOnly(over) };
}

/** addWebhook creates an endpoint and checks it was created. */
export async function addWebhook(f: Fixture, over: Partial<WebhookRecord> = {}): Promise<WebhookRecord> {
  const w = webhookRecord(f, over);
  expect(await f.s.webhooks.create(w, 10_000)).toBe("created");
  return w;
}

/** anEvent builds an event of `type` created now. */
export function anEvent(f: Fixture, type = "a.b", data = "{}"): EventRecord {
  return buildEvent(type, data, "api", f.clock.now());
}

/** publish stores an event now and returns it with its delivery ids. */
export async function publish(f: Fixture, type = "a.b", options?: InsertOptions): Promise<{ event: EventRecord; deliveryIds: string[] }> {
  const event = anEvent(f, type);
  const { deliveryIds } = await f.s.events.insert(event, options);
  return { event, deliveryIds };
}

/** publishMany stores `n` events of `type` in one transaction. */
export async function publishMany(f: Fixture, n: number, type = "a.b"): Promise<string[]> {
  return f.s.tx(async (tx) => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) ids.push(...(await tx.events.insert(anEvent(f, type))).deliveryIds);
    return ids;
  });
}

/** definedOnly drops keys whose value is undefined, so an override never unsets a default. */
function definedOnly<T extends object>(over: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(over).filter(([, v]) => v !== undefined)) as never;
}

/** ClaimOverrides: a lease may be given as one length for every endpoint. */
type ClaimOverrides = Partial<Omit<ClaimRequest, "leaseMs">> & { leaseMs?: number | ClaimRequest["leaseMs"] };

/** claim asks for due work now, with room for everything unless `over` limits it. */
export function claim(f: Fixture, over: ClaimOverrides = {}): Promise<ClaimedDelivery[]> {
  const { leaseMs = LEASE_MS, ...rest } = over;
  const lease = typeof leaseMs === "number" ? () => leaseMs : leaseMs;
  return f.s.deliveries.claimDue({ now: f.clock.now(), total: 1000, perEndpoint: 1000, owner: OWNER, ...rest, leaseMs: lease });
}

/** ok is a 2xx attempt on `d` made now. */
export function ok(f: Fixture, d: ClaimedDelivery, over: Partial<AttemptResult> = {}): AttemptResult {
  return {
    attemptId: newId("att"), deliveryId: d.id, webhookId: d.webhook_id, lease: d.lease, attemptedAt: f.clock.now(), durationMs: 12,
    statusCode: 200, error: null, response: "thanks", ok: true, nextAttemptAt: null, gone: false, ...over,
  };
}

/** fail is a 500 on `d` made now; `retryInMs` null means the schedule is used up. */
export function fail(f: Fixture, d: ClaimedDelivery, retryInMs: number | null, over: Partial<AttemptResult> = {}): AttemptResult {
  const nextAttemptAt = retryInMs === null ? null : f.clock.now() + retryInMs;
  return ok(f, d, { statusCode: 500, error: "HTTP 500", response: "oops", ok: false, nextAttemptAt, ...over });
}

/** decide is SPEC §6 (src/delivery/outcome.ts) at the fixture's clock. */
export function decide(f: Fixture, disableAfterMs = 0): DecideAttempt {
  return (r, endpoint) => decideAttempt(r, endpoint, f.clock.now(), { disableAfterMs });
}

/** complete records results now under SPEC §6. */
export function complete(f: Fixture, results: AttemptResult[], disableAfterMs = 0): Promise<CompleteOutcome> {
  return f.s.deliveries.complete(results, decide(f, disableAfterMs), f.clock.now());
}

/** ids lists the ids of rows, sorted, for order-free comparison. */
export function ids(rows: readonly { id: string }[]): string[] {
  return rows.map((r) => r.id).sort();
}
