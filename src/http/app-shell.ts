import { openapi } from "@elysiajs/openapi";
import { toJsonSchema } from "@valibot/to-json-schema";
import { type AnyElysia, Elysia } from "elysia";
import type { Logger } from "../log";
import { ApiError, ERROR_ENVELOPE_SCHEMA, errorResponse, isServerFault, toApiError } from "./errors";
import { allowedMethods } from "./route-methods";
import { elysiaValidationDetails } from "./validation";

/** AppShellSettings: what the router needs besides the routes (the OpenAPI document's version, a log for 5xx). */
export interface AppShellSettings {
  readonly version: string;
  readonly log: Logger;
  /** documentedPaths are OpenAPI path items for what answers before the router (POST /in/{source}). */
  readonly documentedPaths?: Record<string, unknown>;
}

// Schemas go into the document without their own $schema: OpenAPI 3.1 sets the dialect for the whole document.
function documentedSchema(schema: never): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = toJsonSchema(schema, { errorMode: "ignore" }) as Record<string, unknown>;
  return rest;
}

/**
 * appShell is the router: /openapi.json, one onError that renders every failure as the SPEC §3
 * envelope, and the routes the composition root hands in. The routes are mounted after onError
 * so the handler covers them, and the 405 check reads this app's full route table.
 */
export function appShell(settings: AppShellSettings, routes: readonly AnyElysia[]): AnyElysia {
  const app = new Elysia()
    .use(
      openapi({
        provider: null,
        specPath: "/openapi.json",
        // Checks with no JSON Schema form (custom predicates) are left out of the document, not fatal.
        mapJsonSchema: { valibot: documentedSchema },
        documentation: {
          info: { title: "hookd", version: settings.version, description: "Self-hosted webhook hub: admin API and inbound receiver" },
          components: {
            securitySchemes: {
              apiKey: {
                type: "http",
                scheme: "bearer",
                description:
                  'An [api] keys entry. Its scopes (read, publish, admin) decide which routes it may use: outside them, 403 insufficient_scope. Every answer to a valid key carries X-Hookd-Key-Scopes, e.g. "read,publish".',
              },
            },
            schemas: { Error: ERROR_ENVELOPE_SCHEMA as never },
          },
          security: [{ apiKey: [] }],
          paths: (settings.documentedPaths ?? {}) as never,
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
      if (isServerFault(apiError)) settings.log.error("request failed", { request_id: requestId, error });
      return errorResponse(apiError, requestId);
    })
    .use([...routes]);
  return app;
}
