import { systemClock } from "../clock";
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
function openBesideServer(config: Config, command: string, err: (s: string) => void): Storage | null {
  try {
    return openExisting(config.storage, systemClock);
  } catch (error) {
    err(`hookd ${command}: ${(error as Error).message}\n`);
    return null;
  }
}

/** cleanupCommand runs retention once and prints what it removed. */
export async function cleanupCommand(config: Config, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const storage = openBesideServer(config, "cleanup", err);
  if (storage === null) return 1;
  try {
    const counts = await runRetention(storage, config, systemClock, createLogger("warn"));
    out(`removed: ${Object.entries(counts).map(([k, n]) => `${n} ${k}`).join(", ")}\n`);
    return 0;
  } finally {
    await storage.close();
  }
}

/** backupCommand writes a consistent copy of the database to `dest`. */
export async function backupCommand(config: Config, dest: string, force: boolean, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const storage = openBesideServer(config, "backup", err);
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
