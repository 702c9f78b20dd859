/** OPERATIONAL_PREFIX starts every type hookd emits about itself (SPEC §11). */
export const OPERATIONAL_PREFIX = "hookd.";

/** OPERATIONAL_TYPES are SPEC §11's event types. */
export const OPERATIONAL_TYPES = [
  "hookd.endpoint.disabled",
  "hookd.endpoint.failing",
  "hookd.endpoint.recovered",
  "hookd.deliveries.expired",
  "hookd.queue.backlog",
  "hookd.queue.backlog_cleared",
] as const;

/** OperationalType is one of SPEC §11's types. */
export type OperationalType = (typeof OPERATIONAL_TYPES)[number];

/** isOperationalType: `hookd.*` types are hookd's own (reserved on publish and inbound, opt-in for subscribers). */
export function isOperationalType(type: string): boolean {
  return type.startsWith(OPERATIONAL_PREFIX);
}

/**
 * cutToOrigin keeps only scheme, host and port of a URL (SPEC §11): the path and query of a chat
 * webhook are its secret. Something that is not a URL gives "" rather than leaking as is.
 */
export function cutToOrigin(url: string): string {
  try {
    const origin = new URL(url).origin;
    return origin === "null" ? "" : origin;
  } catch {
    return "";
  }
}
