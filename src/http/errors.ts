/** ErrorCode is every error code the HTTP API answers with; codeToStatus maps each to its status. */
export const codeToStatus = {
  invalid_request: 422,
  invalid_json: 400,
  invalid_query: 400,
  invalid_header: 400,
  unauthorized: 401,
  ip_not_allowed: 403,
  insufficient_scope: 403,
  connector_mismatch: 403,
  cross_site_request: 403,
  invalid_signature: 401,
  invalid_token: 401,
  not_found: 404,
  unknown_source: 404,
  method_not_allowed: 405,
  request_timeout: 408,
  conflict: 409,
  idempotency_key_in_progress: 409,
  payload_too_large: 413,
  idempotency_key_reused: 422,
  invalid_body: 422,
  limit_reached: 422,
  rate_limited: 429,
  internal_error: 500,
  storage_unavailable: 503,
  server_busy: 503,
} as const;

export type ErrorCode = keyof typeof codeToStatus;

/** ErrorDetail names one problem: the field (key path, header or query parameter) and what is wrong. */
export interface ErrorDetail {
  field: string;
  code: string;
  message: string;
}

/** ApiError is the one error type handlers throw; onError renders it as SPEC §3's envelope. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorDetail[] = [],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  get status(): number {
    return codeToStatus[this.code];
  }
}

/** RETRY_AFTER_STORAGE_SECONDS is what a 503 asks clients to wait before trying again. */
export const RETRY_AFTER_STORAGE_SECONDS = 5;

/** ERROR_ENVELOPE_SCHEMA is errorResponse's body as JSON Schema: `components.schemas.Error` in /openapi.json. */
export const ERROR_ENVELOPE_SCHEMA = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message", "request_id", "details"],
      properties: {
        code: { type: "string", enum: Object.keys(codeToStatus), description: "stable machine-readable code; the HTTP status follows from it" },
        message: { type: "string", description: "for people; may change between versions" },
        request_id: { type: "string", description: "the X-Request-ID of the request, also on every log line about it" },
        details: {
          type: "array",
          description: "one entry per field that is wrong (empty when the error is not about a field)",
          items: {
            type: "object",
            required: ["field", "code", "message"],
            properties: { field: { type: "string", description: "key path (`events[0]`), `query.limit` or `header.Idempotency-Key`" }, code: { type: "string" }, message: { type: "string" } },
          },
        },
      },
    },
  },
};

/** errorResponse renders an error envelope with its status and headers. */
export function errorResponse(error: ApiError, requestId: string): Response {
  const body = {
    error: { code: error.code, message: error.message, request_id: requestId, details: error.details },
  };
  return new Response(JSON.stringify(body), {
    status: error.status,
    headers: { "content-type": "application/json", ...error.headers },
  });
}

/** isStorageOutage tells a database that cannot serve (each backend reports it as StorageUnavailableError) from a programming error. */
export function isStorageOutage(error: unknown): boolean {
  return error instanceof Error && error.name === "StorageUnavailableError";
}

/**
 * isServerFault: worth an error log line. `server_busy` is load shed on purpose (anyone can cause
 * thousands of them), so it is not one, and neither is any 4xx.
 */
export function isServerFault(error: ApiError): boolean {
  return error.status >= 500 && error.code !== "server_busy";
}

/** toApiError turns anything thrown into an ApiError: storage outages become 503, the rest 500. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (isStorageOutage(error)) {
    return new ApiError("storage_unavailable", "storage is unavailable; retry later", [], {
      "retry-after": String(RETRY_AFTER_STORAGE_SECONDS),
    });
  }
  return new ApiError("internal_error", "internal error; the server log has the details under this request_id");
}
