import { object, responses, str } from "./openapi";

/**
 * INBOUND_PATHS documents POST /in/{source} (SPEC §7, §13) for /openapi.json. The receiver answers
 * before the router (hot path, raw body read in the SPEC's check order), so no route carries this
 * description; the composition root hands it to the router's document instead.
 */
export const INBOUND_PATHS = {
  "/in/{source}": {
    post: {
      operationId: "postInSource",
      summary: "Receive an event from a configured sender ([[sources]]); answered after it is durable",
      tags: ["inbound"],
      security: [],
      parameters: [{ name: "source", in: "path", required: true, schema: { type: "string" }, description: "a [[sources]] id" }],
      requestBody: {
        required: true,
        description:
          "The raw body, read as bytes whatever the Content-Type and signed as sent. JSON for every schema; for `erp-event`: connector_id, event_type, timestamp (RFC 3339), optional severity, source, message, metadata.",
        content: { "*/*": { schema: { type: "string", format: "binary" } } },
      },
      responses: responses(
        {
          status: 200,
          description: "stored (or a repeat of a delivery already stored: the original id)",
          schema: object({ received: { type: "boolean", const: true }, id: str("evt_… of the event created") }),
        },
        "unknown_source",
        "ip_not_allowed",
        "cross_site_request",
        "connector_mismatch",
        "payload_too_large",
        "request_timeout",
        "invalid_signature",
        "invalid_token",
        "invalid_body",
        "idempotency_key_reused",
        "rate_limited",
        "internal_error",
        "storage_unavailable",
        "server_busy",
      ),
    },
  },
};
