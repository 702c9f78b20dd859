import { randomBytes } from "node:crypto";
import { isoTime } from "../clock";
import type { WebhookRecord } from "../storage/types";
import { optionsJson } from "./webhook-options";

// An endpoint as the API stores and shows it: its URL's stored form, a new signing secret, its public view.

/** normalizeUrl stores the URL as the sender will parse it (no ambiguity about the host, e.g. with backslashes) and without a fragment, which is never sent. */
export function normalizeUrl(url: string): string {
  const parsed = new URL(url);
  parsed.hash = "";
  return parsed.href;
}

/** newSecret is `whsec_` + base64 of 32 random bytes (the Standard Webhooks form). */
export function newSecret(): string {
  return `whsec_${randomBytes(32).toString("base64")}`;
}

/** normalizedOrNull is the URL as stored, or null when it does not parse (reported by checkEndpointUrl). */
export function normalizedOrNull(url: string): string | null {
  return URL.canParse(url) ? normalizeUrl(url) : null;
}

/** webhookJson is the public view of an endpoint: never the secret, sensitive header values masked (SPEC §9). */
export function webhookJson(w: WebhookRecord) {
  return {
    id: w.id,
    url: w.url,
    events: w.events,
    description: w.description,
    status: w.status,
    ...optionsJson(w),
    failure_count: w.failure_count,
    last_failure_at: w.last_failure_at === null ? null : isoTime(w.last_failure_at),
    failing_since: w.failing_since === null ? null : isoTime(w.failing_since),
    created_at: isoTime(w.created_at),
    updated_at: isoTime(w.updated_at),
  };
}
