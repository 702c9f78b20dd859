import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { diffConfig, keepRestartValues, needsRestart } from "../../src/config/diff";
import { loadConfig } from "../../src/config/load";
import { MASK } from "../../src/config/render";

const HASH_A = `sha256:${"ab".repeat(32)}`;
const HASH_B = `sha256:${"cd".repeat(32)}`;
const ENV = { ERP_SECRET: "from-env-secret" };

// Every case edits one base config; the storage path and node id are fixed so the host does not matter.
const BASE = `
[server]
listen = "127.0.0.1:8080"
node_id = "n1"
[storage]
path = "/tmp/hookd-diff.db"
[api]
keys = [{ name = "ops", hash = "${HASH_A}" }]
[[sources]]
id = "erp"
auth = "hmac"
secret = "inline-secret-one"
`;

const load = (toml: string) => loadConfig(toml, ENV, { version: "test" });
const base = load(BASE);
const edit = (from: string, to: string) => {
  if (!BASE.includes(from)) throw new Error(`base has no ${from}`);
  return load(BASE.replace(from, to));
};

describe("diffConfig", () => {
  test.each([
    ["nothing", BASE, [], []],
    ["a new source", `${BASE}\n[[sources]]\nid = "erp2"\nauth = "token"\nsecret = "second-secret"\n`, ["sources[erp2]"], []],
    ["a source's secret", BASE.replace("inline-secret-one", "inline-secret-two"), ["sources[erp]"], []],
    ["a new key", BASE.replace(`"${HASH_A}" }]`, `"${HASH_A}" }, { name = "ci", hash = "${HASH_B}", scopes = ["read"] }]`), ["api.keys"], []],
    ["allow_ips", `${BASE.replace("[api]", '[api]\nallow_ips = ["10.0.0.0/8"]')}`, ["api.allow_ips"], []],
    ["the catalogue", `${BASE}\n[events]\ntypes = ["order.created"]\n`, ["events.types"], []],
    ["delivery settings", `${BASE}\n[delivery]\ntimeout = "3s"\nretry_schedule = ["1s"]\nproxy = "http://u:p@proxy.internal:3128"\n`, ["delivery.timeout", "delivery.retry_schedule", "delivery.proxy"], []],
    ["alerts, retention and log", `${BASE}\n[alerts]\nfailing_after = 3\n[retention]\ncleanup_cron = "0 4 * * *"\n[log]\nlevel = "debug"\n`, ["alerts.failing_after", "retention.cleanup_cron", "log.level"], []],
    ["trusted_proxies and body_timeout", BASE.replace('node_id = "n1"', 'node_id = "n1"\ntrusted_proxies = ["10.0.0.1"]\nbody_timeout = "5s"'), ["server.trusted_proxies", "server.body_timeout"], []],
    ["listen", BASE.replace("127.0.0.1:8080", "127.0.0.1:9090"), [], ["server.listen"]],
    ["storage and a key together", BASE.replace("hookd-diff.db", "other.db").replace(HASH_A, HASH_B), ["api.keys"], ["storage.path"]],
    ["node_id, max_body, max_inflight_body", BASE.replace('node_id = "n1"', 'node_id = "n2"\nmax_body = "2MiB"\nmax_inflight_body = "128MiB"'), [], ["server.max_body", "server.max_inflight_body", "server.node_id"]],
    ["a removed source", BASE.replace(/\[\[sources\]\][^]*$/, ""), ["sources[erp]"], []],
  ])("%s", (_what, toml, applied, restart) => {
    const diff = diffConfig(base, load(toml));
    expect(diff.applied).toEqual(applied);
    expect(diff.restart.sort()).toEqual([...restart].sort());
    expect(Object.keys(diff.changes)).toEqual(applied);
  });

  test("secrets are masked in before/after and never appear in the diff", () => {
    const next = load(
      `${BASE.replace("inline-secret-one", "inline-secret-two").replace(HASH_A, HASH_B)}\n[delivery]\nproxy = "http://user:proxy-pw@proxy.internal:3128"\n`,
    );
    const diff = diffConfig(base, next);
    const text = JSON.stringify(diff);
    for (const secret of ["inline-secret-one", "inline-secret-two", "proxy-pw", HASH_A.slice(7), HASH_B.slice(7)]) expect(text).not.toContain(secret);
    // Only what changed is shown, so a changed secret reads as just that: the secret field, masked on both sides.
    expect(diff.changes["sources[erp]"]).toEqual({ before: { secret: MASK }, after: { secret: MASK } });
    expect(diff.changes["api.keys"]).toEqual({ before: [{ name: "ops", hash: MASK }], after: [{ name: "ops", hash: MASK }] });
    expect(diff.changes["delivery.proxy"]).toEqual({ before: "", after: MASK });
  });

  test.each([
    [
      "a source's allow_ips: that field only",
      BASE.replace('auth = "hmac"', 'auth = "hmac"\nallow_ips = ["10.0.0.0/8"]'),
      "sources[erp]",
      { before: { allow_ips: [] }, after: { allow_ips: ["10.0.0.0/8"] } },
    ],
    [
      "a key added beside an unchanged one: the new key only, whole",
      BASE.replace(`"${HASH_A}" }]`, `"${HASH_A}" }, { name = "ci", hash = "${HASH_B}", scopes = ["read"] }]`),
      "api.keys",
      { before: [], after: [{ name: "ci", hash: MASK, scopes: ["read"] }] },
    ],
    [
      "a key's scopes narrowed: its name and scopes",
      BASE.replace(`"${HASH_A}" }]`, `"${HASH_A}", scopes = ["read"] }]`),
      "api.keys",
      { before: [{ name: "ops", scopes: ["admin"] }], after: [{ name: "ops", scopes: ["read"] }] },
    ],
  ])("a changed entry shows only what changed: %s", (_name, toml, path, expected) => {
    expect(diffConfig(base, load(toml)).changes[path]).toEqual(expected);
  });

  test("a node_id left to its default follows listen: only server.listen needs a restart", () => {
    const unnamed = load(BASE.replace('node_id = "n1"\n', ""));
    const moved = diffConfig(unnamed, load(BASE.replace('node_id = "n1"\n', "").replace("8080", "9999")));
    expect(moved.restart).toEqual(["server.listen"]);
    // A node_id set by hand is the operator's, and changing it needs a restart like listen.
    expect(diffConfig(base, load(BASE.replace('"n1"', '"n2"').replace("8080", "9999"))).restart).toEqual(["server.listen", "server.node_id"]);
  });

  test("an added or removed entry has null on the other side", () => {
    const added = diffConfig(base, load(`${BASE}\n[[sources]]\nid = "erp2"\nauth = "hmac"\nsecret_env = "ERP_SECRET"\n`));
    expect(added.changes["sources[erp2]"]).toMatchObject({ before: null, after: { id: "erp2", secret: MASK, secret_env: "ERP_SECRET" } });
    expect(diffConfig(load(`${BASE}\n[[sources]]\nid = "erp2"\nauth = "none"\nallow_ips = ["10.0.0.0/8"]\n`), base).changes["sources[erp2]"]).toMatchObject({
      before: { id: "erp2", allow_ips: ["10.0.0.0/8"] },
      after: null,
    });
  });

  test("switching HTTPS on needs a restart; new certificate paths apply live", () => {
    const dir = mkdtempSync(join(tmpdir(), "hookd-diff-"));
    const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    for (const f of ["a.crt", "a.key", "b.crt", "b.key"]) writeFileSync(join(dir, f), pem);
    try {
      const tls = (n: string) => edit('node_id = "n1"', `node_id = "n1"\ntls_cert = "${dir}/${n}.crt"\ntls_key = "${dir}/${n}.key"`);
      expect(diffConfig(base, tls("a")).restart).toEqual(["server.tls_cert", "server.tls_key"]);
      expect(diffConfig(tls("a"), tls("b")).applied).toEqual(["server.tls_cert", "server.tls_key"]);
      expect(diffConfig(tls("a"), base).restart).toEqual(["server.tls_cert", "server.tls_key"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("needsRestart", () => {
  test.each([
    ["server.listen", false, true],
    ["storage.url", false, true],
    ["server.node_id", false, true],
    ["server.max_body", false, true],
    ["server.body_timeout", false, false],
    ["server.tls_cert", false, false],
    ["server.tls_cert", true, true],
    ["api.keys", false, false],
    ["sources[erp]", false, false],
  ])("%s (tls toggled: %p) → %p", (path, toggled, expected) => {
    expect(needsRestart(path, toggled)).toBe(expected);
  });
});

describe("keepRestartValues", () => {
  test("keeps the running listen, storage and body limits and takes everything else from the new config", () => {
    const next = load(BASE.replace("127.0.0.1:8080", "127.0.0.1:9090").replace("hookd-diff.db", "other.db").replace(HASH_A, HASH_B));
    const kept = keepRestartValues(base, next);
    expect(kept.server.listen).toEqual(base.server.listen);
    expect(kept.storage).toBe(base.storage);
    expect(kept.api.keys[0]!.hash).toBe(HASH_B);
    expect(Object.isFrozen(kept) && Object.isFrozen(kept.server)).toBe(true);
    // A reload that only changes what needs a restart applies nothing.
    expect(diffConfig(base, keepRestartValues(base, load(BASE.replace("127.0.0.1:8080", "127.0.0.1:9090")))).applied).toEqual([]);
  });
});
