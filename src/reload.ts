import type { Clock } from "./clock";
import { diffConfig, keepRestartValues } from "./config/diff";
import { ConfigError } from "./config/error";
import type { LiveConfig } from "./config/live";
import type { Config } from "./config/types";
import type { DeliveryScheduler } from "./delivery/scheduler";
import type { Sender } from "./delivery/sender";
import type { Listener } from "./http/listener";
import { newId } from "./ids";
import type { RetentionJob } from "./jobs/retention";
import type { Logger } from "./log";
import type { Metrics } from "./metrics/metrics";
import { riskySettings } from "./startup-report";
import type { Storage } from "./storage/types";

/** ReloadParts are the running pieces a reload reaches into (the composition root's). */
export interface ReloadParts {
  readonly live: LiveConfig;
  readonly log: Logger;
  readonly clock: Clock;
  readonly metrics: Metrics;
  readonly sender: Sender;
  readonly scheduler: DeliveryScheduler;
  readonly retention: RetentionJob;
  readonly listener: Listener;
  readonly storage: Storage;
}

/** Reload applies a re-read config (SPEC §14): `load` returns it or throws the ConfigError naming each bad key. */
export type Reload = (load: () => Config) => Promise<"ok" | "invalid">;

/**
 * createReload is SIGHUP's work: validate, log what needs a restart, swap the runtime and apply it to
 * the parts that hold state (log level, sender, retention schedule, scheduler) in one event-loop turn,
 * count and log it, re-read the certificate files, and record it in the audit log.
 */
export function createReload(parts: ReloadParts): Reload {
  const { live, log, metrics, sender, scheduler, retention, listener, storage, clock } = parts;
  // The server certificate and the client TLS profiles' files are read again (new paths if `next` moved them).
  const rereadFiles = async (next: Config) => {
    sender.reload(live.current().profiles);
    if (next.server.tls_cert === "") return;
    try {
      await listener.reloadTls({ cert: next.server.tls_cert, key: next.server.tls_key });
    } catch (error) {
      log.error("TLS certificate reload failed; the previous certificate stays in use", { error });
    }
  };
  return async (load) => {
    let file: Config;
    try {
      file = load();
    } catch (error) {
      refused(error, log);
      metrics.configReloaded("invalid");
      // A renewed certificate still goes in: an unrelated typo must not hold it back.
      await rereadFiles(live.current().config);
      return "invalid";
    }
    const running = live.current().config;
    const diff = diffConfig(running, file);
    for (const key of diff.restart) log.warn("config change needs a restart; ignored until then", { key });
    // Everything below up to the first await happens in one turn: no request or attempt sees part of it.
    const next = live.swap(keepRestartValues(running, file)).config;
    log.setLevel(next.log.level);
    sender.configure({ policy: live.current().targets, proxy: next.delivery.proxy });
    if (retention.reschedule()) log.info("retention rescheduled", { cleanup_cron: next.retention.cleanup_cron, next_run: retention.nextRun()?.toISOString() ?? null });
    scheduler.wake();
    metrics.configReloaded("ok");
    log.info("config reloaded", { changed: diff.applied, restart_needed: diff.restart });
    // As at start: an edit that loosens a protection (or closes the admin API) says so, once: a warning
    // the running config already gave is not repeated on every reload.
    const warnedBefore = new Set(riskySettings(running).map((w) => w.msg));
    for (const warning of riskySettings(next)) if (!warnedBefore.has(warning.msg)) log.warn(warning.msg, { setting: warning.setting });
    await rereadFiles(next);
    // A reload that changed nothing that applies (an unchanged file, only restart keys) changed nothing to audit.
    if (diff.applied.length === 0) return "ok";
    try {
      await storage.audit.record({
        id: newId("aud"), time: clock.now(), key: "sighup", client_ip: null, request_id: null,
        method: "SIGHUP", path: "", target_id: null, changes: diff.changes,
      });
    } catch (error) {
      log.error("the config reload could not be recorded in the audit log; the reload stands", { error });
    }
    return "ok";
  };
}

/** refused logs why a reloaded config was not applied: one line per problem, each with its key path. */
function refused(error: unknown, log: Logger): void {
  const issues = error instanceof ConfigError ? error.issues : [{ path: "(file)", message: (error as Error).message }];
  for (const issue of issues) log.error(`config reload refused: ${issue.path}: ${issue.message}`, { key: issue.path, problem: issue.message });
  log.error("config reload refused; the running config stays in force", { problems: issues.length });
}
