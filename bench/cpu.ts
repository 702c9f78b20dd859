/**
 * cpu is the benches' CPU accounting and core pinning. On a 2-core box a baseline counts only if its
 * load generator saturates it, and the reader can only tell when each process's CPU time (from
 * /proc/<pid>/stat) is printed beside its rate; pinning (taskset) keeps the server under test on
 * core 0 and its load on core 1, so "100%" means one whole core and nothing else shared it.
 */
import { readFileSync } from "node:fs";
import { cpus } from "node:os";

const CLK_TCK = 100; // Linux USER_HZ (`getconf CLK_TCK`): the unit of utime/stime in /proc/<pid>/stat

/** procCpuSeconds is a process's user + system CPU time so far, all threads, from /proc/<pid>/stat. */
export function procCpuSeconds(pid: number): number {
  // Fields after the ")" of the command name: state is field 3, utime 14, stime 15.
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** cpuTicks is the busy and total jiffies of all CPUs ("machine") and of each ("core0", …) from /proc/stat, other people's work included. */
export function cpuTicks(): Map<string, { busy: number; total: number }> {
  const out = new Map<string, { busy: number; total: number }>();
  for (const line of readFileSync("/proc/stat", "utf8").split("\n")) {
    if (!line.startsWith("cpu")) continue;
    const [name, ...fields] = line.trim().split(/\s+/);
    const ticks = fields.map(Number);
    const total = ticks.reduce((a, b) => a + b, 0);
    // idle + iowait are idle; irq and softirq count as busy, which is where loopback TCP work lands.
    out.set(name === "cpu" ? "machine" : name!.replace("cpu", "core"), { busy: total - ticks[3]! - (ticks[4] ?? 0), total });
  }
  return out;
}

/**
 * cpuMeter starts a span over the named processes; `done()` gives each one's CPU time ÷ wall time
 * (1.0 = one core busy), and the busy share of all CPUs (`machine`) and of each core (`core0`, …).
 * A rate means little until the reader sees which process was at its core's limit. A process's own
 * time leaves out the softirq time the kernel spends on its loopback packets, so a pinned server
 * can be at 80% while its core is 100% busy: the core's figure says which.
 */
export function cpuMeter(pids: Record<string, number>): { done(): Record<string, number> } {
  const wall0 = performance.now();
  const cpu0 = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, procCpuSeconds(pid)]));
  const ticks0 = cpuTicks();
  return {
    done() {
      const wall = (performance.now() - wall0) / 1000;
      const out: Record<string, number> = {};
      for (const [name, pid] of Object.entries(pids)) out[name] = (procCpuSeconds(pid) - cpu0[name]!) / wall;
      for (const [name, t1] of cpuTicks()) {
        const t0 = ticks0.get(name);
        if (t0) out[name] = (t1.busy - t0.busy) / Math.max(1, t1.total - t0.total);
      }
      return out;
    },
  };
}

/** pct prints a CPU share as a percentage of one core. */
export const pct = (share: number | undefined): string => (share === undefined || !Number.isFinite(share) ? "n/a" : `${(share * 100).toFixed(0)}%`);

/** canPin: pinning needs taskset and two cores (the server under test on core 0, its load on core 1). */
export const canPin = cpus().length >= 2 && Bun.which("taskset") !== null;

/** pinned prefixes a command with `taskset -c <cpu>`, so the child and its threads run on that core only. */
export const pinned = (cmd: string[], cpu: number | undefined): string[] =>
  cpu === undefined || !canPin ? cmd : ["taskset", "-c", String(cpu), ...cmd];

/** pinSelf moves this process (every thread) to one core; children started later inherit it unless pinned elsewhere. */
export function pinSelf(cpu: number): void {
  if (!canPin) return;
  const done = Bun.spawnSync(["taskset", "-a", "-cp", String(cpu), String(process.pid)], { stdout: "ignore", stderr: "pipe" });
  if (done.exitCode !== 0) throw new Error(`taskset -a -cp ${cpu} ${process.pid}: ${done.stderr.toString()}`);
}

/**
 * contention says how much of a pinned process's core went to other work (kernel softirq for its
 * loopback packets, and any other process on the box) when that is over a quarter of the core, else "".
 */
export function contention(cpu: Record<string, number>, core: number, pids: string[]): string {
  const other = cpu[`core${core}`]! - pids.reduce((sum, name) => sum + (cpu[name] ?? 0), 0);
  return other > 0.25 ? `; CONTENDED: ${pct(other)} of core ${core} was other work` : "";
}
