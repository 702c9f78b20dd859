import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { staticResolver } from "../../src/delivery/resolver";
import { topLevelMember } from "../../src/events/raw-json";
import { call, startTestServer, type TestServer } from "../support/test-server";
import { Gen, pct, rng, rowCounter, type RowCounts, seedFrom, startTrap, timed, type Trap } from "./kit";

// Admin API fuzz with a valid key, so requests get past authentication into routing and validation.
// Every route comes from /openapi.json (a new route is fuzzed the day it is added). Requests run one at a
// time so each answer can be held to account: a 4xx must leave every stored row exactly as it was.
const SEED = seedFrom(0x5eed_a0);
const COUNT = Number(process.env.FUZZ_ADMIN_COUNT ?? 5000);
const MAX_BODY = 64 * 1024;

let server: TestServer;
let trap: Trap;
let rows: ReturnType<typeof rowCounter>;
let digestDb: Database;
const routes: { method: string; path: string }[] = [];
const ids: Record<string, string[]> = { wh: [], evt: [], res: [], dlv: [], in: [] };

beforeAll(async () => {
  // Egress guard: every delivery hookd might make (to whatever URL a fuzzed create lets through) goes to
  // this local trap as its proxy; DNS names other than one loopback name do not resolve. Nothing leaves 127/8.
  trap = await startTrap();
  server = await startTestServer(
    {
      server: `max_body = "64KiB"`,
      delivery: `require_https = false\nallow_targets = ["127.0.0.0/8"]\nproxy = "${trap.url}"\nretry_schedule = []\nmax_endpoints = 8\ntimeout = "2s"`,
    },
    { resolver: staticResolver({ "hooks.internal": ["127.0.0.1"] }) },
  );
  const spec = (await call(`${server.url}/openapi.json`, "GET")).body;
  for (const [path, ops] of Object.entries(spec.paths as Record<string, Record<string, unknown>>)) {
    if (!path.startsWith("/v1")) continue;
    for (const method of Object.keys(ops)) routes.push({ method: method.toUpperCase(), path });
  }
  // Real objects of every kind, so fuzzed ids sometimes hit something that exists.
  for (const n of [1, 2]) {
    const w = await server.api("POST", "/v1/webhooks", { url: `http://hooks.internal:${trap.port}/w${n}`, events: ["fuzz.seed"] });
    ids.wh!.push(w.body.data.id);
  }
  ids.res!.push((await server.api("POST", "/v1/resources", { name: "seed", metadata: { a: 1 } })).body.data.id);
  const published = await server.api("POST", "/v1/events", { type: "fuzz.seed", data: { n: 1 } });
  ids.evt!.push(published.body.data.id);
  const event = await server.api("GET", `/v1/events/${published.body.data.id}`);
  for (const d of event.body.data.deliveries) ids.dlv!.push(d.id);
  rows = rowCounter(server.dir);
  digestDb = new Database(join(server.dir, "hookd.db"), { readonly: true });
});

afterAll(async () => {
  rows?.close();
  digestDb?.close();
  await server?.stop();
  await trap?.stop();
});

/** fingerprint is what a rejected request must not change: row counts plus the API-owned columns of endpoints and resources. */
function fingerprint(): { counts: Omit<RowCounts, "attempts">; objects: string } {
  const { attempts: _scheduler, ...counts } = rows.counts(); // attempts are the scheduler's, not the request's
  // hookd.* operational events are the alerts job's (an expiry window ending, a backlog), not the request's.
  counts.events = digestDb.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM events WHERE origin <> 'hookd'").get()!.n;
  const webhooks = digestDb
    .query<{ d: string | null }, []>("SELECT group_concat(id || '|' || url || '|' || events || '|' || description || '|' || status || '|' || secret || '|' || coalesce(deleted_at, ''), ';') AS d FROM (SELECT * FROM webhooks ORDER BY id)")
    .get()!.d;
  const resources = digestDb
    .query<{ d: string | null }, []>("SELECT group_concat(id || '|' || name || '|' || type || '|' || status || '|' || metadata || '|' || updated_at, ';') AS d FROM (SELECT * FROM resources ORDER BY id)")
    .get()!.d;
  return { counts, objects: `${webhooks}\n${resources}` };
}

// ---------------------------------------------------------------------------------------------
// Generators

const ODD_METHODS = ["PUT", "HEAD", "OPTIONS", "PROPFIND", "MKCOL", "LOCK", "PURGE", "REPORT", "SEARCH", "M-SEARCH", "X-HOOKD", "DELETE", "PATCH", "GET", "POST"];
const ID_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";

function randomId(g: Gen, prefix: string): string {
  let s = `${prefix}_`;
  for (let i = 0; i < 26; i++) s += g.pick([...ID_ALPHABET]);
  return s;
}

function fuzzId(g: Gen, want: string): string {
  const all = Object.values(ids).flat();
  if (g.chance(0.5) && (ids[want]?.length ?? 0) > 0) return g.pick(ids[want]!);
  return g.pick<() => string>([
    () => g.pick(ids[want] ?? all) ?? randomId(g, want),
    () => g.pick(ids[want] ?? all) ?? randomId(g, want),
    () => g.pick(all) ?? "x",
    () => randomId(g, want),
    () => randomId(g, g.pick(["wh", "evt", "res", "dlv", "att", "in", "xx", "WH"])),
    () => `${randomId(g, want)}${g.pick(["", "x", "/", "%00", ".json", "%2F..%2F"])}`,
    () => g.pick(["", "%20", "%2F", "..", "%2e%2e", "%00", "null", "undefined", "__proto__", "constructor", "%E0%A4%A", "%F0%9F%92%A9", "%ff%fe", "wh_", "*", "%2A", ";", "%3B"]),
    () => pct(g.unicode(g.int(1, 20))),
    () => "a".repeat(g.int(200, 6000)),
  ])();
}

/** randomJson makes any JSON value; `depth` bounds recursion so it stays small unless asked for a bomb. */
function randomJson(g: Gen, depth = 2): unknown {
  const leaf = () =>
    g.pick<() => unknown>([
      () => null,
      () => g.chance(0.5),
      () => g.int(-1e6, 1e6),
      () => g.random() * 1e308 * (g.chance(0.5) ? 1 : -1),
      () => -0,
      () => g.unicode(g.int(0, 40)),
      () => "",
      () => "a.b",
      () => "x".repeat(g.int(100, 3000)),
      () => `http://127.0.0.1:${g.int(1, 65535)}/${g.unicode(3)}`,
      () => "2026-01-01T00:00:00Z",
    ])();
  if (depth <= 0) return leaf();
  return g.pick<() => unknown>([
    leaf,
    leaf,
    () => Array.from({ length: g.int(0, 4) }, () => randomJson(g, depth - 1)),
    () => Object.fromEntries(Array.from({ length: g.int(0, 4) }, () => [g.pick(["a", "type", "data", "url", "__proto__", "constructor", g.unicode(4)]), randomJson(g, depth - 1)])),
  ])();
}

/** NUMBERS are spelled as raw JSON text: JSON.stringify cannot write these. */
const RAW_NUMBERS = ["1e400", "-1e400", "123456789012345678901234567890", "0.1e-400", "-0", "1E+2", "9007199254740993", "1.0000000000000000000000001"];

function depthBomb(g: Gen): string {
  const n = g.pick([127, 128, 129, 1000, 20_000]);
  return g.chance(0.5) ? `${"[".repeat(n)}${"]".repeat(n)}` : `${'{"a":'.repeat(n)}1${"}".repeat(n)}`;
}

/** validBody is a body each route accepts; the fuzz then breaks it (or, now and then, does not). */
function validBody(g: Gen, method: string, path: string): Record<string, unknown> | undefined {
  const key = `${method} ${path}`;
  switch (key) {
    case "POST /v1/webhooks":
      return { url: `http://127.0.0.1:${trap.port}/${g.int(0, 99)}`, events: [g.pick(["fuzz.a", "fuzz.*", "*"])], description: "fuzz" };
    case "PATCH /v1/webhooks/{id}":
      return g.pick<Record<string, unknown>>([{ description: "patched" }, { events: ["fuzz.b"] }, { status: "disabled" }, { status: "active" }, { url: `http://127.0.0.1:${trap.port}/p` }]);
    case "POST /v1/webhooks/{id}/rotate-secret":
      return g.chance(0.5) ? {} : { secret: `whsec_${Buffer.from(g.bytes(32)).toString("base64")}` };
    case "POST /v1/webhooks/{id}/recover":
      return { since: "2026-01-01T00:00:00Z" };
    case "POST /v1/events":
      return { type: g.pick(["fuzz.a", "fuzz.seed", "other.thing"]), data: { n: g.int(0, 9) } };
    case "POST /v1/resources":
      return { name: "r", type: "thing", status: "active", metadata: { k: "v" } };
    case "PATCH /v1/resources/{id}":
      return g.pick<Record<string, unknown>>([{ name: "r2" }, { status: "retired" }, { metadata: { z: 1 } }]);
    default:
      return method === "POST" || method === "PATCH" ? {} : undefined;
  }
}

/** mutateBody returns the bytes to send: a broken (or occasionally intact) version of `base`. */
function mutateBody(g: Gen, base: Record<string, unknown> | undefined): string | Uint8Array | undefined {
  const obj: Record<string, unknown> = { ...(base ?? {}) };
  const keys = Object.keys(obj);
  const r = g.random();
  if (r < 0.08) return base === undefined ? undefined : JSON.stringify(obj); // intact: reaches the success paths and limits
  if (r < 0.18 && base !== undefined) return extremeButValid(g, obj);
  if (r < 0.3 && keys.length > 0) {
    obj[g.pick(keys)] = randomJson(g, 3);
    return JSON.stringify(obj);
  }
  if (r < 0.36 && keys.length > 0) {
    delete obj[g.pick(keys)];
    return JSON.stringify(obj);
  }
  if (r < 0.42) {
    const text = JSON.stringify(obj);
    const extra = `${JSON.stringify(g.pick(["__proto__", "constructor", "prototype", "descripton", "", g.unicode(6), "k".repeat(2000)]))}:${JSON.stringify(randomJson(g, 2))}`;
    return text === "{}" ? `{${extra}}` : `${text.slice(0, -1)},${extra}}`;
  }
  if (r < 0.48) return JSON.stringify(randomJson(g, 3));
  if (r < 0.56) {
    // a nesting bomb or a raw number where a field's value goes
    const value = g.chance(0.6) ? depthBomb(g) : g.pick(RAW_NUMBERS);
    const field = g.pick([...keys, "data", "metadata"]);
    const without = JSON.stringify(Object.fromEntries(Object.entries(obj).filter(([k]) => k !== field)));
    return without === "{}" ? `{${JSON.stringify(field)}:${value}}` : `${without.slice(0, -1)},${JSON.stringify(field)}:${value}}`;
  }
  if (r < 0.62) {
    const text = JSON.stringify(obj);
    return text.slice(0, g.int(0, Math.max(0, text.length - 1)));
  }
  if (r < 0.7) {
    // invalid UTF-8 / random bytes spliced into otherwise good JSON
    const text = Buffer.from(JSON.stringify(obj), "utf8");
    const at = g.int(0, text.length);
    const noise = g.chance(0.5) ? g.bytes(g.int(1, 8)) : Buffer.from(g.pick([[0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x00], [0xef, 0xbb, 0xbf]]));
    return new Uint8Array(Buffer.concat([text.subarray(0, at), noise, text.subarray(at)]));
  }
  if (r < 0.76) {
    const text = JSON.stringify(obj);
    return g.pick([
      `\ufeff${text}`,
      `${text} trailing`,
      `${text}${text}`,
      text.replace(/"/g, "'"),
      text.replace(/}$/, ",}"),
      `/* c */${text}`,
      text.replace(/:\s*[^,}]+/, ":NaN"),
      text.replace(/:\s*[^,}]+/, ":Infinity"),
      ` \n\t${text}\n `,
      "",
      "null",
      "[]",
      "0",
      '"string"',
      "\u0000",
    ]);
  }
  if (r < 0.82) {
    // duplicated keys, the bad value first or last (JSON.parse keeps the last; raw readers must agree)
    const text = JSON.stringify(obj);
    const k = keys.length > 0 ? g.pick(keys) : "data";
    const bad = `${JSON.stringify(k)}:${JSON.stringify(randomJson(g, 1))}`;
    if (text === "{}") return `{${bad},${bad}}`;
    return g.chance(0.5) ? `{${bad},${text.slice(1)}` : `${text.slice(0, -1)},${bad}}`;
  }
  if (r < 0.86) {
    // near and over max_body
    const size = g.pick([MAX_BODY - 200, MAX_BODY + 10, MAX_BODY * 3]);
    return JSON.stringify({ ...obj, description: "d".repeat(size), name: "n".repeat(size) });
  }
  if (r < 0.9) {
    const wide = Object.fromEntries(Array.from({ length: g.int(1000, 4000) }, (_, i) => [`k${i}`, i]));
    return JSON.stringify({ ...obj, metadata: wide, data: wide });
  }
  if (r < 0.95) {
    // unicode everywhere, lone surrogates escaped the way JSON.stringify writes them
    const u = () => g.unicode(g.int(1, 64));
    return JSON.stringify(Object.fromEntries(keys.map((k) => [k, typeof obj[k] === "string" ? u() : obj[k]]).concat([[u(), u()]])));
  }
  return new Uint8Array(g.bytes(g.int(0, 2048)));
}

/** RAW_SLOT marks where raw JSON text (big numbers, deep nesting) is spliced into a stringified body. */
const RAW_SLOT = "\u0000raw\u0000";

/** extremeRawObject is a JSON object as text that JSON.stringify could not write, or would take ages to: wide, deep (below the 128 limit), big numbers, odd keys. */
function extremeRawObject(g: Gen): string {
  return g.pick<() => string>([
    () => JSON.stringify(Object.fromEntries(Array.from({ length: g.int(500, 2500) }, (_, i) => [`k${i}`, i]))),
    () => {
      const d = g.int(60, 125);
      return `${'{"a":'.repeat(d)}1${"}".repeat(d)}`;
    },
    () => `{"big":${g.pick(RAW_NUMBERS)},"list":[${RAW_NUMBERS.join(",")}],"neg":-0}`,
    () => `{${JSON.stringify(g.unicode(8))}:${JSON.stringify(g.unicode(g.int(1, 200)))},"esc":"\\ud800\\udfff\\u0000\\n"}`,
    () => `{"__proto__":{"polluted":1},"constructor":{"prototype":{"x":1}},"prototype":2,"toString":"s"}`,
    () => `{"dup":1,"dup":2,"dup":{"k":[]}}`,
  ])();
}

/** extremeButValid keeps the body's shape valid but fills it with the extremes a real client might send. */
function extremeButValid(g: Gen, obj: Record<string, unknown>): string {
  const out: Record<string, unknown> = { ...obj };
  for (const key of Object.keys(out)) {
    if (key === "metadata" || key === "data") out[key] = RAW_SLOT;
    else if ((key === "name" || key === "description") && g.chance(0.7)) out[key] = g.unicode(g.int(1, 120));
  }
  const text = JSON.stringify(out);
  return text.includes(JSON.stringify(RAW_SLOT)) ? text.replace(JSON.stringify(RAW_SLOT), extremeRawObject(g)) : text;
}

function fuzzQuery(g: Gen): string {
  if (g.chance(0.4)) return "";
  const params: [string, string][] = [];
  const values: Record<string, () => string> = {
    limit: () => g.pick(["", "0", "1", "50", "500", "501", "-1", "1e2", "0x10", "abc", "%00", "99999999999999999999", " 5", "5 ", "1.5"]),
    cursor: () =>
      g.pick([
        "",
        Buffer.from(g.pick(Object.values(ids).flat()) ?? "x").toString("base64url"),
        Buffer.from(randomId(g, g.pick(["wh", "evt", "res", "dlv", "in"]))).toString("base64url"),
        Buffer.from(g.bytes(g.int(1, 40))).toString("base64url"),
        "%%%",
        "a".repeat(g.int(100, 4000)),
      ]),
    type: () => g.pick(["*", "fuzz.*", "fuzz.a", "a..b", "a.b.*", ".*", "*.*", "", "x".repeat(300), "fuzz.a,fuzz.b", "%0d%0a"]),
    since: () => g.pick(["2026-01-01T00:00:00Z", "2026-02-30T00:00:00Z", "yesterday", "0", "", "2026-01-01T00:00:00", "+275760-09-13T00:00:00Z", "9999-12-31T23:59:59.999999999Z"]),
    status: () => g.pick(["pending", "failed", "delivered", "expired", "accepted", "rejected", "duplicate", "", "PENDING", "x"]),
    source: () => g.pick(["erp", "", "%00", "a".repeat(500)]),
  };
  for (let i = g.int(1, 4); i > 0; i--) {
    const name = g.pick([...Object.keys(values), "__proto__", "constructor", "limit", "type[]", "x"]);
    const value = (Object.hasOwn(values, name) ? values[name]! : () => g.unicode(4))();
    params.push([name, value]);
  }
  return `?${params.map(([k, v]) => `${pct(k)}=${/%/.test(v) ? v : pct(v)}`).join("&")}`;
}

interface Case {
  method: string;
  path: string;
  body?: string | Uint8Array;
  headers: Record<string, string>;
  sentRequestId?: string;
}

function makeCase(g: Gen): Case {
  const route = g.pick(routes);
  const method = g.chance(0.85) ? route.method : g.pick(ODD_METHODS);
  const want = route.path.includes("/webhooks/") ? "wh" : route.path.includes("/events/") ? "evt" : route.path.includes("/resources/") ? "res" : route.path.includes("/deliveries/") ? "dlv" : "in";
  let path = route.path.replace("{id}", () => fuzzId(g, want));
  if (g.chance(0.05)) path += g.pick(["/", "//", "/extra", "/..", "/%2e%2e/webhooks", ";x", "%20"]);
  if (method === "GET" || g.chance(0.1)) path += fuzzQuery(g);
  const bodyless = method === "GET" || method === "HEAD";
  const body = bodyless ? undefined : mutateBody(g, validBody(g, route.method, route.path));
  const headers: Record<string, string> = { authorization: `Bearer ${server.key}` };
  if (g.chance(0.5)) {
    headers["content-type"] = g.pick([
      "application/json",
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=zzz",
      "application/json; charset=utf-16",
      "application/xml",
      "*/*",
      "garbage",
      "",
    ]);
  }
  let sentRequestId: string | undefined;
  if (g.chance(0.3)) {
    sentRequestId = g.pick([`fuzz-${g.int(0, 1e9)}`, "a".repeat(128), "a".repeat(129), "has space", "semi;colon", "ok.id:1-2_3", "ümlaut", ""]);
    headers["x-request-id"] = sentRequestId;
  }
  if (method === "POST" && g.chance(0.15)) {
    headers["idempotency-key"] = g.pick([`k-${g.int(0, 30)}`, "k".repeat(256), "with space", "ü", "", `k-${g.int(0, 1e9)}`]);
  }
  if (g.chance(0.1)) headers.accept = g.pick(["text/html", "application/xml", "*/*;q=0", ""]);
  if (g.chance(0.05)) headers["x-padding"] = "p".repeat(g.int(1000, 8000)); // the head stays under Bun's 16 KiB limit; http-fuzz goes past it
  return { method, path, body, headers, sentRequestId };
}

// ---------------------------------------------------------------------------------------------

describe("admin API fuzz (valid key)", () => {
  test(`${COUNT} fuzzed requests: no 5xx, envelopes and X-Request-ID everywhere, rejected input stores nothing`, async () => {
    console.log(`admin fuzz: seed ${SEED} (replay with FUZZ_SEED=${SEED}), ${COUNT} requests over ${routes.length} routes`);
    expect(routes.length).toBeGreaterThan(15);
    const g = new Gen(rng(SEED));
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    let before = fingerprint();
    await timed("admin fuzz", async () => {
      for (let i = 0; i < COUNT && failures.length < 20; i++) {
        const c = makeCase(g);
        const where = `seed ${SEED} case ${i}: ${c.method} ${c.path.slice(0, 120)}`;
        let response: Response;
        try {
          response = await fetch(`${server.url}${c.path}`, { method: c.method, headers: c.headers, body: c.body as BodyInit | undefined });
        } catch (error) {
          // the client refused to send it (e.g. a method fetch will not use): not hookd's answer
          if (i < 3) console.log(`client refused ${where}: ${(error as Error).message}`);
          continue;
        }
        const text = await response.text();
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        const rid = response.headers.get("x-request-id");
        const problems: string[] = [];
        if (response.status >= 500) problems.push("5xx");
        if (response.status >= 300 && response.status < 400) problems.push("3xx");
        if (!rid) problems.push("no X-Request-ID");
        else if (c.sentRequestId !== undefined && /^[A-Za-z0-9._:-]{1,128}$/.test(c.sentRequestId) && rid !== c.sentRequestId) problems.push("caller's X-Request-ID not echoed");
        else if (c.sentRequestId !== undefined && !/^[A-Za-z0-9._:-]{1,128}$/.test(c.sentRequestId) && rid === c.sentRequestId) problems.push("unsafe X-Request-ID echoed");
        let parsed: any = null;
        if (text !== "") {
          try {
            parsed = JSON.parse(text);
          } catch {
            problems.push("body is not JSON");
          }
        }
        if (response.status >= 400) {
          const e = parsed?.error;
          if (c.method === "HEAD") {
            if (text !== "") problems.push("HEAD answer has a body");
          } else if (typeof e?.code !== "string" || typeof e?.message !== "string" || !Array.isArray(e?.details)) problems.push("no error envelope");
          else if (e.request_id !== rid) problems.push("envelope request_id differs from X-Request-ID");
          const after = fingerprint();
          if (JSON.stringify(after) !== JSON.stringify(before)) {
            problems.push(`rejected request changed stored rows: ${JSON.stringify(before.counts)} → ${JSON.stringify(after.counts)}`);
            before = after;
          }
        } else if (response.status < 300) {
          if (response.status !== 204 && c.method !== "HEAD" && (parsed === null || !("data" in parsed))) problems.push("2xx without data");
          // SPEC §5: a published event's data is stored and delivered exactly as sent (big numbers, escapes, key order).
          if (c.method === "POST" && /^\/v1\/events\/?$/.test(c.path) && response.status === 202 && typeof c.body === "string" && !c.headers["idempotency-key"]) {
            const sent = topLevelMember(c.body.replace(/^\ufeff/, ""), "data");
            const stored = await server.api("GET", `/v1/events/${parsed.data.id}`);
            if (sent !== undefined && !stored.text.includes(`"data":${sent}`)) problems.push("published data not stored byte for byte");
          }
          before = fingerprint(); // accepted input may store things: new baseline
          // What the fuzz creates joins the id pools, so later cases reach deeper into the routes that take ids.
          const id = parsed?.data?.id ?? parsed?.data?.event_id;
          const prefix = typeof id === "string" ? /^(wh|evt|res|dlv|in)_/.exec(id)?.[1] : undefined;
          if (prefix && !ids[prefix]!.includes(id)) ids[prefix]!.push(id);
          if (typeof parsed?.data?.delivery_id === "string" && !ids.dlv!.includes(parsed.data.delivery_id)) ids.dlv!.push(parsed.data.delivery_id);
        }
        if (problems.length > 0) failures.push(`${where} → ${response.status} [${problems.join("; ")}] ${text.slice(0, 200)}`);
      }
    });
    console.log("admin fuzz statuses:", Object.fromEntries([...statuses].sort(([a], [b]) => a - b)), `trap saw ${trap.connections.length} connections`);
    expect(failures).toEqual([]);

    // The process is up, and what the fuzz did store still lists and renders.
    expect((await call(`${server.url}/healthz`, "GET")).status).toBe(200);
    expect((await call(`${server.url}/readyz`, "GET")).status).toBe(200);
    for (const path of ["/v1/webhooks?limit=500", "/v1/events?limit=500", "/v1/resources?limit=500", "/v1/event-types", "/v1/inbound?limit=500"]) {
      const answer = await server.api("GET", path);
      expect({ path, status: answer.status }).toEqual({ path, status: 200 });
      expect(Array.isArray(answer.body.data)).toBe(true);
    }
    const live = (await server.api("GET", "/v1/webhooks?limit=500")).body.data.length;
    expect(live).toBeLessThanOrEqual(8); // max_endpoints held under fuzzing
  }, 90_000);
});
