import type { BodyBudget } from "./body-budget";
import { ApiError } from "./errors";

/** BodyGuard is what the front handler sets for one request's body: the shared budget, the client it counts against, the deadline. */
export interface BodyGuard {
  readonly budget: BodyBudget;
  /** client is the address the body counts against (X-Forwarded-For applied, from trusted proxies only). */
  readonly client: string;
  /** deadline is the performance.now() reading by which the body must be complete ([server] body_timeout after the head). */
  readonly deadline: number;
  readonly timeoutMs: number;
}

/** RETRY_AFTER_BUSY_SECONDS is what a 503 server_busy asks clients to wait: bodies in flight finish or time out within seconds. */
export const RETRY_AFTER_BUSY_SECONDS = 2;

/** ClientClosedError: the client went away before its body arrived; nobody is left to answer, and it is not a server fault. */
export class ClientClosedError extends Error {
  override readonly name = "ClientClosedError";
  constructor() {
    super("the client closed the connection before its request body arrived");
  }
}

interface ReadState {
  readonly guard: BodyGuard;
  complete: boolean;
}

// Keyed by the Request the socket produced, as context.ts does for routed requests: the inbound
// receiver reads the body itself (after its source lookup), through readBodyLimited, with no guard in hand.
const states = new WeakMap<Request, ReadState>();

/** guardBody makes every later readBodyLimited(request) count against `guard`'s budget and deadline. */
export function guardBody(request: Request, guard: BodyGuard): void {
  states.set(request, { guard, complete: false });
}

/** bodyAnnounced says the request head promises a body (a non-zero Content-Length, or Transfer-Encoding). */
export function bodyAnnounced(request: Request): boolean {
  const length = request.headers.get("content-length");
  if (length !== null) return length.trim() !== "0";
  return request.headers.has("transfer-encoding");
}

/**
 * bodyLeftUnread says a guarded request announced a body that was not read to its end (refused before
 * reading, or cut off by a limit): the connection must then close, or a client dripping the rest would
 * keep it, and the bytes it sends, for as long as it likes.
 */
export function bodyLeftUnread(request: Request): boolean {
  return bodyAnnounced(request) && states.get(request)?.complete !== true;
}

/**
 * readBodyLimited reads the whole body, refusing more than `max` bytes without buffering the excess.
 * On a guarded request it also reserves the bytes in the budget first (503 server_busy when that would
 * pass a bound), gives up at the deadline (408 request_timeout), and turns a client that went away into
 * ClientClosedError.
 */
export async function readBodyLimited(request: Request, max: number): Promise<Uint8Array> {
  const length = request.headers.get("content-length");
  const declared = Number(length ?? "0");
  if (declared > max) throw tooLarge(max);
  const state = states.get(request);
  let bytes: Uint8Array;
  if (!request.body) bytes = new Uint8Array(0);
  // A declared length within the limit: one read is cheaper than the stream, and Bun holds the
  // body to that length. Chunked bodies (no length) are counted while streaming below.
  else if (length !== null && /^\d+$/.test(length)) bytes = await readDeclared(request, declared, max, state?.guard);
  else bytes = await readChunked(request, request.body, max, state?.guard);
  if (state) state.complete = true;
  return bytes;
}

async function readDeclared(request: Request, declared: number, max: number, guard: BodyGuard | undefined): Promise<Uint8Array> {
  const refused = guard ? guard.budget.reserve(guard.client, declared) : "ok";
  if (refused !== "ok") throw busy(guard!, refused);
  const expiry = guard ? expiryOf(guard) : null;
  try {
    const bytes = await settle(request, request.bytes(), expiry);
    if (bytes.byteLength > max) throw tooLarge(max);
    return bytes;
  } finally {
    expiry?.clear();
    guard?.budget.release(guard.client, declared);
  }
}

async function readChunked(request: Request, body: ReadableStream<Uint8Array>, max: number, guard: BodyGuard | undefined): Promise<Uint8Array> {
  const expiry = guard ? expiryOf(guard) : null;
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await settle(request, reader.read(), expiry);
      if (done) break;
      // Too large is the sender's error to fix, so it wins over busy (a 503 would be retried forever).
      if (total + value.byteLength > max) throw tooLarge(max);
      // Counted as received: a chunked body announces no length to reserve up front.
      const refused = guard ? guard.budget.reserve(guard.client, value.byteLength) : "ok";
      if (refused !== "ok") throw busy(guard!, refused);
      total += value.byteLength;
      chunks.push(value);
    }
  } finally {
    expiry?.clear();
    if (guard) guard.budget.release(guard.client, total);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

interface Expiry {
  readonly expired: Promise<never>;
  clear(): void;
}

/** expiryOf is a promise that rejects with 408 at the guard's deadline; one timer per body read. */
function expiryOf(guard: BodyGuard): Expiry {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timedOut(guard)), Math.max(0, guard.deadline - performance.now()));
  });
  // Nobody may be awaiting it between two reads; the read it races reports it.
  expired.catch(() => {});
  return { expired, clear: () => clearTimeout(timer) };
}

/** settle awaits one read, racing the deadline; a read that fails because the client left becomes ClientClosedError. */
async function settle<T>(request: Request, read: Promise<T>, expiry: Expiry | null): Promise<T> {
  try {
    return await (expiry ? Promise.race([read, expiry.expired]) : read);
  } catch (error) {
    if (error instanceof ApiError) throw error;
    if (request.signal.aborted || (error as Error | null)?.name === "AbortError") throw new ClientClosedError();
    throw error;
  }
}

function tooLarge(max: number): ApiError {
  return new ApiError("payload_too_large", `request body is larger than ${max} bytes ([server] max_body)`);
}

function busy(guard: BodyGuard, bound: "client" | "total"): ApiError {
  const why =
    bound === "client"
      ? `this client address (${guard.client}) has request bodies in flight up to its share (a quarter of [server] max_inflight_body)`
      : "request bodies in flight have reached [server] max_inflight_body";
  return new ApiError("server_busy", `${why}; retry after ${RETRY_AFTER_BUSY_SECONDS} s, or send bodies one at a time`, [], {
    "retry-after": String(RETRY_AFTER_BUSY_SECONDS),
  });
}

function timedOut(guard: BodyGuard): ApiError {
  return new ApiError(
    "request_timeout",
    `the request body did not arrive within ${guard.timeoutMs / 1000} s of the request head ([server] body_timeout); send the whole body at once`,
  );
}
