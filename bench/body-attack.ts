/**
 * body-attack measures what slow request bodies cost hookd's memory (issue 14, SPEC §13): `hookd serve`
 * with the shipped defaults (max_body 1 MiB, max_inflight_body 64 MiB, body_timeout 30 s) and one
 * hmac source. After a short warm-up its idle RSS is read, then SOCKETS connections each send
 * `POST /in/<source>` and as many again `POST /nowhere` (an unknown path), every one announcing
 * `Content-Length: 1048576`, sending all but the last 64 bytes and then dripping one byte every 2 s.
 * With `reconnect`, a connection the server ends is opened again after RECONNECT_MS. Two phases: every
 * attacking socket from one address (127.0.0.2), then each from its own (127.0.0.2, .3, …), so the
 * per-address quarter and then the global bound are what hold. During each, RSS is sampled and a
 * legitimate signed event is posted from 127.0.0.1 every 250 ms; each must get 200 within 1 s.
 * Prints RSS idle / peak during each phase against the bound idle + max_inflight_body + 16 MiB.
 * Run: npm run bench:body-attack   (or: bun bench/body-attack.ts [seconds_per_phase=10] [sockets=150] [reconnect])
 * Linux only (RSS from /proc, attacker sockets bound to 127.0.0.x).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { erpEventSource, fmt, load, machine, startHookd } from "./support.ts";

const SECONDS = Number(process.argv[2] ?? 10);
const SOCKETS = Number(process.argv[3] ?? 150);
const RECONNECT = process.argv[4] === "reconnect";
const RECONNECT_MS = 500;
const SOURCE = "bench-erp";
const SECRET = `bench-secret-${crypto.randomUUID()}`;
const MIB = 1024 * 1024;
const DECLARED = MIB;
const HELD_BACK = 64; // bytes of each body never sent at once, dripped one per DRIP_MS
const DRIP_MS = 2000;
const MAX_INFLIGHT_BODY = 64 * MIB; // the default; the bench does not set it
const SLACK = 16 * MIB;
const LEGIT_EVERY_MS = 250;

/** rssOf reads a process's resident set size in bytes from /proc. */
function rssOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"));
  return Number(line?.split(/\s+/)[1] ?? 0) * 1024;
}

const mib = (bytes: number) => `${fmt(bytes / MIB)} MiB`;

interface Tally {
  opened: number;
  statuses: Map<number, number>;
}

/** attack keeps `count` slow-body connections open against `path` from `addressOf(i)`, reopening each one the server ends. */
function attack(port: number, path: string, count: number, addressOf: (i: number) => string, tally: Tally): () => void {
  let stopped = false;
  const sockets = new Set<Socket>();
  const filler = Buffer.alloc(DECLARED - HELD_BACK, 0x61);
  const open = (i: number) => {
    if (stopped) return;
    tally.opened++;
    const socket = connect({ port, host: "127.0.0.1", localAddress: addressOf(i) });
    sockets.add(socket);
    let drip: ReturnType<typeof setInterval> | undefined;
    let answered = false;
    socket.on("connect", () => {
      socket.write(`POST ${path} HTTP/1.1\r\nHost: hookd\r\nContent-Type: application/json\r\nContent-Length: ${DECLARED}\r\n\r\n`);
      socket.write(filler);
      drip = setInterval(() => socket.write("a"), DRIP_MS);
    });
    socket.on("data", (chunk: Buffer) => {
      if (answered) return;
      answered = true;
      const status = Number(chunk.toString("latin1", 9, 12));
      tally.statuses.set(status, (tally.statuses.get(status) ?? 0) + 1);
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      clearInterval(drip);
      sockets.delete(socket);
      // Reopened after a beat: a tight reconnect loop would measure CPU, not memory.
      if (!stopped && RECONNECT) setTimeout(() => open(i), RECONNECT_MS);
    });
  };
  for (let i = 0; i < count; i++) open(i);
  return () => {
    stopped = true;
    for (const s of sockets) s.destroy();
  };
}

interface Phase {
  name: string;
  peakRss: number;
  legit: number[];
  legitFailed: string[];
  tallies: Record<string, Tally>;
}

async function runPhase(name: string, url: string, pid: number, addressOf: (i: number) => string): Promise<Phase> {
  const port = Number(new URL(url).port);
  const events = erpEventSource(SOURCE, SECRET, 1024);
  const tallies = { [`/in/${SOURCE}`]: { opened: 0, statuses: new Map() }, "/nowhere": { opened: 0, statuses: new Map() } };
  const stops = Object.entries(tallies).map(([path, tally]) => attack(port, path, SOCKETS, addressOf, tally));
  const phase: Phase = { name, peakRss: 0, legit: [], legitFailed: [], tallies };
  const sampler = setInterval(() => (phase.peakRss = Math.max(phase.peakRss, rssOf(pid))), 100);
  const session = new Bun.FetchSession({ proxy: false });
  const until = performance.now() + SECONDS * 1000;
  while (performance.now() < until) {
    const { body, headers } = events.nextRequest();
    const started = performance.now();
    try {
      const response = await session.fetch(`${url}/in/${SOURCE}`, { method: "POST", body, headers, proxy: false, signal: AbortSignal.timeout(5000) });
      const took = performance.now() - started;
      await response.text();
      if (response.status !== 200 || took > 1000) phase.legitFailed.push(`${response.status} after ${fmt(took)} ms`);
      phase.legit.push(took);
    } catch (error) {
      phase.legitFailed.push(`${(error as Error).message} after ${fmt(performance.now() - started)} ms`);
    }
    await Bun.sleep(Math.max(0, LEGIT_EVERY_MS - (performance.now() - started)));
  }
  phase.peakRss = Math.max(phase.peakRss, rssOf(pid));
  clearInterval(sampler);
  for (const stop of stops) stop();
  session.close();
  return phase;
}

const dir = mkdtempSync(join(tmpdir(), "hookd-body-attack-"));
const hookd = await startHookd(dir, {
  "[sources]": `id = "${SOURCE}"\nauth = "hmac"\nsecret = "${SECRET}"`,
  log: `level = "warn"`,
});
try {
  console.log(`body-attack: ${machine()}, ${load()}; ${SOCKETS} sockets to /in/${SOURCE} and ${SOCKETS} to /nowhere${RECONNECT ? `, each reopened ${RECONNECT_MS} ms after the server ends it` : ""}, ${SECONDS} s per phase`);
  const warm = erpEventSource(SOURCE, SECRET, 1024);
  for (let i = 0; i < 50; i++) {
    const { body, headers } = warm.nextRequest();
    await (await fetch(`${hookd.url}/in/${SOURCE}`, { method: "POST", body, headers })).text();
  }
  await Bun.sleep(1000);
  const idle = rssOf(hookd.pid);
  const bound = idle + MAX_INFLIGHT_BODY + SLACK;
  console.log(`RSS idle ${mib(idle)}; bound idle + max_inflight_body (64 MiB) + 16 MiB = ${mib(bound)}`);
  const phases = [
    { ...(await runPhase("one attacking address (127.0.0.2): the issue's attack", hookd.url, hookd.pid, () => "127.0.0.2")), mustShow: true },
    {
      ...(await runPhase("one address per attacking socket (127.0.2.2…): beyond the must-show", hookd.url, hookd.pid, (i) => `127.0.${2 + Math.floor(i / 250)}.${2 + (i % 250)}`)),
      mustShow: false,
    },
  ];
  let ok = true;
  for (const p of phases) {
    const sorted = [...p.legit].sort((a, b) => a - b);
    const within = p.peakRss <= bound && p.legitFailed.length === 0 && p.legit.length > 0;
    if (p.mustShow) ok &&= within;
    console.log(`\n${p.name}:`);
    if (!p.mustShow) {
      console.log("  (informational: this many addresses fill the global bound, so other senders' bodies get 503 server_busy as SPEC §13 says;");
      console.log("   the RSS shows what max_inflight_body of held bodies costs with Bun's own buffering on top)");
    }
    console.log(`  RSS during: peak ${mib(p.peakRss)} (idle ${mib(idle)}, +${mib(p.peakRss - idle)}); bound ${mib(bound)}: ${p.peakRss <= bound ? "within" : "EXCEEDED"}`);
    for (const [path, t] of Object.entries(p.tallies)) {
      const answers = [...t.statuses].map(([s, n]) => `${s}×${n}`).join(", ") || "none";
      console.log(`  ${path}: ${t.opened} connections opened, answers ${answers}`);
    }
    console.log(`  legitimate signed events from 127.0.0.1: ${p.legit.length}, max ${fmt(sorted.at(-1) ?? Number.NaN)} ms, ${p.legitFailed.length} not 200 within 1 s${p.legitFailed.length ? ` (${p.legitFailed.slice(0, 3).join("; ")})` : ""}`);
  }
  console.log(`\n${ok ? "PASS" : "FAIL"}: under the issue's attack RSS ≤ idle + max_inflight_body + 16 MiB and every legitimate event 200 within 1 s`);
  process.exitCode = ok ? 0 : 1;
} finally {
  await hookd.stop();
  rmSync(dir, { recursive: true, force: true });
}
