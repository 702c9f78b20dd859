/**
 * sender-choice measures the two rebinding-safe ways to send a delivery in Bun against a bare fetch(url)
 * baseline: (a) node:http with a pinned `lookup` + keep-alive Agent, (b) fetch to the checked IP with the
 * original Host header. Receiver runs in a child process so it does not share the client's event loop.
 * Run: node_modules/.bin/bun bench/sender-choice.ts [seconds=3] [concurrency=64]
 */
import http from "node:http";
import type { LookupFunction } from "node:net";
import { staticResolver } from "../src/delivery/resolver.ts";
import { createSender } from "../src/delivery/sender.ts";
import { ipSetOf } from "../src/net/cidr.ts";

const SECONDS = Number(process.argv[2] ?? 3);
const CONCURRENCY = Number(process.argv[3] ?? 64);
const ROUNDS = 3;
const BODY = JSON.stringify({ type: "resource.created", data: { id: "res_123", name: "x".repeat(200) } });
const HEADERS = { "content-type": "application/json", "user-agent": "hookd/bench" };

const RECEIVER = `const s = Bun.serve({ hostname: "127.0.0.1", port: 0, async fetch(r) { await r.arrayBuffer(); return new Response("ok"); } });
console.log(s.port);`;

/** startReceiver spawns the 200 "ok" receiver and waits for the port it prints. */
async function startReceiver(): Promise<{ port: number; stop(): void }> {
  const child = Bun.spawn([process.execPath, "-e", RECEIVER], { stdout: "pipe", stderr: "inherit" });
  const reader = child.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("receiver exited before printing its port");
    text += new TextDecoder().decode(value);
  }
  return { port: Number(text.trim()), stop: () => child.kill() };
}

/** readUpTo2k mirrors the sender: read at most 2048 bytes, then drop the rest. */
async function readUpTo2k(res: Response): Promise<void> {
  const reader = res.body?.getReader();
  if (!reader) return;
  let got = 0;
  while (got < 2048) {
    const { value, done } = await reader.read();
    if (done) return;
    got += value.byteLength;
  }
  await reader.cancel();
}

/** Mode is one way of sending; `done` and `ms` add up over the interleaved rounds. */
interface Mode {
  name: string;
  once: () => Promise<void>;
  done: number;
  failed: number;
  ms: number;
}

/** runRound keeps CONCURRENCY requests of one mode in flight for `ms`; rounds interleave modes so drift on a shared box hits all alike. */
async function runRound(mode: Mode, ms: number): Promise<void> {
  const start = performance.now();
  const deadline = start + ms;
  const worker = async () => {
    while (performance.now() < deadline) {
      try {
        await mode.once();
        mode.done++;
      } catch {
        mode.failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  mode.ms += performance.now() - start;
}

const rps = (m: Mode): number => m.done / (m.ms / 1000);

const receiver = await startReceiver();
const port = receiver.port;
const hostname = "receiver.test"; // never resolved: (a) and (b) pin 127.0.0.1 themselves

const pinned: LookupFunction = (_host, options, callback) => {
  const cb = callback as (...args: unknown[]) => void;
  if ((options as { all?: boolean }).all) cb(null, [{ address: "127.0.0.1", family: 4 }]);
  else cb(null, "127.0.0.1", 4);
};
const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

const nodeHttp = () =>
  new Promise<void>((resolve, reject) => {
    const req = http.request(
      { host: hostname, port, path: "/hook", method: "POST", headers: HEADERS, agent, lookup: pinned },
      (res) => {
        let got = 0;
        res.on("data", (c: Buffer) => {
          got += c.length;
          if (got >= 2048) res.destroy();
        });
        res.on("end", resolve);
        res.on("close", resolve);
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(BODY);
  });

const fetchPinned = async () => {
  const res = await fetch(`http://127.0.0.1:${port}/hook`, {
    method: "POST",
    headers: { ...HEADERS, host: `${hostname}:${port}` },
    body: BODY,
    redirect: "manual",
    proxy: false,
    signal: AbortSignal.timeout(10_000),
  });
  await readUpTo2k(res);
};

const session = new Bun.FetchSession({ proxy: false });
const sessionPinned = async () => {
  const res = await session.fetch(`http://127.0.0.1:${port}/hook`, {
    method: "POST",
    headers: { ...HEADERS, host: `${hostname}:${port}` },
    body: BODY,
    redirect: "manual",
    proxy: false,
    signal: AbortSignal.timeout(10_000),
  });
  await readUpTo2k(res);
};

// The implementation that won, end to end: resolve via table, policy check, pinned fetch, 2 KiB read, outcome.
const sender = createSender({
  resolver: staticResolver({ [hostname]: ["127.0.0.1"] }),
  policy: { requireHttps: false, allowTargets: ipSetOf(["127.0.0.0/8"]) },
});
const hookdSender = async () => {
  const out = await sender.send({ url: `http://${hostname}:${port}/hook`, headers: HEADERS, body: BODY, timeoutMs: 10_000 });
  if (!out.ok) throw new Error(out.error ?? "not ok");
};

const bareUrl = `http://127.0.0.1:${port}/hook`;
const bareFetch = async () => {
  const res = await fetch(bareUrl, { method: "POST", headers: HEADERS, body: BODY });
  await res.arrayBuffer();
};

const modes: Mode[] = [
  { name: "bare fetch(url) (baseline)", once: bareFetch, done: 0, failed: 0, ms: 0 },
  { name: "(a) node:http + pinned lookup + Agent", once: nodeHttp, done: 0, failed: 0, ms: 0 },
  { name: "(b) fetch(checked IP) + Host header", once: fetchPinned, done: 0, failed: 0, ms: 0 },
  { name: "(b) same, through a Bun.FetchSession", once: sessionPinned, done: 0, failed: 0, ms: 0 },
  { name: "createSender().send (chosen: b + session)", once: hookdSender, done: 0, failed: 0, ms: 0 },
];
console.log(`concurrency ${CONCURRENCY}, ~${SECONDS}s per mode in ${ROUNDS} interleaved rounds, POST ${BODY.length} B, keep-alive, Bun ${Bun.version}`);
for (const m of modes) for (let i = 0; i < 200; i++) await m.once(); // warm-up: JIT and keep-alive pools
for (let round = 0; round < ROUNDS; round++) {
  for (const m of modes) await runRound(m, (SECONDS * 1000) / ROUNDS);
}
const base = rps(modes[0]!);
for (const m of modes) {
  const note = m.failed ? `  (${m.failed} failed)` : "";
  console.log(`${m.name.padEnd(40)} ${rps(m).toFixed(0).padStart(7)} req/s  ${(rps(m) / base).toFixed(2)}x baseline${note}`);
}

agent.destroy();
session.close();
sender.close();
receiver.stop();
