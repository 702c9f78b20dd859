import type { AnyElysia } from "elysia";
import type { Clock } from "../clock";
import type { Logger } from "../log";
import type { IpSet } from "../net/cidr";
import { clientIp as resolveClientIp } from "../net/client-ip";
import type { Scope } from "../security/scopes";
import type { IdempotencyStore } from "../storage/types";
import { logAccess } from "./access-log";
import { admitKey, type AdminGateSettings, isAdminPath, safeDecode } from "./admin-gate";
import { appShell, type AppShellSettings } from "./app-shell";
import { bodyAnnounced, bodyLeftUnread, ClientClosedError, guardBody, readBodyLimited } from "./body";
import { BodyBudget, budgetHolder } from "./body-budget";
import { attachContext } from "./context";
import { ApiError, errorResponse, isServerFault, toApiError } from "./errors";
import { wireIdempotency } from "./idempotency-wiring";
import { jsonGate } from "./json-gate";
import { requestIdFor } from "./request-id";
import { allowedMethods, matchedPattern } from "./route-methods";

/** InboundHandler answers POST /in/:source; it reads the body itself, in the order SPEC §7 sets. */
export type InboundHandler = (request: Request, sourceId: string, clientIp: string, log: Logger) => Promise<Response>;

/**
 * HttpDeps is the front door's settings plus what it serves: the composition root hands in the
 * routes and the inbound handler, so this plumbing never imports a feature.
 */
export interface HttpDeps extends AppShellSettings {
  readonly idempotency: IdempotencyStore;
  readonly clock: Clock;
  /** live gives the reloadable settings; each request takes them once, at its start (SPEC §14). */
  readonly live: LiveSettings;
  readonly maxBody: number;
  /** maxInflightBody bounds body bytes being read at once ([server] max_inflight_body); one client address may hold a quarter. */
  readonly maxInflightBody: number;
  /** routes are mounted on the router in this order, after its error handler. */
  readonly routes: readonly AnyElysia[];
  readonly inbound: InboundHandler;
  /**
   * scopeRefusal is the 403 for a key whose scopes do not open the route `pattern` (SPEC §14), or null.
   * Checked before the body is read and before an Idempotency-Key answer is replayed; the routes check
   * again (adminPlugin), so a path this front door cannot match is still refused there.
   */
  readonly scopeRefusal: (scopes: readonly Scope[], method: string, pattern: string) => ApiError | null;
}

/** HttpSettings are the front door's reloadable settings: [api] keys and allow_ips, trusted proxies, body_timeout. */
export interface HttpSettings extends AdminGateSettings {
  readonly trustedProxies: IpSet;
  /** bodyTimeoutMs is the total time from the request head for its body ([server] body_timeout). */
  readonly bodyTimeoutMs: number;
}

/** LiveSettings hands out the settings in force and binds one request's snapshot while the routes serve it. */
export interface LiveSettings {
  current(): HttpSettings;
  within<T>(snapshot: HttpSettings, fn: () => T): T;
}

/** HttpHandler answers one request; `socketIp` is the peer address (X-Forwarded-For is applied here, from trusted proxies only). */
export interface HttpHandler {
  handle(request: Request, socketIp: string): Promise<Response>;
}

const BODYLESS = new Set(["GET", "HEAD", "OPTIONS"]);
const CLIENT_CLOSED = 499;
// The router finds the path by position in the URL string; a fixed origin keeps an odd Host header
// from shifting what it routes away from what the admin gate checked.
const ROUTING_ORIGIN = "http://hookd.internal";
// The scopes of the key each admitted request carries, for the X-Hookd-Key-Scopes answer header.
const admittedScopes = new WeakMap<Request, readonly string[]>();

/** buildHttp assembles the router and the front handler around it; it never listens. */
export function buildHttp(deps: HttpDeps): HttpHandler {
  const app = appShell(deps, deps.routes);
  const budget = new BodyBudget(deps.maxInflightBody);

  const route = async (request: Request, url: URL, clientIp: string, requestId: string, settings: HttpSettings): Promise<Response> => {
    // Inbound skips the router: it is the hot path, and it must read the raw body in its own order.
    if (url.pathname.startsWith("/in/")) {
      if (request.method !== "POST") {
        throw new ApiError("method_not_allowed", "inbound sources accept POST only", [], { allow: "POST" });
      }
      return deps.inbound(request, safeDecode(url.pathname.slice(4)), clientIp, deps.log.child({ request_id: requestId }));
    }
    const admin = isAdminPath(url.pathname);
    // Credentials before the body: an unauthenticated caller cannot make us read max_body bytes.
    const key = admin ? admitKey(settings, request, clientIp) : null;
    const apiKey = key?.name ?? null;
    if (key !== null) {
      admittedScopes.set(request, key.scopes);
      const pattern = matchedPattern(app.routes, request.method, url.pathname);
      const refusal = pattern === null ? null : deps.scopeRefusal(key.scopes, request.method, pattern);
      if (refusal !== null) throw refusal;
    }
    // Nor can a body sent to a path or method nothing answers (SPEC §13): refused before it is read.
    if (bodyAnnounced(request)) refuseUnrouted(app, url.pathname, request.method);
    const rawBody = BODYLESS.has(request.method) ? new Uint8Array(0) : await readBodyLimited(request, deps.maxBody);
    const headers = new Headers(request.headers);
    headers.set("x-request-id", requestId);
    if (admin) jsonGate(rawBody, headers);
    const routed = new Request(`${ROUTING_ORIGIN}${url.pathname}${url.search}`, {
      method: request.method,
      headers,
      body: BODYLESS.has(request.method) ? undefined : (rawBody as Uint8Array<ArrayBuffer>),
    });
    // Answers are remembered per key name and scopes: a key whose scopes a reload narrowed never gets
    // back what it stored while it could do more (the route then checks its scopes afresh). An admin
    // key keeps its bare name, as before scopes existed, so answers stored before an upgrade still replay.
    const identity = key === null ? null : key.scopes.includes("admin") ? key.name : `${key.name}[${[...key.scopes].sort().join(",")}]`;
    const idempotency = wireIdempotency(deps.idempotency, deps.clock, request, url.pathname, identity, rawBody);
    const log = deps.log.child({ request_id: requestId });
    attachContext(routed, { requestId, clientIp, apiKey, apiScopes: key?.scopes ?? [], rawBody, log, recordAnswer: idempotency.recordAnswer });
    // The routes read catalogue, targets and limits from this request's snapshot, whatever a reload does meanwhile.
    return deps.live.within(settings, () => idempotency.run(() => app.handle(routed)));
  };

  return {
    async handle(request, socketIp) {
      const started = performance.now();
      const settings = deps.live.current();
      const clientIp = resolveClientIp(socketIp, request.headers.get("x-forwarded-for"), settings.trustedProxies);
      guardBody(request, { budget, client: budgetHolder(clientIp), deadline: started + settings.bodyTimeoutMs, timeoutMs: settings.bodyTimeoutMs });
      const requestId = requestIdFor(request.headers.get("x-request-id"));
      let response: Response;
      let path = "";
      try {
        const url = URL.parse(request.url);
        if (url === null) {
          throw new ApiError("invalid_header", "the Host header is missing or malformed", [
            { field: "header.Host", code: "invalid", message: "send the server's host name, e.g. Host: hookd.example:8080" },
          ]);
        }
        path = url.pathname;
        response = await route(request, url, clientIp, requestId, settings);
      } catch (error) {
        if (error instanceof ClientClosedError) {
          // Nobody is left to answer; 499 (nginx's "client closed request") is only for the log line.
          response = new Response(null, { status: CLIENT_CLOSED });
        } else {
          // The one boundary for everything thrown before or around the router: every answer is an envelope.
          const apiError = toApiError(error);
          if (isServerFault(apiError)) deps.log.error("request failed", { request_id: requestId, error });
          response = errorResponse(apiError, requestId);
        }
      }
      response.headers.set("x-request-id", requestId);
      // Every answer to a known key, errors and replays included, says what it may do: the dashboard hides the rest (SPEC §14).
      const scopes = admittedScopes.get(request);
      if (scopes !== undefined) response.headers.set("x-hookd-key-scopes", scopes.join(","));
      if (bodyLeftUnread(request)) response.headers.set("connection", "close");
      const clientClosed = response.status === CLIENT_CLOSED || request.signal.aborted;
      logAccess(deps.log, { requestId, method: request.method, path, status: response.status, started, clientIp, clientClosed });
      return response;
    },
  };
}

/** refuseUnrouted throws the router's own 404 or 405 for a request no route answers, so its body need not be read to say so. */
function refuseUnrouted(app: AnyElysia, path: string, method: string): void {
  const allowed = allowedMethods(app.routes, path);
  if (allowed.length === 0) throw new ApiError("not_found", `no route ${method} ${path}`);
  if (!allowed.includes(method)) {
    const allow = allowed.join(", ");
    throw new ApiError("method_not_allowed", `${path} accepts ${allow}, not ${method}`, [], { allow });
  }
}
