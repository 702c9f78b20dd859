import { AsyncResource } from "node:async_hooks";
import type { SQL, TransactionSQL } from "bun";
import { StorageUnavailableError } from "../types";
import type { Db } from "./client";
import { isOutage, toStorageError } from "./errors";

/** AfterCommit registers work to run once the operation's batch has committed (cache invalidation, wake-ups). */
export type AfterCommit = (effect: () => void) => void;

/** WriteOp is one operation of a batch: it runs its statements on `db`, the batch's transaction, one after another. */
export type WriteOp<T> = (db: Db, afterCommit: AfterCommit) => Promise<T>;

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

/** OpFailed carries the first failing operation out of a transaction so that it rolls back. */
class OpFailed extends Error {}

/**
 * GroupCommit is the PostgreSQL write path, the same shape as SQLite's: operations queued in the
 * same turn of the event loop share one transaction (one COMMIT, one WAL flush on the server, one
 * round of BEGIN/COMMIT trips), and each caller's promise settles only after COMMIT returned; effects
 * registered with `afterCommit` run only then.
 *
 * Cost model: a batch first runs without savepoints (each would be one more round trip per
 * operation). If one operation throws, PostgreSQL has aborted the transaction anyway: it is rolled
 * back and the batch run again in a new one with one SAVEPOINT per operation (`tx.savepoint`), so the
 * failure rolls back alone. Operations must therefore be safe to run twice, as on SQLite. They run
 * one after another on the transaction's connection; reads use the pool and see only committed rows.
 * One batch runs at a time per process; other nodes' batches are other transactions.
 */
export class GroupCommit {
  private queue: Pending[] = [];
  private scheduled = false;
  private running: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly sql: SQL,
    private readonly maxBatch = 512,
    private readonly onBatch: (size: number) => void = () => {},
  ) {}

  /** run queues `op` for the next batch and resolves with its result once the batch committed. */
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
      else await this.flush();
    }
  }

  private schedule(): void {
    if (this.scheduled || this.running) return;
    this.scheduled = true;
    setImmediate(() => void this.flush());
  }

  private flush(): Promise<void> {
    this.scheduled = false;
    if (this.running) return this.running;
    this.running = this.drain().finally(() => {
      this.running = null;
      if (this.queue.length > 0 && !this.scheduled && !this.closed) this.schedule();
    });
    return this.running;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) await this.commit(this.queue.splice(0, Math.min(this.queue.length, this.maxBatch)));
  }

  private async commit(batch: Pending[]): Promise<void> {
    let outcomes: Outcome[] = [];
    try {
      try {
        await this.sql.begin(async (tx) => {
          outcomes = [];
          for (const p of batch) {
            const outcome = await attempt(p, tx as unknown as Db);
            outcomes.push(outcome);
            if (!outcome.ok) throw new OpFailed();
          }
        });
      } catch (error) {
        if (!(error instanceof OpFailed)) throw error;
        // One operation failed: the others run again, each inside its own savepoint.
        await this.sql.begin(async (tx) => {
          outcomes = [];
          for (const p of batch) outcomes.push(await isolated(p, tx));
        });
      }
    } catch (error) {
      const reason = toStorageError(error);
      for (const p of batch) p.reject(reason);
      return;
    }
    this.onBatch(batch.length);
    batch.forEach((p, i) => {
      const outcome = outcomes[i]!;
      if (!outcome.ok) return p.reject(toStorageError(outcome.value));
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
}

async function attempt(p: Pending, db: Db): Promise<Outcome> {
  const effects: (() => void)[] = [];
  try {
    return { ok: true, value: await p.op(db, (e) => effects.push(e)), effects };
  } catch (error) {
    return { ok: false, value: error, effects: [] };
  }
}

// A savepoint rejects with the operation's error after rolling back to it; an outage (the connection
// gone) fails the savepoint statements themselves and so the whole transaction.
async function isolated(p: Pending, tx: TransactionSQL): Promise<Outcome> {
  let outcome: Outcome = { ok: false, value: null, effects: [] };
  try {
    await tx.savepoint(async (sp) => {
      outcome = await attempt(p, sp as unknown as Db);
      if (!outcome.ok) throw outcome.value;
    });
  } catch (error) {
    if (outcome.ok || isOutage(error)) throw error;
  }
  return outcome;
}
