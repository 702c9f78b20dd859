import { Cron } from "croner";
import type { Clock } from "../clock";
import type { Config } from "../config/types";
import type { Logger } from "../log";
import type { PruneCounts, PruneCutoffs, Storage } from "../storage/types";

/** retentionCutoffs turns `[retention]` into the times before which rows go. */
export function retentionCutoffs(config: Config, now: number): PruneCutoffs {
  // A rate-limit window may be dropped once the longest configured window has passed since it began.
  const longestWindow = Math.max(0, ...config.sources.map((s) => s.rate_limit?.windowMs ?? 0));
  return {
    now,
    deliveriesBefore: now - config.retention.deliveries,
    eventsBefore: now - config.retention.events,
    inboundBefore: now - config.retention.inbound,
    rateWindowsBefore: now - longestWindow,
    auditBefore: now - config.retention.audit,
  };
}

/** runRetention prunes once and logs what it removed. */
export async function runRetention(storage: Storage, config: Config, clock: Clock, log: Logger): Promise<PruneCounts> {
  const started = performance.now();
  const counts = await storage.maintenance.prune(retentionCutoffs(config, clock.now()));
  log.info("retention removed old rows", { ...counts, duration_ms: Math.round(performance.now() - started) });
  return counts;
}

/** RetentionJob runs retention on `cleanup_cron` (croner, local time); a run still going skips the next tick. */
export interface RetentionJob {
  stop(): void;
  nextRun(): Date | null;
  /** reschedule moves the job to the current config's cleanup_cron when it differs (a reload); true if it moved. */
  reschedule(): boolean;
}

/**
 * scheduleRetention starts the cron job; errors are logged, never thrown into the server. `config` is
 * read when the job runs, so reloaded retention periods apply at the next run.
 */
export function scheduleRetention(storage: Storage, config: () => Config, clock: Clock, log: Logger): RetentionJob {
  const start = (pattern: string) =>
    new Cron(pattern, { protect: true }, async () => {
      try {
        await runRetention(storage, config(), clock, log);
      } catch (error) {
        log.error("retention failed; it runs again at the next scheduled time", { error });
      }
    });
  let pattern = config().retention.cleanup_cron;
  let job = start(pattern);
  return {
    stop: () => job.stop(),
    nextRun: () => job.nextRun(),
    reschedule() {
      const next = config().retention.cleanup_cron;
      if (next === pattern) return false;
      // The pattern was checked when the config loaded; a run under way finishes on its own.
      const replacement = start(next);
      job.stop();
      job = replacement;
      pattern = next;
      return true;
    },
  };
}
