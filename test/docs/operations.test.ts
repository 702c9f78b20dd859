import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { codeToStatus } from "../../src/http/errors";
import { CLI, runCli, tempConfig, waitFor } from "../support/process";
import { type Receiver, startReceiver } from "../support/receiver";
import { call, startTestServer, type TestServer } from "../support/test-server";
import { configEnv, DOCS_DIR, docSnippets, fillPlaceholders, runSnippet, type Snippet, where } from "./snippets";

// docs/operations.md is tested three ways: its Prometheus rules pass promtool and use only series a real hookd
// exposes, its troubleshooting table covers exactly the error codes the source can produce, and its
// `toml test config` / `sh test ops` blocks run (against a real hookd, with `hookd` on PATH).

const DOC = "operations.md";
const SRC = join(import.meta.dir, "../../src");
const snippets = docSnippets(DOC);
const byRole = (role: string) => snippets.filter((s) => s.runnable && s.role === role);
// The `ops by=<name>` blocks test/docs/operations-<name>.test.ts runs (alerts: the chat example; replay: the outage workflow).
const OPS_RUN_ELSEWHERE = ["alerts", "replay"];

// ---------------------------------------------------------------------------------------------------------
// A real hookd with some traffic behind it, so every counter label the rules use has a series.

const SOURCE = "psft-payroll";
const SOURCE_SECRET = "ops-guide-secret-0123456789abcdef";
let server: TestServer;
let receiver: Receiver;
let work: string;
let binDir: string;
let series: Map<string, Map<string, Set<string>>>; // exposed metric name → label → values seen

const shq = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

interface Family {
  name: string;
  type: string;
  metrics: { labels?: Record<string, string> }[];
}

async function scrape(): Promise<Map<string, Map<string, Set<string>>>> {
  const answer = await fetch(`${server.url}/metrics`);
  expect(answer.status).toBe(200);
  const families = parsePrometheusTextFormat(await answer.text()) as Family[];
  const out = new Map<string, Map<string, Set<string>>>();
  for (const f of families) {
    const labels = new Map<string, Set<string>>();
    for (const m of f.metrics) {
      for (const [k, v] of Object.entries(m.labels ?? {})) {
        if (!labels.has(k)) labels.set(k, new Set());
        labels.get(k)!.add(v);
      }
    }
    const suffixes = f.type === "HISTOGRAM" ? ["", "_bucket", "_sum", "_count"] : f.type === "SUMMARY" ? ["", "_sum", "_count"] : [""];
    for (const s of suffixes) out.set(f.name + s, labels);
  }
  return out;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "hookd-ops-doc-"));
  binDir = join(work, "bin");
  mkdirSync(binDir);
  // `hookd` on PATH, as install.sh leaves it: the source through bun, or $HOOKD_BIN.
  writeFileSync(join(binDir, "hookd"), `#!/bin/sh\nexec ${CLI.map(shq).join(" ")} "$@"\n`);
  chmodSync(join(binDir, "hookd"), 0o755);

  receiver = startReceiver((r) => {
    const path = new URL(r.url).pathname;
    if (path === "/fail") return new Response("down for maintenance", { status: 500 });
    if (path === "/gone") return new Response("gone", { status: 410 });
    return new Response("ok");
  });
  server = await startTestServer(
    {
      delivery: 'require_https = false\nallow_targets = ["127.0.0.0/8"]\nretry_schedule = ["1h"]',
      "[[sources]]": `id = "${SOURCE}"\nauth = "hmac"\nsecret = "${SOURCE_SECRET}"`,
    },
    { busyTimeoutMs: 300 },
  );
  for (const path of ["/ok", "/fail", "/gone"]) {
    expect((await server.api("POST", "/v1/webhooks", { url: `${receiver.url}${path}`, events: ["*"] })).status).toBe(201);
  }
  const inbound = (n: number, signature?: string, source = SOURCE) => {
    const body = JSON.stringify({ connector_id: SOURCE, event_type: "payroll.batch_closed", timestamp: "2026-06-01T02:00:00Z", metadata: { n } });
    const sig = signature ?? createHmac("sha256", SOURCE_SECRET).update(body).digest("hex");
    return call(`${server.url}/in/${source}`, "POST", body, { "x-hookd-signature": `sha256=${sig}`, "webhook-id": `batch-${n}` });
  };
  expect((await inbound(1)).status).toBe(200);
  expect((await inbound(1)).status).toBe(200); // duplicate
  expect((await inbound(2, "00".repeat(32))).status).toBe(401);
  expect((await inbound(3, undefined, "no-such-source")).status).toBe(404);
  // ok → delivered, fail → failed (retry in 1h), gone → expired (410 disables the endpoint)
  await waitFor(async () => {
    const c = await server.app.storage.deliveries.countByStatus();
    return c.delivered === 1 && c.failed === 1 && c.expired === 1 && server.app.scheduler.idle;
  }, 5000, "one delivered, one failed, one expired");
  // Another process holding the write lock longer than the busy timeout: inbound answers 503.
  const blocker = new Database(join(server.dir, "hookd.db"));
  blocker.run("BEGIN IMMEDIATE");
  try {
    expect((await inbound(4)).status).toBe(503);
  } finally {
    blocker.run("ROLLBACK");
    blocker.close();
  }
  series = await scrape();
});

afterAll(async () => {
  await server?.stop();
  await receiver?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

test("the guide has the runnable blocks this test exists for", () => {
  expect(byRole("prometheus-rules").length).toBeGreaterThanOrEqual(1);
  expect(byRole("ops").length).toBeGreaterThanOrEqual(1);
  expect(byRole("config").length).toBeGreaterThanOrEqual(1);
  const unknown = snippets.filter((s) => s.runnable && !["prometheus-rules", "ops", "config"].includes(s.role)).map(where);
  // `ops by=<name>` blocks need a hookd of their own and are run by test/docs/operations-<name>.test.ts.
  const elsewhere = byRole("ops").filter((s) => s.attrs.by !== undefined && !OPS_RUN_ELSEWHERE.includes(s.attrs.by)).map(where);
  expect(elsewhere).toEqual([]);
  for (const name of OPS_RUN_ELSEWHERE) expect(byRole("ops").some((s) => s.attrs.by === name), `an ops block with by=${name}`).toBe(true);
  expect(unknown).toEqual([]);
});

// ---------------------------------------------------------------------------------------------------------
// Prometheus rules

interface Matcher {
  label: string;
  op: string;
  value: string;
}
interface Selector {
  name: string;
  matchers: Matcher[];
}

const CLAUSES = new Set(["by", "without", "on", "ignoring", "group_left", "group_right"]);
const KEYWORDS = new Set(["and", "or", "unless", "bool", "offset", "inf", "nan", "atan2"]);
// Aggregations may put `by (…)` between their name and their "(".
const AGGREGATIONS = new Set(["sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio"]);

/** selectorsOf finds the series selectors of a PromQL expression: metric names with their label matchers. */
function selectorsOf(expr: string): Selector[] {
  const src = expr.replace(/#.*$/gm, "");
  const out: Selector[] = [];
  let i = 0;
  const skipSpace = (j: number) => {
    while (j < src.length && /\s/.test(src[j]!)) j++;
    return j;
  };
  while (i < src.length) {
    const c = src[i]!;
    if (c === '"' || c === "'" || c === "`") {
      let j = i + 1;
      while (j < src.length && src[j] !== c) j += src[j] === "\\" ? 2 : 1;
      i = j + 1;
    } else if (c === "[") {
      i = src.indexOf("]", i) + 1; // a range or subquery: durations only
      if (i === 0) throw new Error(`unclosed [ in ${expr}`);
    } else if (/[0-9.]/.test(c)) {
      i += /^(0x[0-9a-f]+|[0-9.]+(e[+-]?[0-9]+)?(ms|[smhdwy])*)/i.exec(src.slice(i))![0].length || 1;
    } else if (/[A-Za-z_:]/.test(c)) {
      const word = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(src.slice(i))![0];
      i += word.length;
      const next = skipSpace(i);
      const lower = word.toLowerCase();
      if (CLAUSES.has(lower)) {
        if (src[next] === "(") i = src.indexOf(")", next) + 1; // a label list, not series
      } else if (KEYWORDS.has(lower) || AGGREGATIONS.has(lower) || src[next] === "(") {
        // an operator keyword, or a function / aggregation name
      } else {
        const selector: Selector = { name: word, matchers: [] };
        if (src[next] === "{") {
          const end = src.indexOf("}", next);
          const body = src.slice(next + 1, end);
          for (const m of body.matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)) {
            selector.matchers.push({ label: m[1]!, op: m[2]!, value: m[3]! });
          }
          i = end + 1;
        }
        out.push(selector);
      }
    } else if (c === "{") {
      throw new Error(`a selector without a metric name is not supported here: ${expr}`);
    } else {
      i++;
    }
  }
  return out;
}

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
}

const PROMTOOL = Bun.which("promtool") ?? (existsSync("/usr/bin/promtool") ? "/usr/bin/promtool" : null);

describe("prometheus-rules blocks", () => {
  test.each(byRole("prometheus-rules").map((s) => [where(s), s] as const))("%s passes promtool check rules", (_name, s: Snippet) => {
    if (PROMTOOL === null) {
      console.warn(`promtool not found: skipped \`promtool check rules\` for ${where(s)} (Debian package: prometheus)`);
      return;
    }
    const file = join(work, `rules-${s.line}.yml`);
    writeFileSync(file, s.code);
    const run = Bun.spawnSync([PROMTOOL, "check", "rules", file], { stdout: "pipe", stderr: "pipe" });
    const output = `${run.stdout.toString()}${run.stderr.toString()}`;
    if (run.exitCode !== 0) throw new Error(`promtool check rules failed for ${where(s)}:\n${output}`);
    expect(output).toContain("SUCCESS");
  });

  test.each(byRole("prometheus-rules").map((s) => [where(s), s] as const))(
    "%s uses only metrics and label values a real hookd exposes",
    (_name, s: Snippet) => {
      const doc = Bun.YAML.parse(s.code) as { groups: { name: string; rules: Rule[] }[] };
      const problems: string[] = [];
      let hookdSelectors = 0;
      for (const group of doc.groups) {
        for (const rule of group.rules) {
          const name = rule.alert ?? rule.record ?? "?";
          const selectors = selectorsOf(String(rule.expr));
          if (selectors.length === 0) problems.push(`${name}: no series selector found in ${JSON.stringify(rule.expr)}`);
          for (const sel of selectors) {
            if (sel.name === "up") continue; // Prometheus' own, per scrape target
            hookdSelectors++;
            const labels = series.get(sel.name);
            if (!labels) {
              problems.push(`${name}: ${sel.name} is not exposed by /metrics`);
              continue;
            }
            for (const m of sel.matchers) {
              const seen = labels.get(m.label);
              if (!seen) {
                problems.push(`${name}: ${sel.name} has no label ${m.label} (has: ${[...labels.keys()].join(", ") || "none"})`);
                continue;
              }
              const literal = m.op === "=" || m.op === "!=" ? [m.value] : /^[A-Za-z0-9_]+(\|[A-Za-z0-9_]+)*$/.test(m.value) ? m.value.split("|") : [];
              for (const v of literal) {
                if (!seen.has(v)) problems.push(`${name}: ${sel.name}{${m.label}${m.op}"${m.value}"}: no series has ${m.label}="${v}" (seen: ${[...seen].sort().join(", ")})`);
              }
            }
          }
        }
      }
      expect(problems).toEqual([]);
      expect(hookdSelectors).toBeGreaterThan(0);
    },
  );

  test("the selector parser reads names, matchers and skips functions, clauses and ranges", () => {
    expect(
      selectorsOf('sum by (instance, outcome) (rate(hookd_x_total{outcome=~"a|b", source!="c"}[5m])) / on(instance) group_left sum(hookd_y) > 0.25 and up == 0'),
    ).toEqual([
      { name: "hookd_x_total", matchers: [{ label: "outcome", op: "=~", value: "a|b" }, { label: "source", op: "!=", value: "c" }] },
      { name: "hookd_y", matchers: [] },
      { name: "up", matchers: [] },
    ]);
  });
});

// ---------------------------------------------------------------------------------------------------------
// The troubleshooting table

/** splitRow splits a markdown table row on | outside code spans. */
function splitRow(line: string): string[] {
  const cells: string[] = [];
  let cell = "";
  let inCode = false;
  for (const ch of line.trim().replace(/^\|/, "").replace(/\|$/, "")) {
    if (ch === "`") inCode = !inCode;
    if (ch === "|" && !inCode) {
      cells.push(cell.trim());
      cell = "";
    } else cell += ch;
  }
  cells.push(cell.trim());
  return cells;
}

interface CodeRow {
  line: number;
  codes: string[];
  status: string;
}

function troubleshootingTable(): CodeRow[] {
  const lines = readFileSync(join(DOCS_DIR, DOC), "utf8").split("\n");
  const start = lines.findIndex((l) => /^## Troubleshooting\s*$/.test(l));
  if (start < 0) throw new Error(`docs/${DOC} has no "## Troubleshooting" section`);
  let end = lines.findIndex((l, i) => i > start && /^## /.test(l));
  if (end < 0) end = lines.length;
  const tables: { at: number; rows: string[][] }[] = [];
  for (let i = start; i < end; i++) {
    if (!lines[i]!.startsWith("|")) continue;
    const at = i;
    const rows: string[][] = [];
    while (i < end && lines[i]!.startsWith("|")) rows.push(splitRow(lines[i++]!));
    tables.push({ at, rows });
  }
  const withCode = tables.filter((t) => t.rows[0]!.includes("code"));
  if (withCode.length !== 1) throw new Error(`expected one table with a "code" column under ## Troubleshooting, found ${withCode.length}`);
  const [{ at, rows }] = withCode as [(typeof withCode)[0]];
  const codeCol = rows[0]!.indexOf("code");
  const statusCol = rows[0]!.indexOf("status");
  return rows.slice(2).map((cells, k) => ({
    line: at + 3 + k,
    codes: [...(cells[codeCol] ?? "").matchAll(/`([^`]+)`/g)].map((m) => m[1]!),
    status: statusCol < 0 ? "" : (cells[statusCol] ?? ""),
  }));
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts"))
    .map((e) => join(e.parentPath, e.name))
    .filter((p) => !p.includes(`${join(SRC, "ui")}/`));
}

/** What the source says the codes are: API codes, `details[].code` values, and delivery `last_error` values. */
function sourceCodes() {
  const text = (p: string) => readFileSync(join(SRC, p), "utf8");
  const details = new Set<string>();
  for (const file of sourceFiles(SRC)) {
    const src = readFileSync(file, "utf8");
    for (const m of src.matchAll(/code: "([a-z_]+)"/g)) details.add(m[1]!);
    for (const m of src.matchAll(/problem\(\s*"([a-z_]+)"/g)) details.add(m[1]!);
  }
  for (const code of Object.keys(codeToStatus)) details.delete(code); // AuthResult repeats two API codes
  details.add("invalid_json"); // both an API code and a details code

  // The sender's words live in sender.ts and route.ts (connecting to a checked address, shared with OAuth2 token requests).
  const sender = text("delivery/sender.ts") + text("delivery/route.ts");
  // The profiles' failures (oauth2:, client_tls:) are listed too, checked only for staleness: their files hold protocol words.
  const profiles = ["oauth2", "token-request", "client-tls"].map((f) => text(`delivery/${f}.ts`)).join("\n");
  const dispatcher = text("delivery/dispatcher.ts");
  const stores = text("storage/sqlite/deliveries.ts") + text("storage/sqlite/webhooks.ts") + text("delivery/outcome.ts");
  // snake_case delivery errors: the sender's constants, and what the stores write into last_error.
  const deliveryCodes = new Set<string>([...sender.matchAll(/"([a-z]+(?:_[a-z]+)+)"/g)].map((m) => m[1]!));
  for (const line of stores.split("\n").filter((l) => /error/i.test(l))) {
    for (const m of line.matchAll(/["']([a-z]+(?:_[a-z]+)+)["']/g)) deliveryCodes.add(m[1]!);
  }
  // worded delivery errors: the literal start of each error string the sender and dispatcher make.
  const stems = new Set<string>();
  for (const m of sender.matchAll(/(?:error: |return |timeoutError = )["`]([^"`$]*)/g)) stems.add(stemOf(m[1]!));
  for (const m of sender.matchAll(/^\s+[A-Z]+: "([^"]+)",$/gm)) stems.add(m[1]!); // FAILURE_WORDS
  for (const m of dispatcher.matchAll(/error: [^,\n]*?"([^"\n]+)"/g)) stems.add(m[1]!); // "HTTP 410 Gone: …"
  stems.delete("");
  // A dispatcher error that is a bare snake_case word (transform_timeout) is a code, listed as one.
  for (const stem of [...stems]) {
    if (/^[a-z]+(?:_[a-z]+)+$/.test(stem)) {
      stems.delete(stem);
      deliveryCodes.add(stem);
    }
  }
  return { details, deliveryCodes, stems, wordedSource: sender + dispatcher + profiles };
}

/** stemOf is the literal start of a worded error, before its first variable part. */
function stemOf(text: string): string {
  return text.split("<")[0]!.replace(/[\s(:]+$/, "").trim();
}

describe("the troubleshooting table", () => {
  const rows = troubleshootingTable();
  const listed = rows.flatMap((r) => r.codes);
  const isSnake = (c: string) => /^[a-z]+(_[a-z]+)*$/.test(c);
  const { details, deliveryCodes, stems, wordedSource } = sourceCodes();

  test("has a row for every code of codeToStatus, with its HTTP status", () => {
    const missing = Object.keys(codeToStatus).filter((c) => !listed.includes(c));
    const wrongStatus = Object.entries(codeToStatus)
      .filter(([c]) => listed.includes(c))
      .filter(([c, status]) => !rows.some((r) => r.codes.includes(c) && r.status.includes(String(status))))
      .map(([c, status]) => `${c}: expected ${status}`);
    expect({ missing, wrongStatus }).toEqual({ missing: [], wrongStatus: [] });
  });

  test("has a row for every details[].code and every delivery error the source produces", () => {
    const missingDetails = [...details].filter((c) => !listed.includes(c)).sort();
    const missingDelivery = [...deliveryCodes].filter((c) => !listed.includes(c)).sort();
    const worded = listed.filter((c) => !isSnake(c));
    const missingWorded = [...stems].filter((stem) => !worded.some((w) => w.startsWith(stem))).sort();
    expect({ missingDetails, missingDelivery, missingWorded }).toEqual({ missingDetails: [], missingDelivery: [], missingWorded: [] });
  });

  test("lists no code the source does not produce", () => {
    const known = new Set([...Object.keys(codeToStatus), ...details, ...deliveryCodes]);
    const stale = rows.flatMap((r) =>
      r.codes
        .filter((c) => (isSnake(c) ? !known.has(c) : !wordedSource.includes(stemOf(c))))
        .map((c) => `line ${r.line}: \`${c}\``),
    );
    expect(stale).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------
// config blocks: each loads with `hookd check-config`

describe("config blocks", () => {
  test.each(byRole("config").map((s) => [where(s), s] as const))("%s passes hookd check-config", async (_name, s: Snippet) => {
    const env = configEnv(s.code);
    const { dir, path } = tempConfig(s.code);
    try {
      const run = await runCli(["check-config", "--config", path], { env });
      if (run.code !== 0) throw new Error(`${where(s)}: hookd check-config exited ${run.code}\n${run.stderr}${run.stdout}`);
      expect(run.stdout).toContain(": valid");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
// ops blocks: an operator's shell commands against the real hookd above

describe("ops blocks", () => {
  test.each(byRole("ops").filter((s) => s.attrs.by === undefined).map((s) => [where(s), s] as const))("%s runs", async (_name, s: Snippet) => {
    const cwd = mkdtempSync(join(work, "ops-"));
    const placeholders = Object.fromEntries(
      Object.entries({ "https://hookd.example.com": server.url, YOUR_API_KEY: server.key, "psft-payroll": SOURCE }).filter(([p]) => s.code.includes(p)),
    );
    const env: Record<string, string> = { PATH: `${binDir}:${process.env.PATH}` };
    const backups = join(cwd, "backups");
    if (s.attrs.script === "backup") {
      // The backup script's overrides: a config naming the running server's database, no env file.
      const config = join(cwd, "hookd.toml");
      writeFileSync(config, `[storage]\npath = ${JSON.stringify(join(server.dir, "hookd.db"))}\n`);
      Object.assign(env, { HOOKD_CONFIG: config, HOOKD_ENV_FILE: join(cwd, "no-such.env"), HOOKD_BACKUP_DIR: backups });
    }
    const code = `cd ${shq(cwd)}\n${fillPlaceholders(s, placeholders)}`;
    const run = await runSnippet(s, code, env);
    if (run.code !== 0) throw new Error(`${where(s)} exited ${run.code}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`);
    if (s.attrs.expect) expect(run.stdout).toContain(s.attrs.expect);
    if (s.attrs.script === "backup") {
      const copies = readdirSync(backups).filter((f) => /^hookd-\d{8}-\d{6}\.db$/.test(f));
      expect(copies.length).toBe(1);
      const db = new Database(join(backups, copies[0]!), { readonly: true });
      try {
        expect(db.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM events").get()!.n).toBeGreaterThan(0);
      } finally {
        db.close();
      }
    }
  });
});
