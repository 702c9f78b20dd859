import { expect, test } from "bun:test";
import { formatPgSummary, runPgChaos } from "./chaos-pg";

// The short chaos run across nodes; `npm run chaos:pg` is the long one (≥ 10 kills, random nodes). The database
// restarts first and then each node is SIGKILLed once: an attempt whose result could not be recorded while the
// database was away keeps its lease until its node restarts (or the lease lapses, 32 s here), so this order
// keeps the run short.
test("chaos across nodes: 3 nodes, a pg_ctl restart, then each node SIGKILLed and restarted: nothing acknowledged is lost", async () => {
  const report = await runPgChaos({ kills: 3, pgRestartAfterKill: 0, victims: "each", minGapMs: 800, maxGapMs: 1200, workers: 4, maxPauseMs: 30, drainDeadlineMs: 15_000 });
  if (typeof report === "string") {
    console.warn(report);
    return;
  }
  console.log(formatPgSummary(report));
  expect(report.violations).toEqual([]);
  expect(report.kills.length).toBe(3);
  expect(report.pgRestart).not.toBeNull();
  // The load ran (a slow shared box acknowledges fewer in the short variant; 38–555 seen here).
  expect(report.requests.acknowledged).toBeGreaterThan(20);
  expect(report.deliveries.lost).toBe(0);
  expect(report.deliveries.arrived).toBe(report.deliveries.expected);
  // A node that exited by itself is the known bug of test/e2e/nodes-outage.test.ts (todo), listed in report.knownBug.
  expect(report.finalExitCodes.filter((c) => c !== 0).length).toBe(report.knownBug.filter((k) => k.includes("had exited")).length);
}, 80_000);
