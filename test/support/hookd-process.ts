import type { Subprocess } from "bun";
import { join } from "node:path";
import { hashApiKey } from "../../src/security/api-keys";
import { CLI, freePort, tempConfig, waitFor } from "./process";

/** HookdProcess is `hookd serve` as a real child process, for kill -9 and restart tests. */
export interface HookdProcess {
  readonly url: string;
  readonly proc: Subprocess<"ignore", "pipe", "pipe">;
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
}

/** HookdSite is one config and database that processes can be started on, killed, and restarted on. */
export interface HookdSite {
  readonly dir: string;
  readonly key: string;
  start(): Promise<HookdProcess>;
}

/** hookdSite writes a config (extra TOML per section) with a fresh port, database and API key. */
export function hookdSite(sections: Record<string, string> = {}, options: { https?: boolean; env?: Record<string, string> } = {}): HookdSite {
  const key = `key-${crypto.randomUUID()}`;
  const port = freePort();
  const { dir, path } = tempConfig("");
  const merged: Record<string, string> = {
    server: `listen = "127.0.0.1:${port}"`,
    storage: `path = ${JSON.stringify(join(dir, "hookd.db"))}`,
    api: `keys = [{ name = "test", hash = "${hashApiKey(key)}" }]`,
  };
  if (!("log" in sections)) merged.log = 'level = "warn"';
  for (const [section, lines] of Object.entries(sections)) {
    merged[section] = section in merged ? `${merged[section]}\n${lines}` : lines;
  }
  const toml = Object.entries(merged)
    .map(([s, body]) => (s.startsWith("[[") ? `${s}\n${body}` : `[${s}]\n${body}`))
    .join("\n\n");
  Bun.write(path, toml);
  const url = `${options.https ? "https" : "http"}://127.0.0.1:${port}`;
  // Readiness only: the TLS test checks the certificate itself with curl --cacert.
  const probe: RequestInit = options.https ? ({ tls: { rejectUnauthorized: false } } as RequestInit) : {};
  return {
    dir,
    key,
    async start() {
      const env = options.env === undefined ? undefined : { ...process.env, ...options.env };
      const proc = Bun.spawn([...CLI, "serve", "--config", path], { stdin: "ignore", stdout: "pipe", stderr: "pipe", env });
      try {
        await waitFor(async () => proc.exitCode === null && (await fetch(`${url}/readyz`, probe)).status === 200, 10_000, "hookd ready");
      } catch (error) {
        proc.kill("SIGKILL");
        throw new Error(`${(error as Error).message}; stderr: ${await new Response(proc.stderr).text()}`);
      }
      return {
        url,
        proc,
        async api(method, p, body) {
          const response = await fetch(`${url}${p}`, {
            ...probe,
            method,
            headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
            body: body === undefined ? undefined : JSON.stringify(body),
          });
          const text = await response.text();
          return { status: response.status, body: text ? JSON.parse(text) : null };
        },
      };
    },
  };
}
