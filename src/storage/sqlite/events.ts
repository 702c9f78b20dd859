import type { Database } from "bun:sqlite";
import { newId } from "../../ids";
import { LANE_WAITING } from "../types";
import type { ActiveEndpoint, EventOrigin, EventQuery, EventRecord, InsertOptions, InsertResult, RouteEvent, RouteTarget } from "../types";
import type { BodyCache } from "../body-cache";
import type { AfterCommit } from "./group-commit";
import type { LaneRows } from "./lanes";
import type { QueueRows } from "./queue";
import { whereClause } from "./where";

const COLUMNS = "id, type, origin, body, created_at, source";

/** eventReads answers event reads off the read connection. */
export function eventReads(db: Database) {
  const getOne = db.query<EventRecord, [string]>(`SELECT ${COLUMNS} FROM events WHERE id = ?`);
  const distinctTypes = db.query<{ type: string }, []>("SELECT DISTINCT type FROM events ORDER BY type");
  return {
    get: (id: string) => getOne.get(id),
    list: ({ limit, before, type, since }: EventQuery) => {
      // A family: "invoice.*" is every type starting "invoice." (a range on the type index, no LIKE escaping).
      const family = type?.endsWith(".*") ? type.slice(0, -1) : undefined;
      const { clause, args } = whereClause([
        ["type = ?", family === undefined ? type : undefined],
        ["type >= ?", family],
        ["type < ?", family === undefined ? undefined : `${family.slice(0, -1)}/`],
        ["created_at >= ?", since],
        ["id < ?", before],
      ]);
      return db
        .query<EventRecord, (string | number)[]>(`SELECT ${COLUMNS} FROM events ${clause} ORDER BY id DESC LIMIT ?`)
        .all(...args, limit);
    },
    typesSeen: () => distinctTypes.all().map((r) => r.type),
  };
}

/** EventHooks: what storing an event tells the rest of the process once committed. */
export interface EventHooks {
  onEventStored(origin: EventOrigin): void;
  onEnqueued(): void;
}

/**
 * eventWrites stores an event and its deliveries (fan-out) inside the caller's transaction, so an
 * acknowledged event always has its deliveries. Which endpoints get one is `route`'s decision; a
 * delivery is only written for an endpoint whose ready row exists (it is active in this transaction).
 * A delivery routed to a FIFO lane takes the lane's next position here, in the same transaction.
 * `route` is handed the very event given (with any filter verdicts worked out before the transaction).
 */
export function eventWrites(
  db: Database,
  queue: QueueRows,
  lanes: LaneRows,
  route: RouteEvent,
  activeEndpoints: () => readonly ActiveEndpoint[],
  bodies: BodyCache,
  hooks: EventHooks,
) {
  const insert = db.query(`INSERT INTO events (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`);
  const insertDelivery = db.query(
    `INSERT INTO deliveries (id, event_id, webhook_id, event_type, status, next_attempt_at, created_at, updated_at, lane, sequence)
     VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?)`,
  );
  return {
    insert(after: AfterCommit, e: EventRecord, options: InsertOptions = {}): InsertResult {
      insert.run(e.id, e.type, e.origin, e.body, e.created_at, e.source ?? null);
      const targets: RouteTarget[] = options.onlyWebhook !== undefined ? [{ id: options.onlyWebhook, lane: null }] : route(e, activeEndpoints());
      const deliveryIds: string[] = [];
      for (const { id: webhookId, lane } of targets) {
        const id = newId("dlv");
        if (lane === null) {
          if (!queue.enqueue(webhookId, e.created_at)) continue;
          insertDelivery.run(id, e.id, webhookId, e.type, e.created_at, e.created_at, e.created_at, null, null);
        } else {
          if (!queue.serves(webhookId)) continue;
          const { sequence, dueAt } = lanes.join(webhookId, lane, id, e.created_at);
          if (dueAt !== LANE_WAITING) queue.enqueue(webhookId, dueAt);
          insertDelivery.run(id, e.id, webhookId, e.type, dueAt, e.created_at, e.created_at, lane, sequence);
        }
        deliveryIds.push(id);
      }
      if (deliveryIds.length > 0) bodies.set(e.id, e.body, e.source ?? null);
      after(() => {
        hooks.onEventStored(e.origin);
        if (deliveryIds.length > 0) hooks.onEnqueued();
      });
      return { deliveries: deliveryIds.length, deliveryIds };
    },
  };
}
