import { newId } from "../../ids";
import type { BodyCache } from "../body-cache";
import {
  type ActiveEndpoint, type EventOrigin, type EventQuery, type EventRecord, type InsertOptions, type InsertResult, LANE_WAITING,
  type RouteEvent, type RouteTarget,
} from "../types";
import { type Db, one, rows, run } from "./client";
import type { AfterCommit } from "./group-commit";
import { byLane, laneRows } from "./lanes";
import { queueRows } from "./queue";
import { whereClause } from "./where";

const COLUMNS = "id, type, origin, body, created_at, source";

/** eventReads answers event reads off the pool. */
export function eventReads(db: Db) {
  return {
    get: (id: string) => one<EventRecord>(db, `SELECT ${COLUMNS} FROM events WHERE id = $1`, [id]),
    list: ({ limit, before, type, since }: EventQuery) => {
      // A family: "invoice.*" is every type starting "invoice." (a range on the "C"-collated type index).
      const family = type?.endsWith(".*") ? type.slice(0, -1) : undefined;
      const { clause, args, next } = whereClause([
        ["type = ?", family === undefined ? type : undefined],
        ["type >= ?", family],
        ["type < ?", family === undefined ? undefined : `${family.slice(0, -1)}/`],
        ["created_at >= ?", since],
        ["id < ?", before],
      ]);
      return rows<EventRecord>(db, `SELECT ${COLUMNS} FROM events ${clause} ORDER BY id DESC LIMIT $${next}`, [...args, limit]);
    },
    typesSeen: async () => (await rows<{ type: string }>(db, "SELECT DISTINCT type FROM events ORDER BY type")).map((r) => r.type),
  };
}

/** EventHooks: what storing an event tells the rest of the process once committed. */
export interface EventHooks {
  onEventStored(origin: EventOrigin): void;
  onEnqueued(): void;
}

/**
 * eventWrites stores an event and its deliveries (fan-out) inside a batch's transaction; a delivery is
 * only written for an endpoint whose ready row exists (active as this transaction sees it). A FIFO
 * delivery gets its lane position here (./lanes.ts) and is due only if it is its lane's head.
 * `route` is handed the very event given (with any filter verdicts worked out before the transaction).
 */
export function eventWrites(route: RouteEvent, activeEndpoints: () => Promise<readonly ActiveEndpoint[]>, bodies: BodyCache, hooks: EventHooks) {
  return {
    async insert(db: Db, after: AfterCommit, e: EventRecord, options: InsertOptions = {}): Promise<InsertResult> {
      await run(db, `INSERT INTO events (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)`, [e.id, e.type, e.origin, e.body, e.created_at, e.source ?? null]);
      // webhook.test goes to its endpoint outside any lane.
      const targets: RouteTarget[] = options.onlyWebhook !== undefined ? [{ id: options.onlyWebhook, lane: null }] : route(e, await activeEndpoints());
      const queue = queueRows(db);
      const served = await queue.served(targets.map((t) => t.id), targets.some((t) => t.lane !== null));
      const made = targets.filter((t) => served.has(t.id)).map((t) => ({ ...t, deliveryId: newId("dlv") }));
      // Ready rows (locked above when a lane is involved), then lane rows, in one stable order: ./lanes.ts.
      const laned = made.filter((t) => t.lane !== null).map((t) => ({ webhook_id: t.id, lane: t.lane!, id: t.deliveryId })).sort(byLane);
      const places = await laneRows(db).place(laned, e.created_at);
      const values: string[] = [];
      const params: (string | number | null)[] = [e.id, e.type, e.created_at, LANE_WAITING];
      const due: string[] = [];
      for (const t of made) {
        const place = places.get(t.deliveryId);
        params.push(t.deliveryId, t.id, t.lane, place?.sequence ?? null);
        const n = params.length;
        values.push(`($${n - 3}, $1, $${n - 2}, $2, 'pending', ${place && !place.head ? "$4" : "$3"}, $3, $3, $${n - 1}, $${n}::bigint)`);
        if (!place || place.head) due.push(t.id);
      }
      // One statement for all of the event's deliveries: a round trip per delivery is what bounds a batch.
      if (values.length > 0) {
        await run(
          db,
          `INSERT INTO deliveries (id, event_id, webhook_id, event_type, status, next_attempt_at, created_at, updated_at, lane, sequence)
           VALUES ${values.join(", ")}`,
          params,
        );
      }
      // Deliveries waiting behind a lane's head change nothing a claim looks at.
      await queue.enqueue(due, e.created_at, served);
      const deliveryIds = made.map((t) => t.deliveryId);
      if (deliveryIds.length > 0) bodies.set(e.id, e.body, e.source ?? null);
      after(() => {
        hooks.onEventStored(e.origin);
        if (deliveryIds.length > 0) hooks.onEnqueued();
      });
      return { deliveries: deliveryIds.length, deliveryIds };
    },
  };
}
