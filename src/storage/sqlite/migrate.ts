import type { Database } from "bun:sqlite";
import { MIGRATIONS, type Migration } from "./migrations";

/** schemaVersion is the newest migration recorded in the database (0 for a database hookd never opened). */
export function schemaVersion(db: Database): number {
  const table = db.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
  if (!table?.n) return 0;
  return db.query<{ v: number | null }, []>("SELECT MAX(version) AS v FROM schema_migrations").get()?.v ?? 0;
}

/**
 * requireCurrentSchema is for commands that run beside a `serve` (backup, cleanup): they must not
 * migrate a database an older or newer server is using, so a schema that differs from this binary's is refused.
 */
export function requireCurrentSchema(db: Database, migrations: readonly Migration[] = MIGRATIONS): void {
  const current = schemaVersion(db);
  const newest = migrations.at(-1)?.version ?? 0;
  if (current > newest) throw new Error(`database schema version ${current} is newer than this hookd (${newest}); use the hookd that serves it`);
  if (current < newest) {
    throw new Error(
      `database schema version ${current} is older than this hookd (${newest}); use the hookd that serves it, or start \`hookd serve\` with this one first (it migrates at start)`,
    );
  }
}

/** migrate applies every migration newer than the database's recorded version, each in its own transaction. */
export function migrate(db: Database, now: number, migrations: readonly Migration[] = MIGRATIONS): number[] {
  db.run(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
  const current = schemaVersion(db);
  const newest = migrations.at(-1)?.version ?? 0;
  if (current > newest) {
    throw new Error(`database schema version ${current} is newer than this hookd (${newest}); upgrade hookd`);
  }
  const applied: number[] = [];
  for (const m of migrations) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.run(m.sql);
      db.run("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", [m.version, m.name, now]);
    })();
    applied.push(m.version);
  }
  return applied;
}
