import { statSync } from "node:fs";
import { startApp, StartError } from "../app";
import { exposedTo, inlineSecrets } from "../config/secrets";
import type { Config } from "../config/types";
import { createLogger, type Logger } from "../log";

/** serveCommand starts the server and stops it cleanly on SIGTERM/SIGINT; resolves with the exit code. */
export async function serveCommand(config: Config, configPath: string): Promise<number> {
  const log = createLogger(config.log.level);
  log.info("config loaded", { config: configPath });
  warnIfSecretsExposed(config, configPath, log);
  let app: Awaited<ReturnType<typeof startApp>>;
  try {
    app = await startApp({ config, log });
  } catch (error) {
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
    // SIGHUP (systemctl reload) swaps in a renewed certificate; without TLS there is nothing to reload.
    // Client certificates (mTLS profiles) are re-read too; one that fails keeps its old contents.
    process.on("SIGHUP", () => {
      app.reloadDeliveryProfiles();
      void app.reloadTls().then((outcome) => {
        if (outcome === "no_tls") log.info("SIGHUP received; no server TLS certificate is configured, nothing to reload there");
      });
    });
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
