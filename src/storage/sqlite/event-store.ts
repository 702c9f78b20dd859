import type { Database } from "bun:sqlite";
import { matchesAny } from "../../events/types";
import { newId } from "../../ids";
import type { BodyCache } from "./body-cache";
import type { GroupCommit } from "./group-commit";
import { whereClause } from "./where";
import type { EventOrigin, EventQuery, EventRecord, EventStore, InsertOptions } from "../types";
import type { ActiveEndpoint } from "./webhook-store";

const COLUMNS = "id, type, origin, body, created_at";

/** FanOut is the synchronous core of an event insert, for callers already inside a transaction. */
export type FanOut = (event: EventRecord, options?: InsertOptions) => { deliveries: number; deliveryIds: string[] };

/**
 * sqliteEventStore keeps the event log. Storing an event and creating its deliveries is one
 * operation (`fanOut`), run inside whatever transaction the caller holds, so an acknowledged
 * event always has its deliveries.
 */
export function sqliteEventStore(
  db: Database,
  commits: GroupCommit,
  activeEndpoints: () => ActiveEndpoint[],
  onEnqueued: () => void,
  onEventStored: (origin: EventOrigin) => void,
  bodies: BodyCache,
): EventStore & { fanOut: FanOut } {
  const insert = db.query(`INSERT INTO events (${COLUMNS}) VALUES (?, ?, ?, ?, ?)`);
  const insertDelivery = db.query(
    `INSERT INTO deliveries (id, event_id, webhook_id, event_type, status, next_attempt_at, created_at, updated_at)
     VALUES (?, ?, ?, ?, 'pending', ?, ?, ?)`,
  );
  const getOne = db.query<EventRecord, [string]>(`SELECT ${COLUMNS} FROM events WHERE id = ?`);
  const distinctTypes = db.query<{ type: string }, []>("SELECT DISTINCT type FROM events ORDER BY type");

  const fanOut: FanOut = (e, options = {}) => {
    insert.run(e.id, e.type, e.origin, e.body, e.created_at);
    const targets = activeEndpoints().filter((w) =>
      options.onlyWebhook !== undefined ? w.id === options.onlyWebhook : matchesAny(w.events, e.type),
    );
    if (targets.length > 0) bodies.set(e.id, e.body);
    const deliveryIds = targets.map((w) => {
      const id = newId("dlv");
      insertDelivery.run(id, e.id, w.id, e.type, e.created_at, e.created_at, e.created_at);
      return id;
    });
    const result = { deliveries: deliveryIds.length, deliveryIds };
    options.alsoInTransaction?.(result);
    return result;
  };

  return {
    fanOut,
    insert: async (event, options) => {
      const result = await commits.run(() => fanOut(event, options));
      onEventStored(event.origin);
      if (result.deliveries > 0) onEnqueued();
      return result;
    },
    get: (id) => getOne.get(id),
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
