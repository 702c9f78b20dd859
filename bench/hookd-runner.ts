/**
 * hookd-runner is `hookd serve` with startApp options the CLI does not expose, for benches that compare
 * them (bench/ingest.ts: group commit off). It stands in for the CLI under support.ts's startHookd:
 * passing `bunFlags = [this file, "--group-commit-max-batch=1"]` makes the child's command line
 *   bun bench/hookd-runner.ts --group-commit-max-batch=1 src/cli.ts serve --config <path>
 * The runner reads `--config` and its own options and ignores the rest (the CLI path, "serve").
 * Like serve, it stops gracefully on SIGTERM/SIGINT.
 */
import { startApp } from "../src/app.ts";
import { readConfig } from "../src/config/load.ts";
import { createLogger } from "../src/log.ts";

const argv = process.argv.slice(2);
const configAt = argv.indexOf("--config");
if (configAt < 0 || argv[configAt + 1] === undefined) {
  process.stderr.write("hookd-runner: --config <path> is required\n");
  process.exit(2);
}
const maxBatchArg = argv.find((a) => a.startsWith("--group-commit-max-batch="));
const groupCommitMaxBatch = maxBatchArg === undefined ? undefined : Number(maxBatchArg.split("=")[1]);
if (groupCommitMaxBatch !== undefined && !(Number.isInteger(groupCommitMaxBatch) && groupCommitMaxBatch >= 1)) {
  process.stderr.write(`hookd-runner: ${maxBatchArg} is not a positive integer\n`);
  process.exit(2);
}

const { config } = readConfig(argv[configAt + 1], process.env);
const log = createLogger(config.log.level);
const app = await startApp({ config, log, groupCommitMaxBatch });
const shutdown = () => {
  app.stop().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`hookd-runner: stop failed: ${String(error)}\n`);
      process.exit(1);
    },
  );
};
process.once("SIGTERM", shutdown);
process.once("SIGINT", shutdown);
