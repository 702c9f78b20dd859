import { openapi } from "@elysiajs/openapi";
import { toJsonSchema } from "@valibot/to-json-schema";
import { Elysia } from "elysia";
import type { ApiDeps } from "../api/deps";
import { deliveryRoutes } from "../api/deliveries";
import { eventRoutes } from "../api/events";
import { inboundLogRoutes } from "../api/inbound-log";
import { healthRoutes } from "../api/health";
import { resourceRoutes } from "../api/resources";
import { statsRoutes } from "../api/stats";
import { webhookRoutes } from "../api/webhooks";
import { uiRoutes } from "../ui/routes";
import type { IpSet } from "../net/cidr";
import type { ApiKeyVerifier } from "../security/api-keys";
import { readBodyLimited } from "./body";
import { attachContext } from "./context";
import { ApiError, errorResponse, toApiError } from "./errors";
import { withIdempotency } from "./idempotency";
import type { Logger } from "../log";
import type { Metrics } from "../metrics/metrics";
import { clientIp as resolveClientIp } from "../net/client-ip";
import { requestIdFor } from "./request-id";
import { elysiaValidationDetails } from "./validation";
import { allowedMethods } from "./route-methods";

/** InboundHandler answers POST /in/:source; it reads the body itself, in the order SPEC §7 sets. */
export type InboundHandler = (request: Request, sourceId: string, clientIp: string, log: Logger) => Promise<Response>;

/** HttpDeps adds the front door's settings to what the routes need. */
export interface HttpDeps extends ApiDeps {
  readonly apiKeys: ApiKeyVerifier;
  readonly apiAllowIps: IpSet;
  readonly trustedProxies: IpSet;
  readonly maxBody: number;
  readonly version: string;
  readonly inbound: InboundHandler;
  readonly metrics: Metrics;
}

/** HttpHandler answers one request; `socketIp` is the peer address (X-Forwarded-For is applied here, from trusted proxies only). */
export interface HttpHandler {
  handle(request: Request, socketIp: string): Promise<Response>;
}

const BODYLESS = new Set(["GET", "HEAD", "OPTIONS"]);

/** buildHttp assembles the Elysia app and the front handler around it; it never listens. */
export function buildHttp(deps: HttpDeps): HttpHandler {
  const app = buildApp(deps);

  const route = async (request: Request, url: URL, clientIp: string, requestId: string): Promise<Response> => {
    // Inbound skips the router: it is the hot path, and it must read the raw body in its own order.
    if (url.pathname.startsWith("/in/")) {
      if (request.method !== "POST") {
        throw new ApiError("method_not_allowed", "inbound sources accept POST only", [], { allow: "POST" });
      }
      return deps.inbound(request, safeDecode(url.pathname.slice(4)), clientIp, deps.log.child({ request_id: requestId }));
    }
    const admin = isAdminPath(url.pathname);
    let apiKey: string | null = null;
    if (admin) {
      // Network policy before credentials: a caller outside allow_ips learns nothing about keys.
      if (deps.apiAllowIps.size > 0 && !deps.apiAllowIps.has(clientIp)) {
        throw new ApiError("ip_not_allowed", `client address ${clientIp} is not in [api] allow_ips`);
      }
      apiKey = deps.apiKeys.verify(request.headers.get("authorization"));
      if (apiKey === null) {
        const why = deps.apiKeys.configured
          ? "missing or invalid API key: send Authorization: Bearer <key>"
          : "the admin API is closed: no API keys are configured (see `hookd hash-key` and [api] keys)";
        throw new ApiError("unauthorized", why, [], { "www-authenticate": 'Bearer realm="hookd"' });
      }
    }
    const rawBody = BODYLESS.has(request.method) ? new Uint8Array(0) : await readBodyLimited(request, deps.maxBody);
    const headers = new Headers(request.headers);
    headers.set("x-request-id", requestId);
    if (admin) {
      // The admin API reads JSON whatever the Content-Type says (curl recipes send form types).
      assertJson(rawBody);
      if (rawBody.byteLength > 0) headers.set("content-type", "application/json");
      else headers.delete("content-type");
    }
    // A fixed origin: the router finds the path by position in the URL string, so an odd Host header
    // must not be able to shift what it routes away from what was authenticated above.
    const routed = new Request(`http://hookd.internal${url.pathname}${url.search}`, {
      method: request.method,
      headers,
      body: BODYLESS.has(request.method) ? undefined : (rawBody as Uint8Array<ArrayBuffer>),
    });
    const idempotencyKey = admin && request.method === "POST" ? request.headers.get("idempotency-key") : null;
    // The router ignores a trailing slash, so the scope must too.
    const scope = `${apiKey} POST ${url.pathname.replace(/\/+$/, "")}`;
    const recordAnswer =
      idempotencyKey === null
        ? null
        : (status: number, body: string) =>
            deps.storage.idempotency.complete(scope, idempotencyKey, status, body, "application/json", deps.clock.now());
    attachContext(routed, { requestId, clientIp, apiKey, rawBody, log: deps.log.child({ request_id: requestId }), recordAnswer });
    if (idempotencyKey !== null) {
      return withIdempotency(deps.storage.idempotency, deps.clock, scope, idempotencyKey, rawBody, () => app.handle(routed));
    }
    return app.handle(routed);
  };

  return {
    async handle(request, socketIp) {
      const started = performance.now();
      const clientIp = resolveClientIp(socketIp, request.headers.get("x-forwarded-for"), deps.trustedProxies);
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
        response = await route(request, url, clientIp, requestId);
      } catch (error) {
        const apiError = toApiError(error);
        if (apiError.status >= 500) deps.log.error("request failed", { request_id: requestId, error });
        response = errorResponse(apiError, requestId);
      }
      response.headers.set("x-request-id", requestId);
      const quiet = path === "/healthz" || path === "/readyz" || path === "/metrics";
      (quiet ? deps.log.debug : deps.log.info)("request", {
        request_id: requestId,
        method: request.method,
        path,
        status: response.status,
        duration_ms: Math.round((performance.now() - started) * 10) / 10,
        client_ip: clientIp,
      });
      return response;
    },
  };
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
// Deeper documents are refused before parsing: validators recurse, and no admin payload needs more.
const MAX_JSON_DEPTH = 128;

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** isAdminPath decides which requests need an API key; it errs towards yes for odd encodings. */
function isAdminPath(pathname: string): boolean {
  const p = safeDecode(pathname).toLowerCase().replace(/^\/+/, "/");
  return p === "/v1" || p.startsWith("/v1/");
}

function assertJson(raw: Uint8Array): void {
  if (raw.byteLength === 0) return;
  let text: string;
  let parsed: unknown;
  try {
    text = utf8.decode(raw);
    parsed = JSON.parse(text);
  } catch (error) {
    const why = (error as Error).message;
    throw new ApiError("invalid_json", `request body is not valid JSON: ${why}`, [{ field: "body", code: "invalid_json", message: why }]);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ApiError("invalid_request", "request body must be a JSON object", [
      { field: "body", code: "invalid", message: "must be a JSON object" },
    ]);
  }
  if (jsonDepth(text) > MAX_JSON_DEPTH) {
    throw new ApiError("invalid_request", `request body nests deeper than ${MAX_JSON_DEPTH} levels`, [
      { field: "body", code: "too_deep", message: `JSON nesting is limited to ${MAX_JSON_DEPTH} levels` },
    ]);
  }
}

/** jsonDepth scans valid JSON text iteratively (no recursion, so no stack to exhaust). */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) max = Math.max(max, ++depth);
    else if (c === 125 || c === 93) depth--;
  }
  return max;
}

function buildApp(deps: HttpDeps) {
  const app = new Elysia()
    .use(
      openapi({
        provider: null,
        specPath: "/openapi.json",
        // Checks with no JSON Schema form (custom predicates) are left out of the document, not fatal.
        mapJsonSchema: { valibot: (schema: never) => toJsonSchema(schema, { errorMode: "ignore" }) },
        documentation: {
          info: { title: "hookd", version: deps.version, description: "Self-hosted webhook hub: admin API" },
          components: { securitySchemes: { apiKey: { type: "http", scheme: "bearer" } } },
          security: [{ apiKey: [] }],
        },
      }),
    )
    .onError(({ code, error, request }) => {
      const requestId = request.headers.get("x-request-id") ?? "";
      if (error instanceof ApiError) return errorResponse(error, requestId);
      if (code === "VALIDATION") {
        const e = error as { type?: string };
        const details = elysiaValidationDetails(error as never);
        const where = e.type === "body" ? "invalid_request" : "invalid_query";
        return errorResponse(new ApiError(where, `the request ${e.type ?? "input"} is not valid`, details), requestId);
      }
      if (code === "NOT_FOUND") {
        const path = new URL(request.url).pathname;
        const allowed = allowedMethods(app.routes, path);
        if (allowed.length > 0 && !allowed.includes(request.method)) {
          const allow = allowed.join(", ");
          return errorResponse(new ApiError("method_not_allowed", `${path} accepts ${allow}, not ${request.method}`, [], { allow }), requestId);
        }
        return errorResponse(new ApiError("not_found", `no route ${request.method} ${path}`), requestId);
      }
      if (code === "PARSE") {
        return errorResponse(new ApiError("invalid_json", "request body could not be parsed"), requestId);
      }
      const apiError = toApiError(error);
      if (apiError.status >= 500) deps.log.error("request failed", { request_id: requestId, error });
      return errorResponse(apiError, requestId);
    })
    .use(healthRoutes(deps.storage, deps.metrics))
    .use(webhookRoutes(deps))
    .use(eventRoutes(deps))
    .use(resourceRoutes(deps))
    .use(deliveryRoutes(deps))
    .use(inboundLogRoutes(deps))
    .use(statsRoutes(deps))
    .use(uiRoutes());
  return app;
}
