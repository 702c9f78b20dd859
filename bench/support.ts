/**
 * support holds what the benches share: wall-clock time comparable across processes, percentiles,
 * a counting receiver and `hookd serve` as child processes, and an fsync probe. Benches never
 * import from test/; everything here talks only to 127.0.0.1 and every wait has a deadline.
 */
import type { Subprocess } from "bun";
import { createHmac } from "node:crypto";
import { closeSync, fsyncSync, openSync, rmSync, writeSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { hashApiKey } from "../src/security/api-keys.ts";
import { pinned } from "./cpu.ts";

/** CLI runs hookd from source with the same Bun that runs the bench. */
const CLI = [process.execPath, join(import.meta.dir, "../src/cli.ts")];

/** wallNow is epoch milliseconds with sub-ms precision; comparable between processes on one machine. */
export const wallNow = (): number => performance.timeOrigin + performance.now();

/** percentile reads the p-th percentile (0–100) of an ascending array, nearest-rank; NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

/** fmt prints a number with fixed decimals, or "n/a". */
export const fmt = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");

/** waitUntil waits in short steps until `check` holds or `timeoutMs` passes; returns whether it held. */
export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, stepMs = 20): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    try {
      if (await check()) return true;
    } catch {
      // not ready yet
    }
    await Bun.sleep(stepMs);
  }
  return false;
}

/** freePort asks the kernel for a free loopback port (the child binds it a moment later). */
export function freePort(): number {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

/** OutputTail keeps the last lines a child wrote, so a crash can be explained without flooding the bench's output. */
class OutputTail {
  lines: string[] = [];
  total = 0;
  constructor(stream: ReadableStream<Uint8Array>, private readonly keep = 20) {
    void this.pump(stream);
  }
  private async pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let partial = "";
    for await (const chunk of stream) {
      const parts = (partial + decoder.decode(chunk, { stream: true })).split("\n");
      partial = parts.pop() ?? "";
      for (const line of parts) {
        this.total++;
        this.lines.push(line);
        if (this.lines.length > this.keep) this.lines.shift();
      }
    }
  }
}

/** stopChild asks a child to stop with SIGTERM and kills it if it has not exited within `graceMs`. */
async function stopChild(proc: Subprocess, graceMs: number): Promise<number | null> {
  if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
  proc.kill("SIGTERM");
  // A cleared timer, not Bun.sleep: a pending sleep would keep the bench alive after it is done.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const exited = await Promise.race([proc.exited, new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), graceMs)))]);
  clearTimeout(timer);
  if (exited === null) {
    proc.kill("SIGKILL");
    await proc.exited;
  }
  return proc.exitCode;
}

const children = new Set<Subprocess>();
process.on("exit", () => {
  // Last resort when a bench throws: never leave a receiver or a hookd behind.
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
});

/** ReceiverStats is what the counting receiver reports: arrivals, their time span, and latencies when recording. */
export interface ReceiverStats {
  count: number;
  firstAt: number;
  lastAt: number;
  /** ms from the `bench_t` in the event's data to arrival, one per delivery, while recording. */
  latencies: number[];
  /** deliveries of a `bench.ep<i>.…` event that arrived on a path other than `/ep/<i>`, while recording. */
  misrouted: number;
  sample: { headers: Record<string, string>; body: string } | null;
}

/** Receiver is the counting receiver running in its own process, with its control routes. */
export interface Receiver {
  readonly url: string;
  readonly pid: number;
  stats(): Promise<ReceiverStats>;
  /** reset zeroes the counters; `record` turns latency recording on for the next phase. */
  reset(record: boolean): Promise<void>;
  stop(): Promise<void>;
}

// The receiver answers 200 "ok" after reading the body, as a real webhook consumer would. The hot path
// is the same for hookd and the bare-fetch baseline; only the latency phase also looks for `bench_t`
// and, for bench/endpoints.ts, checks that an event typed bench.ep<i>.tick came to the path /ep/<i>.
const RECEIVER = `
const now = () => performance.timeOrigin + performance.now();
let count = 0, firstAt = 0, lastAt = 0, record = false, latencies = [], misrouted = 0, sample = null;
const server = Bun.serve({
  hostname: "127.0.0.1", port: 0, idleTimeout: 60,
  async fetch(request) {
    const url = request.url;
    if (url.includes("/__")) {
      if (url.endsWith("/__stats")) return Response.json({ count, firstAt, lastAt, latencies, misrouted, sample });
      if (url.includes("/__reset")) {
        count = 0; firstAt = 0; lastAt = 0; latencies = []; misrouted = 0; sample = null;
        record = url.endsWith("record=1");
        return new Response("reset");
      }
    }
    const body = await request.text();
    const at = now();
    count++;
    if (firstAt === 0) firstAt = at;
    lastAt = at;
    if (record) {
      const i = body.indexOf('"bench_t":');
      if (i >= 0) latencies.push(at - parseFloat(body.slice(i + 10, i + 40)));
      const t = body.indexOf('"type":"bench.ep');
      if (t >= 0 && !url.endsWith("/ep/" + body.slice(t + 16, body.indexOf(".", t + 16)))) misrouted++;
    }
    if (sample === null) {
      const headers = {};
      request.headers.forEach((v, k) => { headers[k] = v; });
      sample = { headers, body };
    }
    return new Response("ok");
  },
});
console.log(server.port);
`;

/**
 * spawnReceiver starts the counting receiver in its own process, so it never shares an event loop with
 * hookd or the client; `cpu` pins it to one core.
 */
export async function spawnReceiver(options: { cpu?: number } = {}): Promise<Receiver> {
  const proc = Bun.spawn(pinned([process.execPath, "-e", RECEIVER], options.cpu), { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  children.add(proc);
  const errors = new OutputTail(proc.stderr);
  const reader = proc.stdout.getReader();
  let text = "";
  const deadline = performance.now() + 10_000;
  while (!text.includes("\n")) {
    if (performance.now() > deadline) throw new Error("receiver did not print its port within 10 s");
    const { value, done } = await reader.read();
    if (done) throw new Error(`receiver exited before printing its port: ${errors.lines.join("\n")}`);
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  const url = `http://127.0.0.1:${Number(text.trim())}`;
  // A separate session keeps control calls off the keep-alive pool the baseline measures.
  const control = new Bun.FetchSession({ proxy: false });
  return {
    url,
    pid: proc.pid,
    async stats() {
      const response = await control.fetch(`${url}/__stats`, { proxy: false, signal: AbortSignal.timeout(10_000) });
      return (await response.json()) as ReceiverStats;
    },
    async reset(record) {
      await (await control.fetch(`${url}/__reset?record=${record ? 1 : 0}`, { proxy: false, signal: AbortSignal.timeout(10_000) })).text();
    },
    async stop() {
      control.close();
      await stopChild(proc, 2000);
      children.delete(proc);
    },
  };
}

/** Hookd is `hookd serve` as a child process on a temp config with one API key. */
export interface Hookd {
  readonly url: string;
  readonly key: string;
  readonly dir: string;
  readonly pid: number;
  /** api calls the admin API with the key; JSON in, JSON out. */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** stop sends SIGTERM (graceful shutdown), waits, and returns the exit code and the lines hookd wrote. */
  stop(): Promise<{ code: number | null; lines: number; tail: string[] }>;
}

/**
 * startHookd writes `[section] → lines` as TOML over a fresh port, database and key, and waits for /readyz.
 * `cpu` pins hookd to one core (taskset execs bun, so `pid` is still hookd's).
 */
export async function startHookd(dir: string, sections: Record<string, string>, bunFlags: string[] = [], options: { cpu?: number } = {}): Promise<Hookd> {
  const key = `bench-${crypto.randomUUID()}`;
  const port = freePort();
  const merged: Record<string, string> = {
    server: `listen = "127.0.0.1:${port}"`,
    storage: `path = ${JSON.stringify(join(dir, "hookd.db"))}`,
    api: `keys = [{ name = "bench", hash = "${hashApiKey(key)}" }]`,
    ...sections,
  };
  const configPath = join(dir, "hookd.toml");
  await Bun.write(configPath, Object.entries(merged).map(([s, lines]) => `[${s}]\n${lines}`).join("\n\n"));
  const [bun, cli] = CLI as [string, string];
  const proc = Bun.spawn(pinned([bun, ...bunFlags, cli, "serve", "--config", configPath], options.cpu), {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    // Bun's fetch honours HTTP(S)_PROXY; hookd ignores it itself, but the child should not even see one.
    env: { ...process.env, HTTP_PROXY: "", HTTPS_PROXY: "", http_proxy: "", https_proxy: "", ALL_PROXY: "" },
  });
  children.add(proc);
  const out = new OutputTail(proc.stdout);
  const err = new OutputTail(proc.stderr);
  const url = `http://127.0.0.1:${port}`;
  const session = new Bun.FetchSession({ proxy: false });
  const ready = await waitUntil(async () => (await session.fetch(`${url}/readyz`, { proxy: false })).status === 200, 15_000, 50);
  if (!ready) {
    proc.kill("SIGKILL");
    throw new Error(`hookd not ready within 15 s:\n${[...out.lines, ...err.lines].join("\n")}`);
  }
  return {
    url,
    key,
    dir,
    pid: proc.pid,
    async api(method, path, body) {
      const response = await session.fetch(`${url}${path}`, {
        method,
        proxy: false,
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : null };
    },
    async stop() {
      const code = await stopChild(proc, 15_000);
      if (children.delete(proc)) session.close();
      await Bun.sleep(50); // let the pipes drain into the tails
      return { code, lines: out.total + err.total, tail: [...out.lines, ...err.lines] };
    },
  };
}

/** FsyncStats are the write+fsync latencies of small appends in one directory, in ms. */
export interface FsyncStats {
  p50: number;
  p99: number;
  max: number;
  n: number;
}

/** measureFsync appends `blockBytes` and fsyncs, `n` times, in a temp file under `dir`: what a WAL commit costs the disk. */
export function measureFsync(dir: string, n = 200, blockBytes = 4096): FsyncStats {
  const path = join(dir, `fsync-probe-${process.pid}.bin`);
  const block = Buffer.alloc(blockBytes, 0x61);
  const fd = openSync(path, "w");
  const times: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const started = performance.now();
      writeSync(fd, block);
      fsyncSync(fd);
      times.push(performance.now() - started);
    }
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99), max: times.at(-1)!, n };
}

/** load is the 1-minute load average: on a 2-core box, anything else running skews every figure here. */
export const load = (): string => `load ${loadavg()[0]!.toFixed(2)}`;

/** machine describes where a figure was taken, for RESULTS.md. */
export function machine(): string {
  return `${cpus().length} CPUs, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${process.arch}, Bun ${Bun.version}`;
}

/** ErpEventSource makes unique, valid ~`bytes`-long erp-events for one source and signs them as the sender recipe does. */
export interface ErpEventSource {
  nextBody(): string;
  /** sign is `sha256=` + hex HMAC-SHA256 of the raw body with the source's secret. */
  sign(body: string): string;
  /** nextRequest is a signed request: body plus the headers a documented sender sends. */
  nextRequest(): { body: string; headers: Record<string, string> };
}

/** erpEventSource is shared by the ingest and peer benches, so both drive exactly the same requests. */
export function erpEventSource(source: string, secret: string, bytes: number): ErpEventSource {
  const run = crypto.randomUUID().slice(0, 8);
  const stamp = new Date().toISOString();
  let seq = 0;
  const eventBody = (n: number, pad: string): string =>
    `{"connector_id":"${source}","event_type":"integration.failed","timestamp":"${stamp}","severity":"error",` +
    `"source":"PSFT-HR-PROD","message":"Integration run ${run}-${n} failed: interface HR_EMPL_SYNC stopped at step 4 of 7",` +
    `"metadata":{"run_id":"${run}-${n}","node":"psft-app-03","queue":"HR_SYNC","attempt":1,"notes":"${pad}"}}`;
  const pad = "x".repeat(Math.max(0, bytes - eventBody(1_000_000, "").length));
  const sign = (body: string) => `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
  const nextBody = () => eventBody(seq++, pad);
  return {
    nextBody,
    sign,
    nextRequest() {
      const body = nextBody();
      return { body, headers: { "content-type": "application/json", "x-hookd-connector-id": source, "x-hookd-signature": sign(body) } };
    },
  };
}

/** LoadTally counts a closed-loop load: accepted answers (with latency), other answers, and requests with no answer. */
export interface LoadTally {
  ok: number;
  notOk: number;
  failed: number;
  firstProblem: string;
  /** ms per accepted request, send to answer read, in arrival order */
  latencies: number[];
}

export const emptyTally = (): LoadTally => ({ ok: 0, notOk: 0, failed: 0, firstProblem: "", latencies: [] });

/**
 * closedLoop keeps `senders` requests in flight against `url` for `seconds`, each sender sending its next
 * request as soon as the last is answered, and adds to `tally`; returns the seconds it ran.
 */
export async function closedLoop(options: {
  url: string;
  seconds: number;
  senders: number;
  next: () => { body: string; headers: Record<string, string> };
  accepted: (status: number, text: string) => boolean;
  tally: LoadTally;
  timeoutMs?: number;
}): Promise<number> {
  const { url, seconds, senders, next, accepted, tally, timeoutMs = 10_000 } = options;
  const session = new Bun.FetchSession({ proxy: false });
  const started = performance.now();
  const stop = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: senders }, async () => {
      while (performance.now() < stop) {
        const { body, headers } = next();
        const sent = performance.now();
        try {
          const response = await session.fetch(url, { method: "POST", proxy: false, headers, body, signal: AbortSignal.timeout(timeoutMs) });
          const text = await response.text();
          if (accepted(response.status, text)) {
            tally.latencies.push(performance.now() - sent);
            tally.ok++;
          } else {
            tally.notOk++;
            if (tally.firstProblem === "") tally.firstProblem = `${response.status} ${text.slice(0, 200)}`;
          }
        } catch (error) {
          tally.failed++;
          if (tally.firstProblem === "") tally.firstProblem = String(error);
          await Bun.sleep(1);
        }
      }
    }),
  );
  session.close();
  return (performance.now() - started) / 1000;
}
