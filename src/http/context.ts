import type { Logger } from "../log";
import type { Scope } from "../security/scopes";
import type { Tx } from "../storage/types";

/** RequestContext is what the front handler learned about a request before routing it. */
export interface RequestContext {
  readonly requestId: string;
  readonly clientIp: string;
  /** apiKey is the configured key's name, for /v1 requests that passed auth. */
  readonly apiKey: string | null;
  /** apiScopes are that key's scopes (SPEC §14); empty outside /v1. */
  readonly apiScopes: readonly Scope[];
  /** rawBody is the body exactly as received, read once by the front handler. */
  readonly rawBody: Uint8Array;
  /** log carries request_id on every line about this request. */
  readonly log: Logger;
  /**
   * recordAnswer stores this request's Idempotency-Key answer in `tx`, the transaction of the change
   * it answers, so a crash can never keep the object but lose the answer (a retry would then create
   * it twice). Null when the request has no Idempotency-Key.
   */
  readonly recordAnswer: ((tx: Tx, status: number, body: string) => Promise<void>) | null;
}

const contexts = new WeakMap<Request, RequestContext>();

/** attachContext binds a context to the Request object Elysia will hand to the routes. */
export function attachContext(request: Request, context: RequestContext): void {
  contexts.set(request, context);
}

/** contextOf returns the request's context; routes only run behind the front handler, so it exists. */
export function contextOf(request: Request): RequestContext {
  const context = contexts.get(request);
  if (!context) throw new Error("request has no context: it did not pass through the front handler");
  return context;
}
