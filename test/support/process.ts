import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** CLI is how tests run hookd as a user would: a real process. HOOKD_BIN picks the compiled binary. */
export const CLI: string[] = process.env.HOOKD_BIN ? [process.env.HOOKD_BIN] : [process.execPath, join(import.meta.dir, "../../src/cli.ts")];

/** runCli runs one command to completion and returns its exit code and output. */
export async function runCli(args: string[], options: { stdin?: string; cwd?: string; env?: Record<string, string> } = {}) {
  const proc = Bun.spawn([...CLI, ...args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdin: options.stdin === undefined ? "ignore" : new TextEncoder().encode(options.stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

/** tempConfig writes a config file into a fresh temp dir and returns both paths. */
export function tempConfig(toml: string): { dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), "hookd-cli-"));
  const path = join(dir, "hookd.toml");
  writeFileSync(path, toml);
  return { dir, path };
}

/** freePort asks the kernel for a free loopback port (the server binds it a moment later). */
export function freePort(): number {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

/** waitFor polls `check` until it returns true or the deadline passes; no fixed sleeps standing in for a condition. */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs = 5000, what = "condition"): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    try {
      if (await check()) return performance.now() - started;
    } catch {
      // not ready yet
    }
    await Bun.sleep(10);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
