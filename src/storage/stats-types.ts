// The overview's reads (GET /v1/stats, SPEC §3): counts per time step over a recent window, aggregated
// by the database off the time indexes (attempts_by_time, inbound_received, deliveries_status).

/** SeriesQuery cuts [since, since + steps × stepMs) into `steps` steps of `stepMs` (epoch ms). */
export interface SeriesQuery {
  since: number;
  stepMs: number;
  steps: number;
}

/**
 * DeliveryStep counts the attempts made in one step by outcome: delivered (a 2xx), expired (a failed
 * attempt that was its delivery's last and left it expired), failed (every other failed attempt).
 * Deliveries expired without an attempt (their endpoint was disabled or deleted) are not in it.
 */
export interface DeliveryStep {
  delivered: number;
  failed: number;
  expired: number;
}

/** InboundStep counts the inbound requests received in one step by outcome. */
export interface InboundStep {
  accepted: number;
  duplicate: number;
  rejected: number;
}

/** EndpointRate is one endpoint's attempts over the whole window and how many were 2xx. */
export interface EndpointRate {
  webhook_id: string;
  url: string;
  attempts: number;
  succeeded: number;
}

/** StatsSeries: one entry per step, oldest first (steps without traffic are zeros); endpoints by id. */
export interface StatsSeries {
  deliveries: DeliveryStep[];
  inbound: InboundStep[];
  endpoints: EndpointRate[];
}

/** StatsStore answers the dashboard's overview. */
export interface StatsStore {
  /** series aggregates attempts and inbound records per step, and per endpoint over the window. */
  series(query: SeriesQuery): Promise<StatsSeries>;
  /** oldestPendingAt is the creation time of the oldest `pending` delivery (not `failed`), or null. */
  oldestPendingAt(): Promise<number | null>;
}

/** StepRow is a backend's grouped row: the step index and one outcome's count. */
export interface StepRow {
  step: number;
  outcome: string;
  n: number;
}

/** denseSteps spreads grouped rows over `steps` zeroed entries; rows outside the range or of unknown outcomes are ignored. */
export function denseSteps<T extends object>(steps: number, zero: () => T, rows: readonly StepRow[]): T[] {
  const out = Array.from({ length: steps }, zero);
  for (const { step, outcome, n } of rows) {
    const entry = out[step] as Record<string, number> | undefined;
    if (entry && outcome in entry) entry[outcome] = (entry[outcome] ?? 0) + n;
  }
  return out;
}
