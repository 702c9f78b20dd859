/** SCOPES are what an `[api] keys` entry may be granted (SPEC §14); "admin" includes the other two. */
export const SCOPES = ["read", "publish", "admin"] as const;
/** Scope is one of SCOPES. */
export type Scope = (typeof SCOPES)[number];

/** DEFAULT_SCOPES: a key without `scopes` may do everything, as every key could before scopes existed. */
export const DEFAULT_SCOPES: readonly Scope[] = Object.freeze(["admin"] as Scope[]);

/** grants is true when a key holding `granted` may use a route that needs `needed`. */
export function grants(granted: readonly Scope[], needed: Scope): boolean {
  return granted.includes("admin") || granted.includes(needed);
}
