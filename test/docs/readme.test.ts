import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";

// The README says what full test coverage installs and that .ci/run does it; this keeps the two in step.

const ROOT = join(import.meta.dir, "../..");
const README = readFileSync(join(ROOT, "README.md"), "utf8");
const CI = readFileSync(join(ROOT, ".ci/run"), "utf8");

/** installedByCi maps each `command -v TOOL || … apt-get install … PACKAGE` line of .ci/run to [tool, package]. */
function installedByCi(): [string, string][] {
  const out: [string, string][] = [];
  for (const m of CI.matchAll(/^command -v (\S+) .*apt-get install .* (\S+) >\/dev\/null/gm)) out.push([m[1]!, m[2]!]);
  return out;
}

/** coverageTable is the README's "What full test coverage needs" table: one [tools cell, package] per row. */
function coverageTable(): [string, string][] {
  const section = README.split("### What full test coverage needs")[1]?.split("\n## ")[0]?.split("\n### ")[0] ?? "";
  return [...section.matchAll(/^\| (`[^|]+`) \| `([^`]+)` \|/gm)].map((m) => [m[1]!, m[2]!]);
}

describe("README: what full test coverage installs", () => {
  test("lists chromium, promtool, systemd-analyze, webhook, wrk and postgresql (initdb, pg_ctl) with their Debian packages", () => {
    const rows = coverageTable();
    for (const [tool, pkg] of [["chromium", "chromium"], ["promtool", "prometheus"], ["systemd-analyze", "systemd"], ["webhook", "webhook"], ["wrk", "wrk"], ["postgres", "postgresql"], ["initdb", "postgresql"], ["pg_ctl", "postgresql"]]) {
      expect(rows.some(([tools, p]) => tools.includes(`\`${tool}\``) && p === pkg)).toBe(true);
    }
  });

  test("every tool .ci/run installs is in the table, under its package", () => {
    const rows = coverageTable();
    const ci = installedByCi();
    expect(ci.length).toBeGreaterThanOrEqual(6);
    for (const [tool, pkg] of ci) expect([tool, rows.some(([tools, p]) => tools.includes(`\`${tool}\``) && p === pkg)]).toEqual([tool, true]);
  });

  test("every row is installed by .ci/run, or says that it is not yet", () => {
    const installed = installedByCi().map(([, pkg]) => pkg);
    const section = README.split("### What full test coverage needs")[1]?.split("\n## ")[0] ?? "";
    for (const line of section.split("\n").filter((l) => /^\| `/.test(l))) {
      const pkg = /^\| [^|]+ \| `([^`]+)` \|/.exec(line)![1]!;
      expect([pkg, installed.includes(pkg) || line.includes("`.ci/run` does not install it")]).toEqual([pkg, true]);
    }
  });

  test(".ci/run installs postgresql without leaving a cluster or service of its own behind", () => {
    const line = CI.split("\n").find((l) => l.startsWith("command -v initdb "))!;
    expect(line).toContain("/usr/lib/postgresql/*/bin/initdb"); // Debian keeps it off PATH
    expect(line).toContain("create_main_cluster = false");
    expect(line.indexOf("create_main_cluster")).toBeLessThan(line.lastIndexOf("install -y -qq --no-install-recommends postgresql >"));
    expect(CI).not.toMatch(/pg_ctlcluster|systemctl start|service postgresql/);
  });

  test("the introduction mentions PostgreSQL and links the several-nodes section", () => {
    const intro = README.split("\n## ")[0]!;
    expect(intro).toContain("PostgreSQL");
    expect(intro).toContain("(docs/operations.md#running-several-nodes)");
  });

  test("says that .ci/run installs them", () => {
    const section = README.split("### What full test coverage needs")[1] ?? "";
    expect(section).toContain("`.ci/run` installs each missing one");
  });
});
