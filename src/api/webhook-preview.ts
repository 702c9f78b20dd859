import * as v from "valibot";
import { buildEvent } from "../events/envelope";
import { topLevelMember } from "../events/raw-json";
import { isEventType, matchesAny } from "../events/types";
import { contextOf } from "../http/context";
import { ApiError } from "../http/errors";
import { isId } from "../ids";
import { filterMatches } from "../routing/filter";
import type { EventRecord, WebhookRecord } from "../storage/types";
import { applyTransform } from "../transform";
import { adminPlugin } from "./admin-plugin";
import type { ApiDeps } from "./deps";
import { ERRORS, nullable, object, ok, one, responses, str } from "./openapi";
import { boundedString, ID_PARAMS, JSON_OBJECT, strict } from "./schemas";

const PREVIEW_BODY = strict({
  event_id: v.optional(v.pipe(v.string("must be a string"), v.description("a stored event (evt_…): its envelope and source are used"))),
  event: v.optional(
    v.pipe(
      strict({
        type: v.pipe(boundedString(1, 128), v.description('event type, e.g. "invoice.paid"')),
        data: v.pipe(JSON_OBJECT, v.description("the payload, used byte for byte as sent")),
        source: v.optional(v.nullable(v.pipe(boundedString(1, 128), v.description("the [[sources]] id to preview it as coming from; default null (an API event)")))),
      }),
      v.description("an ad-hoc event, built as POST /v1/events would build it (nothing is stored)"),
    ),
  ),
});

const PREVIEW = object({
  matches: { type: "boolean", description: "true when the endpoint's `events` cover the type and its filter matches: a delivery would be created" },
  content_type: nullable(str("Content-Type the delivery would carry; null when the transform failed")),
  body: nullable(str("the exact body the endpoint would receive (transformed when it has a transform); null when the transform failed")),
  error: nullable(str('"transform_failed: …" (the delivery would expire unsent) or "transform_timeout" (retried like a timeout); null when the body was made')),
});

/** PreviewAnswer is the preview's `data`: the filter verdict and what a delivery would send. */
export interface PreviewAnswer {
  matches: boolean;
  content_type: string | null;
  body: string | null;
  error: string | null;
}

/** previewOf works out what `webhook` would receive for `event`: the same filter and transform code a delivery runs. */
export async function previewOf(deps: Pick<ApiDeps, "transforms" | "maxBody">, webhook: WebhookRecord, event: EventRecord): Promise<PreviewAnswer> {
  const matches = matchesAny(webhook.events, event.type) && (webhook.filter === null || filterMatches(webhook.filter, event));
  const out = await applyTransform(deps.transforms, webhook, event.body, event.source, deps.maxBody);
  switch (out.kind) {
    case "body":
      return { matches, content_type: out.contentType, body: out.body, error: null };
    case "failed":
      return { matches, content_type: null, body: null, error: out.error };
    case "timeout":
      return { matches, content_type: null, body: null, error: "transform_timeout" };
  }
}

/** previewRoutes serves POST /v1/webhooks/:id/preview (SPEC §10): sends nothing, stores nothing. */
export function previewRoutes(deps: ApiDeps) {
  const invalid = (field: string, message: string, code = "invalid") => new ApiError("invalid_request", "the preview request is not valid", [{ field, code, message }]);

  const eventOf = async (body: v.InferOutput<typeof PREVIEW_BODY>, raw: string): Promise<EventRecord> => {
    if ((body.event_id === undefined) === (body.event === undefined)) {
      throw invalid("body", "send either event_id (a stored event) or event ({type, data}), not both", "required");
    }
    if (body.event_id !== undefined) {
      const stored = isId(body.event_id, "evt") ? await deps.storage.events.get(body.event_id) : null;
      if (!stored) throw new ApiError("not_found", `event ${body.event_id} not found`);
      return stored;
    }
    const { type, data, source } = body.event!;
    if (!isEventType(type)) {
      throw invalid("event.type", `${JSON.stringify(type)} is not an event type: dot-separated words of letters, digits, _ and -, like "invoice.paid"`, "invalid_event_type");
    }
    // The data's own bytes, as POST /v1/events keeps them (large integers, key order); parsed JSON only as a fallback.
    const eventText = topLevelMember(raw, "event");
    const dataText = eventText === undefined ? undefined : topLevelMember(eventText, "data");
    return buildEvent(type, dataText ?? JSON.stringify(data), "api", deps.clock.now(), source ?? null);
  };

  return adminPlugin("webhook-preview").post(
    "/v1/webhooks/:id/preview",
    async ({ params, body, request }) => {
      const webhook = isId(params.id, "wh") ? await deps.storage.webhooks.get(params.id) : null;
      if (!webhook) throw new ApiError("not_found", `webhook endpoint ${params.id} not found`);
      const event = await eventOf(body, new TextDecoder().decode(contextOf(request).rawBody));
      return { data: await previewOf(deps, webhook, event) };
    },
    {
      params: ID_PARAMS,
      body: PREVIEW_BODY,
      parse: "json",
      detail: {
        summary: "Preview what the endpoint would receive for a stored or an ad-hoc event (sends and stores nothing)",
        description:
          "Send `event_id` (a stored event, with its source) or `event` ({type, data, source?}), not both. `matches` is the fan-out verdict: " +
          "the endpoint's `events` cover the type and its `filter` matches (the endpoint's status is not considered). `body` and `content_type` " +
          "are exactly what a delivery would send, whether or not it matches: the envelope as stored, or the transform's result. A transform " +
          "that throws, returns nothing or makes a body over max_body still answers 200, with `error` \"transform_failed: …\" and body null; " +
          'one stopped after 100 ms answers `error` "transform_timeout".',
        tags: ["webhooks"],
        responses: responses(ok(200, "the verdict and the body the endpoint would receive", one(PREVIEW)), ...ERRORS.admin, ...ERRORS.body, ...ERRORS.byId),
      },
    },
  );
}
