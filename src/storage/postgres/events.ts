import { newId } from "../../ids";
import type { BodyCache } from "../body-cache";
import type { ActiveEndpoint, EventOrigin, EventQuery, EventRecord, InsertOptions, InsertResult, RouteEvent } from "../types";
import { type Db, one, rows, run } from "./client";
import type { AfterCommit } from "./group-commit";
import { queueRows } from "./queue";
import { whereClause } from "./where";

const COLUMNS = "id, type, origin, body, created_at";

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
 * only written for an endpoint whose ready row exists (active as this transaction sees it).
 */
export function eventWrites(route: RouteEvent, activeEndpoints: () => Promise<readonly ActiveEndpoint[]>, bodies: BodyCache, hooks: EventHooks) {
  return {
    async insert(db: Db, after: AfterCommit, e: EventRecord, options: InsertOptions = {}): Promise<InsertResult> {
      await run(db, `INSERT INTO events (${COLUMNS}) VALUES ($1, $2, $3, $4, $5)`, [e.id, e.type, e.origin, e.body, e.created_at]);
      const targets = options.onlyWebhook !== undefined ? [options.onlyWebhook] : route(e, await activeEndpoints());
      const served = await queueRows(db).enqueueAll(targets, e.created_at);
      const deliveryIds: string[] = [];
      const values: string[] = [];
      const params: (string | number)[] = [e.id, e.type, e.created_at];
      for (const webhookId of targets) {
        if (!served.has(webhookId)) continue;
        const id = newId("dlv");
        params.push(id, webhookId);
        values.push(`($${params.length - 1}, $1, $${params.length}, $2, 'pending', $3, $3, $3)`);
        deliveryIds.push(id);
      }
      // One statement for all of the event's deliveries: a round trip per delivery is what bounds a batch.
      if (values.length > 0) {
        await run(
          db,
          `INSERT INTO deliveries (id, event_id, webhook_id, event_type, status, next_attempt_at, created_at, updated_at) VALUES ${values.join(", ")}`,
          params,
        );
      }
      if (deliveryIds.length > 0) bodies.set(e.id, e.body);
      after(() => {
        hooks.onEventStored(e.origin);
        if (deliveryIds.length > 0) hooks.onEnqueued();
      });
      return { deliveries: deliveryIds.length, deliveryIds };
    },
  };
}
