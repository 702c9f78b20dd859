// The standalone binary runs transforms: `npm run build` must embed the worker entrypoint (SPEC §10).
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hashApiKey } from "../../src/security/api-keys";
import { freePort, waitFor } from "../support/process";
import { startReceiver } from "../support/receiver";

const root = join(import.meta.dir, "..", "..");
const dir = mkdtempSync(join(tmpdir(), "hookd-transform-build-"));
const receiver = startReceiver();
let proc: ReturnType<typeof Bun.spawn> | null = null;

afterAll(async () => {
  proc?.kill();
  await proc?.exited;
  await receiver.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** buildArgs is package.json's own build script with the output moved here, so the test builds what `npm run build` does. */
async function buildArgs(outfile: string): Promise<string[]> {
  const script: string = (await Bun.file(join(root, "package.json")).json()).scripts.build;
  const args = script.split(/\s+/);
  expect(args.slice(0, 2)).toEqual(["bun", "build"]);
  args[args.indexOf("--outfile") + 1] = outfile;
  return [process.execPath, ...args.slice(1)];
}

test("a transform runs in the compiled binary, and a runaway one is stopped there", async () => {
  const binary = join(dir, "hookd");
  const built = Bun.spawnSync(await buildArgs(binary), { cwd: root, stdout: "pipe", stderr: "pipe" });
  expect(built.exitCode, built.stderr.toString()).toBe(0);
  const port = freePort();
  const key = `key-${crypto.randomUUID()}`;
  const config = join(dir, "hookd.toml");
  writeFileSync(config, [
    `[server]\nlisten = "127.0.0.1:${port}"`,
    `[storage]\npath = ${JSON.stringify(join(dir, "hookd.db"))}`,
    `[api]\nkeys = [{ name = "test", hash = "${hashApiKey(key)}" }]`,
    `[delivery]\nrequire_https = false\nallow_targets = ["127.0.0.0/8"]\nretry_schedule = ["1h"]`,
    `[log]\nlevel = "warn"`,
  ].join("\n"));
  // Run from an empty directory: nothing on disk beside the binary can stand in for the embedded worker.
  const runDir = join(dir, "run");
  Bun.spawnSync(["mkdir", "-p", runDir]);
  proc = Bun.spawn([binary, "serve", "--config", config], { cwd: runDir, stdout: "ignore", stderr: "pipe" });
  const base = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${base}/readyz`)).ok, 10_000, "the compiled hookd to answer");
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify(body) });
    return { status: res.status, body: await res.json() as any };
  };

  const hook = await api("POST", "/v1/webhooks", { url: `${receiver.url}/teams`, events: ["payroll.failed"], transform: '{"text": "Payroll batch " & data.batch & " failed"}' });
  expect(hook.status).toBe(201);
  const slow = await api("POST", "/v1/webhooks", { url: `${receiver.url}/slow`, events: ["payroll.failed"], transform: '$match($pad("", 32, "a") & "b", /^(a+)+$/)' });
  expect(slow.status).toBe(201);
  expect((await api("POST", "/v1/events", { type: "payroll.failed", data: { batch: "B-7" } })).status).toBe(202);

  await waitFor(() => receiver.requests.some((r) => r.path === "/teams"), 10_000, "the transformed delivery");
  expect(receiver.requests.find((r) => r.path === "/teams")!.body).toBe('{"text":"Payroll batch B-7 failed"}');
  let slowDelivery: any;
  await waitFor(async () => {
    const list = await api("GET", `/v1/webhooks/${slow.body.data.id}/deliveries`);
    slowDelivery = list.body.data[0];
    return slowDelivery?.last_error === "transform_timeout";
  }, 10_000, "the runaway transform to be stopped");
  expect(slowDelivery.status).toBe("failed");
  expect(receiver.requests.some((r) => r.path === "/slow")).toBe(false);
  proc.kill("SIGTERM");
  expect(await proc.exited).toBe(0);
  expect(await new Response(proc.stderr as ReadableStream).text()).not.toContain("transform worker");
}, 60_000);
