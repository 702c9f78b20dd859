import { startApp, StartError } from "../app";
import type { Config } from "../config/types";
import { createLogger } from "../log";

/** serveCommand starts the server and stops it cleanly on SIGTERM/SIGINT; resolves with the exit code. */
export async function serveCommand(config: Config, configPath: string): Promise<number> {
  const log = createLogger(config.log.level);
  log.info("config loaded", { config: configPath });
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
    process.on("SIGHUP", () => {
      void app.reloadTls().then((outcome) => {
        if (outcome === "no_tls") log.info("SIGHUP received; no TLS certificate is configured, nothing to reload");
      });
    });
  });
}
