import type { Database } from "bun:sqlite";
import type { EventRecord, PageQuery, ResourceRecord, ResourceStore } from "./types";

interface ResourceRow extends Omit<ResourceRecord, "metadata"> {
  metadata: string;
}

const COLUMNS = "id, type, name, status, metadata, created_at, updated_at";

function fromRow(row: ResourceRow): ResourceRecord {
  return { ...row, metadata: JSON.parse(row.metadata) as Record<string, unknown> };
}

/** sqliteResourceStore keeps the registry; each change commits together with the events it emits. */
export function sqliteResourceStore(db: Database, insertEvent: (e: EventRecord) => unknown): ResourceStore {
  const insert = db.query(`INSERT INTO resources (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`);
  const getOne = db.query<ResourceRow, [string]>(`SELECT ${COLUMNS} FROM resources WHERE id = ?`);
  const firstPage = db.query<ResourceRow, [number]>(`SELECT ${COLUMNS} FROM resources ORDER BY id DESC LIMIT ?`);
  const nextPage = db.query<ResourceRow, [string, number]>(
    `SELECT ${COLUMNS} FROM resources WHERE id < ? ORDER BY id DESC LIMIT ?`,
  );
  const updateRow = db.query("UPDATE resources SET type = ?, name = ?, status = ?, metadata = ?, updated_at = ? WHERE id = ?");
  const deleteRow = db.query("DELETE FROM resources WHERE id = ?");

  return {
    create: db.transaction((r: ResourceRecord, events: EventRecord[]) => {
      insert.run(r.id, r.type, r.name, r.status, JSON.stringify(r.metadata), r.created_at, r.updated_at);
      for (const e of events) insertEvent(e);
    }),
    get: (id) => {
      const row = getOne.get(id);
      return row ? fromRow(row) : null;
    },
    list: ({ limit, before }: PageQuery) => (before ? nextPage.all(before, limit) : firstPage.all(limit)).map(fromRow),
    update: db.transaction((r: ResourceRecord, events: EventRecord[]) => {
      updateRow.run(r.type, r.name, r.status, JSON.stringify(r.metadata), r.updated_at, r.id);
      for (const e of events) insertEvent(e);
    }),
    remove: db.transaction((id: string, events: EventRecord[]) => {
      if (deleteRow.run(id).changes === 0) return false;
      for (const e of events) insertEvent(e);
      return true;
    }),
  };
}
