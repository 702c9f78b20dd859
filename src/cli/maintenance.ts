import { systemClock } from "../clock";
import { storageLocation } from "../config/storage";
import type { Config } from "../config/types";
import { runRetention } from "../jobs/retention";
import { createLogger } from "../log";
import { openBesideServer as openExisting } from "../storage/open";
import type { Storage } from "../storage/types";

// Both commands open the database beside a running `serve` (no serve lock): SQLite's own locking
// and the busy timeout keep them consistent, and each write transaction is short. They never create
// or migrate it: a wrong --config must not "back up" a fresh empty database, and a newer binary must
// not migrate the schema under an older server.

/** openBesideServer opens the existing database for a maintenance command, or says why not (null). */
async function openBesideServer(config: Config, command: string, err: (s: string) => void): Promise<Storage | null> {
  try {
    return await openExisting(config.storage, systemClock, config.server.node_id);
  } catch (error) {
    err(`hookd ${command}: ${(error as Error).message}\n`);
    return null;
  }
}

/** cleanupCommand runs retention once and prints what it removed. */
export async function cleanupCommand(config: Config, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const storage = await openBesideServer(config, "cleanup", err);
  if (storage === null) return 1;
  try {
    const counts = await runRetention(storage, config, systemClock, createLogger("warn"));
    out(`removed ${describeCounts(counts)}\n`);
    return 0;
  } finally {
    await storage.close();
  }
}

// Singular and plural of each kind of row retention removes; a kind missing here is still printed.
const KINDS: Readonly<Record<string, readonly [string, string]>> = {
  deliveries: ["delivery", "deliveries"],
  events: ["event", "events"],
  inbound: ["inbound request", "inbound requests"],
  idempotencyKeys: ["idempotency key", "idempotency keys"],
  rateWindows: ["rate-limit window", "rate-limit windows"],
  audit: ["audit log entry", "audit log entries"],
};

/** describeCounts says what retention removed in plain words: "3 deliveries, 2 events, 0 inbound requests, 1 idempotency key, …". */
export function describeCounts(counts: object): string {
  return Object.entries(counts)
    .map(([kind, n]: [string, number]) => {
      const words = kind.replace(/[A-Z]/g, (c) => ` ${c.toLowerCase()}`);
      const [one, many] = KINDS[kind] ?? [words, words];
      return `${n} ${n === 1 ? one : many}`;
    })
    .join(", ");
}

/** backupCommand writes a consistent copy of the database to `dest`. */
export async function backupCommand(config: Config, dest: string, force: boolean, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  if (config.storage.backend === "postgres") {
    // The database is the operator's PostgreSQL: its own tools make consistent, restorable dumps.
    err(`hookd backup: [storage] is PostgreSQL (${storageLocation(config.storage)}); back it up with pg_dump, e.g. pg_dump -Fc -f hookd.dump "$URL" (SPEC §12), or the backups you already run for that server\n`);
    return 2;
  }
  const storage = await openBesideServer(config, "backup", err);
  if (storage === null) return 1;
  try {
    const started = performance.now();
    await storage.maintenance.backupTo(dest, force);
    out(`backup of ${config.storage.path} written to ${dest} in ${Math.round(performance.now() - started)} ms\n`);
    return 0;
  } catch (error) {
    err(`hookd backup: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await storage.close();
  }
}
