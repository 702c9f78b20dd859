import type { ErrorDetail } from "./errors";

interface StandardIssue {
  message: string;
  path?: ReadonlyArray<PropertyKey | { key: PropertyKey }>;
}

/** keyPath renders an issue path as `events[0]` / `metadata.owner`; the root is `body`. */
export function keyPath(path: StandardIssue["path"], root = "body"): string {
  if (!path || path.length === 0) return root;
  let out = "";
  for (const segment of path) {
    const key = typeof segment === "object" && segment !== null ? segment.key : segment;
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out;
}

/**
 * issuesToDetails turns Standard Schema issues (valibot's) into error details, one per field: valibot
 * runs every check of a pipe even after one failed, and the first failure is the one to fix. Query
 * fields read `query.limit`.
 */
export function issuesToDetails(issues: readonly StandardIssue[], root = "body"): ErrorDetail[] {
  const byField = new Map<string, ErrorDetail>();
  for (const issue of issues) {
    const path = keyPath(issue.path, root);
    const field = root === "body" || path === root ? path : `${root}.${path}`;
    if (byField.has(field)) continue;
    byField.set(field, { field, code: issue.message === "is required" ? "required" : "invalid", message: issue.message });
  }
  return [...byField.values()];
}

/**
 * elysiaValidationDetails re-runs the route's Standard Schema on the rejected value: Elysia's own
 * rendering flattens valibot paths to "[object Object]" and echoes the input back.
 */
export function elysiaValidationDetails(error: { validator?: unknown; value?: unknown; type?: string }): ErrorDetail[] {
  const validator = error.validator as Record<string, unknown> | undefined;
  const holder = (validator && "~standard" in validator ? validator : validator?.schema) as
    | { "~standard"?: { validate(v: unknown): { issues?: StandardIssue[] } | Promise<unknown> } }
    | undefined;
  const root = error.type === "query" ? "query" : error.type === "params" ? "path" : "body";
  const result = holder?.["~standard"]?.validate(error.value);
  if (result && !(result instanceof Promise) && "issues" in result && result.issues) {
    return issuesToDetails(result.issues, root);
  }
  return [{ field: root, code: "invalid", message: "request does not match the schema" }];
}
