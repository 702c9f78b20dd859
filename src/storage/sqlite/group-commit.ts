import type { Database } from "bun:sqlite";

const BUSY_RETRY_MS = 20;

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED"));
}

interface Pending {
  op: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * GroupCommit runs write operations queued in the same turn of the event loop inside one
 * transaction, so many concurrent requests share one fsync (synchronous = FULL). Each operation
 * runs in its own savepoint: one failing operation rolls back alone; a failed COMMIT fails them all.
 * Callers' promises settle only after the COMMIT returned, i.e. once their writes are durable.
 */
export class GroupCommit {
  private queue: Pending[] = [];
  private scheduled = false;
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
  run<T>(op: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // setImmediate runs after pending I/O callbacks: requests that arrived meanwhile join this batch.
        setImmediate(() => this.flush());
      }
    });
  }

  /** flush commits everything queued now; `final` (on close) gives up at once on a held lock instead of waiting. */
  flush(final = false): void {
    this.scheduled = false;
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
          setTimeout(() => this.flush(), BUSY_RETRY_MS);
          return;
        }
        this.busySince = null;
        for (const p of this.queue.splice(0, size)) p.reject(error);
        continue;
      }
      this.commit(this.queue.splice(0, size));
    }
  }

  /**
   * commit runs a batch inside the transaction flush() began. Operations almost never fail (requests
   * are validated first), so the batch first runs without savepoints, which would cost a side journal
   * of every touched page per write; only if one throws is the transaction rolled back and the batch
   * run again with one savepoint per operation, so the failure stays its own. Operations must
   * therefore be safe to run twice (they only write through this transaction).
   */
  private commit(batch: Pending[]): void {
    let outcomes: { ok: boolean; value: unknown }[] = [];
    try {
      try {
        for (const p of batch) outcomes.push({ ok: true, value: p.op() });
      } catch {
        this.db.run("ROLLBACK");
        this.db.run("BEGIN IMMEDIATE");
        outcomes = batch.map((p) => this.isolated(p));
      }
      this.db.run("COMMIT");
    } catch (error) {
      try {
        this.db.run("ROLLBACK");
      } catch {
        // the failed COMMIT may already have rolled back
      }
      for (const p of batch) p.reject(error);
      return;
    }
    this.onBatch(batch.length);
    this.settle(batch, outcomes);
  }

  private isolated(p: Pending): { ok: boolean; value: unknown } {
    this.db.run("SAVEPOINT op");
    try {
      const value = p.op();
      this.db.run("RELEASE op");
      return { ok: true, value };
    } catch (error) {
      this.db.run("ROLLBACK TO op");
      this.db.run("RELEASE op");
      return { ok: false, value: error };
    }
  }

  private settle(batch: Pending[], outcomes: { ok: boolean; value: unknown }[]): void {
    batch.forEach((p, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) p.resolve(outcome.value);
      else p.reject(outcome.value);
    });
  }
}
