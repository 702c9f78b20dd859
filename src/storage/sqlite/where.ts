/** Condition is one optional filter of a listing: applied only when its value is defined. */
export type Condition = [sql: string, value: string | number | undefined];

/** whereClause builds "WHERE a = ? AND b < ?" and its arguments from the conditions whose value is set. */
export function whereClause(conditions: readonly Condition[]): { clause: string; args: (string | number)[] } {
  const parts: string[] = [];
  const args: (string | number)[] = [];
  for (const [sql, value] of conditions) {
    if (value === undefined) continue;
    parts.push(sql);
    args.push(value);
  }
  return { clause: parts.length > 0 ? `WHERE ${parts.join(" AND ")}` : "", args };
}
