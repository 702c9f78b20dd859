import type { Database } from "bun:sqlite";
import { SQL } from "bun";
import { migrate as migratePostgres } from "./postgres/migrate";
import { MIGRATIONS } from "./postgres/migrations";
import { openSqliteExclusive } from "./open";
import { LANE_WAITING } from "./types";

/** CopyRefusedError: copy-storage will not run (serve holds the SQLite database, or the target holds hookd data): exit 1. */
export class CopyRefusedError extends Error {
  override readonly name = "CopyRefusedError";
}

/** CopyHooks let the command report as it goes: `progress` while a table is copied, `copied` once it is. */
export interface CopyHooks {
  progress?(table: string, done: number, total: number): void;
  copied?(table: string, rows: number): void;
}

/** CopyResult is what one run copied: rows per table in copy order, and how many leases it cleared. */
export interface CopyResult {
  readonly tables: readonly { readonly table: string; readonly rows: number }[];
  readonly leasesCleared: number;
}

// PostgreSQL takes at most 65535 parameters per statement; rows go in batches well below that.
const MAX_PARAMS = 30_000;
const MAX_BATCH_ROWS = 1000;

/**
 * copySqliteToPostgres copies every row of the SQLite database at `path` into the empty PostgreSQL
 * database at `url` (SPEC §12): it holds the SQLite serve lock throughout (no `serve` may write
 * meanwhile), migrates the PostgreSQL schema, then copies in ONE transaction, so a failed run leaves
 * nothing behind and can simply be rerun. Ids and timestamps are kept; leases are cleared (a leased
 * delivery is due at `now`, as a restarted `serve` would make it) and the per-endpoint ready rows
 * recomputed. A target that already holds hookd rows is refused.
 */
export async function copySqliteToPostgres(path: string, url: string, now: number, hooks: CopyHooks = {}): Promise<CopyResult> {
  const source = openSqliteExclusive(path);
  if (source === null) throw new CopyRefusedError(`hookd serve is running on ${path}; stop it first (copy-storage needs the database to itself)`);
  try {
    return await copyInto(source.db, url, now, hooks);
  } finally {
    source.close();
  }
}

async function copyInto(source: Database, url: string, now: number, hooks: CopyHooks): Promise<CopyResult> {
  const pg = new SQL({ url, max: 1 });
  try {
    await migratePostgres(pg, now);
    // One read transaction: every table is read from the same snapshot, even with a cleanup running beside.
    source.run("BEGIN");
    try {
      const tables = copyOrder(source);
      const targetColumns = await postgresColumns(pg, hookdTables());
      for (const table of tables) {
        if (!targetColumns.has(table)) throw new Error(`table ${table} has no PostgreSQL counterpart; this hookd's two schemas disagree`);
      }
      return await pg.begin(async (tx) => {
        // Nothing else may write these tables until the copy commits (a `serve` started on the url meanwhile waits).
        await tx.unsafe(`LOCK TABLE ${[...targetColumns.keys()].map(quote).join(", ")} IN SHARE ROW EXCLUSIVE MODE`);
        await refuseIfHoldsData(tx, [...targetColumns.keys()]);
        const copied: { table: string; rows: number }[] = [];
        for (const table of tables) {
          const rows = await copyTable(source, tx, table, targetColumns.get(table)!, hooks);
          copied.push({ table, rows });
          hooks.copied?.(table, rows);
        }
        const leasesCleared = await clearLeases(tx, now);
        if (targetColumns.has("inbound_dedupe")) await fillInboundDedupe(tx);
        return { tables: copied, leasesCleared };
      });
    } finally {
      source.run("ROLLBACK");
    }
  } finally {
    await pg.close();
  }
}

/** copyOrder lists the SQLite tables hookd keeps, each after the tables its foreign keys point at. */
function copyOrder(db: Database): string[] {
  const names = db
    .query<{ name: string }, []>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations' ORDER BY name")
    .all()
    .map((r) => r.name);
  const parents = new Map(names.map((n) => [n, db.query<{ table: string }, []>(`PRAGMA foreign_key_list(${quote(n)})`).all().map((f) => f.table)]));
  const ordered: string[] = [];
  const visit = (name: string, seen: Set<string>) => {
    if (ordered.includes(name) || seen.has(name)) return;
    seen.add(name);
    for (const parent of parents.get(name) ?? []) if (parent !== name) visit(parent, seen);
    ordered.push(name);
  };
  for (const name of names) visit(name, new Set());
  return ordered;
}

/** hookdTables are the tables the PostgreSQL migrations create: only those are locked, checked and filled (the database may hold others). */
function hookdTables(): string[] {
  const created = new Set<string>();
  for (const m of MIGRATIONS) {
    for (const [, name] of m.sql.matchAll(/CREATE TABLE (?:IF NOT EXISTS )?"?(\w+)/gi)) created.add(name!);
    for (const [, name] of m.sql.matchAll(/DROP TABLE (?:IF EXISTS )?"?(\w+)/gi)) created.delete(name!);
  }
  return [...created];
}

async function postgresColumns(pg: SQL, tables: readonly string[]): Promise<Map<string, Set<string>>> {
  const rows = (await pg.unsafe(
    `SELECT table_name, column_name FROM information_schema.columns
     WHERE table_schema = current_schema() AND table_name IN (${tables.map((t) => `'${t.replaceAll("'", "''")}'`).join(", ")})
     ORDER BY table_name, ordinal_position`,
  )) as { table_name: string; column_name: string }[];
  const out = new Map<string, Set<string>>();
  for (const r of rows) {
    if (!out.has(r.table_name)) out.set(r.table_name, new Set());
    out.get(r.table_name)!.add(r.column_name);
  }
  return out;
}

async function refuseIfHoldsData(tx: SQL, tables: readonly string[]): Promise<void> {
  const held: string[] = [];
  for (const table of tables) {
    const [row] = (await tx.unsafe(`SELECT COUNT(*)::int AS n FROM ${quote(table)}`)) as { n: number }[];
    if ((row?.n ?? 0) > 0) held.push(`${table}: ${row!.n} rows`);
  }
  if (held.length > 0) {
    throw new CopyRefusedError(`the PostgreSQL database already holds hookd data (${held.join(", ")}); copy-storage only fills an empty database`);
  }
}

async function copyTable(source: Database, tx: SQL, table: string, target: ReadonlySet<string>, hooks: CopyHooks): Promise<number> {
  const columns = source.query<{ name: string }, []>(`PRAGMA table_info(${quote(table)})`).all().map((c) => c.name);
  const missing = columns.filter((c) => !target.has(c));
  if (missing.length > 0) throw new Error(`${table}.${missing[0]} has no PostgreSQL column; this hookd's two schemas disagree`);
  const total = source.query<{ n: number }, []>(`SELECT COUNT(*) AS n FROM ${quote(table)}`).get()?.n ?? 0;
  const perBatch = Math.max(1, Math.min(MAX_BATCH_ROWS, Math.floor(MAX_PARAMS / columns.length)));
  const select = source.query<Record<string, unknown>, []>(`SELECT ${columns.map(quote).join(", ")} FROM ${quote(table)}`);
  let batch: unknown[][] = [];
  let done = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const values = batch.map((_, r) => `(${columns.map((_, c) => `$${r * columns.length + c + 1}`).join(", ")})`).join(", ");
    await tx.unsafe(`INSERT INTO ${quote(table)} (${columns.map(quote).join(", ")}) VALUES ${values}`, batch.flat() as never[]);
    done += batch.length;
    batch = [];
    hooks.progress?.(table, done, total);
  };
  for (const row of select.iterate()) {
    batch.push(columns.map((c) => row[c] ?? null));
    if (batch.length >= perBatch) await flush();
  }
  await flush();
  return done;
}

// A lease names a process of the old installation: the delivery is due now instead (what a restarted
// `serve` does at start), and no endpoint counts anything in flight.
async function clearLeases(tx: SQL, now: number): Promise<number> {
  const cleared = (await tx.unsafe(
    "UPDATE deliveries SET lease_until = NULL, lease_owner = NULL, next_attempt_at = $1 WHERE lease_until IS NOT NULL",
    [now],
  )) as { count?: number | null };
  // Deliveries waiting behind a FIFO lane's head (LANE_WAITING) are not due; a rate limit's pacing carries over.
  const due = `(SELECT MIN(d.next_attempt_at) FROM deliveries d
    WHERE d.webhook_id = delivery_queues.webhook_id AND d.next_attempt_at IS NOT NULL AND d.next_attempt_at < ${LANE_WAITING})`;
  await tx.unsafe("UPDATE delivery_queues SET in_flight = 0, served_at = LEAST(served_at, $1)", [now]);
  await tx.unsafe(
    `UPDATE delivery_queues SET next_due_at = ${due},
       ready_at = CASE WHEN in_flight < max_in_flight AND ${due} IS NOT NULL THEN GREATEST(${due}, served_at, paced_until) END`,
  );
  return cleared.count ?? 0;
}

// PostgreSQL keeps inbound dedupe on a unique key of its own (SQLite reads it off `inbound`): the latest
// accepted request per (source, key) is what a repeat within the window is answered from.
async function fillInboundDedupe(tx: SQL): Promise<void> {
  await tx.unsafe(
    `INSERT INTO inbound_dedupe (source, dedupe_key, event_id, body_hash, received_at)
     SELECT DISTINCT ON (source, dedupe_key) source, dedupe_key, COALESCE(event_id, ''), COALESCE(body_hash, ''), received_at
     FROM inbound WHERE status = 'accepted' AND dedupe_key IS NOT NULL
     ORDER BY source, dedupe_key, received_at DESC`,
  );
}

function quote(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
