import * as v from "valibot";
import { checkedText, required, table, type Report } from "./fields";
import type { Env, StorageConfig } from "./types";
import { envNameProblem } from "./values";

/** DEFAULT_DATABASE_PATH is `[storage] path` when neither url nor url_env is set. */
export const DEFAULT_DATABASE_PATH = "./data/hookd.db";

const URL_EXAMPLE = '"postgres://hookd@db.internal:5432/hookd"';
// Connection parameters libpq and Bun's SQL client read a password from, besides the userinfo.
const PASSWORD_PARAMS = /pass/i;

/**
 * databaseUrlProblem accepts a PostgreSQL URL (postgres:// or postgresql://). Messages never quote the
 * value: it may carry a password.
 */
export function databaseUrlProblem(url: string): string | null {
  const parsed = URL.parse(url);
  if (parsed === null) return `is not a URL (value not shown; expected e.g. ${URL_EXAMPLE})`;
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    return `must start with postgres:// or postgresql:// (value not shown; e.g. ${URL_EXAMPLE})`;
  }
  if (!/^\/[^/]+$/.test(parsed.pathname)) return `names no database (value not shown; the path is the database name, e.g. ${URL_EXAMPLE})`;
  return null;
}

/** maskDatabaseUrl hides the password of a PostgreSQL URL (userinfo and ?password=); the user, host and database stay readable. */
export function maskDatabaseUrl(url: string): string {
  const parsed = URL.parse(url);
  if (parsed === null) return "********";
  if (parsed.password !== "") parsed.password = "********";
  // Setting a parameter re-encodes the whole query, so it is touched only when it holds a password.
  for (const key of [...parsed.searchParams.keys()]) if (PASSWORD_PARAMS.test(key)) parsed.searchParams.set(key, "********");
  return parsed.href;
}

/** databaseUrlHasPassword is true when the URL itself carries a password (then the config file holds a secret). */
export function databaseUrlHasPassword(url: string): boolean {
  const parsed = URL.parse(url);
  if (parsed === null) return false;
  return parsed.password !== "" || [...parsed.searchParams.keys()].some((key) => PASSWORD_PARAMS.test(key));
}

/** storageLocation names the configured database for logs and messages: the SQLite path, or the URL with its password masked. */
export function storageLocation(storage: StorageConfig): string {
  return storage.backend === "sqlite" ? storage.path : maskDatabaseUrl(storage.url);
}

function check({ path, url, url_env }: { path?: string; url: string; url_env: string }, env: Env, report: Report): void {
  if (url !== "" && url_env !== "") return report("url", "set either url or url_env, not both");
  const postgres = url !== "" || url_env !== "";
  // Only an explicit path conflicts: the default path applies to SQLite alone.
  if (postgres && path !== undefined) {
    return report("path", `set either path (SQLite) or ${url !== "" ? "url" : "url_env"} (PostgreSQL), not both`);
  }
  if (url_env === "") return;
  const value = env[url_env];
  if (value === undefined || value === "") return report("url_env", `environment variable ${url_env} is not set or empty`);
  const problem = databaseUrlProblem(value);
  if (problem !== null) report("url_env", `$${url_env} ${problem}`);
}

/** storageSchema validates `[storage]`: SQLite at `path` (default ./data/hookd.db) or PostgreSQL at `url` / `$url_env`. */
export function storageSchema(env: Env) {
  return table(
    {
      path: v.optional(required((p) => (p.trim() === "" ? "must not be empty" : null))),
      url: checkedText("", (u) => (u === "" ? null : databaseUrlProblem(u))),
      url_env: checkedText("", envNameProblem),
    },
    [{ needs: ["path", "url", "url_env"], check: (value, report) => check(value, env, report) }],
    (s): StorageConfig => {
      const url = s.url !== "" ? s.url : s.url_env !== "" ? (env[s.url_env] ?? "") : "";
      if (url === "") return { backend: "sqlite", path: s.path ?? DEFAULT_DATABASE_PATH, url: "", url_env: "" };
      return { backend: "postgres", path: "", url, url_env: s.url_env };
    },
  );
}
