import { type DeliveryStep, type EndpointRate, type InboundStep, type SeriesQuery, type StepRow, denseSteps } from "../stats-types";
import { type Db, one, rows } from "./client";

// The same reads as ../sqlite/stats.ts: one index range each (attempts_by_time, inbound_received),
// deliveries by primary key. $1 = since, $2 = step, $3 = until; bigint division truncates, and every
// time in range is ≥ since, so it is the step index.

const SERIES_SQL = `
SELECT step, outcome, COUNT(*) AS n FROM (
  SELECT (a.attempted_at - $1::bigint) / $2::bigint AS step,
    CASE WHEN a.status_code BETWEEN 200 AND 299 THEN 'delivered'
         WHEN d.status = 'expired' AND NOT EXISTS (SELECT 1 FROM attempts b WHERE b.delivery_id = a.delivery_id AND b.id > a.id) THEN 'expired'
         ELSE 'failed' END AS outcome
  FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
  WHERE a.attempted_at >= $1::bigint AND a.attempted_at < $3::bigint
) AS t GROUP BY step, outcome`;

const INBOUND_SQL = `
SELECT (received_at - $1::bigint) / $2::bigint AS step, status AS outcome, COUNT(*) AS n
FROM inbound WHERE received_at >= $1::bigint AND received_at < $3::bigint GROUP BY 1, 2`;

const ENDPOINTS_SQL = `
SELECT d.webhook_id AS webhook_id, w.url AS url, COUNT(*) AS attempts,
  SUM(CASE WHEN a.status_code BETWEEN 200 AND 299 THEN 1 ELSE 0 END) AS succeeded
FROM attempts a JOIN deliveries d ON d.id = a.delivery_id JOIN webhooks w ON w.id = d.webhook_id
WHERE a.attempted_at >= $1::bigint AND a.attempted_at < $2::bigint
GROUP BY d.webhook_id, w.url ORDER BY d.webhook_id`;

/** postgresStats answers the overview off the pool (committed rows only). */
export function postgresStats(db: Db) {
  return {
    series: async ({ since, stepMs, steps }: SeriesQuery) => {
      const until = since + steps * stepMs;
      const [attempted, received, endpoints] = await Promise.all([
        rows<StepRow>(db, SERIES_SQL, [since, stepMs, until]),
        rows<StepRow>(db, INBOUND_SQL, [since, stepMs, until]),
        rows<EndpointRate>(db, ENDPOINTS_SQL, [since, until]),
      ]);
      return {
        deliveries: denseSteps<DeliveryStep>(steps, () => ({ delivered: 0, failed: 0, expired: 0 }), attempted),
        inbound: denseSteps<InboundStep>(steps, () => ({ accepted: 0, duplicate: 0, rejected: 0 }), received),
        endpoints: endpoints.map((r) => ({ ...r, succeeded: r.succeeded ?? 0 })),
      };
    },
    oldestPendingAt: async () =>
      (await one<{ t: number | null }>(db, "SELECT MIN(created_at) AS t FROM deliveries WHERE status = 'pending'"))?.t ?? null,
  };
}
