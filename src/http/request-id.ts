import { encodeBase32 } from "../ids";

const CALLER_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** requestIdFor keeps the caller's X-Request-ID when it is safe to echo and log, else makes a new one. */
export function requestIdFor(header: string | null): string {
  if (header !== null && CALLER_ID.test(header)) return header;
  return `req_${encodeBase32(Bun.randomUUIDv7("buffer"))}`;
}
