import type { Clock } from "../clock";
import type { Logger } from "../log";
import type { AttemptResult, ClaimedDelivery, LeaseBasis, Storage } from "../storage/types";
import { attemptDelivery, type DispatchSettings, type Send } from "./dispatcher";
import { decideAttempt } from "./outcome";

/** SchedulerOptions: limits from `[delivery]`, the transport, and hooks for metrics. */
export interface SchedulerOptions extends DispatchSettings {
  readonly storage: Storage;
  readonly send: Send;
  readonly clock: Clock;
  readonly log: Logger;
  readonly concurrency: number;
  readonly perEndpointConcurrency: number;
  readonly disableAfterMs: number;
  /** owner names this process in lease tokens (node id). */
  readonly owner: string;
  /**
   * rescanMs caps every sleep: a claim round runs at least this often even when nothing woke this node.
   * Set where other processes add work it may not hear of (PostgreSQL: a lost NOTIFY, SPEC §12).
   */
  readonly rescanMs?: number;
  /** tokenTimeoutMs: how long an OAuth2 token request may take; lengthens leases of endpoints with a profile. */
  readonly tokenTimeoutMs?: number;
  readonly onAttempt?: (result: AttemptResult, delivery: ClaimedDelivery) => void;
}

// The longest the scheduler sleeps without looking at the queue again.
const MAX_SLEEP_MS = 60 * 60 * 1000;
// A storage outage while claiming is retried after this long instead of spinning.
const CLAIM_ERROR_BACKOFF_MS = 1000;
// Recording a batch of results that failed on a storage outage is tried this many more times, this far apart (× try).
const RECORD_RETRIES = 5;
const RECORD_RETRY_MS = 250;

/**
 * DeliveryScheduler drives deliveries through the storage queue. It claims whenever it is woken (new
 * work committed, an attempt finished) and otherwise sleeps until the queue's next wake-up time: no
 * polling interval. Which endpoints have room and work is the queue's business (in the database, so
 * it holds across processes); the scheduler only keeps what it has in flight itself.
 */
export class DeliveryScheduler {
  // Delivery id → lease token, for what this process is attempting now: O(in flight), never O(endpoints).
  private readonly inFlightLeases = new Map<string, string>();
  private claiming = false;
  private claimRound: Promise<void> = Promise.resolve();
  private again = false;
  private wakeQueued = false;
  private stopped = true;
  private cancelTimer: (() => void) | null = null;
  // Claims wait until this node's leases from before a restart are released; retried on its own timer.
  private leasesReleased = false;
  private cancelReleaseRetry: (() => void) | null = null;
  private idleWaiters: (() => void)[] = [];
  // Attempt results finished in the same turn of the event loop are recorded in one storage call.
  private completions: { result: AttemptResult; done: (error?: unknown) => void; tries: number }[] = [];
  private completionsQueued = false;
  private readonly leaseMs: (endpoint: LeaseBasis) => number;

  constructor(private readonly o: SchedulerOptions) {
    // SPEC §9 Leases: an attempt plus recording it fits well inside; a lapsed lease is released by the next claim.
    this.leaseMs = (e) => 2 * (e.timeout_ms ?? o.timeoutMs) + (e.oauth2 === null ? 0 : (o.tokenTimeoutMs ?? 10_000)) + 30_000;
  }

  get inFlight(): number {
    return this.inFlightLeases.size;
  }

  /** idle: nothing in flight and no claim round running or queued; only a timer (if any) is waiting. */
  get idle(): boolean {
    return this.inFlight === 0 && !this.claiming && !this.wakeQueued;
  }

  /** start releases leases this node left when it died mid-attempt, then starts claiming. */
  async start(): Promise<void> {
    this.stopped = false;
    if (await this.releaseAbandoned()) this.wake();
  }

  /**
   * releaseAbandoned frees this node's leases from before a crash. A storage outage here must not end
   * the process (it already answers requests): it is retried until it works, and claims wait for it.
   */
  private async releaseAbandoned(): Promise<boolean> {
    try {
      const released = await this.o.storage.deliveries.releaseAbandoned(this.o.owner, this.o.clock.now());
      if (released > 0) this.o.log.warn("released deliveries leased by a previous process", { count: released });
      this.leasesReleased = true;
      return true;
    } catch (error) {
      this.o.log.error("releasing leases from before a restart failed; retrying", { error });
      this.cancelReleaseRetry = this.o.clock.setTimer(CLAIM_ERROR_BACKOFF_MS, () => {
        this.cancelReleaseRetry = null;
        if (!this.stopped) void this.releaseAbandoned().then((done) => done && this.wake());
      });
      return false;
    }
  }

  /** wake asks for a claim round soon; many wakes in one turn of the event loop make one round. */
  wake(): void {
    if (this.stopped || this.wakeQueued) return;
    this.wakeQueued = true;
    setImmediate(() => {
      this.wakeQueued = false;
      void this.tick();
    });
  }

  /** stop claims nothing more, waits up to `graceMs` for attempts in flight, and releases the rest. */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    this.cancelTimer?.();
    this.cancelTimer = null;
    this.cancelReleaseRetry?.();
    this.cancelReleaseRetry = null;
    // A claim already queued commits after this point; it releases what it got instead of sending.
    await this.claimRound;
    if (this.inFlight > 0) {
      this.o.log.info("waiting for deliveries in flight", { count: this.inFlight, grace_ms: graceMs });
      await Promise.race([new Promise<void>((resolve) => this.idleWaiters.push(resolve)), Bun.sleep(graceMs)]);
    }
    if (this.inFlight > 0) {
      const leases = [...this.inFlightLeases].map(([id, lease]) => ({ id, lease }));
      const released = await this.o.storage.deliveries.release(leases, this.o.clock.now());
      this.o.log.warn("released deliveries still in flight at shutdown", { count: released });
    }
  }

  private tick(): Promise<void> {
    if (this.stopped || !this.leasesReleased) return Promise.resolve();
    if (this.claiming) {
      this.again = true;
      return this.claimRound;
    }
    this.claiming = true;
    this.claimRound = this.claimUntilDone();
    return this.claimRound;
  }

  private async claimUntilDone(): Promise<void> {
    let wakeAt: number | null = null;
    try {
      do {
        this.again = false;
        const free = this.o.concurrency - this.inFlight;
        if (free <= 0) break;
        const claimed = await this.o.storage.deliveries.claimDue({
          now: this.o.clock.now(),
          total: free,
          perEndpoint: this.o.perEndpointConcurrency,
          leaseMs: this.leaseMs,
          owner: this.o.owner,
        });
        if (this.stopped) {
          if (claimed.length > 0) await this.o.storage.deliveries.release(claimed, this.o.clock.now());
          return;
        }
        for (const d of claimed) this.launch(d);
        if (claimed.length > 0) this.again = true;
      } while (this.again && !this.stopped);
      // Always re-arm: a timer-driven round that claimed a slow endpoint's retry must not leave another
      // endpoint's retry waiting for some unrelated attempt to finish.
      if (this.inFlight < this.o.concurrency) wakeAt = await this.o.storage.deliveries.nextWakeAt(this.o.perEndpointConcurrency);
    } catch (error) {
      this.o.log.error("claiming deliveries failed; retrying", { error });
      wakeAt = this.o.clock.now() + CLAIM_ERROR_BACKOFF_MS;
    } finally {
      this.claiming = false;
    }
    this.arm(wakeAt);
  }

  private arm(at: number | null): void {
    this.cancelTimer?.();
    this.cancelTimer = null;
    if (this.stopped) return;
    const now = this.o.clock.now();
    const rescanAt = this.o.rescanMs === undefined ? null : now + this.o.rescanMs;
    const wakeAt = at === null ? rescanAt : rescanAt === null ? at : Math.min(at, rescanAt);
    if (wakeAt === null) return;
    // Floor of 1 ms: something due now that was not claimable must not turn into a busy loop. Ceiling:
    // a timer longer than 2^31 ms fires at once, and a far wake-up (a FIFO lane's LANE_WAITING) is a no-op.
    const delay = Math.min(Math.max(1, wakeAt - now), MAX_SLEEP_MS);
    this.cancelTimer = this.o.clock.setTimer(delay, () => {
      this.cancelTimer = null;
      this.wake();
    });
  }

  private launch(d: ClaimedDelivery): void {
    this.inFlightLeases.set(d.id, d.lease);
    void this.run(d).finally(() => {
      this.inFlightLeases.delete(d.id);
      if (this.inFlight === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
      this.wake();
    });
  }

  private async run(d: ClaimedDelivery): Promise<void> {
    const log = this.o.log;
    try {
      const result = await attemptDelivery(d, this.o.send, this.o.clock, this.o);
      await this.record(result);
      this.o.onAttempt?.(result, d);
      const ids = { delivery_id: d.id, event_id: d.event_id, webhook_id: d.webhook_id, attempt_id: result.attemptId };
      const facts = { status_code: result.statusCode, duration_ms: Math.round(result.durationMs) };
      // Successes are the bulk of the traffic: debug keeps the journal to what needs a look (failures at warn).
      if (result.ok) log.debug("delivered", { ...ids, ...facts });
      else if (result.nextAttemptAt !== null) {
        log.warn("delivery attempt failed; retry scheduled", { ...ids, ...facts, error: result.error, next_attempt_at: new Date(result.nextAttemptAt).toISOString() });
      } else log.warn("delivery expired", { ...ids, ...facts, error: result.error, attempts: d.attempts + 1 });
    } catch (error) {
      // The lease stays; it lapses and the delivery is claimed again (at-least-once).
      log.error("recording a delivery attempt failed", { delivery_id: d.id, error });
    }
  }

  /** record queues a result for the next batched complete() and resolves once it is durable. */
  private record(result: AttemptResult): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.completions.push({ result, done: (error) => (error === undefined ? resolve() : reject(error)), tries: 0 });
      if (this.completionsQueued) return;
      this.completionsQueued = true;
      setImmediate(() => this.flushCompletions());
    });
  }

  private flushCompletions(): void {
    this.completionsQueued = false;
    const batch = this.completions.splice(0);
    const now = this.o.clock.now();
    const settings = { disableAfterMs: this.o.disableAfterMs };
    this.o.storage.deliveries
      .complete(batch.map((c) => c.result), (result, endpoint) => decideAttempt(result, endpoint, now, settings), now)
      .then((outcome) => {
        for (const deliveryId of outcome.stale) {
          this.o.log.warn("attempt not recorded: its lease had lapsed (the delivery will be attempted again)", { delivery_id: deliveryId });
        }
        for (const { webhookId, reason } of outcome.disabled) {
          this.o.log.warn("webhook endpoint disabled", {
            webhook_id: webhookId,
            reason: reason === "gone" ? "answered 410 Gone" : "failing longer than disable_after",
          });
        }
        for (const c of batch) c.done();
      })
      .catch((error: unknown) => {
        // A transient outage (a deadlock between nodes, a database restart) rolled the batch back whole:
        // record it again shortly rather than leave the deliveries leased until their leases lapse.
        // Recording twice is harmless: a result whose lease is no longer held is dropped as stale.
        const again = batch.filter((c) => c.tries < RECORD_RETRIES && (error as Error | null)?.name === "StorageUnavailableError");
        for (const c of batch) if (!again.includes(c)) c.done(error ?? new Error("recording attempts failed"));
        if (again.length === 0) return;
        this.o.clock.setTimer(RECORD_RETRY_MS * (again[0]!.tries + 1), () => {
          for (const c of again) this.completions.push({ ...c, tries: c.tries + 1 });
          if (!this.completionsQueued) {
            this.completionsQueued = true;
            setImmediate(() => this.flushCompletions());
          }
        });
      });
  }
}
