import { AsyncResource } from "node:async_hooks";
import type { Database } from "bun:sqlite";
import { StorageUnavailableError } from "../types";
import { isBusy } from "./errors";

const BUSY_RETRY_MS = 20;

/** AfterCommit registers work to run once the operation's batch is durable (cache invalidation, wake-ups). */
export type AfterCommit = (effect: () => void) => void;

/** WriteOp is one operation of a batch; it may await only writes on the same connection. */
export type WriteOp<T> = (afterCommit: AfterCommit) => T | Promise<T>;

interface Pending {
  op: WriteOp<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

interface Outcome {
  ok: boolean;
  value: unknown;
  effects: (() => void)[];
}

/** TransactionLost: SQLite rolled the whole transaction back itself (disk full, I/O error); carries why. */
class TransactionLost extends Error {
  constructor(readonly reason: unknown) {
    super("the transaction was rolled back by SQLite");
  }
}

/**
 * GroupCommit is SQLite's one write path: operations queued in the same turn of the event loop run
 * inside one transaction, so many concurrent requests share one fsync (synchronous = FULL). Callers'
 * promises settle only after the COMMIT returned, i.e. once their writes are durable, and the
 * effects an operation registered with `afterCommit` run only then (a rolled-back op's never run).
 *
 * Cost model: operations almost never fail (requests are validated first), so a batch first runs
 * without savepoints, which would cost a side journal of every touched page per write; only if one
 * throws is the transaction rolled back and the batch run again with one savepoint per operation, so
 * the failure stays its own. Operations must therefore be safe to run twice. They are awaited one
 * after another: an `await` on this connection's statements resolves in the same macrotask, so no
 * I/O callback (another request) runs inside a batch; readers use a separate connection and never
 * see uncommitted rows. An operation must never wait for another write (it would wait for itself).
 */
export class GroupCommit {
  private queue: Pending[] = [];
  private scheduled = false;
  private running: Promise<void> | null = null;
  private closed = false;
  private busySince: number | null = null;

  /**
   * `busyDeadlineMs`: how long a batch may wait for a write lock another process holds. The wait
   * is asynchronous (BEGIN is retried on a timer), so the event loop keeps serving meanwhile.
   */
  constructor(
    private readonly db: Database,
    private readonly maxBatch = 512,
    private readonly onBatch: (size: number) => void = () => {},
    private readonly busyDeadlineMs = 5000,
  ) {}

  /** run queues `op` for the next batch and resolves with its result once the batch is durable. */
  run<T>(op: WriteOp<T>): Promise<T> {
    if (this.closed) return Promise.reject(new StorageUnavailableError("storage is closed (hookd is stopping)"));
    return new Promise<T>((resolve, reject) => {
      // Bound to the caller's async context: a batch runs every op from whichever caller started it, and
      // an op reading per-request state (the request's config snapshot) must see its own caller's.
      this.queue.push({ op: AsyncResource.bind(op) as WriteOp<unknown>, resolve: resolve as (v: unknown) => void, reject });
      this.schedule();
    });
  }

  /** close commits what is queued, waiting for a batch already running, and refuses writes after it. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.running || this.queue.length > 0) {
      if (this.running) await this.running;
      else await this.flush(true);
    }
  }

  private schedule(): void {
    if (this.scheduled || this.running) return;
    this.scheduled = true;
    // setImmediate runs after pending I/O callbacks: requests that arrived meanwhile join this batch.
    setImmediate(() => void this.flush());
  }

  /** flush commits everything queued now; `final` (on close) gives up at once on a held lock instead of waiting. */
  flush(final = false): Promise<void> {
    this.scheduled = false;
    if (this.running) return this.running;
    this.running = this.drain(final).finally(() => {
      this.running = null;
      if (this.queue.length > 0 && !this.scheduled && !this.closed) this.schedule();
    });
    return this.running;
  }

  private async drain(final: boolean): Promise<void> {
    while (this.queue.length > 0) {
      const size = Math.min(this.queue.length, this.maxBatch);
      try {
        this.db.run("BEGIN IMMEDIATE");
        this.busySince = null;
      } catch (error) {
        const now = Date.now();
        this.busySince ??= now;
        if (!final && isBusy(error) && now - this.busySince < this.busyDeadlineMs) {
          this.scheduled = true;
          setTimeout(() => void this.flush(), BUSY_RETRY_MS);
          return;
        }
        this.busySince = null;
        for (const p of this.queue.splice(0, size)) p.reject(error);
        continue;
      }
      await this.commit(this.queue.splice(0, size));
    }
  }

  private async commit(batch: Pending[]): Promise<void> {
    let outcomes: Outcome[] = [];
    try {
      let failed: Outcome | null = null;
      for (const p of batch) {
        const outcome = await this.attempt(p);
        outcomes.push(outcome);
        if (!outcome.ok) {
          failed = outcome;
          break;
        }
      }
      if (failed) {
        // SQLite rolls back by itself on some errors (SQLITE_FULL, IOERR): then the batch is lost whole.
        if (!this.db.inTransaction) throw new TransactionLost(failed.value);
        this.db.run("ROLLBACK");
        this.db.run("BEGIN IMMEDIATE");
        outcomes = [];
        for (const p of batch) outcomes.push(await this.isolated(p));
      }
      this.db.run("COMMIT");
    } catch (error) {
      if (this.db.inTransaction) this.db.run("ROLLBACK");
      const reason = error instanceof TransactionLost ? error.reason : error;
      for (const p of batch) p.reject(reason);
      return;
    }
    this.onBatch(batch.length);
    batch.forEach((p, i) => {
      const outcome = outcomes[i]!;
      if (!outcome.ok) return p.reject(outcome.value);
      for (const effect of outcome.effects) {
        try {
          effect();
        } catch {
          // An effect is a notification (cache, wake-up); the write itself is durable, so its caller still hears so.
        }
      }
      p.resolve(outcome.value);
    });
  }

  private async attempt(p: Pending): Promise<Outcome> {
    const effects: (() => void)[] = [];
    try {
      return { ok: true, value: await p.op((e) => effects.push(e)), effects };
    } catch (error) {
      return { ok: false, value: error, effects: [] };
    }
  }

  private async isolated(p: Pending): Promise<Outcome> {
    this.db.run("SAVEPOINT op");
    const outcome = await this.attempt(p);
    if (!this.db.inTransaction) throw new TransactionLost(outcome.value);
    if (!outcome.ok) this.db.run("ROLLBACK TO op");
    this.db.run("RELEASE op");
    return outcome;
  }
}
