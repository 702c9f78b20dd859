import type { Database } from "bun:sqlite";
import { chmodSync, existsSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname } from "node:path";
import type { PruneCounts, PruneCutoffs } from "../types";
import type { GroupCommit } from "./group-commit";
import { createPrivateFile } from "./open";

/**
 * sqliteMaintenance: retention in small batches through the group commit (ingest waits at most one
 * batch, and there is one write path), and online backup off the read connection.
 */
export function sqliteMaintenance(writer: Database, reader: Database, commits: GroupCommit) {
  const finishedDeliveries = writer.query(
    `DELETE FROM deliveries WHERE id IN (
       SELECT id FROM deliveries WHERE status IN ('delivered', 'expired') AND created_at < ? AND lease_until IS NULL LIMIT ?)`,
  );
  // An event still owed a delivery is kept whatever its age: retention never drops unfinished work.
  const oldEvents = writer.query(
    `DELETE FROM events WHERE id IN (
       SELECT e.id FROM events e WHERE e.created_at < ?
         AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.next_attempt_at IS NOT NULL)
       LIMIT ?)`,
  );
  // A lane idle since before the cutoff (its head finished or pruned) is forgotten; it starts again at 1.
  const idleLanes = writer.query(
    `DELETE FROM delivery_lanes WHERE (webhook_id, lane) IN (
       SELECT l.webhook_id, l.lane FROM delivery_lanes l LEFT JOIN deliveries d ON d.id = l.active_id
       WHERE l.updated_at < ? AND (d.id IS NULL OR d.next_attempt_at IS NULL) LIMIT ?)`,
  );
  const oldInbound = writer.query("DELETE FROM inbound WHERE id IN (SELECT id FROM inbound WHERE received_at < ? LIMIT ?)");
  const expiredKeys = writer.query(
    "DELETE FROM idempotency_keys WHERE rowid IN (SELECT rowid FROM idempotency_keys WHERE expires_at < ? LIMIT ?)",
  );
  const oldWindows = writer.query("DELETE FROM rate_windows WHERE rowid IN (SELECT rowid FROM rate_windows WHERE window_start < ? LIMIT ?)");
  const oldAudit = writer.query("DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE time < ? LIMIT ?)");
  const drain = async (statement: { run(a: number, b: number): { changes: number } }, cutoff: number, batch: number) => {
    let total = 0;
    for (;;) {
      const n = await commits.run(() => statement.run(cutoff, batch).changes);
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
      await drain(idleLanes, c.deliveriesBefore, batch);
      const events = await drain(oldEvents, c.eventsBefore, batch);
      const inbound = await drain(oldInbound, c.inboundBefore, batch);
      const idempotencyKeys = await drain(expiredKeys, c.now, batch);
      const rateWindows = await drain(oldWindows, c.rateWindowsBefore, batch);
      const audit = await drain(oldAudit, c.auditBefore, batch);
      return { deliveries, events, inbound, idempotencyKeys, rateWindows, audit };
    },
    async backupTo(dest: string, overwrite: boolean): Promise<void> {
      if (existsSync(dest) && !overwrite) throw new Error(`${dest} exists; pass --force to overwrite it`);
      const dir = dirname(dest);
      if (!existsSync(dir)) throw new Error(`cannot write ${dest}: the directory ${dir} does not exist (create it first)`);
      if (!statSync(dir).isDirectory()) throw new Error(`cannot write ${dest}: ${dir} is not a directory`);
      // VACUUM INTO writes a consistent snapshot (one read transaction) without blocking writers in WAL
      // mode; writing beside the target and renaming means a failed backup never leaves a torn file.
      const partial = `${dest}.partial-${process.pid}`;
      rmSync(partial, { force: true });
      try {
        // The copy holds every secret the database does: it is made 0600 before SQLite writes into it
        // (VACUUM INTO accepts an empty file), whatever the umask.
        createPrivateFile(partial);
        reader.run("VACUUM INTO ?", [partial]);
        chmodSync(partial, 0o600);
        renameSync(partial, dest);
      } catch (error) {
        rmSync(partial, { force: true });
        throw error;
      }
    },
  };
}
