import * as v from "valibot";
import { isoTime } from "../clock";
import { ApiError } from "../http/errors";
import { isId } from "../ids";
import type { InboundRecord, InboundStatus } from "../storage/types";
import { adminPlugin } from "./admin-plugin";
import type { ApiDeps } from "./deps";
import { PAGE_QUERY, pageOf, parsePage } from "./pagination";
import { ERRORS, INBOUND, ok, one, page, responses } from "./openapi";
import { ID_PARAMS, parseEnumQuery, queryEnum, queryParam } from "./schemas";

const STATUSES: readonly InboundStatus[] = ["accepted", "duplicate", "rejected"];

/** inboundJson is the public view of one received request; the body only when asked for one. */
export function inboundJson(r: InboundRecord, withBody: boolean) {
  return {
    id: r.id,
    source: r.source,
    status: r.status,
    reason: r.reason,
    event_id: r.event_id,
    client_ip: r.client_ip,
    size: r.size,
    body_sha256: r.body_sha256,
    headers: r.headers,
    received_at: isoTime(r.received_at),
    ...(withBody ? { body: r.body } : {}),
  };
}

/** inboundLogRoutes list what senders sent: accepted, duplicate and rejected requests (SPEC §7). */
export function inboundLogRoutes(deps: ApiDeps) {
  return adminPlugin("inbound-log")
    .get(
      "/v1/inbound",
      ({ query }) => {
        const status = parseEnumQuery(query.status, STATUSES, "status");
        const source = query.source === undefined || query.source === "" ? undefined : query.source;
        return pageOf(parsePage(query, "in"), (p) => deps.storage.inbound.list({ ...p, source, status }), (r) => inboundJson(r, false));
      },
      {
        query: v.object({ ...PAGE_QUERY, source: queryParam("a [[sources]] id"), status: queryEnum("only requests with this outcome", STATUSES) }),
        detail: {
          summary: "Received inbound requests, newest first",
          tags: ["inbound"],
          responses: responses(ok(200, "a page of received requests, without bodies", page(INBOUND)), ...ERRORS.admin, ...ERRORS.list),
        },
      },
    )
    .get(
      "/v1/inbound/:id",
      async ({ params }) => {
        const found = isId(params.id, "in") ? await deps.storage.inbound.get(params.id) : null;
        if (!found) throw new ApiError("not_found", `inbound request ${params.id} not found`);
        return { data: inboundJson(found, true) };
      },
      {
        params: ID_PARAMS,
        detail: {
          summary: "One received request, with its body as received",
          tags: ["inbound"],
          responses: responses(ok(200, "the request, with its body (null for rejections)", one(INBOUND)), ...ERRORS.admin, ...ERRORS.byId),
        },
      },
    );
}
