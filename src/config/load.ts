import { readFileSync } from "node:fs";
import * as v from "valibot";
import { IpSet } from "../net/cidr";
import { VERSION } from "../version";
import { ConfigError, type ConfigIssue } from "./error";
import { configSchema } from "./schema";
import type { Config, Env } from "./types";

export { ConfigError } from "./error";
export type { Config } from "./types";

/** LoadOptions: `version` replaces "<version>" in delivery.user_agent. */
export interface LoadOptions {
  readonly version?: string;
}

/** DEFAULT_CONFIG_PATHS are tried in order when no --config is given (SPEC §1). */
export const DEFAULT_CONFIG_PATHS: readonly string[] = ["./hookd.toml", "/etc/hookd/hookd.toml"];

/** loadConfig turns TOML text into a deep-frozen Config, or throws one ConfigError listing every problem found. */
export function loadConfig(text: string, env: Env, opts: LoadOptions = {}): Config {
  let doc: unknown;
  try {
    doc = Bun.TOML.parse(text);
  } catch (error) {
    throw new ConfigError([{ path: "(toml)", message: tomlMessage(text, error) }]);
  }
  const result = v.safeParse(configSchema(env, opts.version ?? "dev"), doc);
  if (!result.success) throw new ConfigError(result.issues.map(toIssue));
  return deepFreeze(result.output);
}

/** readConfig loads `pathArg`, else the first of DEFAULT_CONFIG_PATHS that exists; `version` defaults to the build's VERSION. */
export function readConfig(pathArg: string | undefined, env: Env, opts: LoadOptions = {}): { config: Config; path: string } {
  const load = { version: opts.version ?? VERSION };
  for (const path of pathArg !== undefined ? [pathArg] : DEFAULT_CONFIG_PATHS) {
    const text = readIfPresent(path);
    if (text !== null) return { config: loadConfig(text, env, load), path };
  }
  const message =
    pathArg !== undefined
      ? `${pathArg}: no such file`
      : `no config file at ${DEFAULT_CONFIG_PATHS.join(" or ")}; pass --config PATH, or copy config.example.toml to ./hookd.toml`;
  throw new ConfigError([{ path: "(file)", message }]);
}

function readIfPresent(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    const why = code === "EACCES" ? "permission denied" : code === "EISDIR" ? "is a directory" : (error as Error).message;
    throw new ConfigError([{ path: "(file)", message: `${path}: cannot read (${why})` }]);
  }
}

/** toIssue turns valibot's issue path into the TOML key path an operator would write, e.g. sources[1].allow_ips[0]. */
function toIssue(issue: v.BaseIssue<unknown>): ConfigIssue {
  let path = "";
  for (const item of issue.path ?? []) {
    const key: unknown = item.key;
    if (typeof key === "number") path += `[${key}]`;
    else {
      const name = String(key);
      const bare = /^[A-Za-z0-9_-]+$/.test(name) ? name : JSON.stringify(name);
      path += path === "" ? bare : `.${bare}`;
    }
  }
  return { path: path === "" ? "(config)" : path, message: issue.message };
}

// Bun's TOML error carries no position, so the line is found as the shortest
// prefix of the file that fails with the same message.
function tomlMessage(text: string, error: unknown): string {
  const message = (error instanceof Error ? error.message : String(error)).replace(/^TOML Parse error: /, "");
  const lines = text.split("\n");
  if (lines.length > 5000) return message;
  for (let n = 1; n <= lines.length; n++) {
    try {
      Bun.TOML.parse(lines.slice(0, n).join("\n"));
    } catch (e) {
      if (e instanceof Error && e.message.endsWith(message)) return `line ${n}: ${message}`;
    }
  }
  return message;
}

/** deepFreeze freezes the config tree; an IpSet is frozen with its CIDRs but its compiled matcher is left alone. */
function deepFreeze<T>(value: T): T {
  if (value instanceof IpSet) {
    for (const cidr of value.cidrs) Object.freeze(cidr);
    Object.freeze(value.cidrs);
    return Object.freeze(value);
  }
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
