import type { EventRecord, PageQuery, ResourceChange, ResourceRecord } from "../types";
import { type Db, one, rows, run } from "./client";
import type { AfterCommit } from "./group-commit";

interface ResourceRow extends Omit<ResourceRecord, "metadata"> {
  metadata: string;
}

const COLUMNS = "id, type, name, status, metadata, created_at, updated_at";

function fromRow(row: ResourceRow): ResourceRecord {
  return { ...row, metadata: JSON.parse(row.metadata) as Record<string, unknown> };
}

/** resourceReads answers registry reads off the pool. */
export function resourceReads(db: Db) {
  return {
    get: async (id: string) => {
      const row = await one<ResourceRow>(db, `SELECT ${COLUMNS} FROM resources WHERE id = $1`, [id]);
      return row ? fromRow(row) : null;
    },
    list: async ({ limit, before }: PageQuery) =>
      (before
        ? await rows<ResourceRow>(db, `SELECT ${COLUMNS} FROM resources WHERE id < $1 ORDER BY id DESC LIMIT $2`, [before, limit])
        : await rows<ResourceRow>(db, `SELECT ${COLUMNS} FROM resources ORDER BY id DESC LIMIT $1`, [limit])
      ).map(fromRow),
  };
}

/** StoreEvents stores each event (and its deliveries) in the caller's transaction. */
export type StoreEvents = (db: Db, after: AfterCommit, events: readonly EventRecord[]) => Promise<void>;

/**
 * resourceWrites changes the registry; each change commits together with the events it emits. The
 * row is read FOR UPDATE, so another node's concurrent change waits and then sees this one.
 */
export function resourceWrites(storeEvents: StoreEvents) {
  const locked = async (db: Db, id: string) => {
    const row = await one<ResourceRow>(db, `SELECT ${COLUMNS} FROM resources WHERE id = $1 FOR UPDATE`, [id]);
    return row ? fromRow(row) : null;
  };
  return {
    async create(db: Db, after: AfterCommit, r: ResourceRecord, events: EventRecord[]): Promise<void> {
      await run(db, `INSERT INTO resources (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)`, [
        r.id, r.type, r.name, r.status, JSON.stringify(r.metadata), r.created_at, r.updated_at,
      ]);
      await storeEvents(db, after, events);
    },
    async update(db: Db, after: AfterCommit, id: string, change: (before: ResourceRecord) => ResourceChange | null): Promise<ResourceRecord | null> {
      const before = await locked(db, id);
      if (!before) return null;
      const next = change(before);
      if (!next) return before;
      const r = next.after;
      await run(db, "UPDATE resources SET type = $1, name = $2, status = $3, metadata = $4, updated_at = $5 WHERE id = $6", [
        r.type, r.name, r.status, JSON.stringify(r.metadata), r.updated_at, r.id,
      ]);
      await storeEvents(db, after, next.events);
      return r;
    },
    async remove(db: Db, after: AfterCommit, id: string, describe: (before: ResourceRecord) => EventRecord[]): Promise<ResourceRecord | null> {
      const before = await locked(db, id);
      if (!before) return null;
      await run(db, "DELETE FROM resources WHERE id = $1", [id]);
      await storeEvents(db, after, describe(before));
      return before;
    },
  };
}
