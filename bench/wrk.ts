/**
 * wrk runs the `wrk` load generator (Debian package `wrk`) as a child and reads its report, for
 * benches whose baseline a Bun client loop cannot saturate: on one core wrk drives a bare
 * Bun.serve to 100k+ req/s where a Bun fetch loop stops near 45k. CPU is measured from the moment
 * wrk prints "Running" (its Lua init is done, the clock starts) until it exits, for wrk itself and
 * for each process named in `measure`.
 */
import { cpuMeter, pinned, procCpuSeconds } from "./cpu.ts";
import { waitUntil } from "./support.ts";

/** WrkResult is one wrk run: what it counted, its latency percentiles, and CPU per process. */
export interface WrkResult {
  requests: number;
  non2xx: number;
  seconds: number;
  /** "connect 0, read 0, write 0, timeout 0", or "" when wrk saw none */
  socketErrors: string;
  /** 2xx/3xx answers per second */
  okPerSec: number;
  latencyMs: { p50: number; p75: number; p90: number; p99: number; max: number };
  /** CPU time ÷ wall time per measured process and for "wrk" (1.0 = one core), plus cpuMeter's "machine" and "core<N>" busy shares */
  cpu: Record<string, number>;
  report: string;
}

/** ensureWrk installs wrk with apt-get when it is missing (as .ci/run does), or throws saying how. */
export function ensureWrk(): void {
  if (Bun.which("wrk") !== null) return;
  console.log("wrk not found: apt-get install -y -qq wrk");
  const install = Bun.spawnSync(["bash", "-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk"], {
    stdout: "ignore",
    stderr: "pipe",
  });
  if (install.exitCode !== 0 || Bun.which("wrk") === null) {
    throw new Error(`could not install wrk (install the Debian package wrk by hand): ${install.stderr.toString().slice(-500)}`);
  }
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const toMs = (value: string, unit: string): number => Number(value) * (UNIT_MS[unit] ?? Number.NaN);

/** parseWrk reads wrk 4's text report (`--latency` for the distribution). */
export function parseWrk(report: string): Omit<WrkResult, "cpu" | "report"> {
  const done = /(\d+) requests in ([\d.]+)(us|ms|s|m|h)/.exec(report);
  if (!done) throw new Error(`wrk printed no summary:\n${report}`);
  const percentile = (p: number) => {
    const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m|h)\\s*$`, "m").exec(report);
    return m ? toMs(m[1]!, m[2]!) : Number.NaN;
  };
  const latency = /Latency\s+[\d.]+\w+\s+[\d.]+\w+\s+([\d.]+)(us|ms|s|m|h)/.exec(report);
  const requests = Number(done[1]);
  const seconds = toMs(done[2]!, done[3]!) / 1000;
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(report)?.[1] ?? 0);
  return {
    requests,
    non2xx,
    seconds,
    socketErrors: /Socket errors: (.*)/.exec(report)?.[1]?.trim() ?? "",
    okPerSec: (requests - non2xx) / seconds,
    latencyMs: { p50: percentile(50), p75: percentile(75), p90: percentile(90), p99: percentile(99), max: latency ? toMs(latency[1]!, latency[2]!) : Number.NaN },
  };
}

/**
 * runWrk drives `url` with one wrk thread and `connections` keep-alive connections for `seconds`,
 * each request made by `script` (given `scriptArgs`); `cpu` pins wrk to one core.
 */
export async function runWrk(o: {
  url: string;
  seconds: number;
  connections: number;
  script: string;
  scriptArgs: string[];
  cpu?: number;
  measure?: Record<string, number>;
  timeoutSeconds?: number;
}): Promise<WrkResult> {
  const timeout = o.timeoutSeconds ?? 10;
  // stdbuf: wrk's stdout is a pipe here, and block buffering would hold "Running" back until it exits.
  const cmd = ["stdbuf", "-oL", "wrk", "-t1", `-c${o.connections}`, `-d${o.seconds}s`, "--timeout", `${timeout}s`, "--latency", "-s", o.script, o.url, "--", ...o.scriptArgs];
  const proc = Bun.spawn(pinned(cmd, o.cpu), { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let report = "";
  const decoder = new TextDecoder();
  const pump = (async () => {
    for await (const chunk of proc.stdout) report += decoder.decode(chunk, { stream: true });
  })();
  try {
    // wrk loads the request file in its Lua init before it prints "Running" and starts its clock.
    if (!(await waitUntil(() => report.includes("Running") || proc.exitCode !== null, 60_000, 5)) || !report.includes("Running")) {
      throw new Error(`wrk did not start: ${report}${await new Response(proc.stderr).text()}`);
    }
    const meter = cpuMeter(o.measure ?? {});
    const wrk0 = procCpuSeconds(proc.pid);
    const started = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), (o.seconds + timeout + 15) * 1000)));
    const exited = await Promise.race([proc.exited, deadline]);
    clearTimeout(timer);
    if (exited === "late") throw new Error(`wrk still running ${o.seconds + timeout + 15} s after it started`);
    const cpu: Record<string, number> = meter.done();
    const usage = proc.resourceUsage();
    const wall = (performance.now() - started) / 1000;
    cpu.wrk = usage === undefined ? Number.NaN : (Number(usage.cpuTime.total) / 1e6 - wrk0) / wall;
    await pump;
    if (proc.exitCode !== 0) throw new Error(`wrk exited ${proc.exitCode}: ${report}${await new Response(proc.stderr).text()}`);
    return { ...parseWrk(report), cpu, report };
  } finally {
    if (proc.exitCode === null) proc.kill("SIGKILL");
  }
}
