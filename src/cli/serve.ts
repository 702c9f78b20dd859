import { statSync } from "node:fs";
import { type RunningApp, startApp, StartError } from "../app";
import { exposedTo, inlineSecrets } from "../config/secrets";
import { readConfig } from "../config/load";
import type { Config } from "../config/types";
import { createLogger, type Logger } from "../log";

/** serveCommand starts the server and stops it cleanly on SIGTERM/SIGINT; resolves with the exit code. */
export async function serveCommand(config: Config, configPath: string): Promise<number> {
  const log = createLogger(config.log.level);
  log.info("config loaded", { config: configPath });
  warnIfSecretsExposed(config, configPath, log);
  // SIGHUP (systemctl reload) re-reads the same file with the same environment and applies what it
  // can live (SPEC §14). Reloads run one at a time; one asked for while starting runs once started
  // (SIGHUP's default action would end the process).
  let started: Promise<RunningApp | null> = Promise.resolve(null);
  let reloading: Promise<unknown> = Promise.resolve();
  const onHup = () => {
    reloading = reloading.then(async () => {
      const app = await started;
      if (app === null) return;
      const load = () => {
        const { config: next } = readConfig(configPath, process.env);
        warnIfSecretsExposed(next, configPath, log);
        return next;
      };
      await app.reload(load).catch((error: unknown) => log.error("config reload failed", { error }));
    });
  };
  process.on("SIGHUP", onHup);
  const starting = startApp({ config, log });
  started = starting.catch(() => null);
  let app: RunningApp;
  try {
    app = await starting;
  } catch (error) {
    process.off("SIGHUP", onHup);
    if (error instanceof StartError) {
      log.error(error.message, { config: configPath });
      process.stderr.write(`hookd: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
  return new Promise<number>((resolve) => {
    const shutdown = (signal: string) => {
      log.info("shutting down", { signal });
      // A reload while stopping is ignored, not fatal: without a handler SIGHUP would kill the process
      // before attempts in flight finish and the database is closed.
      process.off("SIGHUP", onHup);
      process.on("SIGHUP", () => log.info("SIGHUP ignored: hookd is shutting down"));
      app.stop().then(
        () => resolve(0),
        (error: unknown) => {
          log.error("shutdown failed", { error });
          resolve(1);
        },
      );
    };
    process.once("SIGTERM", () => shutdown("SIGTERM"));
    process.once("SIGINT", () => shutdown("SIGINT"));
  });
}

/** warnIfSecretsExposed warns when the config file holds secrets inline and users other than hookd's can read it. */
function warnIfSecretsExposed(config: Config, configPath: string, log: Logger): void {
  const secrets = inlineSecrets(config);
  if (secrets.length === 0) return;
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(configPath);
  } catch {
    return;
  }
  const who = exposedTo(Number(st.mode), Number(st.gid), process.getgid?.() ?? null);
  if (who === null) return;
  const mode = (Number(st.mode) & 0o777).toString(8).padStart(4, "0");
  log.warn(`config file ${configPath} holds secrets and is readable by ${who} (mode ${mode}): chmod 600 it (640 with hookd's group), or move the secrets to *_env keys`, {
    config: configPath,
    mode,
    secrets,
  });
}
