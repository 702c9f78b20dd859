// The header rules both the API (refusing) and the sender (dropping, as defence in depth) apply: one list.

/** RESERVED_HEADERS may never come from an endpoint's `headers` (SPEC §9's list, plus keep-alive, trailer and expect, which the transport owns too). */
const RESERVED_HEADERS = new Set(["host", "content-length", "connection", "transfer-encoding", "content-encoding", "te", "upgrade", "content-type", "user-agent", "keep-alive", "trailer", "expect"]);

/** HEADER_NAME is an RFC 7230 token: what a header name may be. */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const SENSITIVE = /authorization|token|secret|key|password|cookie/i;

/** isSensitiveHeader: a name containing authorization, token, secret, key, password or cookie (any case) holds a credential (SPEC §9). */
export function isSensitiveHeader(name: string): boolean {
  return SENSITIVE.test(name);
}

/** isReservedHeader: a name hookd sets itself or the transport owns; compared case-insensitively. */
export function isReservedHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return RESERVED_HEADERS.has(lower) || lower.startsWith("x-hookd-") || lower.startsWith("webhook-");
}

/**
 * mergeHeaders puts an endpoint's custom headers first and hookd's own after them, so hookd's always
 * win. The API refuses bad names and values already; dropping them here too is defence in depth
 * against rows written some other way: reserved or duplicate-of-own names, non-token names, CR/LF values.
 */
export function mergeHeaders(custom: Readonly<Record<string, string>> | null, own: Record<string, string>): Record<string, string> {
  // Most endpoints have no headers of their own: their attempts pay nothing for the option.
  if (custom === null) return own;
  const merged: Record<string, string> = {};
  const ownNames = new Set(Object.keys(own).map((n) => n.toLowerCase()));
  for (const [name, value] of Object.entries(custom ?? {})) {
    if (!HEADER_NAME.test(name) || isReservedHeader(name) || ownNames.has(name.toLowerCase())) continue;
    if (typeof value !== "string" || /[\r\n\0]/.test(value)) continue;
    merged[name] = value;
  }
  return { ...merged, ...own };
}

// Shorter values are not searched for: masking "1" would garble an answer without protecting anything.
export const MIN_MASKED_LENGTH = 4;

/** sensitiveValues lists the values of an endpoint's sensitive headers worth masking in a recorded answer. */
export function sensitiveValues(custom: Readonly<Record<string, string>>): string[] {
  return Object.entries(custom)
    .filter(([name, value]) => isSensitiveHeader(name) && value.length >= MIN_MASKED_LENGTH)
    .map(([, value]) => value);
}
