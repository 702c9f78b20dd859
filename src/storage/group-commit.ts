import type { Database } from "bun:sqlite";

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

  constructor(
    private readonly db: Database,
    private readonly maxBatch = 512,
    private readonly onBatch: (size: number) => void = () => {},
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

  /** flush commits everything queued now; also called on close so nothing queued is dropped. */
  flush(): void {
    this.scheduled = false;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.commit(batch);
    }
  }

  private commit(batch: Pending[]): void {
    const outcomes: { ok: boolean; value: unknown }[] = [];
    try {
      this.db.run("BEGIN IMMEDIATE");
    } catch (error) {
      for (const p of batch) p.reject(error);
      return;
    }
    try {
      for (const p of batch) {
        this.db.run("SAVEPOINT op");
        try {
          outcomes.push({ ok: true, value: p.op() });
          this.db.run("RELEASE op");
        } catch (error) {
          this.db.run("ROLLBACK TO op");
          this.db.run("RELEASE op");
          outcomes.push({ ok: false, value: error });
        }
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
    batch.forEach((p, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) p.resolve(outcome.value);
      else p.reject(outcome.value);
    });
  }
}
