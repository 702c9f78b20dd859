// What a claim and a recorded attempt read of an endpoint, the same on every backend: the row, the
// state the outcome rules see, and the fields a claimed delivery carries.
import type { ClaimedDelivery, EndpointState } from "./types";

/** EndpointRow is the `webhooks` columns a claim and `complete` read. */
export interface EndpointRow {
  url: string;
  status: string;
  deleted_at: number | null;
  failure_count: number;
  failing_since: number | null;
  failing_reported: number;
  secret: string;
  previous_secret: string | null;
  previous_secret_until: number | null;
  headers: string | null;
  timeout_ms: number | null;
  rate_limit: number | null;
  client_tls: string | null;
  oauth2: string | null;
  transform: string | null;
  content_type: string | null;
}

/** endpointState is what decideAttempt is told of an endpoint (a missing row reads as deleted). */
export function endpointState(row: EndpointRow | null): EndpointState {
  return {
    status: !row || row.deleted_at !== null ? "deleted" : row.status === "active" ? "active" : "disabled",
    failure_count: row?.failure_count ?? 0,
    failing_since: row?.failing_since ?? null,
  };
}

/** EndpointFields are the parts of a ClaimedDelivery that come from its endpoint. */
export type EndpointFields = Pick<ClaimedDelivery, "url" | "secrets" | "headers" | "timeout_ms" | "client_tls" | "oauth2" | "transform" | "content_type">;

/** endpointFields: the signing secrets live at `now` (two during a rotation window, newest first) and the delivery options. */
export function endpointFields(w: EndpointRow, now: number): EndpointFields {
  return {
    url: w.url,
    secrets: w.previous_secret && (w.previous_secret_until ?? 0) > now ? [w.secret, w.previous_secret] : [w.secret],
    headers: w.headers === null ? null : (JSON.parse(w.headers) as Record<string, string>),
    timeout_ms: w.timeout_ms,
    client_tls: w.client_tls,
    oauth2: w.oauth2,
    transform: w.transform,
    content_type: w.content_type,
  };
}
