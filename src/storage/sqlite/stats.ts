import type { Database } from "bun:sqlite";
import { type DeliveryStep, type EndpointRate, type InboundStep, type SeriesQuery, type StepRow, denseSteps } from "../stats-types";

// Each statement reads one time range off an index (attempts_by_time, inbound_received) and looks
// deliveries up by primary key; nothing outside the window is touched. ?1 = since, ?2 = step, ?3 = until.
// A failed attempt is its delivery's expiry when the delivery is expired and no later attempt exists
// (attempts_by_delivery answers that).

/** SERIES_SQL groups the window's attempts by step and outcome (exported for the query-plan test). */
export const SERIES_SQL = `
SELECT step, outcome, COUNT(*) AS n FROM (
  SELECT CAST((a.attempted_at - ?1) / ?2 AS INTEGER) AS step,
    CASE WHEN a.status_code BETWEEN 200 AND 299 THEN 'delivered'
         WHEN d.status = 'expired' AND NOT EXISTS (SELECT 1 FROM attempts b WHERE b.delivery_id = a.delivery_id AND b.id > a.id) THEN 'expired'
         ELSE 'failed' END AS outcome
  FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
  WHERE a.attempted_at >= ?1 AND a.attempted_at < ?3
) GROUP BY step, outcome`;

/** INBOUND_SQL groups the window's inbound records by step and status. */
export const INBOUND_SQL = `
SELECT CAST((received_at - ?1) / ?2 AS INTEGER) AS step, status AS outcome, COUNT(*) AS n
FROM inbound WHERE received_at >= ?1 AND received_at < ?3 GROUP BY step, outcome`;

/** ENDPOINTS_SQL counts the window's attempts and 2xx answers per endpoint (deleted ones included: it is history). */
export const ENDPOINTS_SQL = `
SELECT d.webhook_id AS webhook_id, w.url AS url, COUNT(*) AS attempts,
  SUM(CASE WHEN a.status_code BETWEEN 200 AND 299 THEN 1 ELSE 0 END) AS succeeded
FROM attempts a JOIN deliveries d ON d.id = a.delivery_id JOIN webhooks w ON w.id = d.webhook_id
WHERE a.attempted_at >= ?1 AND a.attempted_at < ?2
GROUP BY d.webhook_id, w.url ORDER BY d.webhook_id`;

/** sqliteStats answers the overview off the read connection. */
export function sqliteStats(db: Database) {
  const series = db.query<StepRow, [number, number, number]>(SERIES_SQL);
  const inbound = db.query<StepRow, [number, number, number]>(INBOUND_SQL);
  const endpoints = db.query<EndpointRate, [number, number]>(ENDPOINTS_SQL);
  const oldestPending = db.query<{ t: number | null }, []>("SELECT MIN(created_at) AS t FROM deliveries WHERE status = 'pending'");
  return {
    series: ({ since, stepMs, steps }: SeriesQuery) => {
      const until = since + steps * stepMs;
      return {
        deliveries: denseSteps<DeliveryStep>(steps, () => ({ delivered: 0, failed: 0, expired: 0 }), series.all(since, stepMs, until)),
        inbound: denseSteps<InboundStep>(steps, () => ({ accepted: 0, duplicate: 0, rejected: 0 }), inbound.all(since, stepMs, until)),
        endpoints: endpoints.all(since, until).map((r) => ({ ...r, succeeded: r.succeeded ?? 0 })),
      };
    },
    oldestPendingAt: () => oldestPending.get()?.t ?? null,
  };
}
