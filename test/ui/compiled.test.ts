// Must-show 2: the compiled executable serves the dashboard with no files beside it.
import { afterAll, expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitFor } from "../support/process";

const root = join(import.meta.dir, "..", "..");
const buildDir = mkdtempSync(join(tmpdir(), "hookd-ui-build-"));
const runDir = mkdtempSync(join(tmpdir(), "hookd-ui-run-"));
let proc: ReturnType<typeof Bun.spawn> | null = null;

afterAll(async () => {
  proc?.kill();
  await proc?.exited;
  rmSync(buildDir, { recursive: true, force: true });
  rmSync(runDir, { recursive: true, force: true });
});

test("./hookd alone in an empty directory serves /ui, its scripts, the chart library and stylesheets", async () => {
  const built = Bun.spawnSync([process.execPath, "build", "--compile", "--minify", "src/cli.ts", "--outfile", join(buildDir, "hookd")], {
    cwd: root,
    stdout: "pipe",
    stderr: "pipe",
  });
  expect(built.exitCode, built.stderr.toString()).toBe(0);
  copyFileSync(join(buildDir, "hookd"), join(runDir, "hookd"));
  Bun.spawnSync(["chmod", "+x", join(runDir, "hookd")]);
  const port = freePort();
  // The config and database live elsewhere so the run directory holds the executable only.
  const confDir = join(buildDir, "conf");
  Bun.spawnSync(["mkdir", "-p", confDir]);
  writeFileSync(join(confDir, "hookd.toml"), `[server]\nlisten = "127.0.0.1:${port}"\n[storage]\npath = "${join(confDir, "hookd.db")}"\n[api]\nkeys = []\n`);
  expect(readdirSync(runDir)).toEqual(["hookd"]);
  proc = Bun.spawn([join(runDir, "hookd"), "serve", "--config", join(confDir, "hookd.toml")], { cwd: runDir, stdout: "ignore", stderr: "ignore" });
  const base = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${base}/healthz`)).ok, 10_000, "the compiled hookd to answer");
  for (const [path, type, marker] of [
    ["/ui", "text/html", '<script type="module" src="/ui/app.js">'],
    ["/ui/app.js", "text/javascript", "sessionStorage"],
    ["/ui/endpoint-options.js", "text/javascript", "Delivery options"],
    ["/ui/endpoint-routing.js", "text/javascript", "Filter and transform"],
    ["/ui/style.css", "text/css", "--accent"],
    ["/ui/charts.js", "text/javascript", "./uplot.js"],
    ["/ui/uplot.js", "text/javascript", "uPlot"],
    ["/ui/uplot.css", "text/css", ".uplot"],
  ] as const) {
    const res = await fetch(`${base}${path}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith(type);
    expect(res.headers.get("content-security-policy")).toBe("default-src 'self'");
    expect(await res.text()).toContain(marker);
  }
  expect((await fetch(`${base}/v1/stats`)).status).toBe(401);
}, 60_000);
