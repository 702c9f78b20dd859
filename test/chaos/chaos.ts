import { Database } from "bun:sqlite";
import { createHmac } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { type HookdProcess, hookdSite } from "../support/hookd-process";

/**
 * Chaos: mixed inbound and API load against a real `hookd serve`, a receiver that randomly fails,
 * times out or asks to come back later, and SIGKILL at random moments followed by a restart on the
 * same database. At the end (final restart, receiver always 200, drain with a deadline) it checks
 * that every acknowledged event reached every subscribed endpoint, that no refused request became an
 * event, counts duplicates and ties each one to a kill, and runs `PRAGMA integrity_check`.
 *
 * Everything is on 127.0.0.1, and every loop is bounded in count and time.
 */

export interface ChaosOptions {
  /** SIGKILLs during the load; after the last one hookd is started once more for the drain. */
  kills: number;
  /** Seed of the random choices (load mix, receiver answers, kill times); printed so a run can be replayed. */
  seed?: number;
  /** hookd runs a random time in [minUpMs, maxUpMs] (after it is ready) before each kill. */
  minUpMs?: number;
  maxUpMs?: number;
  /** Extra time hookd stays down after the kill, random in [0, maxDownMs]. */
  maxDownMs?: number;
  /** Concurrent load loops. */
  workers?: number;
  /** Each loop pauses a random time in [0, maxGapMs] between requests. */
  maxGapMs?: number;
  /** `[delivery] timeout`; the receiver's "timeout" answers sleep past it. */
  deliveryTimeoutMs?: number;
  /** How long the final drain may take before missing deliveries count as lost. */
  drainDeadlineMs?: number;
  /** Hard bound on the whole run. */
  maxRunMs?: number;
  /** Run `PRAGMA quick_check` on the database while hookd is down after every kill. */
  checkEachKill?: boolean;
  /**
   * Retry the requests that got 409 `idempotency_key_in_progress` once more after the crashed claim's
   * lock (60 s) lapsed, as a client with back-off would. Adds about a minute when there are any.
   */
  lateRetry?: boolean;
  /** Keep the config and database directory even when the run passes (it is always kept when it fails). */
  keepData?: boolean;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface KillRecord {
  n: number;
  /** ms since the start of the run. */
  at: number;
  /** When the next process was spawned: a request the receiver saw before this came from the killed one. */
  respawnAt: number;
  upMs: number;
  /** Receiver requests that had arrived and were not answered yet at the kill. */
  receiverOpen: number;
  /** Receiver 2xx answers sent within RECENT_MS before the kill (hookd may not have recorded them yet). */
  recent2xx: number;
  /** Leases the next process released at start ("released deliveries leased by a previous process"). */
  leasesReleased: number;
  /** Time the next start took to answer /readyz. */
  restartMs: number;
  /** Result of `PRAGMA quick_check` while hookd was down, when checked. */
  quickCheck?: string;
  exitSignal: string | null;
}

export interface DuplicateRecord {
  eventId: string;
  path: string;
  count: number;
  /**
   * The kill that explains it: the earlier 2xx attempt came from the killed process (the receiver saw
   * it before the next one was spawned) and was answered at most IN_FLIGHT_WINDOW_MS before the kill.
   */
  explainedBy: number | null;
}

export interface ChaosReport {
  seed: number;
  kills: KillRecord[];
  durationMs: number;
  loadMs: number;
  drainMs: number;
  requests: {
    total: number;
    acknowledged: number;
    refused: number;
    unanswered: number;
    byKind: Record<string, { sent: number; ok: number; refused: number; unanswered: number; statuses: Record<string, number> }>;
  };
  /** Client retries after the final restart, with the same Idempotency-Key. */
  retries: {
    unansweredRetried: number;
    unansweredNowAcked: number;
    unansweredInProgress: number;
    /** Of those 409s, how many had their event stored by the killed process (the answer was lost, the event was not). */
    inProgressStored: number;
    /** The 409s retried again once the crashed claim's 60 s lock lapsed (`lateRetry`). */
    lateRetried: number;
    lateAcked: number;
    lateInProgress: number;
    ackedReplayed: number;
    ackedReplayMismatch: number;
  };
  events: { acknowledged: number; storedTotal: number; fromUnanswered: number; fromUnansweredDelivered: number };
  deliveries: {
    expected: number;
    arrived: number;
    missing: number;
    /** (event, endpoint) pairs with a 2xx at an endpoint not subscribed to the event's type. */
    misrouted: number;
    receiverRequests: number;
    receiverAnswers: Record<string, number>;
    badSignatures: number;
    bodyChanged: number;
    dbStatus: Record<string, number>;
  };
  duplicates: {
    total: number;
    pairs: number;
    explained: number;
    unexplained: DuplicateRecord[];
    /** Receiver 2xx answers minus the successful attempts in the database: answers the killed processes never recorded. */
    unrecorded2xx: number;
    /** Deliveries with two recorded successes (must be 0). */
    doubleRecorded: number;
  };
  inFlightAtKills: { receiverOpen: number; recent2xx: number; leasesReleased: number };
  refusedStored: number;
  refusedDelivered: number;
  duplicateEvents: number;
  integrity: string;
  restarts: { count: number; maxReadyMs: number; meanReadyMs: number; failures: string[] };
  finalExitCode: number | null;
  hookdErrorLines: string[];
  /** The config and database directory; removed after a passing run unless `keepData`. */
  dataDir: string;
  /** Things worth knowing that are not failures (see the notes where they are pushed). */
  findings: string[];
  violations: string[];
  ok: boolean;
}

/** A 2xx the receiver sent this long before a kill may not have been recorded by hookd yet (completion batching + group commit). */
export const IN_FLIGHT_WINDOW_MS = 1000;
/** The narrower window the per-kill "recent 2xx" figure uses (a commit normally follows an answer within a few ms). */
export const RECENT_MS = 100;
/** src/http/idempotency.ts LOCK_MS: a claim left by a crashed process blocks its key this long. */
const IDEMPOTENCY_LOCK_MS = 60_000;

type Kind =
  | "in-hmac"
  | "in-token"
  | "in-json"
  | "api"
  | "bad-sig"
  | "bad-token"
  | "bad-json"
  | "bad-schema"
  | "bad-connector"
  | "bad-source"
  | "bad-api-type"
  | "bad-api-key";

const KINDS: [Kind, number][] = [
  ["in-hmac", 22],
  ["in-token", 14],
  ["in-json", 10],
  ["api", 24],
  ["bad-sig", 6],
  ["bad-token", 4],
  ["bad-json", 6],
  ["bad-schema", 4],
  ["bad-connector", 3],
  ["bad-source", 2],
  ["bad-api-type", 3],
  ["bad-api-key", 2],
];

const TYPES = ["order.created", "order.updated", "order.line.added", "invoice.created", "invoice.paid", "payment.failed", "monitor.alert", "batch.done"];

const ENDPOINTS: { path: string; events: string[] }[] = [
  { path: "/all", events: ["*"] },
  { path: "/orders", events: ["order.*"] },
  { path: "/created", events: ["order.created", "invoice.created"] },
  { path: "/billing", events: ["invoice.*", "payment.*"] },
  { path: "/lines", events: ["order.line.*"] },
  { path: "/alerts", events: ["monitor.alert", "payment.failed"] },
];

const HMAC_SECRET = "chaos-hmac-secret";
const JSON_SECRET = "chaos-json-secret";
const TOKEN = "chaos-token-123";

/** matches is SPEC §3's filter rule: "*" = all, "prefix.*" = the family at any depth, else exact. */
function matches(filter: string, type: string): boolean {
  if (filter === "*") return true;
  if (filter.endsWith(".*")) return type.startsWith(filter.slice(0, -1));
  return filter === type;
}

const subscribedPaths = (type: string) => ENDPOINTS.filter((e) => e.events.some((f) => matches(f, type))).map((e) => e.path);

/** mulberry32: a small seeded PRNG, so the random choices of a run can be replayed from its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function weighted<T>(r: () => number, table: [T, number][]): T {
  const total = table.reduce((s, [, w]) => s + w, 0);
  let x = r() * total;
  for (const [v, w] of table) {
    x -= w;
    if (x < 0) return v;
  }
  return table[table.length - 1]![0];
}

const hmacHex = (secret: string, body: string) => createHmac("sha256", secret).update(body).digest("hex");

interface Req {
  ref: string;
  kind: Kind;
  good: boolean;
  type: string | null;
  url: string;
  headers: Record<string, string>;
  body: string;
  idemKey: string | null;
  status: number | null;
  eventId: string | null;
  error: string | null;
  /** Set when a client retry after the final restart acknowledged it. */
  retried?: "acked" | "in_progress" | "refused" | "unanswered";
}

interface Hit {
  id: string;
  path: string;
  arrived: number;
  answered: number | null;
  status: number | null;
}

const REF = /chaos-r\d+-x/;

/** runChaos runs the scenario once and returns what it saw; it never throws for a finding, only for a broken harness. */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const o = {
    minUpMs: 400,
    maxUpMs: 2500,
    maxDownMs: 300,
    workers: 4,
    maxGapMs: 30,
    deliveryTimeoutMs: 1000,
    drainDeadlineMs: 60_000,
    maxRunMs: 15 * 60_000,
    checkEachKill: true,
    lateRetry: false,
    log: () => {},
    ...options,
    seed,
  };
  const log = o.log;
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const runDeadline = t0 + o.maxRunMs;
  const violations: string[] = [];
  const findings: string[] = [];

  // ---- receiver -----------------------------------------------------------------------------
  const answerRng = rng(seed);
  const hits: Hit[] = [];
  const secrets = new Map<string, string>(); // path → endpoint secret
  const firstBody = new Map<string, string>(); // event id → body as first received
  const bodyRefs = new Map<string, string | null>(); // event id → ref in its body
  let badSignatures = 0;
  let bodyChanged = 0;
  let alwaysOk = false;
  const receiver = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 30,
    async fetch(request) {
      const path = new URL(request.url).pathname;
      const id = request.headers.get("webhook-id") ?? "";
      const hit: Hit = { id, path, arrived: now(), answered: null, status: null };
      hits.push(hit);
      const body = await request.text();
      const secret = secrets.get(path);
      if (secret !== undefined && request.headers.get("x-hookd-signature") !== hmacHex(secret, body)) badSignatures++;
      const seen = firstBody.get(id);
      if (seen === undefined) {
        firstBody.set(id, body);
        bodyRefs.set(id, REF.exec(body)?.[0] ?? null);
      } else if (seen !== body) bodyChanged++;
      const answer = (status: number, headers: Record<string, string> = {}) => {
        hit.answered = now();
        hit.status = status;
        return new Response(status < 300 ? "ok" : "no", { status, headers });
      };
      if (alwaysOk) return answer(200);
      const mode = weighted(answerRng, [
        ["ok", 55],
        ["500", 15],
        ["slow", 10],
        ["429", 10],
        ["503", 10],
      ] as ["ok" | "500" | "slow" | "429" | "503", number][]);
      switch (mode) {
        case "ok":
          return answer(200);
        case "500":
          return answer(500);
        case "429":
          return answer(429, { "retry-after": "1" });
        case "503":
          return answer(503, { "retry-after": "1" });
        case "slow":
          // Past hookd's timeout, and not a 2xx: a late 200 would be a success here and a failure in
          // hookd, i.e. a duplicate with no kill behind it, and that is not what this run measures.
          await Bun.sleep(o.deliveryTimeoutMs + 400);
          return answer(504);
      }
    },
  });
  const receiverUrl = `http://127.0.0.1:${receiver.port}`;

  // ---- hookd site -----------------------------------------------------------------------------
  const schedule = ["100ms", "200ms", "500ms", ...Array.from({ length: 30 }, () => "1s")];
  const site = hookdSite({
    delivery: [
      "require_https = false",
      'allow_targets = ["127.0.0.0/8"]',
      `timeout = "${o.deliveryTimeoutMs}ms"`,
      `retry_schedule = ${JSON.stringify(schedule)}`,
    ].join("\n"),
    "[[sources]]": [
      `id = "erp-hmac"\nauth = "hmac"\nsecret = "${HMAC_SECRET}"`,
      `[[sources]]\nid = "erp-token"\nauth = "token"\nsecret = "${TOKEN}"`,
      `[[sources]]\nid = "json-hmac"\nauth = "hmac"\nsecret = "${JSON_SECRET}"\nheader = "X-Sig"\nschema = "json"\nevent_type_field = "kind"`,
    ].join("\n\n"),
  } as Record<string, string>);
  const dbPath = join(site.dir, "hookd.db");

  let h: HookdProcess | null = null;
  let up = false;
  const errorLines: string[] = [];
  // Leases released by each start's scheduler, as its log says; index = start number (0 = first start).
  const releasedByStart: number[] = [];
  const restartTimes: number[] = [];
  const restartFailures: string[] = [];

  const pump = async (stream: ReadableStream<Uint8Array>, onLine: (line: string) => void) => {
    const decoder = new TextDecoder();
    let buf = "";
    try {
      for await (const chunk of stream) {
        buf += decoder.decode(chunk, { stream: true });
        for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
          onLine(buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
      }
    } catch {
      // the process died; what was read is what there is
    }
    if (buf.trim()) onLine(buf);
  };

  const start = async (): Promise<HookdProcess> => {
    const began = performance.now();
    let p: HookdProcess;
    try {
      p = await site.start();
    } catch (error) {
      restartFailures.push((error as Error).message.slice(0, 500));
      // One more try: a restart that needs two attempts is a finding, not a reason to stop measuring.
      p = await site.start();
    }
    restartTimes.push(performance.now() - began);
    const index = releasedByStart.push(0) - 1;
    const lines = (line: string) => {
      if (!line.trim()) return;
      let entry: { level?: string; msg?: string; count?: number } | null = null;
      try {
        entry = JSON.parse(line);
      } catch {
        if (errorLines.length < 50) errorLines.push(`(not JSON) ${line.slice(0, 300)}`);
        return;
      }
      if (entry?.msg === "released deliveries leased by a previous process") releasedByStart[index]! += entry.count ?? 0;
      if (entry?.level === "error" || entry?.level === "fatal") {
        if (errorLines.length < 50) errorLines.push(line.slice(0, 500));
      }
    };
    void pump(p.proc.stdout, lines);
    void pump(p.proc.stderr, (line) => {
      if (line.trim() && errorLines.length < 50) errorLines.push(`(stderr) ${line.slice(0, 300)}`);
    });
    return p;
  };

  const quickCheck = (): string => {
    let db: Database | null = null;
    try {
      db = new Database(dbPath, { readonly: true });
      const rows = db.query<{ quick_check: string }, []>("PRAGMA quick_check").all();
      return rows.map((r) => r.quick_check).join("; ");
    } catch (error) {
      return `could not check: ${(error as Error).message}`;
    } finally {
      db?.close();
    }
  };

  // ---- load -----------------------------------------------------------------------------------
  const loadRng = rng(seed + 1);
  const killRng = rng(seed + 2);
  const reqs: Req[] = [];
  let seq = 0;
  let stopLoad = false;

  const build = (kind: Kind, base: string, key: string): Req => {
    const ref = `chaos-r${String(seq++).padStart(6, "0")}-x`;
    const type = TYPES[Math.floor(loadRng() * TYPES.length)]!;
    const withKey = loadRng() < 0.5;
    const idemKey = withKey ? `idem-${ref}` : null;
    const erp = (connector: string, fields: Record<string, unknown> = {}) =>
      JSON.stringify({
        connector_id: connector,
        event_type: type,
        timestamp: new Date().toISOString(),
        severity: "info",
        message: `chaos ${ref}`,
        metadata: { ref, n: seq },
        ...fields,
      });
    const r: Req = { ref, kind, good: !kind.startsWith("bad-"), type: null, url: "", headers: { "content-type": "application/json" }, body: "", idemKey, status: null, eventId: null, error: null };
    if (idemKey) r.headers["idempotency-key"] = idemKey;
    switch (kind) {
      case "in-hmac":
        r.url = `${base}/in/erp-hmac`;
        r.body = erp("erp-hmac");
        r.headers["x-hookd-signature"] = `sha256=${hmacHex(HMAC_SECRET, r.body)}`;
        r.type = type;
        break;
      case "in-token":
        r.url = `${base}/in/erp-token`;
        r.body = erp("erp-token");
        r.headers["x-auth-token"] = TOKEN;
        r.type = type;
        break;
      case "in-json":
        r.url = `${base}/in/json-hmac`;
        r.body = JSON.stringify({ kind: type, ref, amount: 12345678901234567890n.toString(), nested: { a: [1, 2, { b: "ü" }] } });
        r.headers["x-sig"] = hmacHex(JSON_SECRET, r.body); // bare hex is accepted too
        r.type = type;
        break;
      case "api":
        r.url = `${base}/v1/events`;
        r.body = JSON.stringify({ type, data: { ref, n: seq } });
        r.headers.authorization = `Bearer ${key}`;
        r.type = type;
        break;
      case "bad-sig":
        r.url = `${base}/in/erp-hmac`;
        r.body = erp("erp-hmac");
        r.headers["x-hookd-signature"] = `sha256=${hmacHex("not-the-secret", r.body)}`;
        break;
      case "bad-token":
        r.url = `${base}/in/erp-token`;
        r.body = erp("erp-token");
        r.headers["x-auth-token"] = "wrong-token";
        break;
      case "bad-json":
        r.url = `${base}/in/erp-hmac`;
        r.body = erp("erp-hmac").slice(0, -7); // cut mid-object, signed correctly
        r.headers["x-hookd-signature"] = `sha256=${hmacHex(HMAC_SECRET, r.body)}`;
        break;
      case "bad-schema":
        r.url = `${base}/in/erp-token`;
        r.body = erp("erp-token", { timestamp: "yesterday", severity: "loud" });
        r.headers["x-auth-token"] = TOKEN;
        break;
      case "bad-connector":
        r.url = `${base}/in/erp-token`;
        r.body = erp("erp-token");
        r.headers["x-auth-token"] = TOKEN;
        r.headers["x-hookd-connector-id"] = "someone-else";
        break;
      case "bad-source":
        r.url = `${base}/in/no-such-source`;
        r.body = erp("no-such-source");
        break;
      case "bad-api-type":
        r.url = `${base}/v1/events`;
        r.body = JSON.stringify({ type: "nodot", data: { ref } });
        r.headers.authorization = `Bearer ${key}`;
        break;
      case "bad-api-key":
        r.url = `${base}/v1/events`;
        r.body = JSON.stringify({ type, data: { ref } });
        r.headers.authorization = "Bearer not-a-key";
        break;
    }
    return r;
  };

  const send = async (r: Req): Promise<{ status: number | null; id: string | null; error: string | null }> => {
    try {
      const response = await fetch(r.url, { method: "POST", headers: r.headers, body: r.body, signal: AbortSignal.timeout(15_000) });
      const text = await response.text();
      let id: string | null = null;
      try {
        const json = JSON.parse(text) as { id?: string; data?: { id?: string } };
        id = json.id ?? json.data?.id ?? null;
      } catch {
        // a non-JSON answer has no id
      }
      return { status: response.status, id, error: null };
    } catch (error) {
      const e = error as { code?: string; name?: string; message?: string };
      return { status: null, id: null, error: e.code ?? e.name ?? String(e.message) };
    }
  };

  const MAX_REQUESTS = 200_000;
  const worker = async () => {
    while (!stopLoad && performance.now() < runDeadline && seq < MAX_REQUESTS) {
      if (!up || h === null) {
        await Bun.sleep(5);
        continue;
      }
      const r = build(weighted(loadRng, KINDS), h.url, site.key);
      reqs.push(r);
      const answer = await send(r);
      r.status = answer.status;
      r.eventId = answer.status !== null && answer.status < 300 ? answer.id : null;
      r.error = answer.error;
      const gap = loadRng() * o.maxGapMs;
      if (gap >= 1) await Bun.sleep(gap);
    }
  };

  const kills: KillRecord[] = [];
  const finish = async (p: HookdProcess | null) => {
    if (p && p.proc.exitCode === null && p.proc.signalCode === null) {
      p.proc.kill("SIGKILL");
      await p.proc.exited;
    }
  };

  try {
    // ---- set up endpoints ----------------------------------------------------------------------
    h = await start();
    for (const e of ENDPOINTS) {
      const created = await h.api("POST", "/v1/webhooks", { url: `${receiverUrl}${e.path}`, events: e.events, description: `chaos ${e.path}` });
      if (created.status !== 201) throw new Error(`creating endpoint ${e.path}: ${created.status} ${JSON.stringify(created.body)}`);
      secrets.set(e.path, created.body.data.secret);
    }
    up = true;
    log(`chaos: seed ${seed}, ${o.kills} kills, hookd at ${h.url}, database ${dbPath}`);

    // ---- load + kills --------------------------------------------------------------------------
    const loadStarted = now();
    const workers = Array.from({ length: o.workers }, () => worker());
    for (let k = 1; k <= o.kills && performance.now() < runDeadline; k++) {
      const upMs = o.minUpMs + killRng() * (o.maxUpMs - o.minUpMs);
      const upSince = performance.now();
      await Bun.sleep(upMs);
      const p = h!;
      if (p.proc.exitCode !== null || p.proc.signalCode !== null) {
        violations.push(`hookd exited by itself before kill ${k} (exit ${p.proc.exitCode}, signal ${p.proc.signalCode})`);
      }
      up = false;
      const at = now();
      p.proc.kill("SIGKILL");
      await p.proc.exited;
      const receiverOpen = hits.filter((x) => x.answered === null).length;
      const recent2xx = hits.filter((x) => x.answered !== null && x.status! < 300 && x.answered > at - RECENT_MS).length;
      const record: KillRecord = {
        n: k,
        at: Math.round(at),
        upMs: Math.round(performance.now() - upSince),
        receiverOpen,
        recent2xx,
        leasesReleased: 0,
        restartMs: 0,
        exitSignal: p.proc.signalCode === null ? null : String(p.proc.signalCode),
        respawnAt: 0,
      };
      if (o.checkEachKill) record.quickCheck = quickCheck();
      if (record.quickCheck !== undefined && record.quickCheck !== "ok") violations.push(`quick_check after kill ${k}: ${record.quickCheck}`);
      kills.push(record);
      if (k === o.kills) stopLoad = true; // load runs until the last kill; the drain gets no new work
      const down = killRng() * o.maxDownMs;
      if (down >= 1) await Bun.sleep(down);
      const began = performance.now();
      record.respawnAt = Math.round(now());
      h = await start();
      record.restartMs = Math.round(performance.now() - began);
      // Give the pipe a moment so the progress line can show the leases this start released.
      await Bun.sleep(30);
      record.leasesReleased = releasedByStart[k] ?? 0;
      if (k < o.kills) up = true;
      log(
        `kill ${k}/${o.kills} at ${(at / 1000).toFixed(1)} s after ${record.upMs} ms up: ` +
          `${receiverOpen} attempts open at the receiver, ${recent2xx} recent 2xx, ${record.leasesReleased} leases released at restart (${record.restartMs} ms)` +
          (record.quickCheck !== undefined ? `, quick_check ${record.quickCheck}` : ""),
      );
    }
    stopLoad = true;
    await Promise.all(workers);
    const loadMs = now() - loadStarted;
    up = true;

    // ---- client retries with the same Idempotency-Key (what a real sender does) -----------------
    const retryPhaseWall = Date.now();
    const retries = {
      unansweredRetried: 0,
      unansweredNowAcked: 0,
      unansweredInProgress: 0,
      inProgressStored: 0,
      lateRetried: 0,
      lateAcked: 0,
      lateInProgress: 0,
      ackedReplayed: 0,
      ackedReplayMismatch: 0,
    };
    const base = h!.url;
    const rebase = (r: Req) => ({ ...r, url: r.url.replace(/^http:\/\/127\.0\.0\.1:\d+/, base) });
    for (const r of reqs) {
      if (!r.good || !r.idemKey) continue;
      if (r.status === null) {
        retries.unansweredRetried++;
        const a = await send(rebase(r));
        if (a.status !== null && a.status < 300 && a.id) {
          r.eventId = a.id;
          r.retried = "acked";
          retries.unansweredNowAcked++;
        } else if (a.status === 409) {
          r.retried = "in_progress";
          retries.unansweredInProgress++;
        } else r.retried = a.status === null ? "unanswered" : "refused";
      }
    }
    // Replays of acknowledged requests must answer the id they answered the first time, across kills.
    const acked = reqs.filter((r) => r.good && r.idemKey && r.status !== null && r.status < 300);
    for (let i = 0; i < acked.length && i < 300; i++) {
      const r = acked[Math.floor((i * acked.length) / Math.min(acked.length, 300))]!;
      const a = await send(rebase(r));
      retries.ackedReplayed++;
      if (a.id !== r.eventId) {
        retries.ackedReplayMismatch++;
        if (retries.ackedReplayMismatch <= 5) violations.push(`replay of ${r.kind} ${r.ref} (Idempotency-Key) answered ${a.status} id ${a.id}, first answer was ${r.eventId}`);
      }
    }

    // ---- drain ----------------------------------------------------------------------------------
    alwaysOk = true;
    const expected = new Map<string, { ref: string; type: string }>(); // eventId → what
    const refreshExpected = () => {
      for (const r of reqs) if (r.good && r.eventId && r.type) expected.set(r.eventId, { ref: r.ref, type: r.type });
    };
    refreshExpected();
    const delivered = () => {
      const set = new Set<string>();
      for (const x of hits) if (x.status !== null && x.status < 300) set.add(`${x.id} ${x.path}`);
      return set;
    };
    const missingPairs = () => {
      const got = delivered();
      const missing: string[] = [];
      for (const [id, e] of expected) for (const path of subscribedPaths(e.type)) if (!got.has(`${id} ${path}`)) missing.push(`${id} ${path}`);
      return missing;
    };
    const unfinished = async (): Promise<number> => {
      const text = await (await fetch(`${h!.url}/metrics`)).text();
      let n = 0;
      for (const m of text.matchAll(/^hookd_deliveries\{status="(pending|failed)"\} (\d+)/gm)) n += Number(m[2]);
      return n;
    };
    // The log line is read from a pipe: by now every start's line is in.
    for (const k of kills) k.leasesReleased = releasedByStart[k.n] ?? 0;
    const drain = async (): Promise<number> => {
      const started = now();
      const deadline = performance.now() + o.drainDeadlineMs;
      let lastMissing = -1;
      while (performance.now() < deadline) {
        const missing = missingPairs().length;
        let left = -1;
        try {
          left = await unfinished();
        } catch {
          // metrics not answering is not a reason to stop waiting
        }
        if (missing === 0 && left === 0 && hits.every((x) => x.answered !== null)) break;
        if (missing !== lastMissing) {
          log(`drain: ${missing} expected deliveries missing, ${left} unfinished in hookd`);
          lastMissing = missing;
        }
        await Bun.sleep(100);
      }
      return now() - started;
    };
    const drainMs = await drain();

    // ---- late retries: a client that got 409 in progress backs off past the lock and tries again --
    const late = reqs.filter((r) => r.retried === "in_progress");
    if (o.lateRetry && late.length > 0) {
      const lastKill = kills.at(-1)!.at;
      const wait = lastKill + IDEMPOTENCY_LOCK_MS + 1500 - now();
      log(`late retry: ${late.length} requests answered 409 in progress; waiting ${(wait / 1000).toFixed(0)} s for the crashed claim's lock to lapse`);
      if (wait > 0) await Bun.sleep(wait);
      for (const r of late) {
        const a = await send({ ...r, url: r.url.replace(/^http:\/\/127\.0\.0\.1:\d+/, h!.url) });
        retries.lateRetried++;
        if (a.status !== null && a.status < 300 && a.id) {
          r.eventId = a.id;
          r.retried = "acked";
          retries.lateAcked++;
        } else if (a.status === 409) retries.lateInProgress++;
      }
      refreshExpected();
      await drain();
    }

    // ---- graceful stop ------------------------------------------------------------------------
    const last = h!;
    last.proc.kill("SIGTERM");
    const exit = await Promise.race([last.proc.exited, Bun.sleep(o.deliveryTimeoutMs + 10_000).then(() => "timeout" as const)]);
    let finalExitCode: number | null = null;
    if (exit === "timeout") {
      violations.push("hookd did not exit within timeout + 10 s of SIGTERM");
      await finish(last);
    } else {
      finalExitCode = exit;
      if (exit !== 0) violations.push(`hookd exited ${exit} after SIGTERM (expected 0)`);
    }
    h = null;

    // ---- database ---------------------------------------------------------------------------------
    const db = new Database(dbPath, { readonly: true });
    let integrity: string;
    const stored = new Map<string, string[]>(); // ref → event ids
    const storedBeforeRetries = new Set<string>(); // refs with an event created before the client retries
    let storedTotal = 0;
    let recorded2xx = 0; // successful attempts hookd recorded
    let doubleRecorded = 0; // deliveries with more than one recorded success: re-sent after hookd knew it was delivered
    const dbStatus: Record<string, number> = {};
    try {
      integrity = db.query<{ integrity_check: string }, []>("PRAGMA integrity_check").all().map((r) => r.integrity_check).join("; ");
      for (const row of db.query<{ id: string; body: string; created_at: number }, []>("SELECT id, body, created_at FROM events").iterate()) {
        storedTotal++;
        const ref = REF.exec(row.body)?.[0];
        if (!ref) continue;
        stored.set(ref, [...(stored.get(ref) ?? []), row.id]);
        if (row.created_at < retryPhaseWall) storedBeforeRetries.add(ref);
      }
      for (const row of db.query<{ status: string; n: number }, []>("SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status").all()) dbStatus[row.status] = row.n;
      recorded2xx = db.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM attempts WHERE status_code BETWEEN 200 AND 299").get()!.n;
      doubleRecorded = db
        .query<{ n: number }, []>("SELECT COUNT(*) AS n FROM (SELECT delivery_id FROM attempts WHERE status_code BETWEEN 200 AND 299 GROUP BY delivery_id HAVING COUNT(*) > 1)")
        .get()!.n;
    } finally {
      db.close();
    }
    if (integrity !== "ok") violations.push(`integrity_check: ${integrity}`);
    for (const r of late) if (storedBeforeRetries.has(r.ref)) retries.inProgressStored++;

    // ---- verdicts -------------------------------------------------------------------------------
    const byKind: ChaosReport["requests"]["byKind"] = {};
    for (const r of reqs) {
      const k = (byKind[r.kind] ??= { sent: 0, ok: 0, refused: 0, unanswered: 0, statuses: {} });
      k.sent++;
      const label = r.status === null ? `none:${r.error}` : String(r.status);
      k.statuses[label] = (k.statuses[label] ?? 0) + 1;
      if (r.status === null) k.unanswered++;
      else if (r.status < 300) k.ok++;
      else k.refused++;
    }
    const refusedReqs = reqs.filter((r) => r.status !== null && r.status >= 300);
    const unansweredReqs = reqs.filter((r) => r.status === null);
    for (const r of reqs) {
      if (!r.good && r.status !== null && r.status < 300) violations.push(`bad request ${r.kind} ${r.ref} was acknowledged (${r.status})`);
      if (!r.good && r.status !== null && (r.status < 400 || r.status >= 500)) violations.push(`bad request ${r.kind} ${r.ref} answered ${r.status}, expected 4xx`);
      if (r.good && r.status !== null && r.status >= 300) violations.push(`good request ${r.kind} ${r.ref} refused with ${r.status}`);
    }
    // (b) refused → never stored, never delivered.
    const deliveredRefs = new Set<string>();
    for (const x of hits) {
      if (x.status === null || x.status >= 300) continue;
      const ref = bodyRefs.get(x.id);
      if (ref) deliveredRefs.add(ref);
    }
    let refusedStored = 0;
    let refusedDelivered = 0;
    for (const r of refusedReqs) {
      if (stored.has(r.ref)) {
        refusedStored++;
        if (refusedStored <= 5) violations.push(`refused request ${r.kind} ${r.ref} (${r.status}) was stored as ${stored.get(r.ref)!.join(", ")}`);
      }
      if (deliveredRefs.has(r.ref)) {
        refusedDelivered++;
        if (refusedDelivered <= 5) violations.push(`refused request ${r.kind} ${r.ref} (${r.status}) was delivered`);
      }
    }
    // Acknowledged → stored exactly once under the id it was answered with.
    let duplicateEvents = 0;
    for (const r of reqs) {
      const ids = stored.get(r.ref) ?? [];
      if (ids.length > 1) {
        duplicateEvents++;
        const what = `request ${r.kind} ${r.ref} is stored as ${ids.length} events: ${ids.join(", ")}`;
        // A publish the killed process stored but never answered, retried with its Idempotency-Key after
        // the claim's lock lapsed, runs again: SPEC §3 does not cover a crash there, so it is reported, not failed.
        if (late.includes(r)) findings.push(`${what} (its Idempotency-Key retry ran again after the crashed claim's lock lapsed)`);
        else if (duplicateEvents <= 5) violations.push(what);
      }
      if (r.good && r.eventId && !ids.includes(r.eventId)) violations.push(`acknowledged ${r.kind} ${r.ref} (${r.eventId}) is not in the events table`);
    }
    // (a) every acknowledged event at every subscribed endpoint.
    const missing = missingPairs();
    for (const m of missing.slice(0, 10)) violations.push(`lost: ${m} (acknowledged, never delivered with a 2xx)`);
    if (missing.length > 10) violations.push(`lost: ${missing.length - 10} more (event, endpoint) pairs`);
    let expectedPairs = 0;
    for (const e of expected.values()) expectedPairs += subscribedPaths(e.type).length;
    // Misrouting: a 2xx for an event at an endpoint whose filters do not match its type.
    const typeOf = new Map<string, string>();
    for (const r of reqs) if (r.type && r.eventId) typeOf.set(r.eventId, r.type);
    let misrouted = 0;
    for (const pair of delivered()) {
      const [id, path] = pair.split(" ") as [string, string];
      const type = typeOf.get(id) ?? null;
      if (type !== null && !subscribedPaths(type).includes(path)) misrouted++;
    }
    if (misrouted > 0) violations.push(`${misrouted} deliveries went to endpoints not subscribed to the event's type`);
    if (badSignatures > 0) violations.push(`${badSignatures} deliveries carried a wrong X-Hookd-Signature`);
    if (bodyChanged > 0) violations.push(`${bodyChanged} re-deliveries had a body different from the first attempt`);
    // (c) duplicates: the same webhook-id at the same endpoint answered 2xx more than once.
    const okHits = new Map<string, Hit[]>();
    for (const x of hits) {
      if (x.status === null || x.status >= 300) continue;
      const key = `${x.id} ${x.path}`;
      okHits.set(key, [...(okHits.get(key) ?? []), x]);
    }
    let duplicateTotal = 0;
    let duplicatePairs = 0;
    let explained = 0;
    const unexplained: DuplicateRecord[] = [];
    for (const [key, list] of okHits) {
      if (list.length < 2) continue;
      duplicatePairs++;
      duplicateTotal += list.length - 1;
      list.sort((a, b) => a.arrived - b.arrived);
      // Each repeat must follow a kill that the previous 2xx attempt was in flight at.
      let allExplained = true;
      let by: number | null = null;
      for (let i = 1; i < list.length; i++) {
        const prev = list[i - 1]!;
        const next = list[i]!;
        // The receiver stamps a request when this process's event loop gets to it, which can be a little
        // after the kill (a busy loop, the quick_check): what counts is that the killed process sent it.
        const kill = kills.find((k) => prev.arrived < k.respawnAt && k.at < prev.answered! + IN_FLIGHT_WINDOW_MS && k.respawnAt < next.arrived);
        if (kill) by ??= kill.n;
        else allExplained = false;
      }
      const [eventId, path] = key.split(" ") as [string, string];
      if (allExplained) explained++;
      else unexplained.push({ eventId, path, count: list.length, explainedBy: by });
    }
    // Every repeat needs a 2xx that hookd never recorded, and a recorded success is never re-sent.
    const receiver2xx = hits.filter((x) => x.status !== null && x.status < 300).length;
    const unrecorded2xx = receiver2xx - recorded2xx;
    if (doubleRecorded > 0) violations.push(`${doubleRecorded} deliveries have more than one successful attempt recorded (re-sent after being recorded as delivered)`);
    if (unrecorded2xx !== duplicateTotal) {
      violations.push(`receiver 2xx answers (${receiver2xx}) − successes hookd recorded (${recorded2xx}) = ${unrecorded2xx}, but ${duplicateTotal} duplicates were counted`);
    }
    for (const d of unexplained.slice(0, 5)) {
      const times = okHits.get(`${d.eventId} ${d.path}`)!.map((x) => `${Math.round(x.arrived)}→${Math.round(x.answered!)}`).join(", ");
      const first = okHits.get(`${d.eventId} ${d.path}`)![0]!;
      const near = kills.reduce<KillRecord>((a, b) => (Math.abs(b.at - first.arrived) < Math.abs(a.at - first.arrived) ? b : a), kills[0]!);
      violations.push(`duplicate not explained by a kill: ${d.eventId} at ${d.path} ×${d.count} (2xx arrived→answered ms: ${times}; nearest kill ${near.n} at ${near.at} ms, respawn ${near.respawnAt} ms)`);
    }
    // Events hookd stored from requests that got no answer (the kill came between commit and answer).
    let fromUnanswered = 0;
    let fromUnansweredDelivered = 0;
    for (const r of unansweredReqs) {
      if (storedBeforeRetries.has(r.ref)) fromUnanswered++;
      if (storedBeforeRetries.has(r.ref) && deliveredRefs.has(r.ref)) fromUnansweredDelivered++;
    }
    for (const s of ["pending", "failed", "expired"]) {
      if ((dbStatus[s] ?? 0) > 0) violations.push(`${dbStatus[s]} deliveries left ${s} after the drain`);
    }
    if (restartFailures.length > 0) violations.push(`${restartFailures.length} starts failed the first time: ${restartFailures[0]}`);
    if (errorLines.length > 0) violations.push(`hookd logged ${errorLines.length} error lines, first: ${errorLines[0]}`);

    const answers: Record<string, number> = {};
    for (const x of hits) answers[String(x.status)] = (answers[String(x.status)] ?? 0) + 1;
    const acknowledgedCount = reqs.filter((r) => r.status !== null && r.status < 300).length;
    const ok = violations.length === 0;
    if (ok && !o.keepData) rmSync(site.dir, { recursive: true, force: true });
    return {
      seed,
      dataDir: site.dir,
      kills,
      durationMs: Math.round(now()),
      loadMs: Math.round(loadMs),
      drainMs: Math.round(drainMs),
      requests: { total: reqs.length, acknowledged: acknowledgedCount, refused: refusedReqs.length, unanswered: unansweredReqs.length, byKind },
      retries,
      events: { acknowledged: expected.size, storedTotal, fromUnanswered, fromUnansweredDelivered },
      deliveries: {
        expected: expectedPairs,
        arrived: expectedPairs - missing.length,
        missing: missing.length,
        misrouted,
        receiverRequests: hits.length,
        receiverAnswers: answers,
        badSignatures,
        bodyChanged,
        dbStatus,
      },
      duplicates: { total: duplicateTotal, pairs: duplicatePairs, explained, unexplained, unrecorded2xx, doubleRecorded },
      inFlightAtKills: {
        receiverOpen: kills.reduce((s, k) => s + k.receiverOpen, 0),
        recent2xx: kills.reduce((s, k) => s + k.recent2xx, 0),
        leasesReleased: kills.reduce((s, k) => s + k.leasesReleased, 0),
      },
      refusedStored,
      refusedDelivered,
      duplicateEvents,
      integrity,
      restarts: {
        count: restartTimes.length - 1,
        maxReadyMs: Math.round(Math.max(...restartTimes.slice(1), 0)),
        meanReadyMs: Math.round(restartTimes.slice(1).reduce((s, t) => s + t, 0) / Math.max(1, restartTimes.length - 1)),
        failures: restartFailures,
      },
      finalExitCode,
      hookdErrorLines: errorLines,
      violations,
      findings,
      ok,
    };
  } finally {
    stopLoad = true;
    await finish(h);
    await receiver.stop(true);
  }
}

/** formatSummary is the human summary of a run. */
export function formatSummary(r: ChaosReport): string {
  const kinds = Object.entries(r.requests.byKind)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `    ${k.padEnd(14)} sent ${String(v.sent).padStart(5)}  ${Object.entries(v.statuses).map(([s, n]) => `${s}×${n}`).join(" ")}`)
    .join("\n");
  const answers = Object.entries(r.deliveries.receiverAnswers).map(([s, n]) => `${s}×${n}`).join(" ");
  return [
    `chaos summary (seed ${r.seed}): ${r.ok ? "PASS" : "FAIL"}`,
    `  run              ${(r.durationMs / 1000).toFixed(1)} s (load ${(r.loadMs / 1000).toFixed(1)} s, drain ${(r.drainMs / 1000).toFixed(1)} s)`,
    `  kills            ${r.kills.length} SIGKILL, ${r.restarts.count} restarts (ready in mean ${r.restarts.meanReadyMs} ms, max ${r.restarts.maxReadyMs} ms, ${r.restarts.failures.length} failed), final SIGTERM exit ${r.finalExitCode}`,
    `  in flight at kills: ${r.inFlightAtKills.leasesReleased} leases released at restart, ${r.inFlightAtKills.receiverOpen} attempts open at the receiver, ${r.inFlightAtKills.recent2xx} 2xx answered < ${RECENT_MS} ms before a kill`,
    `  requests         ${r.requests.total}: acknowledged ${r.requests.acknowledged}, refused (HTTP error) ${r.requests.refused}, unanswered ${r.requests.unanswered}`,
    kinds,
    `  client retries   unanswered with a key retried ${r.retries.unansweredRetried} → acknowledged ${r.retries.unansweredNowAcked}, 409 in progress ${r.retries.unansweredInProgress} (event stored by the killed process: ${r.retries.inProgressStored})` +
      (r.retries.lateRetried > 0 ? `; after the lock lapsed ${r.retries.lateRetried} → acknowledged ${r.retries.lateAcked}, still 409 ${r.retries.lateInProgress}` : "") +
      `; acknowledged replayed ${r.retries.ackedReplayed}, mismatched ${r.retries.ackedReplayMismatch}`,
    `  events           acknowledged ${r.events.acknowledged}, stored ${r.events.storedTotal} (from unanswered requests: ${r.events.fromUnanswered}, of which delivered ${r.events.fromUnansweredDelivered})`,
    `  deliveries       expected ${r.deliveries.expected}, arrived ${r.deliveries.arrived}, LOST ${r.deliveries.missing}, misrouted ${r.deliveries.misrouted}; receiver saw ${r.deliveries.receiverRequests} requests (${answers})`,
    `  duplicates       ${r.duplicates.total} extra 2xx deliveries over ${r.duplicates.pairs} (event, endpoint) pairs; explained by a kill ${r.duplicates.explained}, unexplained ${r.duplicates.unexplained.length}; 2xx answers never recorded by hookd ${r.duplicates.unrecorded2xx}, deliveries with two recorded successes ${r.duplicates.doubleRecorded}`,
    `  refused requests stored ${r.refusedStored}, delivered ${r.refusedDelivered}; events stored twice ${r.duplicateEvents}`,
    `  signatures/body  bad signatures ${r.deliveries.badSignatures}, bodies changed between attempts ${r.deliveries.bodyChanged}`,
    `  database         integrity_check ${r.integrity}; deliveries by status ${JSON.stringify(r.deliveries.dbStatus)}`,
    ...(r.findings.length > 0 ? ["  findings:", ...r.findings.map((f) => `    - ${f}`)] : []),
    ...(r.violations.length > 0 ? ["  VIOLATIONS:", ...r.violations.map((v) => `    - ${v}`), `  data kept in ${r.dataDir}`] : []),
    `RESULT kills=${r.kills.length} acked=${r.requests.acknowledged} refused=${r.requests.refused} unanswered=${r.requests.unanswered} expected=${r.deliveries.expected} arrived=${r.deliveries.arrived} lost=${r.deliveries.missing} duplicates=${r.duplicates.total} leases_released=${r.inFlightAtKills.leasesReleased} integrity=${r.integrity}`,
  ].join("\n");
}
