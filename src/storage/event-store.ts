import type { Database } from "bun:sqlite";
import type { EventQuery, EventRecord, EventStore } from "./types";

const COLUMNS = "id, type, origin, body, created_at";

/** sqliteEventStore keeps the event log; `insertEvent` is shared with the resource store's transactions. */
export function sqliteEventStore(db: Database): EventStore & { insertEvent(event: EventRecord): { deliveries: number } } {
  const insert = db.query(`INSERT INTO events (${COLUMNS}) VALUES (?, ?, ?, ?, ?)`);
  const getOne = db.query<EventRecord, [string]>(`SELECT ${COLUMNS} FROM events WHERE id = ?`);
  const distinctTypes = db.query<{ type: string }, []>("SELECT DISTINCT type FROM events ORDER BY type");

  // Runs inside the caller's transaction when there is one; fan-out into deliveries joins it here.
  const insertEvent = (e: EventRecord) => {
    insert.run(e.id, e.type, e.origin, e.body, e.created_at);
    return { deliveries: 0 };
  };

  return {
    insertEvent,
    insert: db.transaction(insertEvent),
    get: (id) => getOne.get(id),
    list: ({ limit, before, type, since }: EventQuery) => {
      const where: string[] = [];
      const args: (string | number)[] = [];
      if (type !== undefined) {
        where.push("type = ?");
        args.push(type);
      }
      if (since !== undefined) {
        where.push("created_at >= ?");
        args.push(since);
      }
      if (before !== undefined) {
        where.push("id < ?");
        args.push(before);
      }
      const clause = where.length > 0 ? `WHERE ${where.join(" AND ")}` : "";
      return db
        .query<EventRecord, (string | number)[]>(`SELECT ${COLUMNS} FROM events ${clause} ORDER BY id DESC LIMIT ?`)
        .all(...args, limit);
    },
    typesSeen: () => distinctTypes.all().map((r) => r.type),
  };
}
