import type { Logger } from "../log";

// Probes and scrapers poll these every few seconds; at info level they would bury the requests people look for.
const QUIET_PATHS = new Set(["/healthz", "/readyz", "/metrics"]);

/** AccessEntry is what one finished request leaves in the log. */
export interface AccessEntry {
  readonly requestId: string;
  readonly method: string;
  /** path is "" when the URL could not be parsed (no usable Host header). */
  readonly path: string;
  readonly status: number;
  /** started is the performance.now() reading taken when the request arrived. */
  readonly started: number;
  readonly clientIp: string;
  /** clientClosed: the client went away before the answer (mid-body, usually); logged as such, never as a failure. */
  readonly clientClosed?: boolean;
}

/** logAccess writes the one line per request: "request" at info (debug for health and metrics polls), or "client_closed" at info. */
export function logAccess(log: Logger, entry: AccessEntry): void {
  const fields = {
    request_id: entry.requestId,
    method: entry.method,
    path: entry.path,
    status: entry.status,
    duration_ms: Math.round((performance.now() - entry.started) * 10) / 10,
    client_ip: entry.clientIp,
  };
  if (entry.clientClosed) log.info("client_closed", fields);
  else if (QUIET_PATHS.has(entry.path)) log.debug("request", fields);
  else log.info("request", fields);
}
