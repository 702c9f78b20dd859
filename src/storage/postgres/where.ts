/** Condition is one optional filter of a listing: `sql` holds "?" for its value, applied only when the value is defined. */
export type Condition = [sql: string, value: string | number | undefined];

/** whereClause builds "WHERE a = $1 AND b < $2" and its parameters from the conditions whose value is set. */
export function whereClause(conditions: readonly Condition[]): { clause: string; args: (string | number)[]; next: number } {
  const parts: string[] = [];
  const args: (string | number)[] = [];
  for (const [sql, value] of conditions) {
    if (value === undefined) continue;
    args.push(value);
    parts.push(sql.replace("?", `$${args.length}`));
  }
  return { clause: parts.length > 0 ? `WHERE ${parts.join(" AND ")}` : "", args, next: args.length + 1 };
}
