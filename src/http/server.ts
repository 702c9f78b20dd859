import { openapi } from "@elysiajs/openapi";
import { toJsonSchema } from "@valibot/to-json-schema";
import { Elysia } from "elysia";
import type { ApiDeps } from "../api/deps";
import { eventRoutes } from "../api/events";
import { healthRoutes } from "../api/health";
import { resourceRoutes } from "../api/resources";
import { webhookRoutes } from "../api/webhooks";
import type { IpSet } from "../net/cidr";
import type { ApiKeyVerifier } from "./api-keys";
import { readBodyLimited } from "./body";
import { attachContext } from "./context";
import { ApiError, errorResponse, toApiError } from "./errors";
import { withIdempotency } from "./idempotency";
import { requestIdFor } from "./request-id";
import { elysiaValidationDetails } from "./validation";

/** HttpDeps adds the front door's settings to what the routes need. */
export interface HttpDeps extends ApiDeps {
  readonly apiKeys: ApiKeyVerifier;
  readonly apiAllowIps: IpSet;
  readonly maxBody: number;
  readonly version: string;
}

/** HttpHandler answers one request; `clientIp` is the socket address (the caller resolves proxies). */
export interface HttpHandler {
  handle(request: Request, clientIp: string): Promise<Response>;
}

const BODYLESS = new Set(["GET", "HEAD", "OPTIONS"]);

/** buildHttp assembles the Elysia app and the front handler around it; it never listens. */
export function buildHttp(deps: HttpDeps): HttpHandler {
  const app = buildApp(deps);

  const route = async (request: Request, clientIp: string, requestId: string): Promise<Response> => {
    const url = new URL(request.url);
    const admin = url.pathname === "/v1" || url.pathname.startsWith("/v1/");
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
    const routed = new Request(request.url, {
      method: request.method,
      headers,
      body: BODYLESS.has(request.method) ? undefined : (rawBody as Uint8Array<ArrayBuffer>),
    });
    attachContext(routed, { requestId, clientIp, apiKey, rawBody });
    const idempotencyKey = request.headers.get("idempotency-key");
    if (admin && request.method === "POST" && idempotencyKey !== null) {
      const scope = `${apiKey} POST ${url.pathname}`;
      return withIdempotency(deps.storage.idempotency, deps.clock, scope, idempotencyKey, rawBody, () => app.handle(routed));
    }
    return app.handle(routed);
  };

  return {
    async handle(request, clientIp) {
      const started = performance.now();
      const requestId = requestIdFor(request.headers.get("x-request-id"));
      let response: Response;
      try {
        response = await route(request, clientIp, requestId);
      } catch (error) {
        const apiError = toApiError(error);
        if (apiError.status >= 500) deps.log.error("request failed", { request_id: requestId, error });
        response = errorResponse(apiError, requestId);
      }
      response.headers.set("x-request-id", requestId);
      const path = new URL(request.url).pathname;
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

function assertJson(raw: Uint8Array): void {
  if (raw.byteLength === 0) return;
  try {
    JSON.parse(utf8.decode(raw));
  } catch (error) {
    const why = (error as Error).message;
    throw new ApiError("invalid_json", `request body is not valid JSON: ${why}`, [{ field: "body", code: "invalid_json", message: why }]);
  }
}

function buildApp(deps: HttpDeps) {
  return new Elysia()
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
        return errorResponse(new ApiError("not_found", `no route ${request.method} ${path}`), requestId);
      }
      if (code === "PARSE") {
        return errorResponse(new ApiError("invalid_json", "request body could not be parsed"), requestId);
      }
      const apiError = toApiError(error);
      if (apiError.status >= 500) deps.log.error("request failed", { request_id: requestId, error });
      return errorResponse(apiError, requestId);
    })
    .use(healthRoutes(deps.storage))
    .use(webhookRoutes(deps))
    .use(eventRoutes(deps))
    .use(resourceRoutes(deps));
}
