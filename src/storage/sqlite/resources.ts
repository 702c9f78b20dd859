import type { Database } from "bun:sqlite";
import type { EventRecord, PageQuery, ResourceChange, ResourceRecord } from "../types";
import type { AfterCommit } from "./group-commit";

interface ResourceRow extends Omit<ResourceRecord, "metadata"> {
  metadata: string;
}

const COLUMNS = "id, type, name, status, metadata, created_at, updated_at";

function fromRow(row: ResourceRow): ResourceRecord {
  return { ...row, metadata: JSON.parse(row.metadata) as Record<string, unknown> };
}

/** resourceReads answers registry reads off the read connection. */
export function resourceReads(db: Database) {
  const getOne = db.query<ResourceRow, [string]>(`SELECT ${COLUMNS} FROM resources WHERE id = ?`);
  const firstPage = db.query<ResourceRow, [number]>(`SELECT ${COLUMNS} FROM resources ORDER BY id DESC LIMIT ?`);
  const nextPage = db.query<ResourceRow, [string, number]>(`SELECT ${COLUMNS} FROM resources WHERE id < ? ORDER BY id DESC LIMIT ?`);
  return {
    get: (id: string) => {
      const row = getOne.get(id);
      return row ? fromRow(row) : null;
    },
    list: ({ limit, before }: PageQuery) => (before ? nextPage.all(before, limit) : firstPage.all(limit)).map(fromRow),
  };
}

/** StoreEvents stores each event (and its deliveries) in the caller's transaction. */
export type StoreEvents = (after: AfterCommit, events: readonly EventRecord[]) => void;

/** resourceWrites changes the registry; each change commits together with the events it emits. */
export function resourceWrites(db: Database, storeEvents: StoreEvents) {
  const insert = db.query(`INSERT INTO resources (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`);
  const getOne = db.query<ResourceRow, [string]>(`SELECT ${COLUMNS} FROM resources WHERE id = ?`);
  const updateRow = db.query("UPDATE resources SET type = ?, name = ?, status = ?, metadata = ?, updated_at = ? WHERE id = ?");
  const deleteRow = db.query("DELETE FROM resources WHERE id = ?");
  return {
    create(after: AfterCommit, r: ResourceRecord, events: EventRecord[]): void {
      insert.run(r.id, r.type, r.name, r.status, JSON.stringify(r.metadata), r.created_at, r.updated_at);
      storeEvents(after, events);
    },
    update(after: AfterCommit, id: string, change: (before: ResourceRecord) => ResourceChange | null): ResourceRecord | null {
      const row = getOne.get(id);
      if (!row) return null;
      const before = fromRow(row);
      const next = change(before);
      if (!next) return before;
      const r = next.after;
      updateRow.run(r.type, r.name, r.status, JSON.stringify(r.metadata), r.updated_at, r.id);
      storeEvents(after, next.events);
      return r;
    },
    remove(after: AfterCommit, id: string, describe: (before: ResourceRecord) => EventRecord[]): ResourceRecord | null {
      const row = getOne.get(id);
      if (!row) return null;
      const before = fromRow(row);
      deleteRow.run(id);
      storeEvents(after, describe(before));
      return before;
    },
  };
}
