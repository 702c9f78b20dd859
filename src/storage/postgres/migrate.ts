import type { SQL } from "bun";
import { one, rows } from "./client";
import { MIGRATIONS, type Migration } from "./migrations";

// Any constant shared by every hookd node: the advisory lock that serialises migrations.
const MIGRATION_LOCK = 0x686f6f6b; // "hook"

/**
 * migrate brings the schema up to this binary's under `pg_advisory_lock`, on one reserved connection
 * (the pool would hand the unlock to another session), so several nodes starting at once migrate once:
 * the others wait, then find nothing left to apply. Each step commits with its schema_migrations row.
 * A schema newer than the binary is an error (the node must not run against it).
 */
export async function migrate(pool: SQL, now: number, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  const conn = await pool.reserve();
  try {
    // Waiting for another node's migration, or a long index build, is not a stuck writer: no timeouts here.
    await conn.unsafe("SET statement_timeout = 0; SET lock_timeout = 0");
    await conn.unsafe("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
    try {
      await conn.unsafe(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`);
      const current = (await one<{ v: number | null }>(conn, "SELECT MAX(version) AS v FROM schema_migrations"))?.v ?? 0;
      const newest = migrations.at(-1)?.version ?? 0;
      if (current > newest) {
        throw new Error(`database schema version ${current} is newer than this hookd (${newest}); upgrade hookd`);
      }
      const applied: number[] = [];
      for (const m of migrations) {
        if (m.version <= current) continue;
        await conn.begin(async (tx) => {
          await tx.unsafe(m.sql);
          await rows(tx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)", [m.version, m.name, now]);
        });
        applied.push(m.version);
      }
      return applied;
    } finally {
      await conn.unsafe("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK]);
    }
  } finally {
    await conn.unsafe("RESET statement_timeout; RESET lock_timeout").catch(() => {});
    conn.release();
  }
}
