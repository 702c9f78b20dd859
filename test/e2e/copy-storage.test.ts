import { Database } from "bun:sqlite";
import { SQL } from "bun";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { hostname } from "node:os";
import { join } from "node:path";
import { hookdSite, type HookdSite } from "../support/hookd-process";
import { type PgCluster, startPgCluster } from "../support/postgres";
import { CLI, runCli, tempConfig, waitFor } from "../support/process";
import { type Receiver, startReceiver } from "../support/receiver";

// hookd copy-storage (SPEC §1, §12): moves a stopped SQLite installation into an empty PostgreSQL database.

const PW = "copy-Passw0rd-never-shown";
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

describe("hookd copy-storage: bad usage is exit 2 with one line, never echoing the URL", () => {
  test.each([
    [[], {}, "needs the PostgreSQL database to copy into"],
    [["postgres://a@h/x", "postgres://b@h/y"], {}, "takes one PostgreSQL URL"],
    [[`postgres://hookd:${PW}@db/hookd`, "--url-env", "HOOKD_DB"], { HOOKD_DB: "postgres://db/x" }, "a URL or --url-env NAME, not both"],
    [[`mysql://hookd:${PW}@db/hookd`], {}, "must start with postgres:// or postgresql://"],
    [[`postgres://hookd:${PW}@db:5432`], {}, "names no database"],
    [["--url-env", "HOOKD_UNSET_FOR_TEST"], {}, "environment variable HOOKD_UNSET_FOR_TEST is not set or empty"],
    [["--url-env", "HOOKD_DB"], { HOOKD_DB: `https://hookd:${PW}@db/x` }, "$HOOKD_DB must start with postgres://"],
    [["--url-env", "BAD-NAME"], {}, '"BAD-NAME" is not an environment variable name'],
    [["--url-env"], {}, "--url-env needs the name of an environment variable"],
  ])("%j", async (args, env: Record<string, string>, problem) => {
    const r = await runCli(["copy-storage", ...args], { env });
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain(problem);
    expect(r.stderr + r.stdout).not.toContain(PW);
  });

  test("--url-env is refused on other commands", async () => {
    const r = await runCli(["cleanup", "--url-env", "X"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--url-env is only for copy-storage");
  });

  test("a config whose [storage] is already PostgreSQL is exit 2: there is no SQLite database to copy", async () => {
    const c = tempConfig(`[storage]\nurl = "postgres://hookd:${PW}@db.internal/hookd"\n`);
    const r = await runCli(["copy-storage", "--config", c.path, "postgres://hookd@db.internal/other"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("this config's [storage] is PostgreSQL");
    expect(r.stderr).not.toContain(PW);
  });
});

describe("hookd copy-storage beside a running serve", () => {
  test("refuses (exit 1) while serve holds the SQLite database, before connecting anywhere", async () => {
    const site = hookdSite();
    const h = await site.start();
    cleanup.push(() => h.proc.kill("SIGKILL"));
    // Nothing listens on port 1: a refusal that got as far as connecting would say so instead.
    const r = await runCli(["copy-storage", "--config", join(site.dir, "hookd.toml"), `postgres://hookd:${PW}@127.0.0.1:1/hookd`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("hookd serve is running on");
    expect(r.stderr).toContain("stop it first");
    expect(r.stderr + r.stdout).not.toContain(PW);
    expect((await h.api("GET", "/v1/webhooks")).status).toBe(200); // serve is untouched
  });

  test("refuses (exit 1) when [storage] path has no database", async () => {
    const c = tempConfig("");
    const db = join(c.dir, "none.db");
    Bun.write(c.path, `[storage]\npath = ${JSON.stringify(db)}\n`);
    const r = await runCli(["copy-storage", "--config", c.path, "postgres://hookd@127.0.0.1:1/hookd"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`no database at ${db}`);
  });
});

// The rest needs PostgreSQL: a throwaway cluster of our own (test/support/postgres.ts), skipped without binaries.
let cluster: PgCluster | null = null;
let skipped = "";
beforeAll(async () => {
  const started = await startPgCluster();
  if (typeof started === "string") skipped = started;
  else cluster = started;
}, 90_000);
afterAll(async () => {
  await cluster?.stop();
});

/** installation is a stopped SQLite hookd with endpoints, delivered history, pending retries and a lease left by a SIGKILL. */
async function installation(): Promise<{ site: HookdSite; receiver: Receiver; port: number }> {
  const receiver = startReceiver((request) => {
    const path = new URL(request.url).pathname;
    if (path === "/down") return new Response("down", { status: 500 });
    if (path === "/hang") return new Promise<Response>(() => {});
    return new Response("ok");
  });
  cleanup.push(() => receiver.stop());
  const site = hookdSite({ delivery: 'require_https = false\nallow_targets = ["127.0.0.0/8"]\nretry_schedule = ["1h"]' });
  const h = await site.start();
  for (const path of ["ok", "down", "hang"]) {
    expect((await h.api("POST", "/v1/webhooks", { url: `${receiver.url}/${path}`, events: [`copy.${path}`] })).status).toBe(201);
  }
  for (const path of ["ok", "ok", "down", "hang"]) await h.api("POST", "/v1/events", { type: `copy.${path}`, data: { path } });
  await waitFor(() => receiver.started >= 4, 10_000, "every delivery attempted once");
  await waitFor(() => receiver.requests.length >= 3, 10_000, "the ok and down attempts recorded");
  await Bun.sleep(200); // let the attempts' results commit
  h.proc.kill("SIGKILL"); // the /hang delivery keeps its lease in the database
  await h.proc.exited;
  return { site, receiver, port: Number(new URL(h.url).port) };
}

function sqliteCounts(path: string): Record<string, number> {
  const db = new Database(path, { readonly: true });
  try {
    const tables = db.query<{ name: string }, []>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations'").all();
    return Object.fromEntries(tables.map(({ name }) => [name, db.query<{ n: number }, []>(`SELECT COUNT(*) AS n FROM "${name}"`).get()!.n]));
  } finally {
    db.close();
  }
}

describe("hookd copy-storage into PostgreSQL", () => {
  test("copies every table with ids and timestamps kept and leases cleared, prints row counts, then refuses to copy twice", async () => {
    if (cluster === null) return console.warn(skipped);
    const { site, port } = await installation();
    const config = join(site.dir, "hookd.toml");
    const dbPath = join(site.dir, "hookd.db");
    // The lease the killed serve left carries its node id ([server] node_id's default: host name and port).
    const before = new Database(dbPath, { readonly: true });
    const owners = before.query<{ lease_owner: string }, []>("SELECT lease_owner FROM deliveries WHERE lease_until IS NOT NULL").all();
    before.close();
    expect(owners).toHaveLength(1);
    expect(owners[0]!.lease_owner).toStartWith(`${hostname()}:${port} `);
    const url = await cluster.createDatabase("copy_once");
    const counts = sqliteCounts(dbPath);
    expect(counts.deliveries).toBe(4);

    const r = await runCli(["copy-storage", "--config", config, "--url-env", "HOOKD_TARGET"], { env: { HOOKD_TARGET: url } });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    for (const [table, n] of Object.entries(counts)) expect(r.stdout).toMatch(new RegExp(`^  ${table} +${n} rows?$`, "m"));
    expect(r.stdout).toContain("1 leased delivery is due again now");

    const pg = new SQL({ url, max: 1 });
    cleanup.push(() => pg.close());
    const sqlite = new Database(dbPath, { readonly: true });
    cleanup.push(() => sqlite.close());
    for (const table of ["webhooks", "events", "deliveries", "attempts"]) {
      const want = sqlite.query<Record<string, unknown>, []>(`SELECT * FROM ${table} ORDER BY id`).all();
      const got = (await pg.unsafe(`SELECT * FROM ${table} ORDER BY id`)) as Record<string, unknown>[];
      const plain = (rows: Record<string, unknown>[]) =>
        rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === "bigint" || (typeof v === "string" && /^\d{12,}$/.test(v)) ? Number(v) : v])));
      if (table !== "deliveries") expect(plain(got)).toEqual(plain(want));
      else expect(got.map((d) => d.id)).toEqual(want.map((d) => d.id));
    }
    const leased = (await pg.unsafe("SELECT COUNT(*)::int AS n FROM deliveries WHERE lease_until IS NOT NULL OR lease_owner IS NOT NULL")) as { n: number }[];
    expect(leased[0]!.n).toBe(0);
    const queues = (await pg.unsafe("SELECT COUNT(*)::int AS n FROM delivery_queues WHERE in_flight <> 0")) as { n: number }[];
    expect(queues[0]!.n).toBe(0);

    const again = await runCli(["copy-storage", "--config", config, url]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("already holds hookd data");
    const webhooks = (await pg.unsafe("SELECT COUNT(*)::int AS n FROM webhooks")) as { n: number }[];
    expect(webhooks[0]!.n).toBe(3);
  }, 60_000);

  test("a copy that fails part-way leaves the PostgreSQL database empty, and a rerun succeeds", async () => {
    if (cluster === null) return console.warn(skipped);
    const { site } = await installation();
    const dbPath = join(site.dir, "hookd.db");
    // PostgreSQL text cannot hold NUL: the attempts table (copied after webhooks, events and deliveries) fails.
    const db = new Database(dbPath);
    const original = db.query<{ id: string; response: string }, []>("SELECT id, response FROM attempts LIMIT 1").get()!;
    db.run("UPDATE attempts SET response = ? WHERE id = ?", ["bad\u0000byte", original.id]);
    db.close();
    const url = await cluster.createDatabase("copy_fails");
    const failed = await runCli(["copy-storage", "--config", join(site.dir, "hookd.toml"), url]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain("nothing was copied");
    const pg = new SQL({ url, max: 1 });
    cleanup.push(() => pg.close());
    for (const table of ["webhooks", "events", "deliveries", "attempts", "delivery_queues"]) {
      const rows = (await pg.unsafe(`SELECT COUNT(*)::int AS n FROM ${table}`)) as { n: number }[];
      expect([table, rows[0]!.n]).toEqual([table, 0]);
    }
    const fixed = new Database(dbPath);
    fixed.run("UPDATE attempts SET response = ? WHERE id = ?", [original.response, original.id]);
    fixed.close();
    const rerun = await runCli(["copy-storage", "--config", join(site.dir, "hookd.toml"), url]);
    expect(rerun.stderr).toBe("");
    expect(rerun.code).toBe(0);
  }, 60_000);

  test("a password in the URL is masked in the output, and the command line warns that ps shows it", async () => {
    if (cluster === null) return console.warn(skipped);
    const { site } = await installation();
    await cluster.createDatabase("copy_masked");
    // Loopback is trust: the password is not checked, so it can stand in for a real one.
    const url = `postgres://postgres:${PW}@127.0.0.1:${cluster.port}/copy_masked`;
    const r = await runCli(["copy-storage", "--config", join(site.dir, "hookd.toml"), url]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`postgres://postgres:********@127.0.0.1:${cluster.port}/copy_masked`);
    expect(r.stderr).toContain("visible to other users (ps)");
    expect(r.stdout + r.stderr).not.toContain(PW);
  }, 60_000);
});

describe("after copy-storage, serve on PostgreSQL", () => {
  test("sees the same endpoints, events and history, delivers what was in flight, masks the password, and cleanup runs on it", async () => {
    if (cluster === null) return console.warn(skipped);
    const { site, receiver, port } = await installation();
    const config = join(site.dir, "hookd.toml");
    const sqlite = new Database(join(site.dir, "hookd.db"), { readonly: true });
    const ids = (table: string) => sqlite.query<{ id: string }, []>(`SELECT id FROM ${table} ORDER BY id`).all().map((r) => r.id);
    const before = { webhooks: ids("webhooks"), events: ids("events"), deliveries: ids("deliveries") };
    const hang = sqlite.query<{ id: string }, []>("SELECT id FROM deliveries WHERE lease_until IS NOT NULL").get()!.id;
    sqlite.close();
    await cluster.createDatabase("served_after_copy");
    const url = `postgres://postgres:${PW}@127.0.0.1:${cluster.port}/served_after_copy`;
    expect((await runCli(["copy-storage", "--config", config, "--url-env", "HOOKD_TARGET"], { env: { HOOKD_TARGET: url } })).code).toBe(0);

    receiver.setHandler(() => new Response("ok")); // the endpoint that hung answers now
    const toml = (await Bun.file(config).text()).replace(/^path = .*$/m, 'url_env = "HOOKD_DATABASE_URL"').replace('level = "warn"', 'level = "info"');
    await Bun.write(config, toml);
    const proc = Bun.spawn([...CLI, "serve", "--config", config], { stdout: "pipe", stderr: "pipe", env: { ...process.env, HOOKD_DATABASE_URL: url } });
    cleanup.push(() => proc.kill("SIGKILL"));
    const base = `http://127.0.0.1:${port}`;
    const api = async (path: string) => (await (await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${site.key}` } })).json()) as { data: { id: string; status?: string }[] };
    await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, 15_000, "serve on PostgreSQL ready");

    expect((await api("/v1/webhooks")).data.map((w) => w.id).sort()).toEqual(before.webhooks);
    expect((await api("/v1/events?limit=100")).data.map((e) => e.id).sort()).toEqual(before.events);
    await waitFor(async () => (await fetch(`${base}/v1/deliveries/${hang}`, { headers: { authorization: `Bearer ${site.key}` } }).then((r) => r.json()) as { data: { status: string } }).data.status === "delivered", 15_000, "the delivery in flight at the kill delivered from PostgreSQL");

    const clean = await runCli(["cleanup", "--config", config], { env: { HOOKD_DATABASE_URL: url } });
    expect(clean.stderr).toBe("");
    expect(clean.code).toBe(0);
    expect(clean.stdout).toStartWith("removed 0 deliveries, 0 events");
    const backup = await runCli(["backup", "--config", config, join(site.dir, "b.db")], { env: { HOOKD_DATABASE_URL: url } });
    expect(backup.code).toBe(2);
    expect(backup.stderr).toContain("pg_dump");

    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    const stdout = await new Response(proc.stdout).text();
    expect(stdout + (await new Response(proc.stderr).text()) + clean.stdout + backup.stderr).not.toContain(PW);
    const report = stdout.trim().split("\n").map((l) => JSON.parse(l)).find((l) => l.msg === "hookd started");
    expect(report).toMatchObject({ database_backend: "postgres", database: `postgres://postgres:********@127.0.0.1:${cluster.port}/served_after_copy`, node_id: `${hostname()}:${port}` });
    expect(report.queue_pending).toBeGreaterThanOrEqual(1); // the /down retry, due in an hour
  }, 90_000);
});

describe("copyStorageCommand on a terminal", () => {
  test("shows a progress line per batch on stderr and the row counts on stdout", async () => {
    if (cluster === null) return console.warn(skipped);
    const { copyStorageCommand } = await import("../../src/cli/copy-storage");
    const { loadConfig } = await import("../../src/config/load");
    const { site } = await installation();
    const url = await cluster.createDatabase("copy_progress");
    const config = loadConfig(`[storage]\npath = ${JSON.stringify(join(site.dir, "hookd.db"))}`, {});
    let out = "";
    let err = "";
    const code = await copyStorageCommand(config, { url, env: "" }, (s) => void (out += s), (s) => void (err += s), true);
    expect(code).toBe(0);
    expect(err).toContain("\r  events: 4 / 4 rows");
    expect(out).toMatch(/^  events +4 rows$/m);
  }, 60_000);
});
