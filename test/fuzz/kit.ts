import { Database } from "bun:sqlite";
import { connect, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";

// Shared by the fuzz and security batteries (not a test file itself).

/** rng is mulberry32: small, fast and reproducible from one 32-bit seed. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** seedFrom reads FUZZ_SEED (so a failure is replayed with FUZZ_SEED=<printed seed>), else the file's fixed default. */
export function seedFrom(fallback: number): number {
  const given = process.env.FUZZ_SEED;
  return given !== undefined && given !== "" ? Number(given) >>> 0 : fallback;
}

/** Gen wraps a PRNG with the few draws the generators need. */
export class Gen {
  constructor(readonly random: () => number) {}
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.random() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.random() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.random() * xs.length)]!;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = Math.floor(this.random() * 256);
    return b;
  }
  /** unicode draws code points from every plane, including lone surrogates, controls, RTL marks and NUL. */
  unicode(n: number): string {
    const pools: (() => number)[] = [
      () => this.int(0x20, 0x7e),
      () => this.int(0, 0x1f),
      () => this.int(0x80, 0x7ff),
      () => this.int(0xd800, 0xdfff), // lone surrogates: not encodable as UTF-8
      () => this.int(0xe000, 0xfffd),
      () => this.int(0x10000, 0x10ffff),
      () => this.pick([0x200e, 0x202e, 0xfeff, 0x2028, 0x2029, 0xfffd, 0]),
    ];
    let out = "";
    for (let i = 0; i < n; i++) out += String.fromCodePoint(this.pick(pools)());
    return out;
  }
}

/** RawAnswer is what came back on a socket: a parsed response, or null status when the peer closed or stalled without one. */
export interface RawAnswer {
  status: number | null;
  headers: Record<string, string>;
  body: string;
  /** closed: the server ended the connection (after or without an answer). */
  closed: boolean;
  /** truncated: a status line arrived but the connection ended before the whole body (an early answer followed by a reset). */
  truncated: boolean;
  timedOut: boolean;
}

/**
 * rawExchange writes bytes exactly as given (latin1 strings are bytes 0-255, so non-UTF-8 goes out as is)
 * and reads one response, de-chunking it if needed. Unlike support/raw-http it never rejects: a stall or
 * a close without an answer is reported, because the fuzz wants to see those outcomes, not crash on them.
 */
export function rawExchange(port: number, request: Buffer | string, timeoutMs = 5000, localAddress?: string): Promise<RawAnswer> {
  const bytes = typeof request === "string" ? Buffer.from(request, "latin1") : request;
  return new Promise((resolve) => {
    const socket: Socket = connect({ port, host: "127.0.0.1", localAddress });
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (closed: boolean, timedOut: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const all = Buffer.concat(chunks);
      const parsed = parseResponse(all);
      resolve({ ...parsed, closed, timedOut, truncated: parsed.status !== null && !completeResponse(all) });
    };
    const timer = setTimeout(() => finish(false, true), timeoutMs);
    socket.on("connect", () => socket.write(bytes));
    socket.on("data", (c: Buffer) => {
      chunks.push(c);
      if (completeResponse(Buffer.concat(chunks))) finish(false, false);
    });
    socket.on("end", () => finish(true, false));
    socket.on("close", () => finish(true, false));
    socket.on("error", () => finish(true, false));
  });
}

/** skipInterim drops "100 Continue" and other 1xx answers that precede the real one. */
function skipInterim(text: string): string {
  while (/^HTTP\/1\.[01] 1\d\d/.test(text)) {
    const end = text.indexOf("\r\n\r\n");
    if (end === -1) return text;
    text = text.slice(end + 4);
  }
  return text;
}

function completeResponse(buf: Buffer): boolean {
  const text = skipInterim(buf.toString("latin1"));
  const end = text.indexOf("\r\n\r\n");
  if (end === -1) return false;
  const head = text.slice(0, end);
  const rest = text.slice(end + 4);
  const status = Number(head.split(" ")[1]);
  if (status === 204 || status === 304 || (status >= 100 && status < 200)) return true;
  const length = /\r\ncontent-length: *(\d+)/i.exec(head);
  if (length) return Buffer.byteLength(rest, "latin1") >= Number(length[1]);
  if (/\r\ntransfer-encoding: *chunked/i.test(head)) return /(^|\r\n)0\r\n\r\n$/.test(rest);
  return false;
}

function parseResponse(buf: Buffer): { status: number | null; headers: Record<string, string>; body: string } {
  const text = skipInterim(buf.toString("latin1"));
  const end = text.indexOf("\r\n\r\n");
  if (end === -1) return { status: null, headers: {}, body: "" };
  const [statusLine, ...lines] = text.slice(0, end).split("\r\n");
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(":");
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  let body = text.slice(end + 4);
  // Only the answer itself: whatever follows it (a parser's 400 for leftover bytes) is not part of this body.
  if (headers["content-length"] !== undefined) body = body.slice(0, Number(headers["content-length"]));
  if (/chunked/i.test(headers["transfer-encoding"] ?? "")) {
    let out = "";
    let i = 0;
    for (;;) {
      const nl = body.indexOf("\r\n", i);
      if (nl === -1) break;
      const size = parseInt(body.slice(i, nl), 16);
      if (!(size > 0)) break;
      out += body.slice(nl + 2, nl + 2 + size);
      i = nl + 2 + size + 2;
    }
    body = out;
  }
  return { status: Number(statusLine!.split(" ")[1]) || null, headers, body: Buffer.from(body, "latin1").toString("utf8") };
}

/** RowCounts are the stored rows that rejected input must never add to. */
export type RowCounts = Record<"webhooks" | "events" | "resources" | "deliveries" | "attempts" | "accepted_inbound" | "rate_windows", number>;

/** rowCounter reads the test server's SQLite file over a second, read-only connection (WAL lets it read while hookd writes). */
export function rowCounter(dir: string): { counts(): RowCounts; close(): void } {
  const db = new Database(join(dir, "hookd.db"), { readonly: true });
  const one = (sql: string) => db.query<{ n: number }, []>(sql);
  const queries = {
    webhooks: one("SELECT count(*) AS n FROM webhooks"),
    events: one("SELECT count(*) AS n FROM events"),
    resources: one("SELECT count(*) AS n FROM resources"),
    deliveries: one("SELECT count(*) AS n FROM deliveries"),
    attempts: one("SELECT count(*) AS n FROM attempts"),
    accepted_inbound: one("SELECT count(*) AS n FROM inbound WHERE status = 'accepted'"),
    rate_windows: one("SELECT coalesce(sum(count), 0) AS n FROM rate_windows"),
  };
  return {
    counts() {
      const out = {} as RowCounts;
      for (const [k, q] of Object.entries(queries)) out[k as keyof RowCounts] = q.get()!.n;
      return out;
    },
    close: () => db.close(),
  };
}

/** Trap is a local TCP listener that records every connection and the first bytes of each, then hangs up. */
export interface Trap {
  readonly port: number;
  readonly url: string;
  readonly connections: string[];
  stop(): Promise<void>;
}

/** startTrap listens on 127.0.0.1; used as a "proxy" that must see nothing, or as a catch-all egress guard. */
export async function startTrap(): Promise<Trap> {
  const connections: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    const index = connections.push("") - 1;
    socket.on("data", (c: Buffer) => {
      connections[index] = (connections[index]! + c.toString("latin1")).slice(0, 4096);
      // Answer like a proxy that refuses, so a client does not hang until its timeout.
      socket.end("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    });
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    connections,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** timed logs how long a battery took, so `bun test test/fuzz test/security` output shows where the budget goes. */
export async function timed<T>(label: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await work();
  } finally {
    console.log(`${label}: ${Math.round(performance.now() - started)} ms`);
  }
}

/** pct percent-encodes a string's UTF-8 bytes (lone surrogates become U+FFFD), unlike encodeURIComponent which throws on them. */
export function pct(text: string): string {
  let out = "";
  for (const b of Buffer.from(text, "utf8")) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9\-_.~]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}
