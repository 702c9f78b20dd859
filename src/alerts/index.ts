import type { OperationalEvents } from "../storage/types";
import { disabledEvent, failingEvent, recoveredEvent } from "./events";
import { addExpiry, attemptReport, decideBacklog, flushExpiry } from "./rules";

export { cutToOrigin, isOperationalType, OPERATIONAL_TYPES } from "./types";

/** AlertSettings are `[alerts]` (SPEC §2). */
export interface AlertSettings {
  /** failingAfter: hookd.endpoint.failing when an endpoint's failure_count reaches this. */
  readonly failingAfter: number;
  /** backlogAgeMs: hookd.queue.backlog when the oldest unfinished delivery is older than this. */
  readonly backlogAgeMs: number;
}

/**
 * createOperationalEvents binds `[alerts]` to SPEC §11's rules and builders; handed to storage at open.
 * Given a function, the thresholds are read at each use, so a reloaded config applies without reopening storage.
 */
export function createOperationalEvents(settings: AlertSettings | (() => AlertSettings)): OperationalEvents {
  const current = typeof settings === "function" ? settings : () => settings;
  return {
    attempt: (decision, before, eventType) => attemptReport(decision, before, eventType, current().failingAfter),
    disabled: disabledEvent,
    failing: failingEvent,
    recovered: recoveredEvent,
    expiry: addExpiry,
    flush: flushExpiry,
    backlog: (facts, state, now) => decideBacklog(facts, state, now, current().backlogAgeMs),
  };
}
