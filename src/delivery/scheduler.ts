import type { Clock } from "../clock";
import type { Logger } from "../log";
import type { AttemptResult, ClaimedDelivery, Storage } from "../storage/types";
import { attemptDelivery, type DispatchSettings, type Send } from "./dispatcher";

/** SchedulerOptions: limits from `[delivery]`, the transport, and hooks for metrics. */
export interface SchedulerOptions extends DispatchSettings {
  readonly storage: Storage;
  readonly send: Send;
  readonly clock: Clock;
  readonly log: Logger;
  readonly concurrency: number;
  readonly perEndpointConcurrency: number;
  readonly disableAfterMs: number;
  readonly onAttempt?: (result: AttemptResult, delivery: ClaimedDelivery) => void;
}

// A storage outage while claiming is retried after this long instead of spinning.
const CLAIM_ERROR_BACKOFF_MS = 1000;

/**
 * DeliveryScheduler drives deliveries through the SQLite queue. It claims whenever it is woken
 * (new work committed, an attempt finished) and otherwise sleeps until the earliest due time of an
 * endpoint with free capacity: no polling interval. Capacity is counted per endpoint, so a slow
 * endpoint only ever holds its own `per_endpoint_concurrency` slots.
 */
export class DeliveryScheduler {
  private readonly inFlightByEndpoint = new Map<string, number>();
  private readonly inFlightIds = new Set<string>();
  private claiming = false;
  private claimRound: Promise<void> = Promise.resolve();
  private again = false;
  private wakeQueued = false;
  private stopped = true;
  private cancelTimer: (() => void) | null = null;
  private idleWaiters: (() => void)[] = [];
  private rotation = 0;
  // Attempt results finished in the same turn of the event loop are recorded in one storage call.
  private completions: { result: AttemptResult; done: (error?: unknown) => void }[] = [];
  private completionsQueued = false;
  private readonly leaseMs: number;

  constructor(private readonly o: SchedulerOptions) {
    // A lease must outlast one attempt plus recording it; a crashed process's leases are released at start anyway.
    this.leaseMs = o.timeoutMs * 2 + 30_000;
  }

  get inFlight(): number {
    return this.inFlightIds.size;
  }

  /** idle: nothing in flight and no claim round running or queued; only a timer (if any) is waiting. */
  get idle(): boolean {
    return this.inFlight === 0 && !this.claiming && !this.wakeQueued;
  }

  /** start releases leases a previous process left (it died mid-attempt) and starts claiming. */
  start(): void {
    const released = this.o.storage.deliveries.releaseLeases(this.o.clock.now());
    if (released > 0) this.o.log.warn("released deliveries leased by a previous process", { count: released });
    this.stopped = false;
    this.wake();
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
    // A claim already queued commits after this point; it releases what it got instead of sending.
    await this.claimRound;
    if (this.inFlight > 0) {
      this.o.log.info("waiting for deliveries in flight", { count: this.inFlight, grace_ms: graceMs });
      await Promise.race([new Promise<void>((resolve) => this.idleWaiters.push(resolve)), Bun.sleep(graceMs)]);
    }
    if (this.inFlight > 0) {
      const released = this.o.storage.deliveries.releaseLeases(this.o.clock.now(), [...this.inFlightIds]);
      this.o.log.warn("released deliveries still in flight at shutdown", { count: released });
    }
  }

  private tick(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.claiming) {
      this.again = true;
      return this.claimRound;
    }
    this.claiming = true;
    this.claimRound = this.claimUntilDone();
    return this.claimRound;
  }

  private async claimUntilDone(): Promise<void> {
    try {
      do {
        this.again = false;
        const free = this.o.concurrency - this.inFlight;
        const slots = this.offeredSlots();
        if (free <= 0 || slots.size === 0) break;
        const claimed = await this.o.storage.deliveries.claimDue(slots, free, this.o.clock.now(), this.leaseMs);
        if (this.stopped) {
          if (claimed.length > 0) this.o.storage.deliveries.releaseLeases(this.o.clock.now(), claimed.map((d) => d.id));
          return;
        }
        for (const d of claimed) this.launch(d);
        if (claimed.length > 0) this.again = true;
      } while (this.again && !this.stopped);
    } catch (error) {
      this.o.log.error("claiming deliveries failed; retrying", { error });
      this.arm(this.o.clock.now() + CLAIM_ERROR_BACKOFF_MS);
      return;
    } finally {
      this.claiming = false;
    }
    // Always re-arm: a timer-driven round that claimed a slow endpoint's retry must not leave another
    // endpoint's retry waiting for some unrelated attempt to finish.
    this.arm(this.nextDueAt());
  }

  /** offeredSlots: free capacity per active endpoint, starting at a rotating endpoint for fairness. */
  private offeredSlots(): Map<string, number> {
    const ids = this.o.storage.webhooks.activeIds();
    const slots = new Map<string, number>();
    if (ids.length === 0) return slots;
    this.rotation = (this.rotation + 1) % ids.length;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[(this.rotation + i) % ids.length]!;
      const free = this.o.perEndpointConcurrency - (this.inFlightByEndpoint.get(id) ?? 0);
      if (free > 0) slots.set(id, free);
    }
    return slots;
  }

  private nextDueAt(): number | null {
    if (this.inFlight >= this.o.concurrency) return null;
    let earliest: number | null = null;
    for (const id of this.offeredSlots().keys()) {
      const due = this.o.storage.deliveries.nextDueAt(id);
      if (due !== null && (earliest === null || due < earliest)) earliest = due;
    }
    return earliest;
  }

  private arm(at: number | null): void {
    this.cancelTimer?.();
    this.cancelTimer = null;
    if (at === null || this.stopped) return;
    // Floor of 1 ms: something due now that was not claimable must not turn into a busy loop.
    const delay = Math.max(1, at - this.o.clock.now());
    this.cancelTimer = this.o.clock.setTimer(delay, () => {
      this.cancelTimer = null;
      this.wake();
    });
  }

  private launch(d: ClaimedDelivery): void {
    this.inFlightIds.add(d.id);
    this.inFlightByEndpoint.set(d.webhook_id, (this.inFlightByEndpoint.get(d.webhook_id) ?? 0) + 1);
    void this.run(d).finally(() => {
      this.inFlightIds.delete(d.id);
      const left = (this.inFlightByEndpoint.get(d.webhook_id) ?? 1) - 1;
      if (left > 0) this.inFlightByEndpoint.set(d.webhook_id, left);
      else this.inFlightByEndpoint.delete(d.webhook_id);
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
      if (result.ok) log.info("delivered", { ...ids, ...facts });
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
      this.completions.push({ result, done: (error) => (error === undefined ? resolve() : reject(error)) });
      if (this.completionsQueued) return;
      this.completionsQueued = true;
      setImmediate(() => this.flushCompletions());
    });
  }

  private flushCompletions(): void {
    this.completionsQueued = false;
    const batch = this.completions.splice(0);
    this.o.storage.deliveries
      .complete(batch.map((c) => c.result), this.o.clock.now(), this.o.disableAfterMs)
      .then((outcome) => {
        for (const { webhookId, reason } of outcome.disabled) {
          this.o.log.warn("webhook endpoint disabled", {
            webhook_id: webhookId,
            reason: reason === "gone" ? "answered 410 Gone" : "failing longer than disable_after",
          });
        }
        for (const c of batch) c.done();
      })
      .catch((error: unknown) => {
        for (const c of batch) c.done(error ?? new Error("recording attempts failed"));
      });
  }
}
