import { expect, test } from "bun:test";
import { formatSummary, runChaos } from "./chaos";

// The short chaos run: a few SIGKILLs under mixed load; `npm run chaos` is the long one (≥ 20 kills).
test("chaos: mixed load, 3 × SIGKILL + restart, nothing acknowledged is lost", async () => {
  const report = await runChaos({ kills: 3, minUpMs: 1200, maxUpMs: 2500, drainDeadlineMs: 25_000, maxRunMs: 80_000 });
  console.log(formatSummary(report));
  expect(report.violations).toEqual([]);
  expect(report.kills.length).toBe(3);
  // The run must have exercised something: acknowledged traffic of every good kind, and refusals.
  expect(report.requests.acknowledged).toBeGreaterThan(50);
  expect(report.requests.refused).toBeGreaterThan(10);
  for (const kind of ["in-hmac", "in-token", "in-json", "api"]) expect(report.requests.byKind[kind]?.ok ?? 0).toBeGreaterThan(0);
  expect(report.deliveries.missing).toBe(0);
  expect(report.deliveries.arrived).toBe(report.deliveries.expected);
  expect(report.integrity).toBe("ok");
  expect(report.finalExitCode).toBe(0);
}, 90_000);
