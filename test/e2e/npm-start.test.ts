import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitFor } from "../support/process";

// README: `HOOKD_API_KEY=… npm start` opens the admin API with no tracked file edited. This runs the
// start script's own command line on the example config, changing only the port and the database
// path (tests run side by side, so 8080 and ./data are not theirs to take).

const ROOT = join(import.meta.dir, "../..");
const START: string = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts.start;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** startAsNpmDoes runs the start script's command with the example config moved to a free port and a temp database. */
async function startAsNpmDoes(env: Record<string, string>) {
  const argv = START.split(/\s+/);
  expect(argv.slice(0, 2)).toEqual(["bun", "src/cli.ts"]);
  const configAt = argv.indexOf("--config") + 1;
  expect(argv[configAt]).toBe("config.example.toml");
  const dir = mkdtempSync(join(tmpdir(), "hookd-npm-start-"));
  dirs.push(dir);
  const port = freePort();
  const example = readFileSync(join(ROOT, "config.example.toml"), "utf8");
  const moved = example
    .replace(/^listen = .*$/m, `listen = "127.0.0.1:${port}"`)
    .replace(/^path = .*$/m, `path = ${JSON.stringify(join(dir, "hookd.db"))}`);
  expect(moved.split("\n").filter((line, i) => line !== example.split("\n")[i])).toHaveLength(2);
  const config = join(dir, "config.example.toml");
  writeFileSync(config, moved);
  const args = [...argv.slice(2)];
  args[configAt - 2] = config;
  const { HOOKD_API_KEY: _dropped, ...inherited } = process.env;
  const proc = Bun.spawn([process.execPath, "src/cli.ts", ...args], { cwd: ROOT, env: { ...inherited, ...env }, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => proc.exitCode === null && (await fetch(`${url}/readyz`)).status === 200, 10_000, "npm start ready");
  return {
    url,
    async stop() {
      proc.kill("SIGTERM");
      expect(await proc.exited).toBe(0);
      return new Response(proc.stdout).text();
    },
  };
}

describe("npm start", () => {
  test("with HOOKD_API_KEY set, the admin API takes that key", async () => {
    const key = `npm-start-${crypto.randomUUID()}`;
    const h = await startAsNpmDoes({ HOOKD_API_KEY: key });
    try {
      expect((await fetch(`${h.url}/v1/webhooks`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
      expect((await fetch(`${h.url}/v1/webhooks`, { headers: { authorization: "Bearer wrong-key-123456" } })).status).toBe(401);
    } finally {
      const logs = await h.stop();
      expect(logs).not.toContain(key);
    }
  }, 30_000);

  test("without it, the admin API is closed and serve says which variable to set", async () => {
    const h = await startAsNpmDoes({});
    let logs = "";
    try {
      expect((await fetch(`${h.url}/v1/webhooks`)).status).toBe(401);
    } finally {
      logs = await h.stop();
    }
    const warning = logs.split("\n").filter(Boolean).map((l) => JSON.parse(l)).find((l) => l.setting === "api.key_env");
    expect(warning?.level).toBe("warn");
    expect(warning?.msg).toContain("HOOKD_API_KEY");
  }, 30_000);
});
