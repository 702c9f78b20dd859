// Idempotency-Key answers and retention/backup: the storage contract's housekeeping (see types.ts).

/** IdempotencyBegin is the outcome of claiming an Idempotency-Key for a request. */
export type IdempotencyBegin =
  | { kind: "started" }
  | { kind: "in_progress" }
  | { kind: "mismatch" }
  | { kind: "replay"; status: number; body: string; contentType: string };

/** IdempotencyWrites stores a request's answer; called in the transaction of the change it answers. */
export interface IdempotencyWrites {
  complete(scope: string, key: string, status: number, body: string, contentType: string, now: number): Promise<void>;
}

/** IdempotencyStore remembers admin POST answers per (scope, key) for `ttlMs`. */
export interface IdempotencyStore extends IdempotencyWrites {
  /** begin claims the key atomically (two concurrent requests: one starts, the other is in_progress). */
  begin(scope: string, key: string, requestHash: string, now: number, ttlMs: number, lockMs: number): Promise<IdempotencyBegin>;
  /** release forgets a claim whose request did not finish (5xx, validation error), so a retry runs again. */
  release(scope: string, key: string): Promise<void>;
  /** releaseAbandoned lets claims left running by a process that died be retried at once (called at start). */
  releaseAbandoned(): Promise<number>;
}

/** PruneCutoffs: rows older than these times go (epoch ms). */
export interface PruneCutoffs {
  now: number;
  deliveriesBefore: number;
  eventsBefore: number;
  inboundBefore: number;
  rateWindowsBefore: number;
  /** auditBefore: audit entries older than this go (`[retention] audit`). */
  auditBefore: number;
}

/** PruneCounts says how many rows of each kind retention removed. */
export interface PruneCounts {
  deliveries: number;
  events: number;
  inbound: number;
  idempotencyKeys: number;
  rateWindows: number;
  audit: number;
}

/** MaintenanceStore is retention and backup. */
export interface MaintenanceStore {
  /** prune deletes finished deliveries (with attempts), events owed nothing, inbound records, expired keys and windows, in batches. */
  prune(cutoffs: PruneCutoffs, batch?: number): Promise<PruneCounts>;
  /** backupTo writes a consistent copy of the database to `dest` while others keep writing. */
  backupTo(dest: string, overwrite: boolean): Promise<void>;
}
