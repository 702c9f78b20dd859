import { readdir, readFile } from "node:fs/promises";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { Counter, Gauge, type Registry } from "prom-client";

// prom-client's default metrics assume Node: under Bun some are false (heap_bytes is the gigacage's
// reservation, nodejs_version_info names Bun's compatibility level, heap spaces are all but one zero),
// some are typed wrong for promtool (the nodejs_active_*_total gauges), the heap-space ones cost ~100 ms
// of blocked event loop per scrape on a large heap, and an empty lag histogram renders "Nan". This
// module exposes only what Bun reports truly, under the names every Prometheus client uses, and reads
// each value in O(1) (the fd count is one directory listing, off the event loop).

const PROC_FD = "/proc/self/fd";
const PROC_LIMITS = "/proc/self/limits";
// Event-loop delay is sampled at this resolution; finer costs more timer wake-ups for no alerting value.
const LAG_RESOLUTION_MS = 10;

let loopDelay: ReturnType<typeof monitorEventLoopDelay> | null = null;

// The event loop is the process's, so one sampler serves every registry (tests start many apps in one process).
function eventLoopDelay() {
  if (loopDelay === null) {
    loopDelay = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
    loopDelay.enable();
  }
  return loopDelay;
}

/** registerProcessMetrics adds the standard process_* series and hookd_event_loop_lag_p99_seconds to `registry`. */
export function registerProcessMetrics(registry: Registry): void {
  const startSeconds = Date.now() / 1000 - process.uptime();
  let lastCpu = { user: 0, system: 0 };
  const cpuDelta = () => {
    const now = process.cpuUsage();
    const delta = { user: Math.max(0, now.user - lastCpu.user) / 1e6, system: Math.max(0, now.system - lastCpu.system) / 1e6 };
    lastCpu = now;
    return delta;
  };

  const user = new Counter({ name: "process_cpu_user_seconds_total", help: "User CPU time spent in seconds.", registers: [registry] });
  const system = new Counter({ name: "process_cpu_system_seconds_total", help: "System CPU time spent in seconds.", registers: [registry] });
  new Counter({
    name: "process_cpu_seconds_total",
    help: "Total user and system CPU time spent in seconds.",
    registers: [registry],
    // One reading feeds all three counters, so user + system always equals the total.
    collect() {
      const d = cpuDelta();
      user.inc(d.user);
      system.inc(d.system);
      this.inc(d.user + d.system);
    },
  });
  new Gauge({
    name: "process_resident_memory_bytes",
    help: "Resident memory size in bytes.",
    registers: [registry],
    collect() {
      this.set(process.memoryUsage.rss());
    },
  });
  new Gauge({
    name: "process_start_time_seconds",
    help: "Start time of the process since unix epoch in seconds.",
    registers: [registry],
    collect() {
      this.set(startSeconds);
    },
  });
  if (process.platform === "linux") {
    new Gauge({
      name: "process_open_fds",
      help: "Number of open file descriptors.",
      registers: [registry],
      async collect() {
        // The listing itself opens one descriptor, which it does not count (it is closed when it returns).
        this.set(Math.max(0, (await readdir(PROC_FD)).length - 1));
      },
    });
    new Gauge({
      name: "process_max_fds",
      help: "Maximum number of open file descriptors.",
      registers: [registry],
      async collect() {
        const limit = /^Max open files\s+(\d+)/m.exec(await readFile(PROC_LIMITS, "utf8"));
        if (limit) this.set(Number(limit[1]));
      },
    });
  }

  const lag = eventLoopDelay();
  new Gauge({
    name: "hookd_event_loop_lag_p99_seconds",
    help: "99th percentile of event-loop delay since the previous scrape; 0 when nothing was sampled.",
    registers: [registry],
    collect() {
      const p99 = lag.count > 0 ? lag.percentile(99) / 1e9 : 0;
      lag.reset();
      this.set(Number.isFinite(p99) ? p99 : 0);
    },
  });
}
