import { createHash } from "node:crypto";
import type { Source } from "../config/types";

/** STORED_HEADER_BYTES caps the headers (names plus values, UTF-8) kept on one inbound record (SPEC §13). */
export const STORED_HEADER_BYTES = 2048;
// One value never takes more than this, so a long user agent cannot crowd out the id headers after it.
const VALUE_CHARS = 512;

/** StandardHeaders are the three Standard Webhooks values, from webhook-* or else the svix-* spelling. */
export interface StandardHeaders {
  readonly id: string | null;
  readonly timestamp: string | null;
  readonly signature: string | null;
}

/**
 * standardHeaders reads webhook-id/-timestamp/-signature, each falling back to its svix-* name as the
 * Svix and Standard Webhooks libraries do; the signature covers id and timestamp, so any mix still verifies.
 */
export function standardHeaders(headers: Headers): StandardHeaders {
  const pick = (name: string) => headers.get(`webhook-${name}`) ?? headers.get(`svix-${name}`);
  return { id: pick("id"), timestamp: pick("timestamp"), signature: pick("signature") };
}

/**
 * dedupeKeyOf is the source's dedupe_header when set and sent, else webhook-id (or svix-id), else
 * Idempotency-Key (SPEC §7). Blank values count as absent (a template that always sends an empty
 * header must not make every event a "repeat"), and long keys are hashed rather than cut, so two
 * different keys never collide.
 */
export function dedupeKeyOf(headers: Headers, dedupeHeader = ""): { header: string; key: string } | null {
  const names = [dedupeHeader, "webhook-id", "svix-id", "Idempotency-Key"].filter((n) => n !== "");
  for (const header of names) {
    const value = headers.get(header)?.trim();
    if (value) return { header, key: value.length <= 255 ? value : `sha256:${createHash("sha256").update(value).digest("hex")}` };
  }
  return null;
}

/**
 * storedHeaders picks the headers kept on an inbound record: the ones that tell requests apart, never a
 * secret-bearing header, a signature or Authorization, at most STORED_HEADER_BYTES in all (values cut to fit).
 */
export function storedHeaders(source: Source, headers: Headers): Record<string, string> {
  const keep = [
    "content-type",
    "user-agent",
    source.connector_header.toLowerCase(),
    source.dedupe_header.toLowerCase(),
    "idempotency-key",
    "webhook-id",
    "svix-id",
    "webhook-timestamp",
    "svix-timestamp",
  ];
  const never = new Set([source.header.toLowerCase(), "authorization", "webhook-signature", "svix-signature", "x-hookd-signature"]);
  const out: Record<string, string> = {};
  let room = STORED_HEADER_BYTES;
  for (const name of keep) {
    const value = name === "" || never.has(name) || Object.hasOwn(out, name) ? null : headers.get(name);
    if (value === null) continue;
    const fits = cutToBytes(value.slice(0, VALUE_CHARS), room - Buffer.byteLength(name));
    if (fits === null) break;
    out[name] = fits;
    room -= Buffer.byteLength(name) + Buffer.byteLength(fits);
  }
  return out;
}

/** cutToBytes is the longest prefix of `value` of at most `max` UTF-8 bytes; null when not even the name fits. */
function cutToBytes(value: string, max: number): string | null {
  if (max < 0) return null;
  if (Buffer.byteLength(value) <= max) return value;
  let used = 0;
  let end = 0;
  for (const ch of value) {
    const size = Buffer.byteLength(ch);
    if (used + size > max) break;
    used += size;
    end += ch.length;
  }
  return value.slice(0, end);
}
