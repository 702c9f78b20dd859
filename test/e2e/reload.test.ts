import { afterEach, describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { startApp } from "../../src/app";
import { loadConfig } from "../../src/config/load";
import { createLogger } from "../../src/log";
import { hashApiKey } from "../../src/security/api-keys";
import { type HookdProcess, hookdSite } from "../support/hookd-process";
import { freePort, waitFor } from "../support/process";
import { startReceiver } from "../support/receiver";

// SPEC §14: SIGHUP re-reads the whole config file against a real `hookd serve`; no request is dropped.

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

type Line = Record<string, any>;

/** watch starts `site`, follows its JSON log as it comes, and gives a way to rewrite its config and send SIGHUP. */
async function watch(sections: Record<string, string>) {
  const site = hookdSite({ log: 'level = "info"', ...sections });
  const h = await site.start();
  cleanup.push(() => h.proc.kill("SIGKILL"));
  const lines: Line[] = [];
  void (async () => {
    let buffered = "";
    for await (const chunk of h.proc.stdout) {
      buffered += new TextDecoder().decode(chunk);
      const complete = buffered.split("\n");
      buffered = complete.pop()!;
      for (const line of complete) if (line.trim() !== "") lines.push(JSON.parse(line));
    }
  })();
  const path = join(site.dir, "hookd.toml");
  const count = (msg: string) => lines.filter((l) => l.msg === msg).length;
  return {
    site,
    h,
    lines,
    count,
    /** reload appends `toml` to the config (or replaces it with `edit`), sends SIGHUP and waits for `msg` to be logged once more. */
    async reload(edit: (text: string) => string, msg = "config reloaded"): Promise<Line> {
      const before = count(msg);
      writeFileSync(path, edit(readFileSync(path, "utf8")));
      h.proc.kill("SIGHUP");
      await waitFor(() => count(msg) > before, 10_000, `"${msg}" logged`);
      return lines.filter((l) => l.msg === msg).at(-1)!;
    },
  };
}

const sourceToml = (id: string, secret: string) => `\n[[sources]]\nid = "${id}"\nauth = "hmac"\nsecret = "${secret}"\nschema = "json"\nevent_type = "load.tick"\n`;

/** signed posts a JSON body to /in/<source> with its HMAC-SHA256 signature (docs/senders.md). */
function signed(url: string, source: string, secret: string, body: unknown): Promise<Response> {
  const text = JSON.stringify(body);
  const signature = createHmac("sha256", secret).update(text).digest("hex");
  return fetch(`${url}/in/${source}`, { method: "POST", headers: { "content-type": "application/json", "x-hookd-signature": `sha256=${signature}` }, body: text });
}

const withKey = (url: string, key: string, path = "/v1/webhooks") => fetch(`${url}${path}`, { headers: { authorization: `Bearer ${key}` } });

/** addKey puts one more entry into the `[api] keys` list hookdSite wrote. */
const addKey = (name: string, key: string) => (text: string) => text.replace(/keys = \[(.*)\]/, `keys = [$1, { name = "${name}", hash = "${hashApiKey(key)}" }]`);

/** metric reads one sample of GET /metrics. */
async function metric(h: HookdProcess, series: string): Promise<number> {
  const text = await (await fetch(`${h.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? Number.NaN : Number(line.split(" ")[1]);
}

/** load sends `perSecond` signed requests to one source until stopped; every answer that is not 2xx, and every refused connection, is counted. */
function loadGenerator(url: string, source: string, secret: string, perSecond: number) {
  const stats = { sent: 0, ok: 0, non2xx: 0, failed: 0, statuses: {} as Record<number, number> };
  const pending = new Set<Promise<void>>();
  let running = true;
  const started = performance.now();
  const loop = (async () => {
    while (running) {
      // Pacing, not waiting for a condition: request n goes at started + n / perSecond.
      const due = started + (stats.sent * 1000) / perSecond;
      const wait = due - performance.now();
      if (wait > 0) await Bun.sleep(wait);
      const n = stats.sent++;
      const p = signed(url, source, secret, { n })
        .then(async (r) => {
          await r.arrayBuffer();
          if (r.ok) stats.ok++;
          else {
            stats.non2xx++;
            stats.statuses[r.status] = (stats.statuses[r.status] ?? 0) + 1;
          }
        })
        .catch(() => {
          stats.failed++;
        })
        .finally(() => pending.delete(p));
      pending.add(p);
    }
  })();
  return {
    stats,
    async stop() {
      running = false;
      await loop;
      await Promise.all([...pending]);
      return { ...stats, seconds: (performance.now() - started) / 1000 };
    },
  };
}

describe("SIGHUP reloads the config", () => {
  test("new sources, keys and delivery settings apply live across 5 reloads while 200 signed requests/s reach an existing source, none failing", async () => {
    const receiver = startReceiver();
    cleanup.push(() => receiver.stop());
    const w = await watch({
      "[[sources]]": 'id = "erp"\nauth = "hmac"\nsecret = "erp-secret"\nschema = "json"\nevent_type = "load.tick"',
      delivery: 'require_https = false\nallow_targets = ["127.0.0.0/8"]\nuser_agent = "hookd-before"',
    });
    const { h } = w;
    expect((await h.api("POST", "/v1/webhooks", { url: `${receiver.url}/hook`, events: ["load.tick"] })).status).toBe(201);
    const load = loadGenerator(h.url, "erp", "erp-secret", 200);
    await waitFor(() => load.stats.ok >= 200, 10_000, "the load running");

    for (let i = 1; i <= 5; i++) {
      const key = `reload-key-${i}-${crypto.randomUUID()}`;
      const secret = `secret-${i}-${crypto.randomUUID()}`;
      expect((await signed(h.url, `erp${i}`, secret, { i })).status).toBe(404); // not configured yet
      expect((await withKey(h.url, key)).status).toBe(401);
      const changed = await w.reload((text) => {
        let next = addKey(`k${i}`, key)(text) + sourceToml(`erp${i}`, secret);
        if (i === 3) next = next.replace('user_agent = "hookd-before"', 'user_agent = "hookd-after"');
        return next;
      });
      expect(changed.level).toBe("info");
      expect(changed.changed).toEqual(i === 3 ? ["api.keys", "delivery.user_agent", `sources[erp${i}]`] : ["api.keys", `sources[erp${i}]`]);
      expect(JSON.stringify(changed)).not.toContain(secret);
      const accepted = await signed(h.url, `erp${i}`, secret, { i });
      expect(accepted.status).toBe(200);
      expect(await accepted.json()).toEqual({ received: true, id: expect.stringMatching(/^evt_/) });
      expect((await withKey(h.url, key)).status).toBe(200);
      await waitFor(() => load.stats.ok >= 200 * (i + 1), 10_000, "more load between reloads");
    }
    const result = await load.stop();
    console.log(`reload under load: ${JSON.stringify(result)}`);
    expect(result.sent).toBeGreaterThanOrEqual(1000);
    expect({ non2xx: result.non2xx, failed: result.failed, statuses: result.statuses }).toEqual({ non2xx: 0, failed: 0, statuses: {} });
    expect(result.ok).toBe(result.sent);
    expect(await metric(h, 'hookd_config_reloads_total{result="ok"}')).toBe(5);
    expect(await metric(h, 'hookd_config_reloads_total{result="invalid"}')).toBe(0);

    // Every event was delivered, and deliveries after the third reload carry the new User-Agent.
    await waitFor(() => receiver.requests.length >= result.ok + 5, 30_000, "every event delivered");
    const agents = new Set(receiver.requests.map((r) => r.headers["user-agent"]));
    expect(agents).toEqual(new Set(["hookd-before", "hookd-after"]));
    expect(receiver.requests.at(-1)!.headers["user-agent"]).toBe("hookd-after");

    // Each reload is in the audit log, keyed by the changed paths with secrets masked.
    const audit = await h.api("GET", "/v1/audit?key=sighup");
    expect(audit.status).toBe(200);
    expect(audit.body.data).toHaveLength(5);
    expect(audit.body.data[0]).toMatchObject({ key: "sighup", method: "SIGHUP", path: "", client_ip: null, target_id: null });
    expect(audit.body.data[0].changes["sources[erp5]"]).toMatchObject({ before: null, after: { id: "erp5", secret: "********" } });
    expect(JSON.stringify(audit.body.data)).not.toContain("secret-5-");
    h.proc.kill("SIGTERM");
    expect(await h.proc.exited).toBe(0);
  }, 90_000);

  test("an invalid edit leaves the running config in force and logs every error with its key path", async () => {
    const w = await watch({});
    const { h } = w;
    const key = `new-key-${crypto.randomUUID()}`;
    await w.reload(
      (text) => `${addKey("new", key)(text).replace('level = "info"', 'level = "loud"')}\n[delivery]\ntimeout = "soon"\n`,
      "config reload refused; the running config stays in force",
    );
    const problems = w.lines.filter((l) => String(l.msg).startsWith("config reload refused: "));
    expect(problems.map((l) => l.key).sort()).toEqual(["delivery.timeout", "log.level"]);
    for (const p of problems) {
      expect(p.level).toBe("error");
      expect(p.msg).toBe(`config reload refused: ${p.key}: ${p.problem}`);
    }
    expect((await h.api("GET", "/v1/webhooks")).status).toBe(200); // the old key still works
    expect((await withKey(h.url, key)).status).toBe(401); // the new one, from the invalid file, does not
    expect(await metric(h, 'hookd_config_reloads_total{result="invalid"}')).toBe(1);
    expect(await metric(h, 'hookd_config_reloads_total{result="ok"}')).toBe(0);
    expect(w.count("config reloaded")).toBe(0);
    h.proc.kill("SIGTERM");
    expect(await h.proc.exited).toBe(0);
  }, 30_000);

  test("a changed listen address is logged as needing a restart, and the rest of the edit applies", async () => {
    const w = await watch({});
    const { h } = w;
    const key = `new-key-${crypto.randomUUID()}`;
    const otherPort = freePort();
    const reloaded = await w.reload((text) => addKey("new", key)(text).replace(/listen = "127\.0\.0\.1:\d+"/, `listen = "127.0.0.1:${otherPort}"`));
    const restart = w.lines.filter((l) => l.msg === "config change needs a restart; ignored until then");
    expect(restart.map((l) => l.key)).toContain("server.listen");
    expect(restart.every((l) => l.level === "warn")).toBe(true);
    expect(reloaded.changed).toEqual(["api.keys"]);
    expect(reloaded.restart_needed).toContain("server.listen");
    expect((await withKey(h.url, key)).status).toBe(200); // the new key, on the old port
    expect((await h.api("GET", "/v1/webhooks")).status).toBe(200);
    await expect(fetch(`http://127.0.0.1:${otherPort}/readyz`)).rejects.toThrow();
    h.proc.kill("SIGTERM");
    expect(await h.proc.exited).toBe(0);
  }, 30_000);

  test("a new log level applies at once", async () => {
    const w = await watch({ "[[sources]]": 'id = "erp"\nauth = "hmac"\nsecret = "erp-secret"\nschema = "json"\nevent_type = "load.tick"' });
    const { h } = w;
    const accepted = (n: number) => w.lines.filter((l) => l.msg === "inbound event accepted" && l.event_id !== undefined).length >= n;
    expect((await signed(h.url, "erp", "erp-secret", { n: 1 })).status).toBe(200);
    const reloaded = await w.reload((text) => text.replace('level = "info"', 'level = "debug"'));
    expect(reloaded.changed).toEqual(["log.level"]);
    // The log is in order: the accepted event (at info) logged nothing at debug before the reload line.
    expect(accepted(1)).toBe(false);
    expect((await signed(h.url, "erp", "erp-secret", { n: 2 })).status).toBe(200);
    await waitFor(() => accepted(1), 5000, "a debug line after the reload");
    h.proc.kill("SIGTERM");
    expect(await h.proc.exited).toBe(0);
  }, 30_000);
});

describe("SIGHUP with HTTPS", () => {
  /** makeCert writes a self-signed certificate for 127.0.0.1 with openssl. */
  function makeCert(dir: string, name: string) {
    const cert = join(dir, `${name}.crt`);
    const key = join(dir, `${name}.key`);
    const made = Bun.spawnSync(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", `/CN=${name}`, "-addext", "subjectAltName=IP:127.0.0.1"], { stdout: "ignore", stderr: "pipe" });
    expect(made.exitCode).toBe(0);
    return { cert, key };
  }
  /** curlOk is true when a fresh connection trusting only `ca` gets /readyz. */
  const curlOk = (url: string, ca: string) => Bun.spawnSync(["curl", "-fsS", "--cacert", ca, `${url}/readyz`], { stdout: "ignore", stderr: "ignore" }).exitCode === 0;

  test("new tls_cert / tls_key paths are served after a reload, on the same port", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hookd-reload-tls-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const first = makeCert(dir, "first");
    const second = makeCert(dir, "second");
    const site = hookdSite({ server: `tls_cert = ${JSON.stringify(first.cert)}\ntls_key = ${JSON.stringify(first.key)}`, log: 'level = "info"' }, { https: true });
    const h = await site.start();
    cleanup.push(() => h.proc.kill("SIGKILL"));
    expect(curlOk(h.url, first.cert)).toBe(true);
    const path = join(site.dir, "hookd.toml");
    writeFileSync(path, readFileSync(path, "utf8").replace(first.cert, second.cert).replace(first.key, second.key));
    h.proc.kill("SIGHUP");
    await waitFor(() => curlOk(h.url, second.cert), 10_000, "the certificate at the new paths");
    expect(curlOk(h.url, first.cert)).toBe(false);
    h.proc.kill("SIGTERM");
    expect(await h.proc.exited).toBe(0);
  }, 30_000);
});

describe("reload in process", () => {
  test("a failing audit write is logged and the reload stands; a new cleanup_cron is rescheduled", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hookd-reload-"));
    const key = `key-${crypto.randomUUID()}`;
    const toml = (extra: string) => `[storage]\npath = ${JSON.stringify(join(dir, "hookd.db"))}\n[api]\nkeys = [{ name = "t", hash = "${hashApiKey(key)}" }]\n${extra}`;
    const lines: Line[] = [];
    const app = await startApp({ config: loadConfig(toml(""), {}), log: createLogger("info", (l) => lines.push(JSON.parse(l))), listen: { host: "127.0.0.1", port: 0 } });
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    cleanup.push(() => app.stop());
    (app.storage.audit as { record: unknown }).record = () => Promise.reject(new Error("disk full"));
    const publish = () =>
      fetch(`${app.url}/v1/events`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify({ type: "order.created", data: {} }) });
    expect((await publish()).status).toBe(202);

    const outcome = await app.reload(() => loadConfig(toml('[events]\ntypes = ["invoice.paid"]\n[retention]\ncleanup_cron = "15 4 * * *"\n'), {}));
    expect(outcome).toBe("ok");
    expect(lines.find((l) => l.msg === "config reloaded")?.changed).toEqual(["events.types", "retention.cleanup_cron"]);
    expect(lines.find((l) => l.msg === "retention rescheduled")?.cleanup_cron).toBe("15 4 * * *");
    const auditFailure = lines.find((l) => l.msg === "the config reload could not be recorded in the audit log; the reload stands");
    expect(auditFailure?.level).toBe("error");
    expect(auditFailure?.error.message).toBe("disk full");
    const refused = await publish();
    expect(refused.status).toBe(422); // the new catalogue is in force
    expect(JSON.stringify(await refused.json())).toContain("is not in the [events] types catalogue");
  });

  test("a reloaded SSRF policy applies to the API and to the sender", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hookd-reload-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const key = `key-${crypto.randomUUID()}`;
    const toml = (extra: string) => `[storage]\npath = ${JSON.stringify(join(dir, "hookd.db"))}\n[api]\nkeys = [{ name = "t", hash = "${hashApiKey(key)}" }]\n[delivery]\nrequire_https = false\nretry_schedule = ["300ms", "300ms", "300ms", "300ms", "300ms", "300ms"]\n${extra}`;
    const receiver = startReceiver();
    cleanup.push(() => receiver.stop());
    const app = await startApp({ config: loadConfig(toml('allow_targets = ["127.0.0.0/8"]'), {}), log: createLogger("error", () => {}), listen: { host: "127.0.0.1", port: 0 } });
    cleanup.push(() => app.stop());
    const api = (method: string, path: string, body: unknown) =>
      fetch(`${app.url}${path}`, { method, headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify(body) });
    expect((await api("POST", "/v1/webhooks", { url: `${receiver.url}/hook`, events: ["order.created"] })).status).toBe(201);

    // Loopback is no longer allowed: new endpoints are refused, and the existing one's attempts are blocked at send time.
    expect(await app.reload(() => loadConfig(toml(""), {}))).toBe("ok");
    const refused = await api("POST", "/v1/webhooks", { url: `${receiver.url}/other`, events: ["order.created"] });
    expect(refused.status).toBe(422);
    expect(JSON.stringify(await refused.json())).toContain("target_blocked");
    const published = await (await api("POST", "/v1/events", { type: "order.created", data: {} })).json();
    const attempts = async () => (await (await fetch(`${app.url}/v1/deliveries?event_id=${published.data.id}`, { headers: { authorization: `Bearer ${key}` } })).json()).data;
    await waitFor(async () => (await attempts())[0]?.last_error?.includes("blocked") === true, 5000, "the attempt blocked by the new policy");
    expect(receiver.requests).toHaveLength(0);

    // Allowed again: a later retry goes through (there are several, so one blocked before the reload does not matter).
    expect(await app.reload(() => loadConfig(toml('allow_targets = ["127.0.0.0/8"]'), {}))).toBe("ok");
    await waitFor(() => receiver.requests.length === 1, 10_000, "the retry delivered under the restored policy");
  });

  test("a lowered failing_after applies to the next failed attempt without reopening storage", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hookd-reload-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const key = `key-${crypto.randomUUID()}`;
    const toml = (failingAfter: number) =>
      `[storage]\npath = ${JSON.stringify(join(dir, "hookd.db"))}\n[api]\nkeys = [{ name = "t", hash = "${hashApiKey(key)}" }]\n` +
      `[delivery]\nrequire_https = false\nallow_targets = ["127.0.0.0/8"]\nretry_schedule = ["200ms", "200ms", "200ms", "200ms", "200ms"]\n[alerts]\nfailing_after = ${failingAfter}\n`;
    const receiver = startReceiver(() => new Response("down", { status: 500 }));
    cleanup.push(() => receiver.stop());
    const app = await startApp({ config: loadConfig(toml(10), {}), log: createLogger("error", () => {}), listen: { host: "127.0.0.1", port: 0 } });
    cleanup.push(() => app.stop());
    const api = async (method: string, path: string, body?: unknown) =>
      (await fetch(`${app.url}${path}`, { method, headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) })).json();
    await api("POST", "/v1/webhooks", { url: `${receiver.url}/hook`, events: ["order.created"] });
    await api("POST", "/v1/events", { type: "order.created", data: {} });
    const failing = async () => (await api("GET", "/v1/events?type=hookd.endpoint.failing")).data.length;
    await waitFor(() => receiver.requests.length >= 1, 5000, "a first failed attempt");
    expect(await failing()).toBe(0); // 1 failure of 10: nothing to report yet

    expect(await app.reload(() => loadConfig(toml(2), {}))).toBe("ok");
    await waitFor(async () => (await failing()) === 1, 5000, "hookd.endpoint.failing under the new threshold");
  });
});
