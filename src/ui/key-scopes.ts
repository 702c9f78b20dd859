// What the signed-in key may do (SPEC §14), read from the X-Hookd-Key-Scopes header that every /v1
// answer to a valid key carries, a 403 insufficient_scope included. Kept in sessionStorage beside the
// key. The server enforces scopes on every route; this only decides what the dashboard offers.
// A browser module served from /ui/key-scopes.js.

/** Scope is one of the scopes an [api] keys entry may hold. */
export type Scope = "read" | "publish" | "admin";

/** Abilities is what the dashboard shows for a key: lists, actions that change things, the audit log. */
export interface Abilities {
  /** read: the list and detail pages (GET routes). */
  readonly read: boolean;
  /** change: create, edit, delete, rotate, test, retry, replay, recover, preview (admin routes). */
  readonly change: boolean;
  /** audit: the audit log page (GET /v1/audit is admin only). */
  readonly audit: boolean;
  /** publishOnly: the key can publish events and resources but read nothing the dashboard shows. */
  readonly publishOnly: boolean;
}

const SCOPES: readonly Scope[] = ["read", "publish", "admin"];
const STORE = "hookd.scopes";

/** SCOPES_HEADER is the answer header that names the key's scopes. */
export const SCOPES_HEADER = "x-hookd-key-scopes";

/** parseScopes reads the header ("read,publish"); unknown words are dropped. Null when there is no header. */
export function parseScopes(header: string | null): Scope[] | null {
  if (header === null) return null;
  const words = header.split(",").map((w) => w.trim());
  return SCOPES.filter((s) => words.includes(s));
}

/** abilities turns scopes into what to show; admin may do everything. */
export function abilities(scopes: readonly Scope[]): Abilities {
  const admin = scopes.includes("admin");
  const read = admin || scopes.includes("read");
  return { read, change: admin, audit: admin, publishOnly: !read && scopes.includes("publish") };
}

/** rememberScopes keeps the scopes an answer named; an answer without the header changes nothing. */
export function rememberScopes(header: string | null): void {
  const scopes = parseScopes(header);
  if (scopes !== null) sessionStorage.setItem(STORE, scopes.join(","));
}

/** currentAbilities is what the signed-in key may do; before any answer named its scopes, admin (the server still refuses). */
export function currentAbilities(): Abilities {
  return abilities(parseScopes(sessionStorage.getItem(STORE)) ?? ["admin"]);
}

/** forgetScopes drops the scopes with the key (sign out, key refused). */
export function forgetScopes(): void {
  sessionStorage.removeItem(STORE);
}
