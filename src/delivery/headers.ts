/** RESERVED_HEADERS may never come from an endpoint's `headers` (SPEC §9): transport framing and hookd's own. */
const RESERVED_HEADERS = new Set(["host", "content-length", "connection", "transfer-encoding", "content-encoding", "te", "upgrade", "content-type", "user-agent", "keep-alive", "trailer", "expect"]);

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

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
export function mergeHeaders(custom: Readonly<Record<string, string>> | null, own: Readonly<Record<string, string>>): Record<string, string> {
  const merged: Record<string, string> = {};
  const ownNames = new Set(Object.keys(own).map((n) => n.toLowerCase()));
  for (const [name, value] of Object.entries(custom ?? {})) {
    if (!TOKEN.test(name) || isReservedHeader(name) || ownNames.has(name.toLowerCase())) continue;
    if (typeof value !== "string" || /[\r\n\0]/.test(value)) continue;
    merged[name] = value;
  }
  return { ...merged, ...own };
}
