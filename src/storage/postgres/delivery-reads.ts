import type { AttemptRow, DeliveryQuery, DeliveryStatus } from "../types";
import { type Db, one, rows } from "./client";
import { queueRows } from "./queue";
import { whereClause } from "./where";
import { type DeliveryRow, deliveryColumns, deliveryFromRow as fromRow } from "../delivery-row";

const COLUMNS = deliveryColumns();

/** deliveryReads answers history reads and the next wake-up off the pool (committed rows only). */
export function deliveryReads(db: Db) {
  const queue = queueRows(db);
  return {
    get: async (id: string) => {
      const row = await one<DeliveryRow>(db, `SELECT ${COLUMNS} FROM deliveries WHERE id = $1`, [id]);
      return row ? fromRow(row) : null;
    },
    attempts: (deliveryId: string) =>
      rows<AttemptRow>(
        db,
        "SELECT id, delivery_id, attempted_at, status_code, duration_ms, error, response FROM attempts WHERE delivery_id = $1 ORDER BY id",
        [deliveryId],
      ),
    listForWebhook: async (webhookId: string, { status, limit, before }: DeliveryQuery) => {
      const { clause, args, next } = whereClause([["webhook_id = ?", webhookId], ["status = ?", status], ["id < ?", before]]);
      return (await rows<DeliveryRow>(db, `SELECT ${COLUMNS} FROM deliveries ${clause} ORDER BY id DESC LIMIT $${next}`, [...args, limit])).map(fromRow);
    },
    listForEvent: async (eventId: string) =>
      (await rows<DeliveryRow>(db, `SELECT ${COLUMNS} FROM deliveries WHERE event_id = $1 ORDER BY id`, [eventId])).map(fromRow),
    countByStatus: async () => {
      const counts: Record<DeliveryStatus, number> = { pending: 0, failed: 0, delivered: 0, expired: 0 };
      for (const row of await rows<{ status: DeliveryStatus; n: number }>(db, "SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status")) {
        counts[row.status] = row.n;
      }
      return counts;
    },
    oldestUnfinishedAt: async () =>
      (await one<{ t: number | null }>(
        db,
        `SELECT LEAST((SELECT MIN(created_at) FROM deliveries WHERE status = 'pending'),
                      (SELECT MIN(created_at) FROM deliveries WHERE status = 'failed')) AS t`,
      ))?.t ?? null,
    attemptsSince: async (since: number) =>
      (await one<{ n: number }>(db, "SELECT COUNT(*) AS n FROM attempts WHERE attempted_at >= $1", [since]))?.n ?? 0,
    // Two index reads: the first endpoint with due work and room, and the first lease to lapse.
    nextWakeAt: async (_perEndpoint: number): Promise<number | null> => {
      const ready = await queue.firstReady();
      const lapse = (await one<{ t: number | null }>(db, "SELECT MIN(lease_until) AS t FROM deliveries WHERE lease_until IS NOT NULL"))?.t ?? null;
      if (ready === null) return lapse;
      return lapse === null ? ready : Math.min(ready, lapse);
    },
  };
}
