import type { Database } from "bun:sqlite";
import type { FanOut } from "./event-store";
import type { GroupCommit } from "./group-commit";
import type { EventRecord, PageQuery, ResourceRecord, ResourceStore } from "./types";

interface ResourceRow extends Omit<ResourceRecord, "metadata"> {
  metadata: string;
}

const COLUMNS = "id, type, name, status, metadata, created_at, updated_at";

function fromRow(row: ResourceRow): ResourceRecord {
  return { ...row, metadata: JSON.parse(row.metadata) as Record<string, unknown> };
}

/** sqliteResourceStore keeps the registry; each change commits together with the events it emits (and their deliveries). */
export function sqliteResourceStore(db: Database, commits: GroupCommit, fanOut: FanOut): ResourceStore {
  const insert = db.query(`INSERT INTO resources (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`);
  const getOne = db.query<ResourceRow, [string]>(`SELECT ${COLUMNS} FROM resources WHERE id = ?`);
  const firstPage = db.query<ResourceRow, [number]>(`SELECT ${COLUMNS} FROM resources ORDER BY id DESC LIMIT ?`);
  const nextPage = db.query<ResourceRow, [string, number]>(
    `SELECT ${COLUMNS} FROM resources WHERE id < ? ORDER BY id DESC LIMIT ?`,
  );
  const updateRow = db.query("UPDATE resources SET type = ?, name = ?, status = ?, metadata = ?, updated_at = ? WHERE id = ?");
  const deleteRow = db.query("DELETE FROM resources WHERE id = ?");

  return {
    create: (r, events) =>
      commits.run(() => {
        insert.run(r.id, r.type, r.name, r.status, JSON.stringify(r.metadata), r.created_at, r.updated_at);
        for (const e of events) fanOut(e);
      }),
    get: (id) => {
      const row = getOne.get(id);
      return row ? fromRow(row) : null;
    },
    list: ({ limit, before }: PageQuery) => (before ? nextPage.all(before, limit) : firstPage.all(limit)).map(fromRow),
    update: (r, events: EventRecord[]) =>
      commits.run(() => {
        updateRow.run(r.type, r.name, r.status, JSON.stringify(r.metadata), r.updated_at, r.id);
        for (const e of events) fanOut(e);
      }),
    remove: (id, events) =>
      commits.run(() => {
        if (deleteRow.run(id).changes === 0) return false;
        for (const e of events) fanOut(e);
        return true;
      }),
  };
}
