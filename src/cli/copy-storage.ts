import { databaseUrlHasPassword, databaseUrlProblem, maskDatabaseUrl } from "../config/storage";
import type { Config, Env } from "../config/types";
import { envNameProblem } from "../config/values";
import { CopyRefusedError, copySqliteToPostgres } from "../storage/copy-to-postgres";
import { withoutPassword } from "../storage/open";

/** CopyTarget is the PostgreSQL database copy-storage fills; `env` names the variable it came from ("" = argv). */
export interface CopyTarget {
  readonly url: string;
  readonly env: string;
}

/**
 * copyTarget reads `copy-storage (URL | --url-env NAME)` into a target, or the one-line usage problem.
 * No message quotes the URL: it may carry a password.
 */
export function copyTarget(positional: readonly string[], urlEnv: string | undefined, env: Env): CopyTarget | string {
  if (positional.length > 1) return "copy-storage takes one PostgreSQL URL (or --url-env NAME)";
  const [url] = positional;
  if (url !== undefined && urlEnv !== undefined) return "copy-storage takes a URL or --url-env NAME, not both";
  if (url === undefined && urlEnv === undefined) {
    return "copy-storage needs the PostgreSQL database to copy into: a URL, or --url-env NAME (keeps a password out of `ps`)";
  }
  if (url !== undefined) {
    const problem = databaseUrlProblem(url);
    return problem === null ? { url, env: "" } : `copy-storage: the URL ${problem}`;
  }
  const name = urlEnv!;
  const badName = envNameProblem(name);
  if (badName !== null || name === "") return `copy-storage: --url-env ${badName ?? "needs the name of an environment variable"}`;
  const value = env[name];
  if (value === undefined || value === "") return `copy-storage: environment variable ${name} is not set or empty`;
  const problem = databaseUrlProblem(value);
  return problem === null ? { url: value, env: name } : `copy-storage: $${name} ${problem}`;
}

/**
 * copyStorageCommand moves a SQLite installation to PostgreSQL (SPEC §12): with `serve` stopped, every
 * row of `[storage] path` goes into the empty database at `target` in one transaction; it prints the
 * rows per table. Exit 1 when refused or failed (nothing is left behind), 2 when the config is not SQLite.
 */
export async function copyStorageCommand(config: Config, target: CopyTarget, out: (s: string) => void, err: (s: string) => void, progressTty = false): Promise<number> {
  if (config.storage.backend !== "sqlite") {
    err("hookd copy-storage: copies from the SQLite database in [storage] path, but this config's [storage] is PostgreSQL; pass the config `serve` used with SQLite\n");
    return 2;
  }
  const shown = maskDatabaseUrl(target.url);
  if (target.env === "" && databaseUrlHasPassword(target.url)) {
    err("hookd copy-storage: warning: a password in the URL on the command line is visible to other users (ps) while this runs; next time put the URL in a variable and pass --url-env NAME\n");
  }
  out(`copying ${config.storage.path} into ${shown} (one transaction)\n`);
  const started = performance.now();
  try {
    const result = await copySqliteToPostgres(config.storage.path, target.url, Date.now(), {
      progress: progressTty ? (table, done, total) => err(`\r  ${table}: ${done} / ${total} rows`) : undefined,
      copied: (table, rows) => {
        if (progressTty) err("\r\x1b[K");
        out(`  ${table.padEnd(18)} ${String(rows).padStart(10)} ${rows === 1 ? "row" : "rows"}\n`);
      },
    });
    const rows = result.tables.reduce((sum, t) => sum + t.rows, 0);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const leases = result.leasesCleared === 1 ? "1 leased delivery is" : `${result.leasesCleared} leased deliveries are`;
    out(`copied ${rows} rows in ${result.tables.length} tables in ${seconds} s; ${leases} due again now\n`);
    out(`next: set [storage] url${target.env !== "" ? `_env = "${target.env}"` : ""} (and delete path) in the config, then start hookd serve\n`);
    return 0;
  } catch (error) {
    const message = withoutPassword((error as Error).message, target.url);
    err(`hookd copy-storage: ${error instanceof CopyRefusedError ? "" : "nothing was copied: "}${message}\n`);
    return 1;
  }
}
