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
  let last: unknown;
  for (const item of issue.path ?? []) {
    const key: unknown = item.key;
    last = key;
    if (typeof key === "number") path += `[${key}]`;
    else {
      const name = String(key);
      const bare = /^[A-Za-z0-9_-]+$/.test(name) ? name : JSON.stringify(name);
      path += path === "" ? bare : `.${bare}`;
    }
  }
  const message = typeof last === "string" && SECRET_KEYS.has(last) ? withoutValue(issue.message, issue.input) : issue.message;
  return { path: path === "" ? "(config)" : path, message };
}

/** SECRET_KEYS are the keys whose values are never echoed in an error (a proxy URL may carry credentials). */
const SECRET_KEYS: ReadonlySet<string> = new Set(["secret", "proxy", "client_secret", "password", "url"]);

// A secret of the wrong type ("got 12345") is named by its kind only.
function withoutValue(message: string, input: unknown): string {
  if (typeof input !== "string" && typeof input !== "number" && typeof input !== "boolean" && typeof input !== "bigint") return message;
  const kind = typeof input === "string" ? "a string" : typeof input === "boolean" ? "true or false" : "a number";
  const shown = typeof input === "string" ? JSON.stringify(input) : String(input);
  return message.replaceAll(shown, `${kind} (value not shown)`);
}

// Bun's TOML error carries no position, so the line is found as the shortest prefix of the file
// (whole lines, each with its line break: an error *at* a line break belongs to the line it ends)
// that fails with the same message. The message is reworded so it never echoes a value: the
// offending text may be a secret written without quotes.
function tomlMessage(text: string, error: unknown): string {
  const raw = (error instanceof Error ? error.message : String(error)).replace(/^TOML Parse error: /, "");
  const message = describeTomlError(raw);
  const lines = text.split("\n");
  if (lines.length > 5000) return message;
  for (let n = 1; n <= lines.length; n++) {
    try {
      Bun.TOML.parse(`${lines.slice(0, n).join("\n")}\n`);
    } catch (e) {
      if (e instanceof Error && e.message.endsWith(raw)) return `line ${n}: ${message}`;
    }
  }
  return message;
}

/** describeTomlError rewords one of Bun's TOML parse messages without the value it quotes. */
export function describeTomlError(raw: string): string {
  if (raw.startsWith("Strings must be quoted")) return "a value that is not quoted (strings go in double quotes)";
  return raw
    .replace(/^Unexpected character after a value: .*$/, "unexpected text after a value (one key = value per line)")
    .replace(/\(0x0A\)|\(0x0D\)/g, "the end of the line")
    .replace(/\(0x[0-9A-Fa-f]+\)/g, "another character")
    .replace(/"(?:[^"\\]|\\.)*"/g, "(value not shown)")
    .replace(/: '.*'$/, "");
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
