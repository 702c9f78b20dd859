import { createHash } from "node:crypto";
import type { Clock } from "../clock";
import type { IdempotencyStore } from "../storage/types";
import { ApiError } from "./errors";

const TTL_MS = 24 * 60 * 60 * 1000;
// A request that has not finished within a minute is presumed dead (crash, restart) and may be retried.
const LOCK_MS = 60 * 1000;
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
// These codes mean the request was refused before it ran; remembering them would pin a typo for 24 h,
// or (insufficient_scope) keep refusing the key's retry after its scopes were widened.
const NOT_EXECUTED = new Set(["invalid_request", "invalid_json", "invalid_query", "invalid_header", "payload_too_large", "insufficient_scope"]);

/** withIdempotency runs `run` at most once per (scope, key) and replays its stored answer for 24 h (SPEC §3). */
export async function withIdempotency(
  store: IdempotencyStore,
  clock: Clock,
  scope: string,
  key: string,
  rawBody: Uint8Array,
  run: () => Promise<Response>,
  recordedStatus: () => number | null = () => null,
): Promise<Response> {
  if (!KEY_PATTERN.test(key)) {
    throw new ApiError("invalid_header", "Idempotency-Key must be 1-255 printable ASCII characters", [
      { field: "header.Idempotency-Key", code: "invalid", message: "use 1-255 printable ASCII characters, e.g. a UUID" },
    ]);
  }
  const hash = createHash("sha256").update(rawBody).digest("hex");
  const outcome = await store.begin(scope, key, hash, clock.now(), TTL_MS, LOCK_MS);
  switch (outcome.kind) {
    case "mismatch":
      throw new ApiError("idempotency_key_reused", "this Idempotency-Key was used with a different request body", [
        { field: "header.Idempotency-Key", code: "reused", message: "use a new key for a different request" },
      ]);
    case "in_progress":
      throw new ApiError("idempotency_key_in_progress", "a request with this Idempotency-Key is still running; retry shortly");
    case "replay":
      return new Response(outcome.body === "" ? null : outcome.body, {
        status: outcome.status,
        headers: { "content-type": outcome.contentType, "idempotent-replayed": "true" },
      });
    case "started":
      break;
  }
  let response: Response;
  try {
    response = await run();
  } catch (error) {
    await store.release(scope, key);
    throw error;
  }
  const text = await response.text();
  // A route that changes something stores its answer in the change's transaction; a 2xx with that
  // status is that answer, already durable, and is not written a second time.
  const recorded = recordedStatus();
  const stored = recorded !== null && recorded === response.status && response.status < 300;
  if (!stored && shouldRemember(response.status, text)) {
    const contentType = response.headers.get("content-type") ?? "application/json";
    await store.complete(scope, key, response.status, text, contentType, clock.now());
  } else if (!stored) {
    await store.release(scope, key);
  }
  return new Response(response.status === 204 ? null : text, { status: response.status, headers: response.headers });
}

function shouldRemember(status: number, text: string): boolean {
  if (status >= 500) return false;
  if (status < 400) return true;
  try {
    const code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
    return !(code !== undefined && NOT_EXECUTED.has(code));
  } catch {
    return true;
  }
}
