import type { Clock } from "../clock";
import type { IdempotencyStore, Tx } from "../storage/types";
import type { RequestContext } from "./context";
import { withIdempotency } from "./idempotency";

/**
 * IdempotencyWiring is one request's part in Idempotency-Key handling: `recordAnswer` goes into the
 * request context for a route to call inside its own storage transaction, and `run` wraps routing.
 */
export interface IdempotencyWiring {
  readonly recordAnswer: RequestContext["recordAnswer"];
  run(route: () => Promise<Response>): Promise<Response>;
}

const NONE: IdempotencyWiring = { recordAnswer: null, run: (route) => route() };

/** idempotencyScope keys stored answers per API key and path, so two keys never replay each other's answers. */
export function idempotencyScope(apiKey: string, pathname: string): string {
  // The router ignores a trailing slash, so the scope must too.
  return `${apiKey} POST ${pathname.replace(/\/+$/, "")}`;
}

/**
 * wireIdempotency is the one place the front handler meets the idempotency mechanics: only admitted
 * admin POSTs (`apiKey` is null outside the admin API) that carry an Idempotency-Key take part.
 */
export function wireIdempotency(
  store: IdempotencyStore,
  clock: Clock,
  request: Request,
  pathname: string,
  apiKey: string | null,
  rawBody: Uint8Array,
): IdempotencyWiring {
  // A preview is a POST that only reads (SPEC §10: it stores nothing): its answer is never remembered,
  // or a retried key would replay a preview made before the transform was edited.
  if (apiKey === null || request.method !== "POST" || pathname.endsWith("/preview")) return NONE;
  const key = request.headers.get("idempotency-key");
  if (key === null) return NONE;
  const scope = idempotencyScope(apiKey, pathname);
  // The status the route recorded in its own transaction; the answer need not be written again then.
  let recorded: number | null = null;
  return {
    recordAnswer: async (tx, status, body) => {
      await tx.idempotency.complete(scope, key, status, body, "application/json", clock.now());
      recorded = status;
    },
    run: (route) => withIdempotency(store, clock, scope, key, rawBody, route, () => recorded),
  };
}
