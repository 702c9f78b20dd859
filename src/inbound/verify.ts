import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/** AuthResult is the outcome of one inbound authentication check; failures carry the SPEC §7 code and a message for the sender. */
export type AuthResult = { ok: true } | { ok: false; code: "invalid_signature" | "invalid_token"; message: string };

/** STANDARD_WEBHOOKS_TOLERANCE_SEC is the Standard Webhooks replay window: 5 minutes either side of the server's clock. */
export const STANDARD_WEBHOOKS_TOLERANCE_SEC = 300;

const OK: AuthResult = { ok: true };
const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;
const UNIX_SECONDS = /^\d{1,15}$/;
const WHSEC_PREFIX = "whsec_";

const badSignature = (message: string): AuthResult => ({ ok: false, code: "invalid_signature", message });
const badToken = (message: string): AuthResult => ({ ok: false, code: "invalid_token", message });

/** verifyHmac: header is "sha256=<hex>" (prefix optional, hex case-insensitive) and equals HMAC-SHA256(secret, raw body bytes). */
export function verifyHmac(secret: string, body: Uint8Array, header: string | null, headerName = "X-Hookd-Signature"): AuthResult {
  if (header === null) return badSignature(`missing ${headerName} header`);
  const value = header.trim();
  if (value === "") return badSignature(`${headerName} header is empty`);
  const scheme = /^([A-Za-z0-9-]{1,16})=/.exec(value);
  if (scheme && scheme[1]!.toLowerCase() !== "sha256") {
    return badSignature(`${headerName} uses ${scheme[1]}=; only sha256=<hex> (HMAC-SHA256) is accepted`);
  }
  const hex = scheme ? value.slice(scheme[0].length) : value;
  // The shape of what the sender sent is not secret, so rejecting it before any MAC work leaks nothing.
  if (!HEX_SHA256.test(hex)) {
    const problem = hex.length === 64 ? "non-hex characters" : `${hex.length} characters`;
    return badSignature(`${headerName} must be sha256= followed by 64 hex characters (it has ${problem})`);
  }
  if (secret === "") return badSignature("this source has no secret configured, so no signature can match");
  const expected = createHmac("sha256", Buffer.from(secret, "utf8")).update(body).digest();
  // Both sides are 32 bytes, so timingSafeEqual never throws and the comparison time is fixed.
  if (!timingSafeEqual(expected, Buffer.from(hex, "hex"))) {
    return badSignature("signature does not match the body (HMAC-SHA256 over the raw bytes, hex, optional sha256= prefix)");
  }
  return OK;
}

/** verifyToken: the header equals the secret (constant time; length differences must not short-circuit). */
export function verifyToken(secret: string, header: string | null, headerName = "x-auth-token"): AuthResult {
  if (header === null) return badToken(`missing ${headerName} header`);
  if (header === "") return badToken(`${headerName} header is empty`);
  // Hashing both sides first gives equal-length inputs, so neither the token's length nor its prefix shows in the timing.
  const expected = createHash("sha256").update(secret, "utf8").digest();
  const given = createHash("sha256").update(header, "utf8").digest();
  const equal = timingSafeEqual(expected, given);
  // An empty secret is a config mistake; it must not let an empty (or any) token through.
  if (!equal || secret === "") return badToken(`${headerName} does not match this source's token`);
  return OK;
}

/** standardKey decodes a Standard Webhooks secret: base64 after "whsec_" (a bare base64 secret is accepted, like the reference libraries). */
function standardKey(secret: string): Buffer {
  const encoded = secret.startsWith(WHSEC_PREFIX) ? secret.slice(WHSEC_PREFIX.length) : secret;
  return Buffer.from(encoded, "base64");
}

/** verifyStandardWebhooks: webhook-id, webhook-timestamp (within toleranceSec of nowSec, both directions) and a matching v1 signature among the space-separated webhook-signature entries; HMAC over `${id}.${timestamp}.` followed by the raw body bytes. */
export function verifyStandardWebhooks(
  secret: string,
  body: Uint8Array,
  headers: { id: string | null; timestamp: string | null; signature: string | null },
  nowSec: number,
  toleranceSec = STANDARD_WEBHOOKS_TOLERANCE_SEC,
): AuthResult {
  const { id, timestamp, signature } = headers;
  if (id === null || id === "") return badSignature("missing webhook-id header (or svix-id)");
  if (timestamp === null || timestamp === "") return badSignature("missing webhook-timestamp header (or svix-timestamp)");
  if (signature === null || signature.trim() === "") return badSignature("missing webhook-signature header (or svix-signature)");
  if (!UNIX_SECONDS.test(timestamp)) return badSignature("webhook-timestamp must be a Unix time in whole seconds");
  const skew = Math.abs(Math.floor(nowSec) - Number(timestamp));
  // Outside the window a captured request could be replayed, however valid its signature.
  if (skew > toleranceSec) {
    // 13+ digits is a time in milliseconds (seconds reach 13 digits only after the year 33658).
    const hint = timestamp.length >= 13 ? "; it looks like milliseconds: send whole seconds" : "";
    return badSignature(`webhook-timestamp is ${skew} s away from the server's clock (tolerance ${toleranceSec} s)${hint}`);
  }
  const candidates = signature
    .split(" ")
    .filter((entry) => entry.startsWith("v1,"))
    .map((entry) => Buffer.from(entry.slice(3), "base64"));
  if (candidates.length === 0) return badSignature("webhook-signature has no v1,<base64> entry (the only version checked)");
  const key = standardKey(secret);
  // The body goes in as bytes, never re-encoded text, so any byte sequence verifies exactly as sent.
  const expected = createHmac("sha256", key).update(`${id}.${timestamp}.`, "utf8").update(body).digest();
  let matched = false;
  // Every entry is compared (no early break), so timing does not tell which one of a rotation matched.
  for (const candidate of candidates) {
    if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) matched = true;
  }
  if (!matched || key.length === 0) {
    return badSignature("no webhook-signature entry matches (v1 = base64 HMAC-SHA256 of `${webhook-id}.${webhook-timestamp}.${raw body}`)");
  }
  return OK;
}
