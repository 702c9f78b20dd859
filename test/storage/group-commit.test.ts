import { AsyncLocalStorage } from "node:async_hooks";
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { GroupCommit } from "../../src/storage/sqlite/group-commit";

function setup() {
  const db = new Database(":memory:");
  db.run("PRAGMA foreign_keys = ON");
  db.run("CREATE TABLE parent (id INTEGER PRIMARY KEY)");
  db.run("CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)");
  db.run("CREATE TABLE t (n INTEGER NOT NULL UNIQUE)");
  const batches: number[] = [];
  return { db, commits: new GroupCommit(db, 512, (n) => batches.push(n)), batches };
}
const count = (db: Database, table: string) => db.query<{ n: number }, []>(`SELECT COUNT(*) AS n FROM ${table}`).get()!.n;

describe("GroupCommit", () => {
  test("each operation runs in its own caller's async context, though one batch runs them all", async () => {
    const { commits, batches } = setup();
    // As a request's config snapshot is bound (src/config/live.ts): an op must not see the batch starter's.
    const requestScope = new AsyncLocalStorage<string>();
    const seen = await Promise.all(["first", "second", "third"].map((name) => requestScope.run(name, () => commits.run(() => requestScope.getStore()))));
    expect(seen).toEqual(["first", "second", "third"]);
    expect(batches).toEqual([3]);
  });

  test("operations queued in one turn share one commit and each gets its own result", async () => {
    const { db, commits, batches } = setup();
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => commits.run(() => db.run("INSERT INTO t (n) VALUES (?)", [i]).changes + i)));
    expect(results).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(batches).toEqual([50]);
    expect(count(db, "t")).toBe(50);
  });

  test("a failing operation is rejected alone; the others commit once each", async () => {
    const { db, commits, batches } = setup();
    const ops = [1, 2, 2, 3].map((n) => commits.run(() => db.run("INSERT INTO t (n) VALUES (?)", [n])));
    const settled = await Promise.allSettled(ops);
    expect(settled.map((s) => s.status)).toEqual(["fulfilled", "fulfilled", "rejected", "fulfilled"]);
    expect(db.query("SELECT n FROM t ORDER BY n").all()).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(batches).toEqual([4]);
  });

  test("a failed COMMIT rejects every operation of the batch and keeps none of them", async () => {
    const { db, commits, batches } = setup();
    db.run("INSERT INTO parent (id) VALUES (1)");
    const ok = commits.run(() => db.run("INSERT INTO child (id, parent) VALUES (1, 1)"));
    const orphan = commits.run(() => db.run("INSERT INTO child (id, parent) VALUES (2, 99)")); // fails only at COMMIT
    const settled = await Promise.allSettled([ok, orphan]);
    expect(settled.map((s) => s.status)).toEqual(["rejected", "rejected"]);
    expect(count(db, "child")).toBe(0);
    expect(batches).toEqual([]);
    await commits.run(() => db.run("INSERT INTO child (id, parent) VALUES (3, 1)"));
    expect(count(db, "child")).toBe(1);
  });

  test("maxBatch 1 commits every operation on its own (group commit off)", async () => {
    const db = new Database(":memory:");
    db.run("CREATE TABLE t (n INTEGER)");
    const batches: number[] = [];
    const commits = new GroupCommit(db, 1, (n) => batches.push(n));
    await Promise.all([1, 2, 3].map((n) => commits.run(() => db.run("INSERT INTO t (n) VALUES (?)", [n]))));
    expect(batches).toEqual([1, 1, 1]);
  });

  test("close waits for a batch already running and commits everything queued before it", async () => {
    const db = new Database(":memory:");
    db.run("CREATE TABLE t (n INTEGER)");
    const commits = new GroupCommit(db, 4);
    const ops = Array.from({ length: 12 }, (_, i) => commits.run(() => db.run("INSERT INTO t (n) VALUES (?)", [i])));
    await ops[0]; // the first batch is durable; the second is running now
    await commits.close();
    db.close(); // must not cut a batch short
    expect((await Promise.allSettled(ops)).map((s) => s.status)).toEqual(Array(12).fill("fulfilled"));
    await expect(commits.run(() => 1)).rejects.toThrow("storage is closed");
  });

  test("a transaction SQLite rolled back itself (disk full) fails its batch with that error, not a rollback error", async () => {
    const db = new Database(":memory:");
    db.run("CREATE TABLE t (n INTEGER, pad TEXT)");
    db.run("PRAGMA cache_size = 10");
    const pages = db.query<{ page_count: number }, []>("PRAGMA page_count").get()!.page_count;
    db.run(`PRAGMA max_page_count = ${pages + 20}`);
    const commits = new GroupCommit(db, 512);
    const small = () => commits.run(() => db.run("INSERT INTO t VALUES (1, 'x')"));
    const big = commits.run(() => db.run("INSERT INTO t VALUES (2, ?)", ["y".repeat(4096 * 200)]));
    const settled = await Promise.allSettled([small(), big, small()]);
    expect(settled.map((s) => (s.status === "rejected" ? (s.reason as { code?: string }).code : "ok"))).toEqual(["SQLITE_FULL", "SQLITE_FULL", "SQLITE_FULL"]);
    expect(db.inTransaction).toBe(false);
    await small(); // the next batch works again once there is room
    expect(count(db, "t")).toBe(1);
  });
});
