import type { Database } from "bun:sqlite";
import type { FanOut } from "./event-store";
import type { GroupCommit } from "./group-commit";
import type { EventOrigin, EventRecord, PageQuery, ResourceRecord, ResourceStore } from "../types";

interface ResourceRow extends Omit<ResourceRecord, "metadata"> {
  metadata: string;
}

const COLUMNS = "id, type, name, status, metadata, created_at, updated_at";

function fromRow(row: ResourceRow): ResourceRecord {
  return { ...row, metadata: JSON.parse(row.metadata) as Record<string, unknown> };
}

/** sqliteResourceStore keeps the registry; each change commits together with the events it emits (and their deliveries). */
export function sqliteResourceStore(
  db: Database,
  commits: GroupCommit,
  fanOut: FanOut,
  onEnqueued: () => void,
  onEventStored: (origin: EventOrigin) => void,
): ResourceStore {
  // Each change counts its own events (several may share one batch); waking the queue after every
  // change is cheaper than counting deliveries, resource changes being rare.
  const commitAndWake = async <T>(op: (emit: (e: EventRecord) => void) => T): Promise<T> => {
    let stored = 0;
    const result = await commits.run(() => {
      stored = 0; // a retried op must not count twice
      return op((e) => {
        fanOut(e);
        stored++;
      });
    });
    for (let i = 0; i < stored; i++) onEventStored("resource");
    onEnqueued();
    return result;
  };
  const insert = db.query(`INSERT INTO resources (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`);
  const getOne = db.query<ResourceRow, [string]>(`SELECT ${COLUMNS} FROM resources WHERE id = ?`);
  const firstPage = db.query<ResourceRow, [number]>(`SELECT ${COLUMNS} FROM resources ORDER BY id DESC LIMIT ?`);
  const nextPage = db.query<ResourceRow, [string, number]>(
    `SELECT ${COLUMNS} FROM resources WHERE id < ? ORDER BY id DESC LIMIT ?`,
  );
  const updateRow = db.query("UPDATE resources SET type = ?, name = ?, status = ?, metadata = ?, updated_at = ? WHERE id = ?");
  const deleteRow = db.query("DELETE FROM resources WHERE id = ?");

  return {
    create: (r, events, alsoInTransaction) =>
      commitAndWake((emit) => {
        insert.run(r.id, r.type, r.name, r.status, JSON.stringify(r.metadata), r.created_at, r.updated_at);
        for (const e of events) emit(e);
        alsoInTransaction?.();
      }),
    get: (id) => {
      const row = getOne.get(id);
      return row ? fromRow(row) : null;
    },
    list: ({ limit, before }: PageQuery) => (before ? nextPage.all(before, limit) : firstPage.all(limit)).map(fromRow),
    update: (id, change) =>
      commitAndWake((emit) => {
        const row = getOne.get(id);
        if (!row) return null;
        const before = fromRow(row);
        const next = change(before);
        if (!next) return before;
        const r = next.after;
        updateRow.run(r.type, r.name, r.status, JSON.stringify(r.metadata), r.updated_at, r.id);
        for (const e of next.events) emit(e);
        return r;
      }),
    remove: (id, describe) =>
      commitAndWake((emit) => {
        const row = getOne.get(id);
        if (!row) return null;
        const before = fromRow(row);
        deleteRow.run(id);
        for (const e of describe(before)) emit(e);
        return before;
      }),
  };
}
