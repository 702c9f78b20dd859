// The delivery queue and history: what the scheduler and the delivery routes may ask of storage.
import type { PageQuery } from "./types";

/** DeliveryStatus is SPEC §6's lifecycle. */
export type DeliveryStatus = "pending" | "failed" | "delivered" | "expired";

/**
 * LANE_WAITING is the `next_attempt_at` of a FIFO delivery waiting behind its lane's head: unfinished
 * (not NULL), never due, and it keeps the queue index and the ready rows unchanged. Storage returns it
 * as is; the API shows it as null. The head is promoted (due now) when the delivery before it is delivered or expires.
 */
export const LANE_WAITING = Number.MAX_SAFE_INTEGER;

/** DeliveryRecord is one event's journey to one endpoint. */
export interface DeliveryRecord {
  id: string;
  event_id: string;
  webhook_id: string;
  event_type: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: number | null;
  leased: boolean;
  last_status_code: number | null;
  last_response: string | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
  delivered_at: number | null;
  /** lane/sequence: the FIFO lane and position (X-Hookd-Sequence); null for unordered deliveries. */
  lane: string | null;
  sequence: number | null;
}

/** AttemptRow is one recorded attempt. */
export interface AttemptRow {
  id: string;
  delivery_id: string;
  attempted_at: number;
  status_code: number | null;
  duration_ms: number;
  error: string | null;
  response: string;
}

/** ClaimRequest: how much to claim and for how long. */
export interface ClaimRequest {
  now: number;
  /** total: deliveries to lease at most in this round (the process's free capacity). */
  total: number;
  /** perEndpoint: leases one endpoint may hold at once, counted over every process (per_endpoint_concurrency). */
  perEndpoint: number;
  /** leaseMs: how long a lease on this endpoint's deliveries lasts (SPEC §9 Leases; depends on its options). */
  leaseMs: (endpoint: LeaseBasis) => number;
  /** owner names the claiming process (node id); each lease token starts with it. */
  owner: string;
}

/** LeaseBasis is what the lease length depends on. */
export interface LeaseBasis {
  timeout_ms: number | null;
  oauth2: string | null;
}

/** ClaimedDelivery is everything a worker needs to make one attempt without another query. */
export interface ClaimedDelivery {
  id: string;
  event_id: string;
  event_type: string;
  webhook_id: string;
  url: string;
  /** secrets that sign this attempt, newest first (two during a rotation window). */
  secrets: string[];
  body: string;
  attempts: number;
  schedule_attempts: number;
  /** sequence is the FIFO position (X-Hookd-Sequence), null when unordered. */
  sequence: number | null;
  /** the endpoint's delivery options (SPEC §9) as they were when claimed. */
  headers: Record<string, string> | null;
  timeout_ms: number | null;
  client_tls: string | null;
  oauth2: string | null;
  /** transform (JSONata) and content_type (for string results) of the endpoint; source of the event (transform input). */
  transform: string | null;
  content_type: string | null;
  source: string | null;
  /** lease is this claim's token: recording the attempt or releasing it requires it to still be current. */
  lease: string;
}

/** AttemptResult is a worker's report of one attempt, written back by complete(). */
export interface AttemptResult {
  attemptId: string;
  deliveryId: string;
  webhookId: string;
  lease: string;
  attemptedAt: number;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
  response: string;
  ok: boolean;
  /** next due time when the schedule allows a retry; null when delivered or out of attempts. */
  nextAttemptAt: number | null;
  /** gone: the endpoint answered 410 and is to be disabled at once. */
  gone: boolean;
  /**
   * transform: the endpoint's transform failed (threw or gave nothing: the delivery expires at once) or
   * was stopped for time (retried like a timeout); no request was sent. Neither counts against the endpoint.
   */
  transform?: "failed" | "timeout";
}

/** EndpointState is what the outcome rules need to know of an endpoint when an attempt is recorded. */
export interface EndpointState {
  status: "active" | "disabled" | "deleted";
  failure_count: number;
  failing_since: number | null;
  /** failing_reported: hookd.endpoint.failing was emitted for the current streak (SPEC §11); absent = false. */
  failing_reported?: boolean;
}

/** AttemptDecision is what recording one attempt changes (SPEC §6), decided by src/delivery/outcome.ts. */
export interface AttemptDecision {
  delivery: {
    status: "delivered" | "failed" | "expired";
    nextAttemptAt: number | null;
    error: string | null;
    deliveredAt: number | null;
  };
  /** endpoint: reset its failure record, count a failure (at `attemptedAt`), or leave it. */
  endpoint: "reset" | "failed" | "unchanged";
  /** disable the endpoint (and expire its unfinished deliveries) for this reason. */
  disable: "gone" | "failing" | null;
}

/** DecideAttempt turns a result and its endpoint's current state into a decision; pure. */
export type DecideAttempt = (result: AttemptResult, endpoint: EndpointState) => AttemptDecision;

/** CompleteOutcome reports endpoints disabled by these results and results dropped because their lease was gone. */
export interface CompleteOutcome {
  disabled: { webhookId: string; reason: "gone" | "failing" }[];
  /** stale: delivery ids whose lease had lapsed or moved on; their attempt was not recorded. */
  stale: string[];
}

/** LeaseRef names one held lease. */
export interface LeaseRef {
  id: string;
  lease: string;
}

/** DeliveryQuery filters an endpoint's history. */
export interface DeliveryQuery extends PageQuery {
  status?: DeliveryStatus;
}

/** RetryOutcome: "ok" and "waiting" re-enqueued the delivery (due now / behind its lane's head). */
export type RetryOutcome = "ok" | "waiting" | "not_found" | "leased" | "already_pending" | "inactive";

/** DeliveryWrites re-enqueue deliveries; they may commit with other writes (the idempotency answer). */
export interface DeliveryWrites {
  /**
   * retry makes a finished or failed delivery pending now with a fresh schedule; not while its endpoint
   * is inactive. "waiting": pending again, but behind its FIFO lane's unfinished head (LANE_WAITING).
   */
  retry(id: string, now: number): Promise<RetryOutcome>;
  /** recover re-enqueues an active endpoint's unleased failed/expired deliveries created since `since` (0 for an inactive one). */
  recover(webhookId: string, since: number, now: number): Promise<number>;
}

/** DeliveryFilter selects deliveries across endpoints (SPEC §11): in any of `statuses`, created in [since, until). */
export interface DeliveryFilter {
  statuses: readonly DeliveryStatus[];
  webhookId?: string;
  eventType?: string;
  since?: number;
  until?: number;
  /**
   * examine: how many index entries one call may read of each status range it cannot narrow by
   * `webhookId`/`eventType` (EXAMINE_CAP in src/storage/search-order.ts when absent; tests make it small).
   */
  examine?: number;
}

/** SearchPosition is a delivery's place in the search order, (created_at, id): where a page or a replay batch stopped. */
export interface SearchPosition {
  created_at: number;
  id: string;
}

/**
 * ReplayBatch is one bounded step of a bulk replay: deliveries counted (dry run) or sent again, and where
 * the next step starts (null: done). A step may count nothing while `next` is set (see DeliverySearch).
 */
export interface ReplayBatch {
  count: number;
  next: SearchPosition | null;
}

/** SearchPage is one page of a search: at most `limit` rows, and where the next page starts (exclusive; null: no more match). */
export interface SearchPage {
  rows: DeliveryRecord[];
  /**
   * resumeAfter: the last row's position when the page is full; when it is short, a position past
   * which this call did not look (see DeliverySearch), or null when nothing more matches.
   */
  resumeAfter: SearchPosition | null;
}

/**
 * DeliverySearch lists and replays deliveries across endpoints. Each call reads at most `limit`
 * entries per status from one index range, whatever the number stored; a bulk replay is many calls.
 *
 * A status range read off an index without the filter's endpoint or type (pending and delivered
 * ranges filtered by either: only failed and expired have such indexes) checks them row by row, so a
 * call examines at most `filter.examine` (EXAMINE_CAP) of its entries, counted from where it starts
 * whatever the filter: its horizon is the last one examined. When such a range yields fewer than
 * `limit` matches, nothing is known beyond its horizon, so the call returns only rows up to the nearest
 * such horizon and continues from it: a page or a step may hold fewer than `limit` rows, even none,
 * while `resumeAfter`/`next` is set. Following them visits every match once, in order.
 */
export interface DeliverySearch {
  /** search lists matching deliveries newest first, by (created_at, id) descending, after `before` when given. */
  search(filter: DeliveryFilter, page: { limit: number; before?: SearchPosition }): Promise<SearchPage>;
  /**
   * replayable walks up to `limit` matching deliveries oldest first from `from` (exclusive) and counts
   * those `replay` would send again from the same place: unleased, of an active endpoint.
   */
  replayable(filter: DeliveryFilter, from: SearchPosition | null, limit: number): Promise<ReplayBatch>;
  /**
   * replay does `replayable`'s walk in one transaction and makes those deliveries pending with a fresh
   * schedule, as `retry` does; a FIFO lane delivery keeps its position and waits behind a running head.
   */
  replay(filter: DeliveryFilter, from: SearchPosition | null, limit: number, now: number): Promise<ReplayBatch>;
}

/**
 * DeliveryStore is the queue (claim/complete/release) and the delivery history.
 *
 * Queue contract: a claim is driven by due work, not by endpoints: a round costs a bounded number
 * of index reads whatever the number of endpoints and whatever the backlog behind a busy one. Each
 * endpoint's in-flight count lives in the database, so `perEndpoint` holds across processes. Among
 * endpoints with due work, claims go round-robin (by the later of an endpoint's earliest due time and
 * when it was last served), so a hot endpoint with a large backlog does not starve a cold one. A
 * lease whose time ran out is released by the next claim; if its endpoint has become inactive
 * meanwhile, the delivery is expired (nobody would claim it again).
 *
 * Rate limits (SPEC §9 `rate_limit`): an endpoint with rate_limit r gets at most r deliveries claimed
 * in any 1-second window (sliding, over every process; kept in the database with its ready row). A
 * delivery over the rate keeps its status and is simply not claimed yet; nextWakeAt includes the time
 * the window frees room.
 *
 * FIFO (SPEC §9): a delivery routed with a lane gets the lane's next sequence in the storing
 * transaction, under the lane's lock. Only a lane's head is due; the others wait with next_attempt_at
 * = LANE_WAITING. When the head is delivered or expires (attempts used up), the waiting delivery
 * with the lowest sequence becomes the head, due now. A lane delivery sent again (retry, recover)
 * becomes the head, due now, if its lane has no unfinished head; otherwise it waits, keeping its
 * sequence. Finding the next head is one index read, whatever the lane's history.
 */
export interface DeliveryStore extends DeliveryWrites, DeliverySearch {
  /** claimDue leases due deliveries and returns them with what an attempt needs. */
  claimDue(request: ClaimRequest): Promise<ClaimedDelivery[]>;
  /**
   * complete records attempts whose lease is still current and applies `decide`'s verdict to the
   * delivery and its endpoint; results whose lease is gone are dropped and listed as stale.
   */
  complete(results: AttemptResult[], decide: DecideAttempt, now: number): Promise<CompleteOutcome>;
  /** release makes the given leased deliveries due now (stop, or a claim that came too late). */
  release(leases: readonly LeaseRef[], now: number): Promise<number>;
  /**
   * releaseAbandoned makes due now the leases a previous run of this node left (it died mid-attempt),
   * and expires unfinished deliveries of inactive endpoints. On SQLite that is every lease.
   */
  releaseAbandoned(owner: string, now: number): Promise<number>;
  /**
   * nextWakeAt: the earliest time a claim could find work for an endpoint below its limit, or a lease
   * lapses. A changed `perEndpoint` counts from the next claimDue that passes it.
   */
  nextWakeAt(perEndpoint: number): Promise<number | null>;
  get(id: string): Promise<DeliveryRecord | null>;
  attempts(deliveryId: string): Promise<AttemptRow[]>;
  listForWebhook(webhookId: string, query: DeliveryQuery): Promise<DeliveryRecord[]>;
  listForEvent(eventId: string): Promise<DeliveryRecord[]>;
  /** countByStatus is the queue depth per status (read when /metrics is scraped). */
  countByStatus(): Promise<Record<DeliveryStatus, number>>;
  /** oldestUnfinishedAt is the created_at of the oldest pending or failed delivery, or null. */
  oldestUnfinishedAt(): Promise<number | null>;
  /** attemptsSince counts attempts made at or after `since` (ms). */
  attemptsSince(since: number): Promise<number>;
}
