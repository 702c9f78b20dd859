/**
 * peer puts hookd beside adnanh/webhook (Debian package `webhook`), the tool many on-prem teams use to
 * receive signed webhooks (issue 7). Both receive the same ~1 KB HMAC-SHA256-signed erp-events from
 * 64 concurrent senders on 127.0.0.1, in the same run, in alternating fixed-length phases:
 *   - hookd: one `[[sources]]` with auth = "hmac", allow_ips = ["127.0.0.0/8"], schema erp-event; no
 *     webhook endpoints, so the 200 means verified, validated and committed (WAL, synchronous = FULL);
 *   - webhook: a hook whose trigger rule is ip-whitelist 127.0.0.0/8 AND payload-hmac-sha256 on
 *     X-Hookd-Signature (webhook strips the `sha256=` prefix itself), answering `response-message` and
 *     running no command: verify and answer is the least work webhook can do, so the ratio is taken
 *     against webhook's best case and cannot flatter hookd;
 *   - webhook + /bin/true: the same rule with `execute-command` /bin/true and
 *     `include-command-output-in-response`, so the 200 waits for the command as an operator's
 *     "act, then acknowledge" hook would (context only; not in the ratio).
 * Before measuring, each side is checked to really verify: a good signature is accepted, a bad or
 * missing one is not, and a second source/hook allowing only 10.0.0.0/8 refuses 127.0.0.1.
 * hookd, webhook and this client are separate processes; the client is the same for every phase.
 * Run: npm run bench:peer   (or: bun bench/peer.ts [seconds_per_phase=5] [rounds=3] [warmup_seconds=2])
 * Needs `webhook` on PATH (Debian/Ubuntu: apt-get install webhook); without it, says so and exits 0.
 */
import type { Subprocess } from "bun";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closedLoop, emptyTally, erpEventSource, fmt, type LoadTally, freePort, load, machine, percentile, startHookd, waitUntil, type Hookd } from "./support.ts";

const SECONDS = Number(process.argv[2] ?? 5);
const ROUNDS = Number(process.argv[3] ?? 3);
const WARMUP_SECONDS = Number(process.argv[4] ?? 2);
const SENDERS = 64;
const BODY_BYTES = 1024;
const REQUEST_TIMEOUT_MS = 10_000;
const SOURCE = "bench-erp";
const FAR_SOURCE = "bench-far"; // allows only 10.0.0.0/8: proves the IP rule is enforced on both sides
const SECRET = `bench-secret-${crypto.randomUUID()}`;
const CLK_TCK = 100; // Linux USER_HZ: the unit of the CPU times in /proc/<pid>/stat

const webhookBin = Bun.which("webhook");
if (webhookBin === null) {
  console.log("bench:peer  SKIPPED: the `webhook` command (adnanh/webhook) is not installed.");
  console.log("  Install it with:  sudo apt-get install webhook     (Debian/Ubuntu; .ci/run does this)");
  console.log("  The package's systemd unit only starts when /etc/webhook.conf exists; this bench runs its own copy on 127.0.0.1.");
  console.log("RESULT peer_ratio=skipped hookd_rps=skipped webhook_rps=skipped (webhook not installed)");
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), "hookd-bench-peer-"));
const webhookVersion = Bun.spawnSync([webhookBin, "-version"]).stdout.toString().trim();
console.log(`bench:peer  ${machine()}  ${load()}  data dir ${dir}`);
console.log(`hookd vs ${webhookVersion} (${webhookBin}); ${SENDERS} concurrent senders, ~${BODY_BYTES} B signed erp-events;`);
console.log(`${ROUNDS} rounds × ${SECONDS}s per target, order alternating each round, after ${WARMUP_SECONDS}s warm-up per target`);

// ---- the requests: the same generator for every target ----

const events = erpEventSource(SOURCE, SECRET, BODY_BYTES);
const nextRequest = events.nextRequest;
const sign = events.sign;

// ---- webhook as a child process ----

const rule = (ipRange: string) => ({
  and: [
    { match: { type: "ip-whitelist", "ip-range": ipRange } },
    { match: { type: "payload-hmac-sha256", secret: SECRET, parameter: { source: "header", name: "X-Hookd-Signature" } } },
  ],
});
const HOOKS = [
  // Without this code a failed rule answers 200 "Hook rules were not satisfied."; a bad signature answers 500 either way.
  { id: "erp", "http-methods": ["POST"], "response-message": "received", "trigger-rule-mismatch-http-response-code": 403, "trigger-rule": rule("127.0.0.0/8") },
  {
    id: "erp-cmd",
    "http-methods": ["POST"],
    "execute-command": "/bin/true",
    "include-command-output-in-response": true,
    "trigger-rule-mismatch-http-response-code": 403,
    "trigger-rule": rule("127.0.0.0/8"),
  },
  { id: "erp-far", "http-methods": ["POST"], "response-message": "received", "trigger-rule-mismatch-http-response-code": 403, "trigger-rule": rule("10.0.0.0/8") },
];

interface Webhook {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<number | null>;
}

let webhookProc: Subprocess | null = null;
process.on("exit", () => {
  if (webhookProc !== null && webhookProc.exitCode === null) webhookProc.kill("SIGKILL");
});

/** startWebhook writes the hooks file and runs `webhook -hooks FILE -ip 127.0.0.1 -port P` (not verbose: no per-request log). */
async function startWebhook(): Promise<Webhook> {
  const hooksPath = join(dir, "hooks.json");
  await Bun.write(hooksPath, JSON.stringify(HOOKS, null, 2));
  const port = freePort();
  const proc = Bun.spawn([webhookBin!, "-hooks", hooksPath, "-ip", "127.0.0.1", "-port", String(port)], {
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
    env: { ...process.env, HTTP_PROXY: "", HTTPS_PROXY: "", http_proxy: "", https_proxy: "", ALL_PROXY: "" },
  });
  webhookProc = proc;
  const url = `http://127.0.0.1:${port}`;
  // A GET on a POST-only hook answers 405 without evaluating anything: the server is up.
  const up = await waitUntil(async () => (await fetch(`${url}/hooks/erp`, { proxy: false })).status === 405, 10_000, 50);
  if (!up) {
    proc.kill("SIGKILL");
    throw new Error(`webhook not answering within 10 s (exit ${proc.exitCode}): ${await new Response(proc.stderr).text()}`);
  }
  return {
    url,
    pid: proc.pid,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill("SIGTERM");
        let timer: ReturnType<typeof setTimeout> | undefined;
        const exited = await Promise.race([proc.exited, new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), 5000)))]);
        clearTimeout(timer);
        if (exited === null) {
          proc.kill("SIGKILL");
          await proc.exited;
        }
      }
      return proc.exitCode;
    },
  };
}

// ---- CPU accounting (server CPU ÷ wall; for webhook + /bin/true this includes the reaped commands) ----

function procCpuSeconds(pid: number): number {
  // After the ")" of the command name: utime, stime, cutime, cstime are fields 14–17 (indexes 11–14 here).
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = fields.slice(fields.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / CLK_TCK;
}

function machineTicks(): { busy: number; total: number } {
  const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  return { busy: total - cpu[3]! - (cpu[4] ?? 0), total };
}

// ---- the client ----

interface Target {
  label: string;
  url: string;
  pid: number;
  /** accepted is what counts as a success: the status and, cheaply, the answer's text */
  accepted(status: number, text: string): boolean;
}

interface Tally extends LoadTally {
  seconds: number;
  serverCpuSeconds: number;
  clientCpuSeconds: number;
  machineBusy: number;
  machineTotal: number;
  /** accepted/s of each measured phase, in run order */
  phaseRates: number[];
}

const newTally = (): Tally => ({
  ...emptyTally(),
  seconds: 0,
  serverCpuSeconds: 0,
  clientCpuSeconds: 0,
  machineBusy: 0,
  machineTotal: 0,
  phaseRates: [],
});

/** phase keeps SENDERS requests in flight against one target for `seconds`, adding to `tally`. */
async function phase(target: Target, seconds: number, tally: Tally): Promise<void> {
  const server0 = procCpuSeconds(target.pid);
  const client0 = process.cpuUsage();
  const machine0 = machineTicks();
  const ok0 = tally.ok;
  const elapsed = await closedLoop({ url: target.url, seconds, senders: SENDERS, next: nextRequest, accepted: target.accepted, tally, timeoutMs: REQUEST_TIMEOUT_MS });
  tally.seconds += elapsed;
  tally.phaseRates.push((tally.ok - ok0) / elapsed);
  tally.serverCpuSeconds += procCpuSeconds(target.pid) - server0;
  const client = process.cpuUsage(client0);
  tally.clientCpuSeconds += (client.user + client.system) / 1e6;
  const machine1 = machineTicks();
  tally.machineBusy += machine1.busy - machine0.busy;
  tally.machineTotal += machine1.total - machine0.total;
}

/** probe sends one request with the given signature header (null: none) and returns status and text. */
async function probe(url: string, signature: string | null): Promise<string> {
  const body = events.nextBody();
  const headers: Record<string, string> = { "content-type": "application/json", "x-hookd-connector-id": SOURCE };
  if (signature !== null) headers["x-hookd-signature"] = signature === "good" ? sign(body) : signature === "bare" ? sign(body).slice(7) : signature;
  const response = await fetch(url, { method: "POST", proxy: false, headers, body, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  return `${response.status}`;
}

/** checkVerifies proves a target really checks what it is configured to check before its rate means anything. */
async function checkVerifies(name: string, url: string, farUrl: string, accept: string): Promise<string> {
  const got = {
    good: await probe(url, "good"),
    bare: await probe(url, "bare"),
    bad: await probe(url, `sha256=${"0".repeat(64)}`),
    none: await probe(url, null),
    far: await probe(farUrl, "good"),
  };
  const line = `${name.padEnd(8)} sha256=<good> ${got.good}, bare <good> ${got.bare}, bad signature ${got.bad}, no signature ${got.none}, good from 127.0.0.1 to a 10.0.0.0/8-only rule ${got.far}`;
  if (got.good !== accept || got.bare !== accept || [got.bad, got.none, got.far].some((s) => s === accept || s.startsWith("2"))) {
    throw new Error(`${name} does not verify as configured: ${line}`);
  }
  return line;
}

// ---- hookd's /metrics: events stored ----

async function inboundEventsStored(hookd: Hookd): Promise<number> {
  const text = await (await fetch(`${hookd.url}/metrics`, { proxy: false, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })).text();
  const line = text.split("\n").find((l) => /^hookd_events_created_total\{[^}]*origin="inbound"[^}]*\} /.test(l));
  return line === undefined ? 0 : Number(line.split(" ").at(-1));
}

// ---- the run ----

const sourceLines = (id: string, allow: string) =>
  [`id = "${id}"`, 'auth = "hmac"', `secret = "${SECRET}"`, `connector_id = "${SOURCE}"`, `allow_ips = ["${allow}"]`, 'schema = "erp-event"'].join("\n");

let hookd: Hookd | null = null;
let webhook: Webhook | null = null;
try {
  hookd = await startHookd(dir, {
    log: 'level = "warn"',
    // startHookd writes `[${name}]`, so this key becomes [[sources]]; the second table follows in the same text.
    "[sources]": `${sourceLines(SOURCE, "127.0.0.0/8")}\n\n[[sources]]\n${sourceLines(FAR_SOURCE, "10.0.0.0/8")}`,
  });
  webhook = await startWebhook();

  const targets: Target[] = [
    { label: "hookd", url: `${hookd.url}/in/${SOURCE}`, pid: hookd.pid, accepted: (s, t) => s === 200 && t.includes('"received":true') },
    { label: "webhook", url: `${webhook.url}/hooks/erp`, pid: webhook.pid, accepted: (s, t) => s === 200 && t === "received" },
    { label: "webhook + /bin/true", url: `${webhook.url}/hooks/erp-cmd`, pid: webhook.pid, accepted: (s) => s === 200 },
  ];

  console.log("");
  console.log("verification check (status codes):");
  console.log(`  ${await checkVerifies("hookd", targets[0]!.url, `${hookd.url}/in/${FAR_SOURCE}`, "200")}`);
  console.log(`  ${await checkVerifies("webhook", targets[1]!.url, `${webhook.url}/hooks/erp-far`, "200")}`);

  for (const target of targets) await phase(target, WARMUP_SECONDS, newTally());
  const storedBefore = await inboundEventsStored(hookd);

  const tallies = new Map(targets.map((t) => [t.label, newTally()]));
  const order: string[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const ordered = round % 2 === 0 ? targets : [...targets].reverse();
    for (const target of ordered) {
      await phase(target, SECONDS, tallies.get(target.label)!);
      order.push(target.label);
    }
  }
  const stored = (await inboundEventsStored(hookd)) - storedBefore;

  const rate = (t: Tally) => t.ok / t.seconds;
  const sortedLatencies = new Map([...tallies].map(([label, t]) => [label, Float64Array.from(t.latencies).sort()]));
  const h = tallies.get("hookd")!;
  const w = tallies.get("webhook")!;
  const ratio = rate(h) / rate(w);

  console.log("");
  console.log(`phase order: ${order.join(" → ")}`);
  console.log(`${"target".padEnd(22)} ${"accepted/s".padStart(10)}  ${"p50 ms".padStart(7)}  ${"p99 ms".padStart(7)}  ${"max ms".padStart(7)}  server CPU (µs/req)     client CPU  machine busy`);
  for (const target of targets) {
    const t = tallies.get(target.label)!;
    const l = sortedLatencies.get(target.label)!;
    console.log(
      `${target.label.padEnd(22)} ${fmt(rate(t), 0).padStart(10)}  ${fmt(percentile(l, 50), 2).padStart(7)}  ${fmt(percentile(l, 99), 2).padStart(7)}  ${fmt(l.at(-1) ?? NaN, 2).padStart(7)}  ` +
        `${`${fmt((t.serverCpuSeconds / t.seconds) * 100, 0)}% of a core (${fmt((t.serverCpuSeconds / Math.max(1, t.ok)) * 1e6, 0)})`.padEnd(22)}  ${`${fmt((t.clientCpuSeconds / t.seconds) * 100, 0)}%`.padStart(10)}  ${fmt((t.machineBusy / Math.max(1, t.machineTotal)) * 100, 0)}% of all`,
    );
    console.log(`${"".padEnd(22)} ${t.ok} accepted in ${fmt(t.seconds, 2)} s (per phase: ${t.phaseRates.map((r) => fmt(r, 0)).join(", ")})${t.notOk + t.failed > 0 ? `; NOT accepted: ${t.notOk} answered, ${t.failed} failed (first: ${t.firstProblem})` : ""}`);
  }
  console.log(`hookd events stored during the measured phases: ${stored}${stored === h.ok ? " = its 200s" : ` ≠ its ${h.ok} 200s`}`);
  console.log(`ratio hookd ÷ webhook (accepted/s)              ${fmt(ratio, 3)}   (webhook + /bin/true: hookd ÷ it = ${fmt(rate(h) / rate(tallies.get("webhook + /bin/true")!), 3)})`);

  console.log("");
  console.log("what a 200 means         | hookd                                              | webhook (response-message hook)");
  console.log("-------------------------+----------------------------------------------------+---------------------------------------------");
  console.log("signature                | HMAC-SHA256 of the raw body, `sha256=` optional    | same (payload-hmac-sha256, prefix stripped)");
  console.log("sender address           | allow_ips 127.0.0.0/8 → 403                        | ip-whitelist rule → 403 (mismatch code set)");
  console.log("bad signature answer     | 401 invalid_signature                              | 500 \"Error occurred while evaluating hook rules.\"");
  console.log("body                     | JSON parsed, erp-event schema validated → 422      | JSON parsed if content-type says so; no schema");
  console.log("storage                  | event + inbound record committed, fsync before 200 | nothing stored; with a command, args/env only");
  console.log("duplicates               | webhook-id / Idempotency-Key deduped for 24 h      | none");
  console.log("after the 200            | fans out to subscribed endpoints (none here), with | the command runs (async unless output is in");
  console.log("                         | retries, attempt history, replay; survives kill -9 | the response); no retry, no delivery, no record");
  console.log(`${load()} at the end`);

  const hookdExit = await hookd.stop();
  const webhookExit = await webhook.stop();
  // The verification check's two 401s and one 403 each log one warn line ("inbound request rejected").
  const extra = hookdExit.lines - 3;
  console.log(
    `hookd: exit ${hookdExit.code}, ${hookdExit.lines} log lines at warn (3 from the rejected probes)${extra !== 0 ? `; last: ${hookdExit.tail.slice(-3).join(" | ")}` : ""}; webhook: exit ${webhookExit}`,
  );
  console.log(`RESULT peer_ratio=${fmt(ratio, 3)} hookd_rps=${fmt(rate(h), 0)} webhook_rps=${fmt(rate(w), 0)}`);
} finally {
  await hookd?.stop();
  await webhook?.stop();
  rmSync(dir, { recursive: true, force: true });
}
