import type { Database } from "bun:sqlite";
import type { AuditEntry, AuditQuery } from "../audit-types";
import { type AuditRow, auditFromRow as fromRow } from "../audit-row";

type Arg = string | number;

const COLUMNS = "id, time, key, client_ip, request_id, method, path, target_id, changes";

/**
 * auditIndex names the index a listing reads (migration 013): the one that starts with the filter's
 * equality column, then (time, id). Named in the statement (INDEXED BY) so the plan never becomes a
 * scan whatever the planner's statistics; a target filter with a key filter checks the key on the way.
 */
export function auditIndex(query: Pick<AuditQuery, "target_id" | "key">): string {
  if (query.target_id !== undefined) return "audit_log_target";
  if (query.key !== undefined) return "audit_log_key";
  return "audit_log_time";
}

/**
 * auditListSql is one page's statement, newest first by (time, id); `at` is the (time, id) of the
 * entry the page continues after. The plain time bound is what the index range uses; the row
 * comparison settles ties (exported for the query-plan test).
 */
export function auditListSql(query: AuditQuery, at?: { time: number; id: string }) {
  const where: string[] = [];
  const args: Arg[] = [];
  const add = (sql: string, ...values: Arg[]) => {
    where.push(sql);
    args.push(...values);
  };
  if (query.target_id !== undefined) add("target_id = ?", query.target_id);
  if (query.key !== undefined) add("key = ?", query.key);
  if (query.since !== undefined) add("time >= ?", query.since);
  if (at !== undefined) add("time <= ? AND (time, id) < (?, ?)", at.time, at.time, at.id);
  const clause = where.length > 0 ? `WHERE ${where.join(" AND ")}` : "";
  return {
    sql: `SELECT ${COLUMNS} FROM audit_log INDEXED BY ${auditIndex(query)} ${clause} ORDER BY time DESC, id DESC LIMIT ?`,
    args: [...args, query.limit],
  };
}

/**
 * auditReads lists the log off the read connection. A cursor that names no stored entry gives an
 * empty page: retention removes by time, so an entry gone is older than everything still kept.
 */
export function auditReads(db: Database) {
  const timeOf = db.query<{ time: number }, [string]>("SELECT time FROM audit_log WHERE id = ?");
  return {
    list(query: AuditQuery): AuditEntry[] {
      let at: { time: number; id: string } | undefined;
      if (query.before !== undefined) {
        const row = timeOf.get(query.before);
        if (!row) return [];
        at = { time: row.time, id: query.before };
      }
      const { sql, args } = auditListSql(query, at);
      return db.query<AuditRow, Arg[]>(sql).all(...args).map(fromRow);
    },
  };
}

/** auditWrites inserts an entry on the write connection, inside whichever transaction is running. */
export function auditWrites(db: Database) {
  const insert = db.query(`INSERT INTO audit_log (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  return {
    record(e: AuditEntry): void {
      insert.run(e.id, e.time, e.key, e.client_ip, e.request_id, e.method, e.path, e.target_id, JSON.stringify(e.changes));
    },
  };
}
