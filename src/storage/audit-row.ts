import type { AuditChange, AuditEntry } from "./audit-types";

/** AuditRow is an audit_log row as both backends read it: `changes` is JSON text (key order kept). */
export interface AuditRow extends Omit<AuditEntry, "changes"> {
  changes: string;
}

/** auditFromRow turns a row into the entry the API shows. */
export function auditFromRow(row: AuditRow): AuditEntry {
  return { ...row, changes: JSON.parse(row.changes) as Record<string, AuditChange> };
}
