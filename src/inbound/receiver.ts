import { createHash } from "node:crypto";
import type { Clock } from "../clock";
import type { Source } from "../config/types";
import { buildEvent } from "../events/envelope";
import { type EventCatalogue, isReservedType } from "../events/types";
import { ApiError, type ErrorDetail } from "../http/errors";
import { newId } from "../ids";
import type { Logger } from "../log";
import type { InboundRecord, Storage } from "../storage/types";
import { jsonDepth, MAX_JSON_DEPTH } from "../http/json-gate";
import { dedupeKeyOf, standardHeaders, storedHeaders } from "./headers";
import { crossSiteProblem } from "./origin";
import { RejectionBudget } from "./rejection-log";
import { checkErpEvent, checkJsonBody } from "./schemas";
import { type AuthResult, verifyHmac, verifyStandardWebhooks, verifyToken } from "./verify";
import { readBodyLimited } from "../http/body";
import type { Prefilter } from "../routing/prefilter";

/** InboundSettings are the reloadable settings one inbound request is checked against. */
export interface InboundSettings {
  readonly sources: ReadonlyMap<string, Source>;
  readonly catalogue: EventCatalogue;
}

/** InboundDeps is what the receiver needs: the configured sources (as of now: SIGHUP reloads them) and the durable accept path. */
export interface InboundDeps {
  /** settings gives the sources and catalogue in force; a request takes them once, at its start. */
  readonly settings: () => InboundSettings;
  readonly storage: Storage;
  readonly clock: Clock;
  readonly log: Logger;
  readonly maxBody: number;
  /** prefilter evaluates endpoint filters on the event before it is stored (SPEC §10). */
  readonly prefilter: Prefilter;
  /** onOutcome observes every answer (metrics): the source id ("_unknown" for none) and the outcome. */
  readonly onOutcome?: (source: string, outcome: string) => void;
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const DEDUPE_WINDOW_MS = 24 * 60 * 60 * 1000;
const utf8 = new TextDecoder("utf-8", { fatal: true });
const invalidBody = (message: string, details: ErrorDetail[]) => new ApiError("invalid_body", message, details);

/** createInboundReceiver answers POST /in/:source with the checks of SPEC §7, in its order. */
export function createInboundReceiver(deps: InboundDeps) {
  const budget = new RejectionBudget();

  const authenticate = (source: Source, body: Uint8Array, headers: Headers): AuthResult => {
    switch (source.auth) {
      case "hmac":
        return verifyHmac(source.secret, body, headers.get(source.header), source.header);
      case "token":
        return verifyToken(source.secret, headers.get(source.header), source.header);
      case "standard-webhooks":
        return verifyStandardWebhooks(source.secret, body, standardHeaders(headers), Math.floor(deps.clock.now() / 1000));
      case "none":
        return { ok: true };
    }
  };

  const check = async (source: Source, catalogue: EventCatalogue, request: Request, clientIp: string, received: { body?: Uint8Array }) => {
    if (source.allow_ips.size > 0 && !source.allow_ips.has(clientIp)) {
      throw new ApiError("ip_not_allowed", `client address ${clientIp} is not in this source's allow_ips`);
    }
    if (source.auth === "none") {
      const problem = crossSiteProblem(source.allow_origins, request.headers);
      if (problem !== null) throw new ApiError("cross_site_request", problem);
    }
    const body = await readBodyLimited(request, deps.maxBody);
    received.body = body;
    const auth = authenticate(source, body, request.headers);
    if (!auth.ok) throw new ApiError(auth.code, auth.message);
    const connectorHeader = request.headers.get(source.connector_header);
    if (connectorHeader !== null && connectorHeader !== source.connector_id) {
      // The sender has authenticated by now, so naming both values gives nothing away and ends the guessing (ids are case-sensitive).
      throw new ApiError(
        "connector_mismatch",
        `${source.connector_header} is ${JSON.stringify(connectorHeader.slice(0, 128))}, but this source's connector id is ${JSON.stringify(source.connector_id)} (case-sensitive)`,
      );
    }
    const notJson = (error: unknown) =>
      invalidBody("the body is not valid JSON", [{ field: "body", code: "invalid_json", message: (error as Error).message }]);
    let text: string;
    try {
      text = utf8.decode(body);
    } catch (error) {
      throw notJson(error);
    }
    // Refused before parsing: a document this deep breaks the code that reads it later (validators, the dashboard).
    if (jsonDepth(text) > MAX_JSON_DEPTH) {
      throw invalidBody(`the body nests deeper than ${MAX_JSON_DEPTH} levels`, [
        { field: "body", code: "too_deep", message: `JSON nesting is limited to ${MAX_JSON_DEPTH} levels` },
      ]);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw notJson(error);
    }
    const connectorId = (parsed as { connector_id?: unknown } | null)?.connector_id;
    if (typeof parsed === "object" && parsed !== null && connectorId !== undefined && connectorId !== source.connector_id) {
      const sent = typeof connectorId === "string" ? JSON.stringify(connectorId.slice(0, 128)) : `a ${connectorId === null ? "null" : typeof connectorId}`;
      throw new ApiError("connector_mismatch", `the body's connector_id is ${sent}, but this source's connector id is ${JSON.stringify(source.connector_id)} (case-sensitive)`, [
        { field: "connector_id", code: "mismatch", message: "must equal the connector id configured for this source" },
      ]);
    }
    const checked = source.schema === "erp-event" ? checkErpEvent(parsed) : checkJsonBody(parsed, source.event_type, source.event_type_field);
    if (!checked.ok) throw invalidBody("the body does not match the source's schema", checked.details);
    if (isReservedType(checked.eventType)) {
      const field = source.schema === "erp-event" ? "event_type" : source.event_type_field || "event_type";
      throw invalidBody("the event type is reserved", [
        { field, code: "reserved_event_type", message: `${JSON.stringify(checked.eventType)} is reserved: hookd.* events are published by hookd itself` },
      ]);
    }
    if (!catalogue.allowsType(checked.eventType)) {
      const field = source.schema === "erp-event" ? "event_type" : source.event_type_field || "event_type";
      throw invalidBody("the event type is not in the catalogue", [
        { field, code: "unknown_event_type", message: `${JSON.stringify(checked.eventType)} is not in the [events] types catalogue` },
      ]);
    }
    return { body, text, eventType: checked.eventType };
  };

  return async (request: Request, sourceId: string, clientIp: string, log: Logger): Promise<Response> => {
    // One snapshot for the whole request: a reload meanwhile never mixes an old source with a new catalogue.
    const settings = deps.settings();
    const source = settings.sources.get(sourceId);
    if (!source) {
      deps.onOutcome?.("_unknown", "unknown_source");
      throw new ApiError("unknown_source", `no inbound source ${JSON.stringify(sourceId.slice(0, 64))} is configured`);
    }
    const now = deps.clock.now();
    const base: InboundRecord = {
      id: newId("in"), source: source.id, status: "accepted", reason: null, event_id: null, client_ip: clientIp,
      headers: {}, body: null, body_sha256: null, size: 0, received_at: now,
    };
    // A rejection keeps the body's size and SHA-256 (never the body, never the expected signature), so
    // a sender can compare with what it signed: a different hash means the bytes changed on the way.
    const reject = async (error: ApiError, body: Uint8Array | undefined): Promise<never> => {
      const size = body?.byteLength ?? Number(request.headers.get("content-length") ?? 0);
      const bodySha256 = body === undefined ? null : sha256(body);
      deps.onOutcome?.(source.id, error.code);
      log.warn("inbound request rejected", { source: source.id, reason: error.code, size, body_sha256: bodySha256, client_ip: clientIp, inbound_id: base.id });
      if (error.status < 500 && budget.take(source.id, now)) {
        // Best effort (the log line above already says what happened), but stored before the answer, so
        // a sender who reads GET /v1/inbound after a 4xx finds it. The budget bounds what this costs.
        // Headers only once the body was read, i.e. past the address, origin and size checks (SPEC §13).
        const headers = body === undefined ? {} : storedHeaders(source, request.headers);
        await deps.storage.inbound.logRejected({ ...base, headers, status: "rejected", reason: error.code, size, body_sha256: bodySha256 }).catch(() => {});
      }
      throw error;
    };
    let accepted: Awaited<ReturnType<typeof check>>;
    const received: { body?: Uint8Array } = {};
    try {
      accepted = await check(source, settings.catalogue, request, clientIp, received);
    } catch (error) {
      if (error instanceof ApiError) await reject(error, received.body);
      throw error;
    }
    const event = buildEvent(accepted.eventType, accepted.text, "inbound", now, source.id);
    const dedupe = dedupeKeyOf(request.headers, source.dedupe_header);
    // Filters run before the group commit, never inside it (SPEC §10); a duplicate wastes this, which is cheap and bounded.
    const outcome = await deps.prefilter(event).then(() => deps.storage.inbound.accept({
      record: { ...base, headers: storedHeaders(source, request.headers), event_id: event.id, body: accepted.text, size: accepted.body.byteLength },
      event,
      dedupeKey: dedupe?.key ?? null,
      bodyHash: sha256(accepted.body),
      dedupeWindowMs: DEDUPE_WINDOW_MS,
      rateLimit: source.rate_limit,
      now,
    })).catch((error: unknown) => {
      deps.onOutcome?.(source.id, "storage_unavailable");
      log.error("inbound request could not be stored", { source: source.id, inbound_id: base.id, error });
      throw error;
    });
    switch (outcome.kind) {
      case "reused":
        return reject(new ApiError("idempotency_key_reused", `this ${dedupe?.header ?? "webhook-id / Idempotency-Key"} was used with a different body in the last 24 h`), accepted.body);
      case "rate_limited":
        return reject(
          new ApiError("rate_limited", `source ${source.id} is over its rate limit; retry in ${outcome.retryAfterSec} s`, [], { "retry-after": String(outcome.retryAfterSec) }),
          accepted.body,
        );
      case "duplicate":
        deps.onOutcome?.(source.id, "duplicate");
        log.debug("inbound duplicate acknowledged", { source: source.id, event_id: outcome.eventId, inbound_id: base.id });
        return Response.json({ received: true, id: outcome.eventId });
      case "accepted":
        deps.onOutcome?.(source.id, "accepted");
        log.debug("inbound event accepted", { source: source.id, event_id: outcome.eventId, event_type: event.type, deliveries: outcome.deliveries, inbound_id: base.id });
        return Response.json({ received: true, id: outcome.eventId });
    }
  };
}
