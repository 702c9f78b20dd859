import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hashApiKey } from "../../src/security/api-keys";
import { CLI, freePort, waitFor } from "../support/process";

// SPEC §13: the database, its WAL/SHM files, the serve lock and backups are 0600 and the data
// directory 0700 whatever the umask; `serve` warns when a config file with inline secrets is
// readable by others. Everything runs as a real process under umask 022, as `./hookd serve` by hand does.

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8).padStart(4, "0");

/** underUmask022 runs hookd with `args` in a shell whose umask is 022. */
function underUmask022(args: string[], env: Record<string, string> = {}) {
  return Bun.spawn(["sh", "-c", 'umask 022 && exec "$@"', "sh", ...CLI, ...args], {
    env: { ...process.env, ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
}

/** site writes a config (extra TOML after the basics) into a fresh dir whose data directory does not exist yet. */
function site(extra = "", configMode = 0o600) {
  const dir = mkdtempSync(join(tmpdir(), "hookd-modes-"));
  dirs.push(dir);
  const port = freePort();
  const key = `key-${crypto.randomUUID()}`;
  const path = join(dir, "hookd.toml");
  const db = join(dir, "data", "hookd.db");
  writeFileSync(
    path,
    `[server]\nlisten = "127.0.0.1:${port}"\n[storage]\npath = ${JSON.stringify(db)}\n[api]\nkeys = [{ name = "t", hash = "${hashApiKey(key)}" }]\n${extra}`,
  );
  chmodSync(path, configMode);
  return { dir, path, db, url: `http://127.0.0.1:${port}`, key };
}

/** serveUntilReady starts `serve` under umask 022, waits for /readyz, and returns a stop function that yields its log lines. */
async function serveUntilReady(s: ReturnType<typeof site>) {
  const proc = underUmask022(["serve", "--config", s.path]);
  await waitFor(async () => proc.exitCode === null && (await fetch(`${s.url}/readyz`)).status === 200, 10_000, "hookd ready");
  return {
    async stop(): Promise<Record<string, unknown>[]> {
      proc.kill("SIGTERM");
      expect(await proc.exited).toBe(0);
      return (await new Response(proc.stdout).text()).trim().split("\n").map((l) => JSON.parse(l));
    },
  };
}

describe("files hookd creates, under umask 022", () => {
  test("serve: data directory 0700; database, -wal, -shm and the serve lock 0600", async () => {
    const s = site();
    expect(existsSync(join(s.dir, "data"))).toBe(false);
    const h = await serveUntilReady(s);
    try {
      // A write so the WAL has content, then look while serve holds everything open.
      const r = await fetch(`${s.url}/v1/events`, {
        method: "POST",
        headers: { authorization: `Bearer ${s.key}`, "content-type": "application/json" },
        body: JSON.stringify({ type: "modes.checked", data: {} }),
      });
      expect(r.status).toBe(202);
      expect(mode(join(s.dir, "data"))).toBe("0700");
      for (const suffix of ["", "-wal", "-shm", "-serve.lock"]) {
        expect([suffix, mode(`${s.db}${suffix}`)]).toEqual([suffix, "0600"]);
      }
    } finally {
      await h.stop();
    }
  }, 30_000);

  test("serve: a database an older release left 0644 (and its -wal/-shm) is made 0600", async () => {
    const s = site();
    await (await serveUntilReady(s)).stop();
    for (const suffix of ["", "-wal", "-shm"]) if (existsSync(`${s.db}${suffix}`)) chmodSync(`${s.db}${suffix}`, 0o644);
    const h = await serveUntilReady(s);
    try {
      for (const suffix of ["", "-wal", "-shm"]) expect([suffix, mode(`${s.db}${suffix}`)]).toEqual([suffix, "0600"]);
    } finally {
      await h.stop();
    }
  }, 30_000);

  test("backup: the copy is 0600; into a missing directory it names the directory (exit 1)", async () => {
    const s = site();
    await (await serveUntilReady(s)).stop();
    const dest = join(s.dir, "copy.db");
    const backup = underUmask022(["backup", "--config", s.path, dest]);
    expect(await backup.exited).toBe(0);
    expect(mode(dest)).toBe("0600");

    const missing = join(s.dir, "no-such-dir");
    const refused = underUmask022(["backup", "--config", s.path, join(missing, "copy.db")]);
    const [stderr, code] = await Promise.all([new Response(refused.stderr).text(), refused.exited]);
    expect(code).toBe(1);
    expect(stderr).toContain(`the directory ${missing} does not exist`);
    expect(existsSync(missing)).toBe(false);
  }, 30_000);
});

describe("serve and a config file holding secrets", () => {
  const inline = `[[sources]]\nid = "erp"\nauth = "hmac"\nsecret = "inline-secret-value"\n`;

  test("warns, naming the file and the keys, when it is readable by others", async () => {
    const s = site(inline, 0o644);
    const logs = await (await serveUntilReady(s)).stop();
    const warning = logs.find((l) => l.level === "warn" && String(l.msg).includes("holds secrets"));
    expect(warning).toMatchObject({ config: s.path, mode: "0644", secrets: ["sources[0].secret"] });
    expect(String(warning!.msg)).toContain(s.path);
    expect(JSON.stringify(logs)).not.toContain("inline-secret-value");
  }, 30_000);

  test.each([
    ["the file is 0600", inline, 0o600, {}],
    ["the secrets come from the environment", `[[sources]]\nid = "erp"\nauth = "hmac"\nsecret_env = "HOOKD_T_SECRET"\n`, 0o644, { HOOKD_T_SECRET: "x" }],
  ])("does not warn when %s", async (_what, extra, configMode, env) => {
    const s = site(extra, configMode);
    const proc = underUmask022(["serve", "--config", s.path], env);
    await waitFor(async () => proc.exitCode === null && (await fetch(`${s.url}/readyz`)).status === 200, 10_000, "hookd ready");
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    const out = await new Response(proc.stdout).text();
    expect(out).toContain("hookd started");
    expect(out).not.toContain("holds secrets");
  }, 30_000);
});
