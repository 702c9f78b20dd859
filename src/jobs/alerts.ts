import type { Clock } from "../clock";
import type { Logger } from "../log";
import type { Storage } from "../storage/types";

/** ALERT_CHECK_MS: how often the backlog is checked and ended expiry windows are reported (SPEC §11: at least every 10 s). */
export const ALERT_CHECK_MS = 5000;

/** AlertJob is the periodic half of SPEC §11 (the rest is stored with the changes that cause it). */
export interface AlertJob {
  /** runOnce reports ended expiry windows, then checks the backlog; resolves with the backlog event's type, if any. */
  runOnce(): Promise<string | null>;
  /** stop cancels the next check and waits for one running. */
  stop(): Promise<void>;
}

/**
 * startAlertJob checks every `everyMs` on `clock`: expiry windows that ended with expiries waiting
 * are reported (also those a previous process left: the windows are rows), then the queue's backlog.
 * Each runs in its own transaction; a failure is logged and tried again at the next check.
 */
export function startAlertJob(storage: Storage, clock: Clock, log: Logger, everyMs = ALERT_CHECK_MS): AlertJob {
  let cancel: (() => void) | null = null;
  let running: Promise<unknown> | null = null;
  let stopped = false;

  const runOnce = async (): Promise<string | null> => {
    const flushed = await storage.alerts.flushExpiries(clock.now());
    if (flushed > 0) log.info("reported expired deliveries", { endpoints: flushed });
    const backlog = await storage.alerts.checkBacklog(clock.now());
    if (backlog === "hookd.queue.backlog") log.warn("delivery queue backlog reported", { type: backlog });
    else if (backlog !== null) log.info("delivery queue backlog cleared", { type: backlog });
    return backlog;
  };
  const arm = () => {
    if (stopped) return;
    cancel = clock.setTimer(everyMs, () => {
      cancel = null;
      running = runOnce()
        .catch((error: unknown) => log.error("alert check failed; it runs again at the next check", { error }))
        .finally(() => {
          running = null;
          arm();
        });
    });
  };
  arm();
  return {
    runOnce,
    async stop() {
      stopped = true;
      cancel?.();
      cancel = null;
      await running;
    },
  };
}
