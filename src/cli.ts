import { parseArgs } from "./cli/args";
import { hashKeyCommand } from "./cli/hash-key";
import { USAGE } from "./cli/help";
import { copyStorageCommand, copyTarget } from "./cli/copy-storage";
import { backupCommand, cleanupCommand } from "./cli/maintenance";
import { serveCommand } from "./cli/serve";
import { ConfigError } from "./config/error";
import { readConfig } from "./config/load";
import { renderEffectiveConfig } from "./config/render";
import { VERSION } from "./version";

const out = (s: string) => process.stdout.write(s);
const err = (s: string) => process.stderr.write(s);

/** main turns argv into a command and returns its exit code (SPEC §1: 0 ok, 1 runtime, 2 usage/config). */
export async function main(argv: readonly string[]): Promise<number> {
  if (argv.length === 0) return usageError("no command given");
  const args = parseArgs(argv);
  const takesPositional = args.command === "help" || args.command === "backup" || args.command === "copy-storage";
  if (args.urlEnv !== undefined && args.command !== "copy-storage") args.unknown.push("--url-env is only for copy-storage");
  if (!takesPositional && args.positional.length > 0) args.unknown.push(`unexpected argument ${JSON.stringify(args.positional[0])}${args.positional[0]?.endsWith(".toml") ? " (did you mean --config " + args.positional[0] + "?)" : ""}`);
  if (args.unknown.length > 0) return usageError(args.unknown.join("; "));
  switch (args.command) {
    case "help":
    case "--help":
    case "-h":
      out(USAGE);
      return 0;
    case "version":
    case "--version":
    case "-v":
      out(`hookd ${VERSION}\n`);
      return 0;
    case "hash-key":
      return hashKeyCommand(() => Bun.stdin.text(), out, err);
    case "backup":
    case "cleanup":
    case "copy-storage":
    case "check-config":
    case "serve": {
      if (args.command === "backup" && args.positional.length !== 1) return usageError("backup needs exactly one destination file");
      const target = args.command === "copy-storage" ? copyTarget(args.positional, args.urlEnv, process.env) : null;
      if (typeof target === "string") return usageError(target);
      let loaded: ReturnType<typeof readConfig>;
      try {
        loaded = readConfig(args.config, process.env);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        err(`${error.format()}\n`);
        return 2;
      }
      if (args.command === "serve") return serveCommand(loaded.config, loaded.path);
      if (args.command === "cleanup") return cleanupCommand(loaded.config, out, err);
      if (target !== null) return copyStorageCommand(loaded.config, target, out, err, process.stderr.isTTY === true);
      if (args.command === "backup") return backupCommand(loaded.config, args.positional[0]!, args.force, out, err);
      out(`# ${loaded.path}: valid\n${renderEffectiveConfig(loaded.config)}`);
      return 0;
    }
    default:
      return usageError(`unknown command ${JSON.stringify(args.command)}`);
  }
}

/** usageError says what is wrong in one line and where the full usage is; exit 2. */
function usageError(problem: string): number {
  err(`hookd: ${problem}; run \`hookd help\` for usage\n`);
  return 2;
}

if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      err(`hookd: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
