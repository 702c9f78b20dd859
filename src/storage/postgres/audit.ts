import type { AuditEntry, AuditQuery } from "../audit-types";
import { type AuditRow, auditFromRow as fromRow } from "../audit-row";
import { type Db, one, rows, run } from "./client";

type Arg = string | number;

const COLUMNS = "a.id, a.time, a.key, a.client_ip, a.request_id, a.method, a.path, a.target_id, a.changes";

/**
 * auditListSql is one page's statement over migration 006's indexes (target_id or key first, then
 * time, id), newest first after `at`, the (time, id) of the entry the page continues after; the row
 * comparison is an index condition in PostgreSQL (exported for EXPLAIN in the contract suite).
 */
export function auditListSql(query: AuditQuery, at?: { time: number; id: string }) {
  const args: Arg[] = [];
  const p = (value: Arg) => {
    args.push(value);
    return `$${args.length}`;
  };
  const where: string[] = [];
  if (query.target_id !== undefined) where.push(`a.target_id = ${p(query.target_id)}`);
  if (query.key !== undefined) where.push(`a.key = ${p(query.key)}`);
  if (query.since !== undefined) where.push(`a.time >= ${p(query.since)}`);
  if (at !== undefined) where.push(`(a.time, a.id) < (${p(at.time)}::bigint, ${p(at.id)}::text)`);
  const clause = where.length > 0 ? `WHERE ${where.join(" AND ")}` : "";
  return { sql: `SELECT ${COLUMNS} FROM audit_log a ${clause} ORDER BY a.time DESC, a.id DESC LIMIT ${p(query.limit)}`, args };
}

/**
 * auditReads lists the log off the pool. A cursor that names no stored entry gives an empty page:
 * retention removes by time, so an entry gone is older than everything still kept.
 */
export function auditReads(pool: Db) {
  return {
    async list(query: AuditQuery): Promise<AuditEntry[]> {
      let at: { time: number; id: string } | undefined;
      if (query.before !== undefined) {
        const row = await one<{ time: number }>(pool, "SELECT time FROM audit_log WHERE id = $1", [query.before]);
        if (!row) return [];
        at = { time: row.time, id: query.before };
      }
      const { sql, args } = auditListSql(query, at);
      return (await rows<AuditRow>(pool, sql, args)).map(fromRow);
    },
  };
}

/** auditWrites inserts an entry in the transaction of `db` (a batch's). */
export function auditWrites() {
  return {
    async record(db: Db, e: AuditEntry): Promise<void> {
      await run(db, "INSERT INTO audit_log (id, time, key, client_ip, request_id, method, path, target_id, changes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)", [
        e.id, e.time, e.key, e.client_ip, e.request_id, e.method, e.path, e.target_id, JSON.stringify(e.changes),
      ]);
    },
  };
}
