import { Database } from "bun:sqlite";
import { chmodSync, closeSync, existsSync, fchmodSync, mkdirSync, openSync, statSync } from "node:fs";
import { dirname } from "node:path";

/**
 * makePrivateDir creates `dir` (and missing parents) mode 0700 whatever the umask; a directory that
 * already exists is left as it is (it may be the working directory or /var/lib).
 */
export function makePrivateDir(dir: string): void {
  const first = mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (first === undefined) return;
  for (let d = dir; ; d = dirname(d)) {
    chmodSync(d, 0o700);
    if (d === first || dirname(d) === d) return;
  }
}

/**
 * createPrivateFile creates an empty `path` mode 0600 whatever the umask, unless it exists. SQLite gives
 * the -wal, -shm and -journal files it makes later the mode of the database file, so they are 0600 too.
 */
export function createPrivateFile(path: string): void {
  if (existsSync(path)) return;
  const fd = openSync(path, "a", 0o600);
  try {
    fchmodSync(fd, 0o600);
  } finally {
    closeSync(fd);
  }
}

/**
 * tightenFile takes group and other access away from an existing file hookd owns: a database an
 * older release created 0644 holds whsec_ secrets, and SQLite gives new -wal/-shm files its mode.
 * A file owned by someone else (chmod fails) is left as it is.
 */
export function tightenFile(path: string): void {
  try {
    if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  } catch {
    // missing, or not ours to change
  }
}

/**
 * openDatabase opens the SQLite file with hookd's pragmas, all set here and only here; it creates the
 * file (and its directory) unless `create` is false, when a missing file is an error naming the path.
 */
export function openDatabase(path: string, busyTimeoutMs = 5000, create = true): Database {
  if (!create && path !== ":memory:" && !existsSync(path)) {
    throw new Error(`no database at ${path} ([storage] path); is this the config \`hookd serve\` uses?`);
  }
  if (path !== ":memory:") {
    makePrivateDir(dirname(path));
    createPrivateFile(path);
    for (const file of [path, `${path}-wal`, `${path}-shm`]) tightenFile(file);
  }
  const db = new Database(path, { create: true, strict: true });
  // busy_timeout first: switching to WAL itself needs a lock another process may briefly hold.
  db.run(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
  db.run("PRAGMA journal_mode = WAL");
  // FULL: an acknowledged event survives power loss, not only a process crash.
  db.run("PRAGMA synchronous = FULL");
  db.run("PRAGMA foreign_keys = ON");
  // Statement journals (savepoints, multi-row updates) stay in memory instead of spilling to a temp
  // file once a transaction passes 64 KiB; they are rebuilt from the WAL after a crash anyway.
  db.run("PRAGMA temp_store = MEMORY");
  return db;
}

/**
 * openReader opens a second, read-only connection to the same file. Reads go through it so they only
 * ever see committed rows, even while a group-commit batch on the writer is between two operations.
 */
export function openReader(path: string, busyTimeoutMs: number): Database {
  const db = new Database(path, { readonly: true, strict: true });
  db.run(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
  return db;
}

/** ServeLock keeps a second `serve` off a database one already runs on. */
export interface ServeLock {
  release(): void;
}

/**
 * acquireServeLock takes an exclusive SQLite lock on `<db>-serve.lock`. The OS drops it when the
 * process dies (even by SIGKILL), so there is no stale-pid cleanup; `backup` and `cleanup` use the
 * main database and are not blocked by it. Returns null when another process holds it.
 */
export function acquireServeLock(dbPath: string): ServeLock | null {
  if (dbPath === ":memory:") return { release() {} };
  makePrivateDir(dirname(dbPath));
  createPrivateFile(`${dbPath}-serve.lock`);
  const lock = new Database(`${dbPath}-serve.lock`, { create: true });
  // Any failure other than "busy" (unwritable, corrupt lock file) is thrown, not reported as a second serve.
  try {
    lock.run("PRAGMA busy_timeout = 0");
    lock.run("PRAGMA locking_mode = EXCLUSIVE");
    lock.run("CREATE TABLE IF NOT EXISTS holder (pid INTEGER)");
    lock.run("BEGIN EXCLUSIVE");
    lock.run("DELETE FROM holder");
    lock.run("INSERT INTO holder (pid) VALUES (?)", [process.pid]);
    lock.run("COMMIT");
  } catch (error) {
    lock.close();
    if ((error as { code?: string }).code?.startsWith("SQLITE_BUSY")) return null;
    throw error;
  }
  return { release: () => lock.close() };
}
