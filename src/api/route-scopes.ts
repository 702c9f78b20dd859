import { ApiError } from "../http/errors";
import { grants, type Scope } from "../security/scopes";

/**
 * ROUTE_SCOPES lists, for each /v1 route (SPEC §14), the scopes any one of which lets a key use it, keyed
 * "METHOD /router/pattern": `read` for every GET but the audit log, `publish` for POST /v1/events and all
 * of /v1/resources, `admin` for everything (admin is implied: grants() lets it through everywhere). A
 * route added without a line here needs `admin` (scopesNeeded), and test/unit/route-scopes.test.ts fails
 * until it gets one, so a new route is never opened to a narrower key by accident.
 */
export const ROUTE_SCOPES: Readonly<Record<string, readonly Scope[]>> = Object.freeze({
  "GET /v1/webhooks": ["read"],
  "GET /v1/webhooks/:id": ["read"],
  "GET /v1/webhooks/:id/deliveries": ["read"],
  "GET /v1/events": ["read"],
  "GET /v1/events/:id": ["read"],
  "GET /v1/event-types": ["read"],
  "GET /v1/deliveries": ["read"],
  "GET /v1/deliveries/:id": ["read"],
  "GET /v1/inbound": ["read"],
  "GET /v1/inbound/:id": ["read"],
  "GET /v1/stats": ["read"],

  "POST /v1/events": ["publish"],
  "POST /v1/resources": ["publish"],
  // Resources are publish routes, and their GETs are read routes too: either scope will do.
  "GET /v1/resources": ["read", "publish"],
  "GET /v1/resources/:id": ["read", "publish"],
  "PATCH /v1/resources/:id": ["publish"],
  "DELETE /v1/resources/:id": ["publish"],

  "POST /v1/webhooks": ["admin"],
  "PATCH /v1/webhooks/:id": ["admin"],
  "DELETE /v1/webhooks/:id": ["admin"],
  "POST /v1/webhooks/:id/rotate-secret": ["admin"],
  "POST /v1/webhooks/:id/test": ["admin"],
  "POST /v1/webhooks/:id/recover": ["admin"],
  // A preview only reads, but it is a POST, and SPEC §14 gives `read` GETs only.
  "POST /v1/webhooks/:id/preview": ["admin"],
  "POST /v1/deliveries/:id/retry": ["admin"],
  "POST /v1/deliveries/replay": ["admin"],
  // The audit log names keys and client addresses: admin only, though it is a GET.
  "GET /v1/audit": ["admin"],
});

/** routeKey is the ROUTE_SCOPES key for a request; HEAD is answered by the GET route, so it needs what GET needs. */
export function routeKey(method: string, pattern: string): string {
  return `${method === "HEAD" ? "GET" : method} ${pattern}`;
}

const ADMIN_ONLY: readonly Scope[] = ["admin"];

/** scopesNeeded lists the scopes that open a route; a route missing from ROUTE_SCOPES needs `admin` (fail closed). */
export function scopesNeeded(method: string, pattern: string): readonly Scope[] {
  return ROUTE_SCOPES[routeKey(method, pattern)] ?? ADMIN_ONLY;
}

/**
 * scopeRefusal is the 403 for a key that may not use a route, or null when it may. The message names
 * the key's scopes, the route and the scope it needs, e.g.
 * `this key (publish) cannot use GET /v1/webhooks: it needs the "read" scope`.
 */
export function scopeRefusal(granted: readonly Scope[], method: string, pattern: string): ApiError | null {
  const needed = scopesNeeded(method, pattern);
  if (needed.some((scope) => grants(granted, scope))) return null;
  const held = granted.length === 0 ? "no scopes" : granted.join(", ");
  const named = needed.map((scope) => `"${scope}"`).join(" or ");
  return new ApiError("insufficient_scope", `this key (${held}) cannot use ${routeKey(method, pattern)}: it needs the ${named} scope`, [
    {
      field: "header.Authorization",
      code: "insufficient_scope",
      message: `use a key with ${needed.includes("admin") ? named : `${named} or "admin"`} in its [api] keys scopes`,
    },
  ]);
}
