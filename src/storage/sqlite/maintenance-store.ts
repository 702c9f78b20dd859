import type { Database } from "bun:sqlite";
import { existsSync, renameSync, rmSync } from "node:fs";
import type { MaintenanceStore, PruneCutoffs, PruneCounts } from "../types";

/** sqliteMaintenanceStore: retention in small batches (ingest waits at most one batch), and online backup. */
export function sqliteMaintenanceStore(db: Database): MaintenanceStore {
  const finishedDeliveries = db.query(
    `DELETE FROM deliveries WHERE id IN (
       SELECT id FROM deliveries WHERE status IN ('delivered', 'expired') AND created_at < ? AND lease_until IS NULL LIMIT ?)`,
  );
  // An event still owed a delivery is kept whatever its age: retention never drops unfinished work.
  const oldEvents = db.query(
    `DELETE FROM events WHERE id IN (
       SELECT e.id FROM events e WHERE e.created_at < ?
         AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.next_attempt_at IS NOT NULL)
       LIMIT ?)`,
  );
  const oldInbound = db.query("DELETE FROM inbound WHERE id IN (SELECT id FROM inbound WHERE received_at < ? LIMIT ?)");
  const expiredKeys = db.query(
    "DELETE FROM idempotency_keys WHERE rowid IN (SELECT rowid FROM idempotency_keys WHERE expires_at < ? LIMIT ?)",
  );
  const oldWindows = db.query(
    "DELETE FROM rate_windows WHERE rowid IN (SELECT rowid FROM rate_windows WHERE window_start < ? LIMIT ?)",
  );

  const drain = async (statement: { run(a: number, b: number): { changes: number } }, cutoff: number, batch: number) => {
    let total = 0;
    for (;;) {
      const n = db.transaction(() => statement.run(cutoff, batch).changes)();
      total += n;
      if (n < batch) return total;
      // Let queued requests and their group commits run between batches.
      await new Promise((resolve) => setImmediate(resolve));
    }
  };

  return {
    async prune(c: PruneCutoffs, batch = 500): Promise<PruneCounts> {
      // Deliveries first: their attempts go with them (ON DELETE CASCADE), and events then have none left.
      const deliveries = await drain(finishedDeliveries, c.deliveriesBefore, batch);
      const events = await drain(oldEvents, c.eventsBefore, batch);
      const inbound = await drain(oldInbound, c.inboundBefore, batch);
      const idempotencyKeys = await drain(expiredKeys, c.now, batch);
      const rateWindows = await drain(oldWindows, c.rateWindowsBefore, batch);
      return { deliveries, events, inbound, idempotencyKeys, rateWindows };
    },
    backupTo(dest: string, overwrite: boolean): void {
      if (existsSync(dest) && !overwrite) throw new Error(`${dest} exists; pass --force to overwrite it`);
      // VACUUM INTO writes a consistent snapshot (one read transaction) without blocking writers in WAL
      // mode; writing beside the target and renaming means a failed backup never leaves a torn file.
      const partial = `${dest}.partial-${process.pid}`;
      rmSync(partial, { force: true });
      try {
        db.run("VACUUM INTO ?", [partial]);
        renameSync(partial, dest);
      } catch (error) {
        rmSync(partial, { force: true });
        throw error;
      }
    },
  };
}
