import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { staticResolver } from "../../src/delivery/resolver";
import { standardSignature } from "../../src/delivery/sign";
import { waitFor } from "../support/process";
import { call, startTestServer, type TestServer } from "../support/test-server";
import { Gen, pct, type RawAnswer, rawExchange, rng, rowCounter, seedFrom, startTrap, timed, type Trap } from "./kit";

// Byte-level fuzz over raw sockets, against the admin API and the inbound receiver alike: methods, request
// targets, header blocks and bodies that fetch() would refuse to send. It goes past test/inbound/fuzz.test.ts
// by signing fuzzed bodies correctly (so HMAC and Standard Webhooks sources reach body validation), by sending
// real non-UTF-8 bytes, duplicated and oversized headers, Content-Length/Transfer-Encoding disagreements, and by
// checking every request's effect on the stored rows one at a time.
//
// A request Bun's HTTP parser refuses never reaches hookd (no X-Request-ID, usually a bare 400/431/505 and a
// closed socket). The generator marks what it breaks at the HTTP level; only such requests may get that answer.
const SEED = seedFrom(0x5eed_b1);
const COUNT = Number(process.env.FUZZ_HTTP_COUNT ?? 4000);
const MAX_BODY = 256 * 1024;
const SW_SECRET = `whsec_${Buffer.alloc(32, 5).toString("base64")}`;
const SOURCES = {
  erp: { auth: "token", secret: "erp-token-123" },
  h: { auth: "hmac", secret: "hmac-secret-1" },
  sw: { auth: "standard-webhooks", secret: SW_SECRET },
  j: { auth: "hmac", secret: "json-secret-2" },
  open: { auth: "none", secret: "" },
} as const;
type SourceId = keyof typeof SOURCES;

let server: TestServer;
let trap: Trap;
let rows: ReturnType<typeof rowCounter>;
let port: number;
const adminPaths: string[] = [];

beforeAll(async () => {
  trap = await startTrap();
  server = await startTestServer(
    {
      server: `max_body = "256KiB"`,
      // Egress guard as in admin-fuzz: should a fuzzed request ever create an endpoint, its deliveries only reach the local trap.
      delivery: `require_https = false\nproxy = "${trap.url}"\nretry_schedule = []`,
      "[[sources]] # token": `id = "erp"\nauth = "token"\nsecret = "${SOURCES.erp.secret}"`,
      "[[sources]] # hmac": `id = "h"\nauth = "hmac"\nsecret = "${SOURCES.h.secret}"`,
      "[[sources]] # standard webhooks": `id = "sw"\nauth = "standard-webhooks"\nsecret = "${SW_SECRET}"`,
      "[[sources]] # json by field": `id = "j"\nauth = "hmac"\nsecret = "${SOURCES.j.secret}"\nschema = "json"\nevent_type_field = "kind"`,
      "[[sources]] # ip only": `id = "open"\nauth = "none"\nallow_ips = ["127.0.0.2/32"]`,
    },
    { resolver: staticResolver({}) },
  );
  port = Number(new URL(server.url).port);
  const spec = (await call(`${server.url}/openapi.json`, "GET")).body;
  for (const path of Object.keys(spec.paths)) if (path.startsWith("/v1")) adminPaths.push(path);
  rows = rowCounter(server.dir);
});

afterAll(async () => {
  rows?.close();
  await server?.stop();
  await trap?.stop();
});

// ---------------------------------------------------------------------------------------------

interface RawCase {
  bytes: Buffer;
  /** malformed: the generator broke HTTP itself, so Bun's parser may refuse it before hookd sees it. */
  malformed: string | null;
  label: string;
  inbound: boolean;
  sentRequestId?: string;
  /** bodyText: the body as UTF-8 text, when it was sent whole and could be accepted (for the byte-fidelity check). */
  bodyText?: string;
}

const GOOD_ERP = (source: string) => ({
  connector_id: source,
  event_type: "fuzz.inbound",
  timestamp: "2026-04-20T03:00:00Z",
  severity: "warn",
  message: "m",
});

function inboundBody(g: Gen, source: SourceId): Buffer {
  const base: Record<string, unknown> = source === "j" ? { kind: "fuzz.json", n: 1 } : GOOD_ERP(source);
  const text = JSON.stringify(base);
  const r = g.random();
  if (r < 0.1) return Buffer.from(text); // valid: accepted, so the fuzz also meets the success path
  if (r < 0.2) {
    // valid but odd: unicode in every string, raw big numbers, deep metadata (accepted ones must keep their bytes)
    const u = g.unicode(g.int(1, 80)).replace(/[\ud800-\udfff]/g, "\ufffd");
    const big = g.pick(["123456789012345678901234567890", "1e400", "-0.0", "9007199254740993", "1E-400"]);
    const d = g.int(1, 300);
    return Buffer.from(`${text.slice(0, -1)},"message":${JSON.stringify(u)},"metadata":{"big":${big},"u":${JSON.stringify(u)},"deep":${"[".repeat(d)}${"]".repeat(d)}}}`);
  }
  if (r < 0.3) {
    const n = g.pick([1000, 50_000, 120_000]);
    return Buffer.from(g.chance(0.5) ? `${"[".repeat(n)}${"]".repeat(n)}` : `{"kind":"a.b","connector_id":"${source}","x":${'{"a":'.repeat(n)}1${"}".repeat(n)}}`);
  }
  if (r < 0.4) return g.bytes(g.int(0, 4096)); // random bytes: mostly invalid UTF-8
  if (r < 0.47) {
    const raw = Buffer.from(text, "utf8");
    const at = g.int(0, raw.length);
    return Buffer.concat([raw.subarray(0, at), Buffer.from(g.pick([[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x00]])), raw.subarray(at)]);
  }
  if (r < 0.52) return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, "utf16le")]); // UTF-16 with a BOM
  if (r < 0.57) return Buffer.from(g.pick(["", " ", "null", "[]", "0", '"s"', "{}", "\ufeff{}", "{,}", "{\"a\":1,}", "NaN"]));
  if (r < 0.62) return Buffer.from(JSON.stringify({ ...base, pad: "p".repeat(g.pick([MAX_BODY - 400, MAX_BODY + 1, MAX_BODY * 2])) }));
  if (r < 0.7) {
    const field = g.pick(Object.keys(base));
    const value = g.pick<unknown>([null, 7, [], {}, "", "a..b", "a.b\r\nX: 1", "x".repeat(200), g.unicode(10), true, 1e308]);
    return Buffer.from(JSON.stringify({ ...base, [field]: value }));
  }
  if (r < 0.76) {
    // duplicate keys: the last wins, for validation and for connector_id alike
    return Buffer.from(`{"connector_id":"someone-else",${text.slice(1, -1)},"connector_id":${JSON.stringify(g.pick([source, "other", 5]))}}`);
  }
  if (r < 0.82) return Buffer.from(text.slice(0, g.int(0, text.length - 1)));
  if (r < 0.88) {
    const wide = Object.fromEntries(Array.from({ length: g.int(100, 5000) }, (_, i) => [`k${i}`, i]));
    return Buffer.from(JSON.stringify({ ...base, metadata: wide }));
  }
  return Buffer.from(JSON.stringify({ ...base, [g.unicode(5)]: g.unicode(30), __proto__x: 1, constructor: { prototype: 1 } }));
}

function fuzzPath(g: Gen, inbound: boolean, source: string): { path: string; malformed: string | null } {
  const r = g.random();
  if (inbound) {
    if (r < 0.7) return { path: `/in/${source}`, malformed: null };
    return g.pick<() => { path: string; malformed: string | null }>([
      () => ({ path: `/in/${pct(g.unicode(g.int(1, 12)))}`, malformed: null }),
      () => ({ path: `/in/${Buffer.from(g.bytes(g.int(1, 12)).map((b) => (b < 0x21 || b === 0x7f || b === 0x3f || b === 0x23 ? 0x41 : b))).toString("latin1")}`, malformed: null }),
      () => ({ path: g.pick(["/in/", "/in", "/in//erp", "/in/erp/", "/in/erp/x", "/in/ERP", "/in/erp%00", "/in/%65rp", "/in/..%2fv1%2fwebhooks", "/in/../v1/webhooks", "/in/./erp", "//in/erp", "/in/erp;x", "/in/erp?x=\xff"]), malformed: null }),
      () => ({ path: `/in/${"a".repeat(g.int(1000, 16_500))}`, malformed: null }),
      () => ({ path: `http://127.0.0.1/in/${source}`, malformed: null }),
      () => ({ path: g.pick(["*", "in/erp", `/in/${source}\x00`, "/in/a b"]), malformed: "a request target Bun refuses" }),
    ])();
  }
  const template = g.pick(adminPaths);
  const id = g.pick([`wh_${"0".repeat(26)}`, "x", pct(g.unicode(6)), "%ff%fe", "..", "%2e%2e", "a".repeat(g.int(10, 3000))]);
  if (r < 0.7) return { path: template.replace("{id}", id), malformed: null };
  return g.pick<() => { path: string; malformed: string | null }>([
    () => ({ path: `/v1/${Buffer.from(g.bytes(g.int(1, 20)).map((b) => (b < 0x21 || b === 0x7f || b === 0x3f || b === 0x23 ? 0x5f : b))).toString("latin1")}`, malformed: null }),
    () => ({ path: g.pick(["/v1", "/v1/", "/V1/webhooks", "//v1/webhooks", "/v1/./webhooks", "/v1/%2e%2e/v1/webhooks", "/v1/webhooks/../../healthz", "/x/../v1/webhooks", "/v1%2fwebhooks", "/%76%31/webhooks", "/v1/webhooks?limit=%ff&limit=2"]), malformed: null }),
    () => ({ path: `/v1/${"a".repeat(g.int(1000, 16_500))}`, malformed: null }),
    () => ({ path: `http://${g.pick(["127.0.0.1", "evil.example", "[::1]", "a@b"])}${template.replace("{id}", "x")}`, malformed: null }),
  ])();
}

const STANDARD_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"];
const ODD_BUT_KNOWN = ["PROPFIND", "MKCOL", "LOCK", "PURGE", "REPORT", "SEARCH", "M-SEARCH", "MOVE", "COPY", "QUERY", "ACL", "NOTIFY", "SUBSCRIBE", "SOURCE"];
const UNKNOWN_TO_BUN = ["get", "Post", "FOO", "X-HOOKD", "PRI", "DESCRIBE", "G\x00ET", "P\xffST", "A".repeat(200), "123"];

function makeRawCase(g: Gen, i: number): RawCase {
  const inbound = g.chance(0.55);
  const source: SourceId = g.pick(Object.keys(SOURCES) as SourceId[]);
  const broken: string[] = [];
  // Method
  let method = inbound ? "POST" : g.pick(["GET", "POST", "PATCH", "DELETE"]);
  const mr = g.random();
  if (mr < 0.06) method = g.pick(STANDARD_METHODS);
  else if (mr < 0.1) method = g.pick(ODD_BUT_KNOWN);
  else if (mr < 0.13) {
    method = g.pick(UNKNOWN_TO_BUN);
    broken.push("a method Bun does not know");
  }
  const { path, malformed: pathBroken } = fuzzPath(g, inbound, source);
  if (pathBroken) broken.push(pathBroken);
  // Version
  let version = "HTTP/1.1";
  if (g.chance(0.03)) {
    version = g.pick(["HTTP/1.0", "HTTP/2.0", "HTTP/1.2", "http/1.1", "HTTP/1.1 x", ""]);
    if (version !== "HTTP/1.0") broken.push("an HTTP version Bun refuses");
  }
  // Body
  let body: Buffer = Buffer.alloc(0);
  if (method !== "GET" && method !== "HEAD" && (inbound || g.chance(0.8))) {
    body = inbound ? inboundBody(g, source) : adminBody(g);
  }
  // Headers, in order; duplicates and odd spellings are the point
  const lines: string[] = [];
  const add = (name: string, value: string) => lines.push(`${name}: ${value}`);
  const r = g.random();
  if (r < 0.9) add("Host", "127.0.0.1");
  else if (r < 0.93) add("Host", "");
  else if (r < 0.96) {
    add("Host", "a");
    add("Host", "b");
  } else if (r < 0.98) add("Host", "\xff\xfe.example");
  else broken.push("HTTP/1.1 without Host");
  if (inbound) addInboundAuth(g, add, source, body);
  else addAdminAuth(g, add);
  let sentRequestId: string | undefined;
  if (g.chance(0.2)) {
    sentRequestId = g.pick([`raw-${i}`, "a".repeat(129), "bad id", "\xff\xfe", "x:y.z_1-2", "", "<script>"]);
    add("X-Request-ID", sentRequestId);
    if (g.chance(0.2)) {
      add("X-Request-ID", "second");
      sentRequestId = `${sentRequestId}, second`;
    }
  }
  if (g.chance(0.3)) add("Content-Type", g.pick(["application/json", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=\xff", "application/json; charset=\xe9", "", "x/y; a=\"unterminated", "application/json, text/plain"]));
  if (g.chance(0.05)) add("Content-Type", "text/xml");
  if (g.chance(0.08)) add("X-Forwarded-For", g.pick(["127.0.0.2", "10.0.0.1, 127.0.0.2", "\xff", "garbage, ,, ::1", "1.2.3.4".repeat(200)]));
  if (g.chance(0.1)) add("Idempotency-Key", g.pick(["k1", "k1", "\xff\xfe", "k".repeat(300), " "]));
  if (g.chance(0.05)) add("Webhook-Id", g.pick(["dup-1", "dup-1", "\xff"]));
  if (g.chance(0.04)) add("Expect", "100-continue");
  if (g.chance(0.06)) add(`X-Non-Utf8-${i}`, Buffer.from(g.bytes(g.int(1, 64)).map((b) => (b < 0x80 ? b | 0x80 : b))).toString("latin1"));
  // Header section near Bun's 16 KiB limit, or a few too many headers
  const hr = g.random();
  if (hr < 0.04) {
    add("X-Huge", "h".repeat(g.int(14_000, 17_500)));
  } else if (hr < 0.06) {
    const n = g.int(50, 250);
    for (let k = 0; k < n; k++) add(`X-Many-${k}`, "v");
    if (n > 100) broken.push("many headers");
  }
  // Framing: Content-Length right, wrong, doubled or fighting Transfer-Encoding; chunked; or syntax errors
  let framed: Buffer = body;
  const fr = g.random();
  if (body.length === 0 && method !== "POST") {
    // no body, no framing headers
  } else if (fr < 0.7) {
    add("Content-Length", String(body.length));
  } else if (fr < 0.82) {
    add("Transfer-Encoding", "chunked");
    framed = chunk(g, body);
  } else if (fr < 0.86) {
    // shorter than the body: the rest is read as a (junk) pipelined request
    add("Content-Length", String(g.int(0, Math.max(0, body.length - 1))));
    broken.push("Content-Length shorter than the body");
  } else {
    broken.push("conflicting framing");
    g.pick<() => void>([
      () => add("Content-Length", "-1"),
      () => add("Content-Length", "abc"),
      () => add("Content-Length", `${body.length}, ${body.length}`),
      () => {
        add("Content-Length", String(body.length));
        add("Content-Length", String(body.length + 1));
      },
      () => {
        add("Content-Length", String(body.length));
        add("Transfer-Encoding", "chunked");
        framed = chunk(g, body);
      },
      () => {
        add("Transfer-Encoding", g.pick(["gzip", "chunked, gzip", "identity", "xchunked", "chunked\xff"]));
      },
      () => {
        add("Transfer-Encoding", "chunked");
        framed = Buffer.concat([Buffer.from(g.pick(["zz\r\n", "-1\r\n", "ffffffffffffffffff\r\n", "5;\xff=\xff\r\nhello\r\n0\r\n\r\n"])), body]);
      },
    ])();
  }
  // Syntax errors Bun's parser must catch
  let head = `${method} ${path} ${version}`.trimEnd();
  let lineEnd = "\r\n";
  const sr = g.random();
  if (sr < 0.015) {
    lineEnd = "\n";
    broken.push("bare LF line endings");
  } else if (sr < 0.03) {
    add("X-Folded", "a\r\n  folded");
    broken.push("obsolete line folding");
  } else if (sr < 0.045) {
    lines.push(g.pick(["No Colon Here", "Bad Name: v", "X-Nul\x00: v", "X-A\x01: v", " Leading: v", "Trailing : v"]));
    broken.push("an invalid header name");
  } else if (sr < 0.055) {
    add("X-Ctl", "a\x00b");
    broken.push("a NUL in a header value");
  }
  add("Connection", "close");
  head += lineEnd + lines.join(lineEnd) + lineEnd + lineEnd;
  // Bun refuses a request head over 16 KiB with a bare 431 (measured: 16,362 bytes pass, 16,446 do not).
  if (head.length > 16_300) broken.push("a request head near or over Bun's 16 KiB limit");
  if (version === "HTTP/1.0" && lines.some((l) => /^Transfer-Encoding:/i.test(l))) broken.push("Transfer-Encoding over HTTP/1.0");
  const bytes = Buffer.concat([Buffer.from(head, "latin1"), framed]);
  return {
    bytes,
    malformed: broken.length > 0 ? broken.join(", ") : null,
    label: `${JSON.stringify(method).slice(0, 20)} ${JSON.stringify(path.slice(0, 80))} ${body.length}B`,
    inbound,
    sentRequestId,
    bodyText: broken.length === 0 ? body.toString("utf8") : undefined,
  };
}

function chunk(g: Gen, body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  while (at < body.length) {
    const n = Math.min(body.length - at, g.int(1, 70_000));
    parts.push(Buffer.from(`${n.toString(16)}${g.chance(0.1) ? ";ext=1" : ""}\r\n`), body.subarray(at, at + n), Buffer.from("\r\n"));
    at += n;
  }
  // No trailers here: Bun answers 400 to a chunked request with trailers *after* the handler ran (see the
  // dedicated test below), which is a Bun bug rather than a property of hookd worth fuzzing around.
  parts.push(Buffer.from("0\r\n\r\n"));
  return Buffer.concat(parts);
}

function adminBody(g: Gen): Buffer {
  return g.pick<() => Buffer>([
    () => g.bytes(g.int(0, 2000)),
    () => Buffer.from(`{"name":${'{"a":'.repeat(g.int(120, 60_000))}1${"}".repeat(0)}`), // broken as well as deep
    () => {
      const n = g.int(129, 60_000);
      return Buffer.from(`{"name":"x","metadata":${'{"a":'.repeat(n)}1${"}".repeat(n)}}`);
    },
    () => Buffer.from(`{"type":"a.b","data":{"n":${g.pick(["1e400", "123456789012345678901234567890"])}},"x":1}`), // unknown field: 422
    () => Buffer.from(JSON.stringify({ url: `http://${g.unicode(5)}/`, events: [g.unicode(3)] })),
    () => Buffer.concat([Buffer.from('{"name":"'), g.bytes(20).map((b) => b | 0x80), Buffer.from('"}')]),
    () => Buffer.from("x".repeat(g.pick([MAX_BODY + 1, MAX_BODY * 2]))),
    () => Buffer.from(`{"since":"${g.unicode(4)}"`),
  ])();
}

function addInboundAuth(g: Gen, add: (k: string, v: string) => void, source: SourceId, body: Buffer): void {
  const { auth, secret } = SOURCES[source];
  const right = g.chance(0.75);
  if (auth === "token") {
    if (right) add("x-auth-token", secret);
    else g.pick<() => void>([() => add("x-auth-token", `${secret}x`), () => add("x-auth-token", "\xff\xfe"), () => { add("x-auth-token", secret); add("x-auth-token", secret); }, () => add("x-auth-token", SOURCES.h.secret), () => {}])();
  } else if (auth === "hmac") {
    const sig = createHmac("sha256", secret).update(body).digest("hex");
    if (right) add("X-Hookd-Signature", g.chance(0.5) ? `sha256=${sig}` : sig.toUpperCase());
    else
      g.pick<() => void>([
        () => add("X-Hookd-Signature", `sha256=${createHmac("sha256", SOURCES[source === "h" ? "j" : "h"].secret).update(body).digest("hex")}`), // another source's secret
        () => add("X-Hookd-Signature", `sha256=${sig}\xff`),
        () => { add("X-Hookd-Signature", `sha256=${sig}`); add("X-Hookd-Signature", `sha256=${sig}`); },
        () => add("X-Hookd-Signature", `sha1=${sig.slice(0, 40)}`),
        () => add("X-Hookd-Signature", "sha256=" + "g".repeat(64)),
        () => {},
      ])();
  } else if (auth === "standard-webhooks") {
    const id = `msg_${g.int(0, 1e9)}`;
    const now = Math.floor(Date.now() / 1000);
    const ts = right ? now : g.pick([now - 301, now + 301, 0, now * 1000]);
    const sig = standardSignature(secret, id, ts, body.toString("latin1"));
    // standardSignature hashes a JS string as UTF-8; recompute over the raw bytes so any body verifies as sent
    const exact = `v1,${createHmac("sha256", Buffer.from(secret.slice(6), "base64")).update(`${id}.${ts}.`).update(body).digest("base64")}`;
    add("webhook-id", id);
    add("webhook-timestamp", String(ts));
    add("webhook-signature", g.chance(0.9) ? exact : sig);
  }
}

function addAdminAuth(g: Gen, add: (k: string, v: string) => void): void {
  const r = g.random();
  if (r < 0.75) add("Authorization", `Bearer ${server.key}`);
  else if (r < 0.8) {
    add("Authorization", `Bearer ${server.key}`);
    add("Authorization", `Bearer ${server.key}`);
  } else if (r < 0.85) add("Authorization", `Bearer ${server.key}\xff`);
  else if (r < 0.9) add("Authorization", "\xff\xfe\x80");
  // else none
}

// ---------------------------------------------------------------------------------------------

const PARSER_STATUSES = new Set([null, 400, 413, 431, 505]);

/** judge returns what is wrong with one answer (empty = fine). */
function judge(c: RawCase, a: RawAnswer): string[] {
  const problems: string[] = [];
  const rid = a.headers["x-request-id"];
  if (rid === undefined) {
    // No X-Request-ID: hookd's handler did not answer. Only allowed when the request was broken at the HTTP level.
    if (c.malformed === null) problems.push(`no X-Request-ID on a well-formed request (status ${a.status}${a.timedOut ? ", timed out" : ""})`);
    else if (!PARSER_STATUSES.has(a.status)) problems.push(`unexpected parser-level answer ${a.status}`);
    return problems;
  }
  if (a.status === null) return ["X-Request-ID but no status"];
  if (a.status >= 500) problems.push("5xx");
  if (a.status >= 300 && a.status < 400) problems.push("3xx");
  if (a.status === 100) return problems;
  if (c.sentRequestId !== undefined) {
    const safe = /^[A-Za-z0-9._:-]{1,128}$/.test(c.sentRequestId);
    if (safe && rid !== c.sentRequestId) problems.push("a safe X-Request-ID was not echoed");
    if (!safe && rid === c.sentRequestId) problems.push("an unsafe X-Request-ID was echoed");
  }
  if (a.truncated) return problems; // the socket was reset under an early answer (e.g. 413 mid-upload): its body is lost in transit
  if (a.status >= 400 && !/^HEAD /.test(c.bytes.subarray(0, 5).toString("latin1"))) {
    let e: any;
    try {
      e = JSON.parse(a.body).error;
    } catch {
      // fall through
    }
    if (typeof e?.code !== "string" || !Array.isArray(e?.details)) problems.push("no error envelope");
    else if (e.request_id !== rid) problems.push("envelope request_id differs from X-Request-ID");
  }
  return problems;
}

describe("raw HTTP fuzz (admin and inbound)", () => {
  test(`${COUNT} raw requests: no 5xx from hookd, envelopes and X-Request-ID, rejected input stores nothing, accepted input kept byte for byte`, async () => {
    console.log(`http fuzz: seed ${SEED} (replay with FUZZ_SEED=${SEED}), ${COUNT} requests`);
    const g = new Gen(rng(SEED));
    const failures: string[] = [];
    const outcomes = new Map<string, number>();
    const count = (k: string) => outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
    let before = rows.counts();
    let accepted = 0;
    await timed("http fuzz", async () => {
      for (let i = 0; i < COUNT && failures.length < 20; i++) {
        const c = makeRawCase(g, i);
        if (process.env.FUZZ_DUMP === String(i)) console.log(JSON.stringify(c.bytes.subarray(0, 3000).toString("latin1")));
        const a = await rawExchange(port, c.bytes, c.malformed === null ? 5000 : 1500);
        if (process.env.FUZZ_DUMP === String(i)) console.log("ANSWER", JSON.stringify(a));
        const where = `seed ${SEED} case ${i} (${c.inbound ? "inbound" : "admin"}): ${c.label}${c.malformed ? ` [${c.malformed}]` : ""}`;
        const rid = a.headers["x-request-id"];
        count(rid === undefined ? `parser:${a.status ?? (a.timedOut ? "stall" : "closed")}` : String(a.status));
        const problems = judge(c, a);
        const after = rows.counts();
        const grew = JSON.stringify(after) !== JSON.stringify(before);
        const { attempts: _a1, ...b1 } = before;
        const { attempts: _a2, ...b2 } = after;
        if (rid !== undefined && a.status !== null && a.status >= 200 && a.status < 300) {
          if (c.inbound) {
            let answer: any = null;
            try {
              answer = JSON.parse(a.body);
            } catch {
              // checked below
            }
            if (answer?.received !== true || !/^evt_/.test(answer?.id ?? "")) problems.push("inbound 2xx without {received, id}");
            else if (after.accepted_inbound > before.accepted_inbound) {
              accepted++;
              // An accepted body is stored and delivered exactly as sent: unicode, big numbers and all.
              if (c.bodyText !== undefined) {
                const event = await server.api("GET", `/v1/events/${answer.id}`);
                if (!event.text.includes(`"data":${c.bodyText}`)) problems.push("accepted body not stored byte for byte");
              }
            }
          }
          before = after;
        } else if (JSON.stringify(b1) !== JSON.stringify(b2)) {
          problems.push(`a rejected request changed stored rows: ${JSON.stringify(b1)} → ${JSON.stringify(b2)}`);
          before = after;
        } else if (grew) {
          before = after;
        }
        if (problems.length > 0) failures.push(`${where} → ${a.status} [${problems.join("; ")}] ${a.body.slice(0, 160)}`);
        if (i % 500 === 499 && (await call(`${server.url}/healthz`, "GET")).status !== 200) failures.push(`healthz failed after case ${i}`);
      }
    });
    console.log("http fuzz outcomes:", Object.fromEntries([...outcomes].sort()), `accepted inbound: ${accepted}`);
    expect(failures).toEqual([]);
    expect((await call(`${server.url}/healthz`, "GET")).status).toBe(200);
    expect((await call(`${server.url}/readyz`, "GET")).status).toBe(200);
    // Rejections are logged at most 100 a minute per source; unknown sources never.
    const db = rows.counts();
    expect(db.webhooks).toBe(0);
    expect(db.deliveries).toBe(0);
    const rejected = (await server.api("GET", "/v1/inbound?status=rejected&limit=500")).body.data as { source: string }[];
    const bySource = new Map<string, number>();
    for (const r of rejected) bySource.set(r.source, (bySource.get(r.source) ?? 0) + 1);
    for (const [source, n] of bySource) {
      expect(Object.keys(SOURCES)).toContain(source);
      expect(n).toBeLessThanOrEqual(200); // 100 per minute; the run may straddle a minute boundary
    }
  }, 90_000);

  // KNOWN BUN BUG (1.4.5): a chunked request whose last chunk carries trailer fields is handed to the handler
  // whole — hookd authenticates it and stores the event durably — but Bun's parser then fails on the trailer
  // section and writes a bare "400 Bad Request" (no X-Request-ID) and closes instead of hookd's 200. The sender
  // sees an error for an event hookd keeps and fans out (SPEC: an event whose request got an HTTP error answer
  // must not be delivered), and will likely resend it. A plain Bun.serve shows the same.
  // This pins today's behaviour exactly, so any change shows: once Bun is fixed this fails on the 400, and the
  // test becomes "acknowledged with hookd's 200 (X-Request-ID) and stored once". A hookd regression on this
  // path (not storing, a 5xx, an answer of its own) fails it as well, which `test.failing` never did.
  test("a chunked request with trailers is stored by hookd but answered by Bun's bare 400 (Bun bug, pinned)", async () => {
    const body = JSON.stringify({ ...GOOD_ERP("erp"), message: "with trailer" });
    const before = rows.counts().accepted_inbound;
    const answer = await rawExchange(
      port,
      `POST /in/erp HTTP/1.1\r\nHost: 127.0.0.1\r\nx-auth-token: ${SOURCES.erp.secret}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\nX-Checksum: abc\r\n\r\n`,
    );
    // Bun's refusal can arrive before hookd's commit: wait for the row rather than for a fixed time.
    await waitFor(() => rows.counts().accepted_inbound > before, 5000, "the trailer request's event to be stored");
    expect(rows.counts().accepted_inbound - before).toBe(1);
    expect({ status: answer.status, requestId: answer.headers["x-request-id"] ?? null, body: answer.body }).toEqual({
      status: 400,
      requestId: null,
      body: "",
    });
  });

  test("requests that stall mid-body or half-close do not wedge the server", async () => {
    // Content-Length promises more than arrives: the server must keep serving others while these wait.
    const stalled = Array.from({ length: 20 }, (_, i) =>
      rawExchange(port, `POST ${i % 2 ? "/in/erp" : "/v1/resources"} HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${server.key}\r\nx-auth-token: erp-token-123\r\nContent-Length: 1000\r\n\r\n{"name":`, 800),
    );
    const healthy = await call(`${server.url}/healthz`, "GET");
    expect(healthy.status).toBe(200);
    const published = await server.api("GET", "/v1/events?limit=1");
    expect(published.status).toBe(200);
    for (const a of await Promise.all(stalled)) {
      // Still waiting for the promised bytes (or closed): never a success, never a 5xx.
      expect(a.status === null || (a.status >= 400 && a.status < 500)).toBe(true);
    }
  });
});
