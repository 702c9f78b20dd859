/** ParsedArgs is a command line split into the command, its flags and positional arguments. */
export interface ParsedArgs {
  command: string;
  config?: string;
  force: boolean;
  /** urlEnv names the variable holding copy-storage's target URL (a password in argv shows in `ps`). */
  urlEnv?: string;
  positional: string[];
  unknown: string[];
}

/** parseArgs reads `hookd <command> [--config PATH] [--force] [--url-env NAME] [args]`; unknown flags are reported, not ignored. */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const [first, ...rest] = argv;
  const parsed: ParsedArgs = { command: first ?? "help", force: false, positional: [], unknown: [] };
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (arg === "--config" || arg === "-c") {
      const value = rest[i + 1];
      if (value === undefined || value.startsWith("-")) parsed.unknown.push(`${arg} needs a path`);
      else parsed.config = value;
      i++;
    } else if (arg.startsWith("--config=")) {
      parsed.config = arg.slice("--config=".length);
    } else if (arg === "--url-env") {
      const value = rest[i + 1];
      if (value === undefined || value.startsWith("-")) parsed.unknown.push(`${arg} needs the name of an environment variable`);
      else parsed.urlEnv = value;
      i++;
    } else if (arg.startsWith("--url-env=")) {
      parsed.urlEnv = arg.slice("--url-env=".length);
    } else if (arg === "--force") {
      parsed.force = true;
    } else if (arg === "--help" || arg === "-h") {
      parsed.positional.unshift(parsed.command);
      parsed.command = "help";
    } else if (arg.startsWith("-")) {
      parsed.unknown.push(`unknown option ${arg}`);
    } else {
      parsed.positional.push(arg);
    }
  }
  return parsed;
}
