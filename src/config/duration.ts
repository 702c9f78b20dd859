const DAY = 86_400_000;
const HOUR = 3_600_000;
const MINUTE = 60_000;
const SECOND = 1000;

// Longest first: formatDuration walks this list, and the parser insists on
// this order so a slip like "1m5m" is reported instead of silently summed.
const DURATION_UNITS: readonly (readonly [string, number])[] = [
  ["d", DAY],
  ["h", HOUR],
  ["m", MINUTE],
  ["s", SECOND],
  ["ms", 1],
];

const DURATION_HINT = 'use a number and a unit: "500ms", "10s", "5m", "24h", "30d", or a mix like "1h30m"';

/** parseDuration turns "500ms", "10s", "5m", "24h", "30d" or a mix like "1h30m" into milliseconds ("0" is zero); anything else gives an error message. */
export function parseDuration(text: string): number | string {
  const bad = `${JSON.stringify(text)} is not a duration (${DURATION_HINT})`;
  if (typeof text !== "string" || text === "") return bad;
  if (text === "0") return 0;
  const part = /(\d+(?:\.\d+)?)(ms|d|h|m|s)/y;
  let total = 0;
  let lastRank = -1;
  while (part.lastIndex < text.length) {
    const m = part.exec(text);
    if (!m) return bad;
    const rank = DURATION_UNITS.findIndex(([unit]) => unit === m[2]);
    if (rank <= lastRank) return `${JSON.stringify(text)} is not a duration (units must go from largest to smallest, each once)`;
    lastRank = rank;
    total += Number(m[1]) * DURATION_UNITS[rank]![1];
  }
  const ms = Math.round(total);
  if (!Number.isSafeInteger(ms)) return `${JSON.stringify(text)} is too long a duration`;
  return ms;
}

/** formatDuration prints milliseconds the way parseDuration reads them back, e.g. 5400000 → "1h30m", 0 → "0". */
export function formatDuration(ms: number): string {
  if (ms < 0) return `-${formatDuration(-ms)}`;
  let rest = Math.round(ms);
  if (rest === 0) return "0";
  let out = "";
  for (const [unit, size] of DURATION_UNITS) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}

// Binary units are listed before decimal ones so formatSize prefers "1MiB"
// over "1048576B" while still printing "1MB" for 1000000.
const SIZE_UNITS: readonly (readonly [string, number])[] = [
  ["GiB", 1024 ** 3],
  ["MiB", 1024 ** 2],
  ["KiB", 1024],
  ["GB", 1000 ** 3],
  ["MB", 1000 ** 2],
  ["KB", 1000],
  ["B", 1],
];

const SIZE_HINT = 'use bytes or a number and a unit: "100B", "512KiB", "1MiB", "1MB"';

/** parseSize turns "100B", "512KiB", "1MiB", "1MB" (KB/MB/GB are powers of 1000) or plain integer bytes into bytes; anything else gives an error message. */
export function parseSize(text: string): number | string {
  const bad = `${JSON.stringify(text)} is not a size (${SIZE_HINT})`;
  if (typeof text !== "string") return bad;
  if (/^\d+$/.test(text)) return safeBytes(Number(text), text);
  const m = /^(\d+(?:\.\d+)?)(GiB|MiB|KiB|GB|MB|KB|B)$/.exec(text);
  if (!m) return bad;
  const bytes = Number(m[1]) * SIZE_UNITS.find(([unit]) => unit === m[2])![1];
  if (!Number.isInteger(bytes)) return `${JSON.stringify(text)} is not a whole number of bytes`;
  return safeBytes(bytes, text);
}

function safeBytes(bytes: number, text: string): number | string {
  return Number.isSafeInteger(bytes) ? bytes : `${JSON.stringify(text)} is too large a size`;
}

/** formatSize prints bytes in the largest unit that divides them exactly, e.g. 1048576 → "1MiB", 1000 → "1KB", 100 → "100B". */
export function formatSize(bytes: number): string {
  if (bytes === 0) return "0B";
  const [unit, size] = SIZE_UNITS.find(([, size]) => bytes % size === 0) ?? ["B", 1];
  return `${bytes / size}${unit}`;
}

/** RateLimit is `count` accepted events per fixed window of `windowMs`. */
export interface RateLimit {
  readonly count: number;
  readonly windowMs: number;
}

const RATE_HINT = 'use count/window like "50000/1d" or "100/1m"; "" = unlimited';

/** parseRateLimit reads "50000/1d" (or "100/m", window 1 unit) as a RateLimit; "" is null (unlimited); anything else gives an error message. */
export function parseRateLimit(text: string): RateLimit | null | string {
  if (text === "") return null;
  const bad = `${JSON.stringify(text)} is not a rate limit (${RATE_HINT})`;
  const m = typeof text === "string" ? /^(\d+)\/(\S+)$/.exec(text) : null;
  if (!m) return bad;
  const count = Number(m[1]);
  if (!Number.isSafeInteger(count) || count < 1) return `${JSON.stringify(text)} is not a rate limit (the count must be at least 1)`;
  const window = /^(ms|s|m|h|d)$/.test(m[2]!) ? `1${m[2]}` : m[2]!;
  const windowMs = parseDuration(window);
  if (typeof windowMs === "string" || windowMs <= 0) return bad;
  return { count, windowMs };
}

/** formatRateLimit prints a RateLimit the way parseRateLimit reads it back; null prints as "". */
export function formatRateLimit(limit: RateLimit | null): string {
  return limit === null ? "" : `${limit.count}/${formatDuration(limit.windowMs)}`;
}
