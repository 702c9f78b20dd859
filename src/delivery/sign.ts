import { createHmac } from "node:crypto";

const WHSEC_PREFIX = "whsec_";
/** Enough for every live secret of a large install; a bound so rotated-away secrets cannot grow it forever. */
const KEY_CACHE_LIMIT = 4096;
const keyCache = new Map<string, Buffer>();

/** standardKey decodes a whsec_ secret once; every attempt to every endpoint would otherwise redo the base64 work. */
function standardKey(secret: string): Buffer {
  let key = keyCache.get(secret);
  if (key !== undefined) return key;
  // Like the reference libraries, a secret without the prefix is taken as bare base64.
  const encoded = secret.startsWith(WHSEC_PREFIX) ? secret.slice(WHSEC_PREFIX.length) : secret;
  key = Buffer.from(encoded, "base64");
  if (keyCache.size >= KEY_CACHE_LIMIT) {
    // Map keeps insertion order, so the first key is the oldest entry.
    const oldest = keyCache.keys().next().value;
    if (oldest !== undefined) keyCache.delete(oldest);
  }
  keyCache.set(secret, key);
  return key;
}

/** hexSignature: X-Hookd-Signature — lowercase hex HMAC-SHA256 of the raw body, key = the whole secret string as UTF-8 (so `hmac.new(secret.encode(), body, sha256).hexdigest()` verifies it). */
export function hexSignature(secret: string, body: string): string {
  return createHmac("sha256", Buffer.from(secret, "utf8")).update(body, "utf8").digest("hex");
}

/** standardSignature: one Standard Webhooks signature "v1,<base64 HMAC-SHA256 of `${id}.${timestamp}.${body}`>", key = base64-decoded part after "whsec_". */
export function standardSignature(secret: string, msgId: string, timestampSec: number, body: string): string {
  const mac = createHmac("sha256", standardKey(secret)).update(`${msgId}.${timestampSec}.${body}`, "utf8");
  return `v1,${mac.digest("base64")}`;
}

export interface SignedHeadersInput {
  /** Live secrets, newest first; at least one. */
  secrets: readonly string[];
  eventId: string;
  eventType: string;
  deliveryId: string;
  body: string;
  /** This attempt's send time: receivers reject timestamps older than ~5 min, so retries must re-sign. */
  timestampSec: number;
  userAgent: string;
  /** contentType of the body; a transform's string result may be something else than JSON (SPEC §10). */
  contentType?: string;
}

/** deliveryHeaders: every header of SPEC §6's table for one attempt: Content-Type, User-Agent, X-Hookd-Event, X-Hookd-Delivery, X-Hookd-Signature (newest secret), webhook-id (= event id), webhook-timestamp, webhook-signature (one v1,… per live secret, space-separated, newest first). */
export function deliveryHeaders(input: SignedHeadersInput): Record<string, string> {
  const newest = input.secrets[0];
  // A caller bug, not a delivery outcome: sending unsigned would look like a forgery to every receiver.
  if (newest === undefined) throw new Error("deliveryHeaders: at least one secret is required");
  const timestamp = Math.floor(input.timestampSec);
  const signatures = input.secrets.map((s) => standardSignature(s, input.eventId, timestamp, input.body));
  return {
    "Content-Type": input.contentType ?? "application/json",
    "User-Agent": input.userAgent,
    "X-Hookd-Event": input.eventType,
    "X-Hookd-Delivery": input.deliveryId,
    "X-Hookd-Signature": hexSignature(newest, input.body),
    "webhook-id": input.eventId,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": signatures.join(" "),
  };
}
