import type { Database } from "bun:sqlite";
import { LANE_WAITING } from "../types";
import type { AttemptRow, DeliveryQuery, DeliveryStatus } from "../types";
import type { QueueRows } from "./queue";
import { whereClause } from "./where";
import { type DeliveryRow, deliveryColumns, deliveryFromRow as fromRow } from "../delivery-row";

const COLUMNS = deliveryColumns();

/** deliveryReads answers history reads and the next wake-up off the read connection. */
export function deliveryReads(db: Database, queue: QueueRows) {
  const getOne = db.query<DeliveryRow, [string]>(`SELECT ${COLUMNS} FROM deliveries WHERE id = ?`);
  const attemptsOf = db.query<AttemptRow, [string]>(
    "SELECT id, delivery_id, attempted_at, status_code, duration_ms, error, response FROM attempts WHERE delivery_id = ? ORDER BY id",
  );
  const byEvent = db.query<DeliveryRow, [string]>(`SELECT ${COLUMNS} FROM deliveries WHERE event_id = ? ORDER BY id`);
  const byStatus = db.query<{ status: DeliveryStatus; n: number }, []>("SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status");
  const oldest = db.query<{ t: number | null }, []>(
    "SELECT MIN(t) AS t FROM (SELECT MIN(created_at) AS t FROM deliveries WHERE status = 'pending' UNION ALL SELECT MIN(created_at) FROM deliveries WHERE status = 'failed')",
  );
  const attemptsAfter = db.query<{ n: number }, [number]>("SELECT COUNT(*) AS n FROM attempts WHERE attempted_at >= ?");
  const firstLeaseEnd = db.query<{ t: number | null }, []>("SELECT MIN(lease_until) AS t FROM deliveries WHERE lease_until IS NOT NULL");
  return {
    get: (id: string) => {
      const row = getOne.get(id);
      return row ? fromRow(row) : null;
    },
    attempts: (deliveryId: string) => attemptsOf.all(deliveryId),
    listForWebhook: (webhookId: string, { status, limit, before }: DeliveryQuery) => {
      const { clause, args } = whereClause([["webhook_id = ?", webhookId], ["status = ?", status], ["id < ?", before]]);
      return db
        .query<DeliveryRow, (string | number)[]>(`SELECT ${COLUMNS} FROM deliveries ${clause} ORDER BY id DESC LIMIT ?`)
        .all(...args, limit)
        .map(fromRow);
    },
    listForEvent: (eventId: string) => byEvent.all(eventId).map(fromRow),
    countByStatus: () => {
      const counts: Record<DeliveryStatus, number> = { pending: 0, failed: 0, delivered: 0, expired: 0 };
      for (const row of byStatus.all()) counts[row.status] = row.n;
      return counts;
    },
    oldestUnfinishedAt: () => oldest.get()?.t ?? null,
    attemptsSince: (since: number) => attemptsAfter.get(since)?.n ?? 0,
    // Two index reads: the first endpoint with due work and room, and the first lease to lapse.
    // Endpoints at their limit are off the ready index, so the limit itself need not be passed here.
    nextWakeAt: (_perEndpoint: number): number | null => {
      const ready = queue.firstReady();
      const lapse = firstLeaseEnd.get()?.t ?? null;
      // A ready time at LANE_WAITING would mean lanes without a head: nothing a claim could take.
      if (ready === null || ready >= LANE_WAITING) return lapse;
      return lapse === null ? ready : Math.min(ready, lapse);
    },
  };
}
