import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startApp, type RunningApp } from "../../src/app";
import type { Clock } from "../../src/clock";
import type { Resolver } from "../../src/delivery/resolver";
import { loadConfig } from "../../src/config/load";
import type { Config } from "../../src/config/types";
import { hashApiKey } from "../../src/security/api-keys";
import { silentLogger } from "../../src/log";

/** ApiAnswer is a parsed response: status, headers and the JSON body (null when empty). */
export interface ApiAnswer {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

/** TestServer is a real hookd on 127.0.0.1:<random port> with a real SQLite file in a temp dir. */
export interface TestServer {
  readonly url: string;
  readonly key: string;
  readonly dir: string;
  readonly app: RunningApp;
  readonly config: Config;
  /** api calls the admin API with the test key unless headers override Authorization. */
  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiAnswer>;
  stop(): Promise<void>;
}

/** startTestServer takes extra TOML per section, e.g. { delivery: "require_https = false" }. */
export async function startTestServer(
  sections: Record<string, string> = {},
  options: {
    keys?: boolean;
    clock?: Clock;
    resolver?: Resolver;
    random?: () => number;
    busyTimeoutMs?: number;
    env?: Record<string, string>;
    /** dir: serve a database already made in this directory (hookd.db), e.g. by an older schema. */
    dir?: string;
  } = {},
): Promise<TestServer> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "hookd-test-"));
  const key = `test-key-${crypto.randomUUID()}`;
  const merged: Record<string, string> = {
    storage: `path = ${JSON.stringify(join(dir, "hookd.db"))}`,
    api: options.keys === false ? "keys = []" : `keys = [{ name = "test", hash = "${hashApiKey(key)}" }]`,
  };
  for (const [section, lines] of Object.entries(sections)) {
    merged[section] = section in merged ? `${merged[section]}\n${lines}` : lines;
  }
  const toml = Object.entries(merged)
    .map(([section, lines]) => (section.startsWith("[[") ? `${section}\n${lines}` : `[${section}]\n${lines}`))
    .join("\n\n");
  const config = loadConfig(toml, options.env ?? {});
  const app = await startApp({
    config,
    log: silentLogger,
    clock: options.clock,
    resolver: options.resolver,
    random: options.random,
    busyTimeoutMs: options.busyTimeoutMs,
    listen: { host: "127.0.0.1", port: 0 },
  });
  return {
    url: app.url,
    key,
    dir,
    app,
    config,
    api: (method, path, body, headers = {}) =>
      call(`${app.url}${path}`, method, body, { authorization: `Bearer ${key}`, ...headers }),
    async stop() {
      await app.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** call sends one request; a string body is sent as is, anything else as JSON. */
export async function call(url: string, method: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiAnswer> {
  const init: RequestInit = { method, headers: { "content-type": "application/json", ...headers } };
  if (body !== undefined) init.body = typeof body === "string" ? body : JSON.stringify(body);
  const response = await fetch(url, init);
  const text = await response.text();
  let parsed: unknown = null;
  if (text !== "") {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
  }
  return { status: response.status, headers: response.headers, body: parsed, text };
}
