import { Database } from "bun:sqlite";
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hookdSite } from "../support/hookd-process";
import { runCli } from "../support/process";

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

describe("hookd backup", () => {
  test("during load: the copy opens, passes integrity_check and holds every event committed before it started", async () => {
    const site = hookdSite();
    const h = await site.start();
    cleanup.push(() => h.proc.kill("SIGKILL"));
    const acked: string[] = [];
    let loading = true;
    const load = (async () => {
      while (loading) {
        const batch = await Promise.all(Array.from({ length: 20 }, (_, i) => h.api("POST", "/v1/events", { type: "load.tick", data: { i } })));
        for (const a of batch) if (a.status === 202) acked.push(a.body.data.id);
      }
    })();
    while (acked.length < 300) await Bun.sleep(5);
    const before = [...acked];
    const dest = join(site.dir, "backup.db");
    const result = await runCli(["backup", "--config", join(site.dir, "hookd.toml"), dest]);
    loading = false;
    await load;
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);

    const copy = new Database(dest, { readonly: true });
    try {
      expect(copy.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
      const ids = new Set(copy.query<{ id: string }, []>("SELECT id FROM events").all().map((r) => r.id));
      for (const id of before) expect(ids.has(id)).toBe(true);
      expect(acked.length).toBeGreaterThan(before.length); // the load went on while the backup ran
    } finally {
      copy.close();
    }
  }, 30_000);

  test("refuses an existing destination (exit 1) unless --force", async () => {
    const site = hookdSite();
    const h = await site.start();
    cleanup.push(() => h.proc.kill("SIGKILL"));
    const dest = join(site.dir, "exists.db");
    writeFileSync(dest, "keep me");
    const config = join(site.dir, "hookd.toml");
    const refused = await runCli(["backup", "--config", config, dest]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("--force");
    expect(await Bun.file(dest).text()).toBe("keep me");
    const forced = await runCli(["backup", "--config", config, "--force", dest]);
    expect(forced.code).toBe(0);
    expect(new Database(dest, { readonly: true }).query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
    expect((await runCli(["backup", "--config", config])).code).toBe(2);
    // The partial file is named after the backup process, not this one: look for any.
    expect(readdirSync(site.dir).filter((name) => name.includes(".partial-"))).toEqual([]);
  });
});

describe("hookd cleanup", () => {
  test("runs retention once beside a running serve and prints what it removed", async () => {
    const site = hookdSite();
    const h = await site.start();
    cleanup.push(() => h.proc.kill("SIGKILL"));
    await h.api("POST", "/v1/events", { type: "x.y", data: {} });
    const result = await runCli(["cleanup", "--config", join(site.dir, "hookd.toml")]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("removed 0 deliveries, 0 events, 0 inbound requests, 0 idempotency keys, 0 rate-limit windows, 0 audit log entries\n");
    expect((await h.api("GET", "/v1/events")).body.data).toHaveLength(1);
  });

  test("refuses (exit 1) when [storage] path has no database, and creates none", async () => {
    const site = hookdSite();
    const dbPath = join(site.dir, "hookd.db");
    const result = await runCli(["backup", "--config", join(site.dir, "hookd.toml"), join(site.dir, "copy.db")]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`no database at ${dbPath}`);
    expect(existsSync(dbPath)).toBe(false);
    expect(existsSync(join(site.dir, "copy.db"))).toBe(false);
    const clean = await runCli(["cleanup", "--config", join(site.dir, "hookd.toml")]);
    expect({ code: clean.code, created: existsSync(dbPath) }).toEqual({ code: 1, created: false });
  });

  test("refuses (exit 1) a database on another schema version instead of migrating it under its server", async () => {
    const site = hookdSite();
    const h = await site.start();
    h.proc.kill("SIGTERM");
    expect(await h.proc.exited).toBe(0);
    const dbPath = join(site.dir, "hookd.db");
    const db = new Database(dbPath);
    const newest = db.query<{ v: number }, []>("SELECT MAX(version) AS v FROM schema_migrations").get()!.v;
    db.run("DELETE FROM schema_migrations WHERE version = ?", [newest]); // as if an older hookd made it
    db.close();
    const result = await runCli(["backup", "--config", join(site.dir, "hookd.toml"), join(site.dir, "copy.db")]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`database schema version ${newest - 1} is older than this hookd (${newest})`);
    const after = new Database(dbPath, { readonly: true });
    expect(after.query<{ v: number }, []>("SELECT MAX(version) AS v FROM schema_migrations").get()!.v).toBe(newest - 1);
    after.close();
  });
});
