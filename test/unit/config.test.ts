import { describe, expect, it, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { formatDuration, formatRateLimit, formatSize, parseDuration, parseRateLimit, parseSize } from "../../src/config/duration";
import { ConfigError, loadConfig, readConfig } from "../../src/config/load";
import { MASK, renderEffectiveConfig } from "../../src/config/render";
import { exposedTo, inlineSecrets } from "../../src/config/secrets";
import { maskDatabaseUrl, storageLocation } from "../../src/config/storage";
import { maskProxy, parseListen } from "../../src/config/values";
import { hashApiKey } from "../../src/security/api-keys";

// Certificate files must exist and look like PEM; the mistake table points at these two.
const FIXTURES = mkdtempSync(join(tmpdir(), "hookd-config-pem-"));
const PEM = join(FIXTURES, "cert.pem");
const NOT_PEM = join(FIXTURES, "key.txt");
writeFileSync(PEM, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
writeFileSync(NOT_PEM, "not a key");

const EXAMPLE = join(import.meta.dir, "../../config.example.toml");
const HASH = `sha256:${"ab".repeat(32)}`;
const WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const PW = "pg-Passw0rd-never-shown";
const PG = "postgres://hookd@db.internal:5432/hookd";

/** issuesOf loads `toml` and returns the problems found ([] when it loads). */
function issuesOf(toml: string, env: Record<string, string> = {}) {
  try {
    loadConfig(toml, env);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.issues;
  }
}

describe("parseDuration", () => {
  test.each([
    ["500ms", 500],
    ["10s", 10_000],
    ["5m", 300_000],
    ["24h", 86_400_000],
    ["30d", 2_592_000_000],
    ["0", 0],
    ["0s", 0],
    ["1h30m", 5_400_000],
    ["1d2h3m4s5ms", 93_784_005],
    ["1.5s", 1500],
  ])("reads %p as %p ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  test.each(["", "10", "10x", "s", "-5s", "5 s", " 5s", "1m5m", "5s1m", "1.s", "1e3s"])("rejects %p", (text) => {
    expect(parseDuration(text)).toBeString();
    expect(parseDuration(text) as string).toContain(JSON.stringify(text));
  });

  test.each([
    [0, "0"],
    [500, "500ms"],
    [10_000, "10s"],
    [5_400_000, "1h30m"],
    [432_000_000, "5d"],
    [93_784_005, "1d2h3m4s5ms"],
  ])("formatDuration(%p) is %p and reads back", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
    expect(parseDuration(text)).toBe(ms);
  });
});

describe("parseSize", () => {
  test.each([
    ["1MiB", 1_048_576],
    ["512KiB", 524_288],
    ["1MB", 1_000_000],
    ["1KB", 1000],
    ["2GiB", 2_147_483_648],
    ["100B", 100],
    ["4096", 4096],
    ["0", 0],
    ["1.5KiB", 1536],
  ])("reads %p as %p bytes", (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  test.each(["", "1mb", "1 MiB", "MiB", "-1B", "1.5", "0.5B", "1TiB"])("rejects %p", (text) => {
    expect(parseSize(text)).toBeString();
  });

  test.each([
    [1_048_576, "1MiB"],
    [1_000_000, "1MB"],
    [1536, "1536B"],
    [100, "100B"],
    [0, "0B"],
  ])("formatSize(%p) is %p and reads back", (bytes, text) => {
    expect(formatSize(bytes)).toBe(text);
    expect(parseSize(text)).toBe(bytes);
  });
});

describe("parseRateLimit", () => {
  test.each([
    ["50000/1d", { count: 50_000, windowMs: 86_400_000 }],
    ["100/1m", { count: 100, windowMs: 60_000 }],
    ["10/s", { count: 10, windowMs: 1000 }],
    ["5/1h30m", { count: 5, windowMs: 5_400_000 }],
    ["", null],
  ])("reads %p", (text, limit) => {
    expect(parseRateLimit(text)).toEqual(limit);
    expect(formatRateLimit(limit)).toBe(text === "10/s" ? "10/1s" : text);
  });

  test.each(["50000", "0/1d", "-1/1d", "10/0", "10/", "/1d", "1.5/1d", "10/1x", "ten/1d"])("rejects %p", (text) => {
    expect(parseRateLimit(text)).toBeString();
  });
});

describe("parseListen", () => {
  test.each([
    ["0.0.0.0:8080", { host: "0.0.0.0", port: 8080 }],
    ["[::]:8080", { host: "::", port: 8080 }],
    ["[::1]:443", { host: "::1", port: 443 }],
    ["localhost:1", { host: "localhost", port: 1 }],
    ["127.0.0.1:65535", { host: "127.0.0.1", port: 65535 }],
  ])("reads %p", (text, listen) => {
    expect(parseListen(text)).toEqual(listen);
  });

  test.each(["8080", ":8080", "0.0.0.0:0", "0.0.0.0:65536", "0.0.0.0:", ":::8080", "[1.2.3.4]:80", "bad_host:80", "0.0.0.0:80x"])(
    "rejects %p",
    (text) => {
      expect(parseListen(text)).toBeString();
    },
  );
});

describe("loadConfig defaults", () => {
  it("fills in every default of SPEC §2 on an empty file", () => {
    const c = loadConfig("", {});
    expect(c.server.listen).toEqual({ host: "0.0.0.0", port: 8080 });
    expect(c.server.trusted_proxies.size).toBe(0);
    expect(c.server.max_body).toBe(1_048_576);
    expect([c.server.tls_cert, c.server.tls_key]).toEqual(["", ""]);
    expect(c.storage).toEqual({ backend: "sqlite", path: "./data/hookd.db", url: "", url_env: "" });
    expect(c.server.node_id).toBe(`${hostname()}:8080`);
    expect(c.api.keys).toEqual([]);
    expect(c.api.allow_ips.size).toBe(0);
    expect(c.events.types).toEqual([]);
    expect(c.delivery.timeout).toBe(10_000);
    expect(c.delivery.retry_schedule).toEqual([5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]);
    expect(c.delivery.concurrency).toBe(64);
    expect(c.delivery.per_endpoint_concurrency).toBe(8);
    expect(c.delivery.max_endpoints).toBe(10);
    expect(c.delivery.require_https).toBe(true);
    expect(c.delivery.allow_targets.size).toBe(0);
    expect(c.delivery.disable_after).toBe(432_000_000);
    expect(c.delivery.user_agent).toBe("hookd/dev");
    expect(c.delivery.proxy).toBe("");
    expect(c.retention).toEqual({ deliveries: 2_592_000_000, events: 2_592_000_000, inbound: 2_592_000_000, audit: 31_536_000_000, cleanup_cron: "0 3 * * *" });
    expect(c.log.level).toBe("info");
    expect(c.sources).toEqual([]);
  });

  it("puts the version into user_agent", () => {
    expect(loadConfig("", {}, { version: "1.2.3" }).delivery.user_agent).toBe("hookd/1.2.3");
  });

  it("fills in source defaults by auth mode", () => {
    const c = loadConfig(
      `[[sources]]\nid = "a"\nauth = "hmac"\nsecret = "s1"\n[[sources]]\nid = "b"\nauth = "token"\nsecret = "s2"\n` +
        `[[sources]]\nid = "c"\nauth = "none"\nallow_ips = ["10.0.0.0/8"]\nschema = "json"\nevent_type = "x.y"\nrate_limit = "10/1m"`,
      {},
    );
    expect(c.sources.map((s) => [s.id, s.header, s.connector_header, s.connector_id, s.schema, s.rate_limit])).toEqual([
      ["a", "X-Hookd-Signature", "X-Hookd-Connector-Id", "a", "erp-event", null],
      ["b", "x-auth-token", "X-Hookd-Connector-Id", "b", "erp-event", null],
      ["c", "", "X-Hookd-Connector-Id", "c", "json", { count: 10, windowMs: 60_000 }],
    ]);
    expect(c.sources[2]!.secret).toBe("");
    expect(c.sources[2]!.allow_ips.has("10.1.2.3")).toBe(true);
  });
});

describe("config.example.toml", () => {
  const text = readFileSync(EXAMPLE, "utf8");

  it("loads as-is without any environment", () => {
    expect(() => loadConfig(text, {})).not.toThrow();
  });

  it("shows exactly the defaults, except that it names HOOKD_API_KEY for `npm start`", () => {
    expect(renderEffectiveConfig(loadConfig(text, {}))).toBe(renderEffectiveConfig(loadConfig(`[api]\nkey_env = "HOOKD_API_KEY"`, {})));
    expect(text).toContain('\nkey_env = "HOOKD_API_KEY"\n');
  });

  test.each(renderEffectiveConfig(loadConfig("", {})).split("\n").filter((l) => l.includes(" = ")))("documents %p", (line) => {
    const [key] = line.split(" = ");
    // node_id's default depends on the host, so the example shows it commented out with "" (= the default).
    const expected = key === "user_agent" ? 'user_agent = "hookd/<version>"' : key === "node_id" ? '# node_id = ""' : line;
    expect(text.split("\n")).toContain(expected);
  });

  test.each(["id", "auth", "secret", "secret_env", "header", "connector_header", "connector_id", "allow_ips", "schema", "event_type", "event_type_field", "rate_limit"])(
    "documents the source key %p",
    (key) => {
      expect(text).toMatch(new RegExp(`^#\\s+${key}\\s`, "m"));
    },
  );

  test.each(["url", "url_env", "node_id"])("documents the key %p, commented out", (key) => {
    expect(text).toMatch(new RegExp(`^# ${key} = `, "m"));
  });

  it("its commented-out url needs path deleted: uncommented alone it is a config error naming both keys", () => {
    const withUrl = text.replace(/^# (url = .*)$/m, "$1");
    expect(issuesOf(withUrl)).toEqual([{ path: "storage.path", message: "set either path (SQLite) or url (PostgreSQL), not both" }]);
    const postgres = loadConfig(withUrl.replace(/^path = .*$/m, ""), {});
    expect(postgres.storage).toEqual({ backend: "postgres", path: "", url: "postgres://hookd@db.internal:5432/hookd", url_env: "" });
  });

  it("has three commented-out [[sources]] examples that load once uncommented", () => {
    // The [server] and [storage] alternatives stay commented: PostgreSQL is tested above.
    // The [[delivery.*]] profiles name files that exist only on a real host; test/unit/config-profiles.test.ts loads them.
    const uncommented = text.replace(/^# \[\[delivery\.client_tls\]\][\s\S]*?^# allow_urls = .*$/m, "").replace(/^# (url|url_env|node_id) = .*$/gm, "").replace(/^# (\[\[sources\]\]|[a-z_]+ = .*)$/gm, "$1").replace(/^#\s+key_env = .*$/m, "");
    const env = { HOOKD_PSFT_SECRET: "s3cret", HOOKD_MONITOR_TOKEN: "t0ken", HOOKD_ERPOPS_SECRET: WHSEC };
    const c = loadConfig(uncommented, env);
    expect(c.sources.map((s) => s.auth)).toEqual(["hmac", "token", "standard-webhooks"]);
  });
});

describe("loadConfig mistakes", () => {
  test.each([
    ["bad CIDR", `[[sources]]\nid="a"\nauth="hmac"\nsecret="s"\n[[sources]]\nid="b"\nauth="hmac"\nsecret="s"\nallow_ips=["10.0.0.0/33"]`, {}, "sources[1].allow_ips[0]", '"10.0.0.0/33" is not a CIDR (prefix must be 0-32)'],
    ["unknown key", `[server]\nlistn = "0.0.0.0:80"`, {}, "server.listn", 'unknown key (did you mean "listen"?)'],
    ["unknown section", `[sever]`, {}, "sever", 'unknown key (did you mean "server"?)'],
    ["unknown source key", `[[sources]]\nid="a"\nauth="hmac"\nsecret="s"\nallow_ip=[]`, {}, "sources[0].allow_ip", 'unknown key (did you mean "allow_ips"?)'],
    ["listen without port", `[server]\nlisten = "0.0.0.0"`, {}, "server.listen", expect.stringContaining("is not host:port")],
    ["port out of range", `[server]\nlisten = "0.0.0.0:70000"`, {}, "server.listen", expect.stringContaining("the port must be 1-65535")],
    ["tls_cert alone", `[server]\ntls_cert = "${PEM}"`, {}, "server.tls_key", "required when server.tls_cert is set"],
    ["tls_key alone", `[server]\ntls_key = "${PEM}"`, {}, "server.tls_cert", "required when server.tls_key is set"],
    ["unreadable tls_cert", `[server]\ntls_cert = "/nonexistent/c.pem"\ntls_key = "${PEM}"`, {}, "server.tls_cert", 'cannot read "/nonexistent/c.pem": ENOENT'],
    ["tls_key not PEM", `[server]\ntls_cert = "${PEM}"\ntls_key = "${NOT_PEM}"`, {}, "server.tls_key", expect.stringContaining("is not a PEM file")],
    ["bad size", `[server]\nmax_body = "1 MB"`, {}, "server.max_body", expect.stringContaining("is not a size")],
    ["wrong type", `[server]\nmax_body = true`, {}, "server.max_body", 'must be a size like "1MiB", got true'],
    ["bad key hash", `[api]\nkeys = [{ name = "ops", hash = "abc" }]`, {}, "api.keys[0].hash", expect.stringContaining("hookd hash-key")],
    ["a plain key pasted as hash is not echoed", `[api]\nkeys = [{ name = "ops", hash = "PLAINTEXTAPIKEY-secret-123" }]`, {}, "api.keys[0].hash", expect.not.stringContaining("PLAINTEXT")],
    ["uppercase key hash", `[api]\nkeys = [{ name = "ops", hash = "${HASH.toUpperCase().replace("SHA256", "sha256")}" }]`, {}, "api.keys[0].hash", expect.stringContaining("lowercase")],
    ["missing key name", `[api]\nkeys = [{ hash = "${HASH}" }]`, {}, "api.keys[0].name", "is required"],
    ["reserved key name", `[api]\nkeys = [{ name = "sighup", hash = "${HASH}" }]`, {}, "api.keys[0].name", '"sighup" is reserved: the audit log records config reloads under "sighup"'],
    ["duplicate key name", `[api]\nkeys = [{ name = "ops", hash = "${HASH}" }, { name = "ops", hash = "${HASH}" }]`, {}, "api.keys[1].name", 'duplicate "ops" (also api.keys[0].name)'],
    ["bad event type", `[events]\ntypes = ["payroll"]`, {}, "events.types[0]", expect.stringContaining('"payroll" is not an event type')],
    ["long event type", `[events]\ntypes = ["a.${"b".repeat(127)}"]`, {}, "events.types[0]", expect.stringContaining("at most 128")],
    ["duplicate event type", `[events]\ntypes = ["a.b", "a.b"]`, {}, "events.types[1]", 'duplicate "a.b" (also events.types[0])'],
    ["zero concurrency", `[delivery]\nconcurrency = 0`, {}, "delivery.concurrency", "must be at least 1, got 0"],
    ["per-endpoint above total", `[delivery]\nconcurrency = 4`, {}, "delivery.per_endpoint_concurrency", "must not exceed delivery.concurrency (4)"],
    ["fractional max_endpoints", `[delivery]\nmax_endpoints = 1.5`, {}, "delivery.max_endpoints", "must be a whole number, got 1.5"],
    ["zero max_endpoints", `[delivery]\nmax_endpoints = 0`, {}, "delivery.max_endpoints", "must be at least 1, got 0"],
    ["bad retry entry", `[delivery]\nretry_schedule = ["5s", "5m", "soon"]`, {}, "delivery.retry_schedule[2]", expect.stringContaining('"soon" is not a duration')],
    ["zero timeout", `[delivery]\ntimeout = "0"`, {}, "delivery.timeout", "must be more than 0"],
    ["socks proxy", `[delivery]\nproxy = "socks5://p:1080"`, {}, "delivery.proxy", expect.stringContaining("http:// or https://")],
    ["bad cron", `[retention]\ncleanup_cron = "0 25 * * *"`, {}, "retention.cleanup_cron", expect.stringContaining("is not a cron pattern")],
    ["bad log level", `[log]\nlevel = "verbose"`, {}, "log.level", expect.stringContaining('one of "debug", "info", "warn", "error"')],
    ["bad source id", `[[sources]]\nid = "PSFT"\nauth = "hmac"\nsecret = "s"`, {}, "sources[0].id", expect.stringContaining("is not a source id")],
    ["duplicate source id", `[[sources]]\nid="a"\nauth="hmac"\nsecret="s"\n[[sources]]\nid="a"\nauth="hmac"\nsecret="s"`, {}, "sources[1].id", 'duplicate "a" (also sources[0].id)'],
    ["missing auth", `[[sources]]\nid = "a"`, {}, "sources[0].auth", "is required"],
    ["hmac without secret", `[[sources]]\nid = "a"\nauth = "hmac"`, {}, "sources[0].secret", 'required for auth = "hmac" (set secret or secret_env)'],
    ["secret and secret_env", `[[sources]]\nid = "a"\nauth = "token"\nsecret = "s"\nsecret_env = "S"`, { S: "x" }, "sources[0].secret", "set either secret or secret_env, not both"],
    ["secret_env unset", `[[sources]]\nid = "a"\nauth = "hmac"\nsecret_env = "HOOKD_A"`, {}, "sources[0].secret_env", "environment variable HOOKD_A is not set or empty"],
    ["none without allow_ips", `[[sources]]\nid = "a"\nauth = "none"`, {}, "sources[0].auth", '"none" requires allow_ips'],
    ["none with a secret", `[[sources]]\nid = "a"\nauth = "none"\nallow_ips = ["10.0.0.0/8"]\nsecret = "s"`, {}, "sources[0].secret", 'not used with auth = "none"'],
    ["bad whsec", `[[sources]]\nid = "a"\nauth = "standard-webhooks"\nsecret = "plain"`, {}, "sources[0].secret", expect.stringContaining('"whsec_"')],
    ["bad whsec from env", `[[sources]]\nid = "a"\nauth = "standard-webhooks"\nsecret_env = "W"`, { W: "whsec_%%%" }, "sources[0].secret_env", expect.stringContaining('$W must be "whsec_"')],
    ["json without type", `[[sources]]\nid = "a"\nauth = "hmac"\nsecret = "s"\nschema = "json"`, {}, "sources[0].event_type", expect.stringContaining('required for schema = "json"')],
    ["json with both", `[[sources]]\nid = "a"\nauth = "hmac"\nsecret = "s"\nschema = "json"\nevent_type = "a.b"\nevent_type_field = "t"`, {}, "sources[0].event_type", expect.stringContaining("not both")],
    ["json with bad type", `[[sources]]\nid = "a"\nauth = "hmac"\nsecret = "s"\nschema = "json"\nevent_type = "ab"`, {}, "sources[0].event_type", expect.stringContaining('"ab" is not an event type')],
    ["erp-event with a type", `[[sources]]\nid = "a"\nauth = "hmac"\nsecret = "s"\nevent_type = "a.b"`, {}, "sources[0].event_type", 'only used with schema = "json"'],
    ["type outside catalogue", `[events]\ntypes = ["a.b"]\n[[sources]]\nid = "a"\nauth = "hmac"\nsecret = "s"\nschema = "json"\nevent_type = "c.d"`, {}, "sources[0].event_type", '"c.d" is not in events.types'],
    ["bad rate limit", `[[sources]]\nid = "a"\nauth = "hmac"\nsecret = "s"\nrate_limit = "lots"`, {}, "sources[0].rate_limit", expect.stringContaining('"lots" is not a rate limit')],
    ["bad header name", `[[sources]]\nid = "a"\nauth = "hmac"\nsecret = "s"\nheader = "X Sig"`, {}, "sources[0].header", '"X Sig" is not an HTTP header name'],
    ["sources as a table", `[sources]\nid = "a"`, {}, "sources", "must be a list, got a table"],
    ["TOML syntax", `[server]\nlisten = 0.0.0.0:8080`, {}, "(toml)", expect.stringContaining("line 2:")],
    ["path and url", `[storage]\npath = "/var/lib/hookd/hookd.db"\nurl = "${PG}"`, {}, "storage.path", "set either path (SQLite) or url (PostgreSQL), not both"],
    ["path and url_env", `[storage]\npath = "x.db"\nurl_env = "DB"`, { DB: PG }, "storage.path", "set either path (SQLite) or url_env (PostgreSQL), not both"],
    ["url and url_env", `[storage]\nurl = "${PG}"\nurl_env = "DB"`, { DB: PG }, "storage.url", "set either url or url_env, not both"],
    ["url not PostgreSQL", `[storage]\nurl = "mysql://hookd:${PW}@db/hookd"`, {}, "storage.url", expect.stringContaining("must start with postgres:// or postgresql://")],
    ["url without a database", `[storage]\nurl = "postgres://hookd:${PW}@db.internal:5432"`, {}, "storage.url", expect.stringContaining("names no database")],
    ["url not a URL", `[storage]\nurl = "${PW}"`, {}, "storage.url", expect.stringContaining("is not a URL")],
    ["url_env unset", `[storage]\nurl_env = "HOOKD_DB"`, {}, "storage.url_env", "environment variable HOOKD_DB is not set or empty"],
    ["url_env not PostgreSQL", `[storage]\nurl_env = "HOOKD_DB"`, { HOOKD_DB: `https://u:${PW}@db/x` }, "storage.url_env", expect.stringContaining("$HOOKD_DB must start with postgres://")],
    ["bad url_env name", `[storage]\nurl_env = "HOOKD-DB"`, {}, "storage.url_env", '"HOOKD-DB" is not an environment variable name'],
    ["empty path", `[storage]\npath = " "`, {}, "storage.path", "must not be empty"],
    ["long node_id", `[server]\nnode_id = "${"n".repeat(129)}"`, {}, "server.node_id", "must be at most 128 characters (got 129)"],
    ["node_id with a control character", `[server]\nnode_id = "a\\tb"`, {}, "server.node_id", "must be printable (no control characters)"],
    ["node_id with a space at the end", `[server]\nnode_id = "vm-1 "`, {}, "server.node_id", '"vm-1 " must not start or end with a space'],
    ["node_id of the wrong type", `[server]\nnode_id = 7`, {}, "server.node_id", "must be a string, got 7"],
  ])("%s", (_name, toml, env, path, message) => {
    expect(issuesOf(toml, env)).toEqual([{ path, message }]);
  });

  it("reports every mistake at once", () => {
    const toml = `
[server]
listn = "0.0.0.0:8080"
tls_cert = "${PEM}"
[delivery]
retry_schedule = ["5s", "later"]
per_endpoint_concurrency = 100
[[sources]]
id = "a"
auth = "hmac"
allow_ips = ["10.0.0.0/33"]
[[sources]]
id = "b"
auth = "none"
secret_env = "UNSET"
`;
    const issues = issuesOf(toml);
    expect(issues.map((i) => i.path).sort()).toEqual(
      [
        "server.listn",
        "server.tls_key",
        "delivery.retry_schedule[1]",
        "delivery.per_endpoint_concurrency",
        "sources[0].allow_ips[0]",
        "sources[0].secret",
        "sources[1].secret_env",
        "sources[1].auth",
      ].sort(),
    );
    const error = (() => {
      try {
        loadConfig(toml, {});
      } catch (e) {
        return e as ConfigError;
      }
    })()!;
    expect(error.format().split("\n")).toHaveLength(8);
    expect(error.format()).toContain('config error: sources[0].allow_ips[0]: "10.0.0.0/33" is not a CIDR (prefix must be 0-32)');
  });
});

describe("TOML syntax errors", () => {
  test.each([
    ["an unquoted value on line 1", "secret = TOPSECRET-VALUE\n[log]\nlevel = \"info\"\n", 1],
    ["an unclosed table header on line 1", "[server\nlisten = \"0.0.0.0:8080\"\n", 1],
    ["an unterminated string on line 1", "x = \"TOPSECRET-VALUE\nlevel = 1\n", 1],
    ["an unquoted value on line 3 of a list", "[delivery]\nretry_schedule = [\"5s\",\nTOPSECRET-VALUE]\n", 3],
    ["junk after a value on line 2", "[[sources]]\nsecret = \"TOPSECRET-VALUE\" x\n", 2],
    ["a bad number on line 2", "[server]\nmax_body = 12345TOPSECRET\n", 2],
    ["CRLF line ends", "[log]\r\nlevel = TOPSECRET-VALUE\r\n", 2],
  ])("%s: reported on the right line, without the value", (_what, toml, line) => {
    const issues = issuesOf(toml);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toBe("(toml)");
    expect(issues[0]!.message).toStartWith(`line ${line}: `);
    for (const fragment of ["TOPSECRET", "12345"]) expect(issues[0]!.message).not.toContain(fragment);
  });

  it("says what is wrong in words", () => {
    expect(issuesOf("secret = TOPSECRET-VALUE")).toEqual([{ path: "(toml)", message: "line 1: a value that is not quoted (strings go in double quotes)" }]);
  });
});

describe("validation errors on secret-bearing keys", () => {
  test.each([
    ["an inline source secret of the wrong type", `[[sources]]\nid = "a"\nauth = "hmac"\nsecret = 12345`, "sources[0].secret", "must be a string, got a number (value not shown)"],
    ["a proxy of the wrong type", `[delivery]\nproxy = 12345`, "delivery.proxy", "must be a string, got a number (value not shown)"],
    ["a database url of the wrong type", `[storage]\nurl = 12345`, "storage.url", "must be a string, got a number (value not shown)"],
  ])("%s is named by its kind, never its value", (_what, toml, path, message) => {
    expect(issuesOf(toml)).toEqual([{ path, message }]);
  });

  it("other keys still show the value they got", () => {
    expect(issuesOf(`[delivery]\nconcurrency = 0`)).toEqual([{ path: "delivery.concurrency", message: "must be at least 1, got 0" }]);
  });
});

describe("inlineSecrets and exposedTo", () => {
  it("lists inline source secrets and proxy credentials, not secrets from the environment", () => {
    const c = loadConfig(
      `[delivery]\nproxy = "http://u:p@proxy:3128"\n[[sources]]\nid = "a"\nauth = "hmac"\nsecret_env = "A"\n[[sources]]\nid = "b"\nauth = "hmac"\nsecret = "inline"`,
      { A: "from-env" },
    );
    expect(inlineSecrets(c)).toEqual(["sources[1].secret", "delivery.proxy"]);
    expect(inlineSecrets(loadConfig(`[[sources]]\nid = "a"\nauth = "token"\nsecret_env = "A"`, { A: "x" }))).toEqual([]);
  });

  test.each([
    [0o644, 0, 0, "others"],
    [0o640, 5, 0, "group"],
    [0o640, 5, 5, null], // install.sh: root:hookd 0640, read by hookd's own group
    [0o600, 5, 0, null],
    [0o604, 5, 5, "others"],
  ])("mode %o, file group %p, own group %p: %p", (mode, fileGid, ownGid, who) => {
    expect(exposedTo(mode, fileGid, ownGid)).toBe(who as "others" | "group" | null);
  });
});

describe("loadConfig secrets", () => {
  it("resolves secret_env from the environment", () => {
    const c = loadConfig(
      `[[sources]]\nid = "a"\nauth = "hmac"\nsecret_env = "HOOKD_A"\n[[sources]]\nid = "b"\nauth = "standard-webhooks"\nsecret_env = "HOOKD_B"`,
      { HOOKD_A: "hmac-secret", HOOKD_B: WHSEC },
    );
    expect(c.sources.map((s) => s.secret)).toEqual(["hmac-secret", WHSEC]);
  });

  it("hashes key_env the way `hookd hash-key` does and lists it after the configured keys", () => {
    const c = loadConfig(`[api]\nkeys = [{ name = "ops", hash = "${HASH}" }]\nkey_env = "HOOKD_API_KEY"`, { HOOKD_API_KEY: "plain-key-123456" });
    expect(c.api.keys).toEqual([
      { name: "ops", hash: HASH, scopes: ["admin"] },
      { name: "env:HOOKD_API_KEY", hash: hashApiKey("plain-key-123456"), scopes: ["admin"] },
    ]);
  });

  test.each([
    ["unset", {}],
    ["empty", { HOOKD_API_KEY: "" }],
  ])("a key_env naming an %s variable adds no key: the API stays closed, and the config loads", (_what, env: Record<string, string>) => {
    const c = loadConfig(`[api]\nkey_env = "HOOKD_API_KEY"`, env);
    expect(c.api.keys).toEqual([]);
    expect(c.api.key_env).toBe("HOOKD_API_KEY");
  });

  it("refuses a key_env value no Bearer header can carry", () => {
    expect(issuesOf(`[api]\nkey_env = "K"`, { K: "two words" })).toEqual([
      { path: "api.key_env", message: "$K contains whitespace; a Bearer token cannot carry it" },
    ]);
  });
});

describe("renderEffectiveConfig", () => {
  const env = { HOOKD_A: "env-secret-value", HOOKD_API_KEY: "env-api-key-value" };
  const toml = `
[api]
keys = [{ name = "ops", hash = "${HASH}" }]
key_env = "HOOKD_API_KEY"
[delivery]
proxy = "http://user:proxy-password@proxy.internal:3128"
[[sources]]
id = "a"
auth = "hmac"
secret_env = "HOOKD_A"
[[sources]]
id = "b"
auth = "token"
secret = "inline-token-value"
rate_limit = "50000/1d"
allow_ips = ["10.20.0.0/16"]
`;
  const out = renderEffectiveConfig(loadConfig(toml, env));

  test.each(["env-secret-value", "env-api-key-value", "inline-token-value", "proxy-password", HASH, hashApiKey("env-api-key-value")])(
    "never prints %p",
    (secret) => {
      expect(out).not.toContain(secret);
    },
  );

  it("masks secrets and shortens key hashes", () => {
    expect(out).toContain(`secret = "${MASK}"`);
    expect(out).toContain(`{ name = "ops", hash = "sha256:abababab…", scopes = ["admin"] }`);
    expect(out).toContain(`proxy = "http://${MASK}@proxy.internal:3128/"`);
    expect(out).toContain('rate_limit = "50000/1d"');
    expect(out).toContain('allow_ips = ["10.20.0.0/16"]');
  });

  it("shows where a secret from the environment comes from by the variable's name; an inline one stays masked", () => {
    expect(out).toContain('secret_env = "HOOKD_A"');
    expect(out).toContain('key_env = "HOOKD_API_KEY"');
    expect(out).not.toContain("env:HOOKD_API_KEY"); // the env key is shown as key_env, not as a hashed entry of keys
    expect(out.match(/^secret = .*$/gm)).toEqual([`secret = "${MASK}"`]); // source b's inline token
  });

  it("masks a proxy's whole userinfo, a token given as the user alone too", () => {
    const c = loadConfig(`[delivery]\nproxy = "http://tok3n-user-secret@proxy.internal:3128"`, {});
    const shown = renderEffectiveConfig(c);
    expect(shown).not.toContain("tok3n-user-secret");
    expect(shown).toContain(`proxy = "http://${MASK}@proxy.internal:3128/"`);
  });

  it("prints valid TOML that loads back to the same config when there are no secrets", () => {
    const plain = renderEffectiveConfig(loadConfig(`[server]\nlisten = "[::]:9000"\nmax_body = "512KiB"\n[delivery]\nretry_schedule = ["1h30m"]`, {}));
    expect(() => Bun.TOML.parse(out)).not.toThrow();
    expect(renderEffectiveConfig(loadConfig(plain, {}))).toBe(plain);
    expect(plain).toContain('listen = "[::]:9000"');
  });
});

describe("loaded config", () => {
  const c = loadConfig(`[events]\ntypes = ["a.b"]\n[[sources]]\nid = "a"\nauth = "none"\nallow_ips = ["10.0.0.0/8"]`, {});

  test.each([
    ["a top-level section", () => ((c as any).server = null)],
    ["a nested value", () => ((c as any).server.listen.port = 1)],
    ["a list", () => (c.events.types as string[]).push("c.d")],
    ["a source", () => ((c.sources[0] as any).secret = "x")],
    ["an IpSet's CIDRs", () => (c.sources[0]!.allow_ips.cidrs as unknown[]).push({})],
  ])("is frozen: changing %s throws", (_what, mutate) => {
    expect(mutate).toThrow(TypeError);
  });

  it("still matches addresses after freezing", () => {
    expect(c.sources[0]!.allow_ips.has("10.9.9.9")).toBe(true);
    expect(c.sources[0]!.allow_ips.has("11.0.0.1")).toBe(false);
  });
});

describe("readConfig", () => {
  const dir = mkdtempSync(join(tmpdir(), "hookd-config-"));

  it("reads the file given with --config", () => {
    const path = join(dir, "given.toml");
    writeFileSync(path, `[log]\nlevel = "debug"\n`);
    const { config, path: used } = readConfig(path, {}, { version: "9.9.9" });
    expect(used).toBe(path);
    expect(config.log.level).toBe("debug");
    expect(config.delivery.user_agent).toBe("hookd/9.9.9");
  });

  it("names a missing --config file", () => {
    expect(() => readConfig(join(dir, "nope.toml"), {})).toThrow(`${join(dir, "nope.toml")}: no such file`);
  });

  it("falls back to ./hookd.toml", () => {
    const cwd = process.cwd();
    writeFileSync(join(dir, "hookd.toml"), `[log]\nlevel = "warn"\n`);
    try {
      process.chdir(dir);
      const { config, path } = readConfig(undefined, {});
      expect([path, config.log.level]).toEqual(["./hookd.toml", "warn"]);
    } finally {
      process.chdir(cwd);
      rmSync(join(dir, "hookd.toml"));
    }
  });

  it.skipIf(existsSync("/etc/hookd/hookd.toml"))("says where it looked and what to do when no file is found", () => {
    const cwd = process.cwd();
    try {
      process.chdir(dir);
      let error: unknown;
      try {
        readConfig(undefined, {});
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      const text = (error as ConfigError).format();
      for (const part of ["config error: (file):", "./hookd.toml", "/etc/hookd/hookd.toml", "--config", "config.example.toml"]) {
        expect(text).toContain(part);
      }
    } finally {
      process.chdir(cwd);
    }
  });
});

describe("maskProxy", () => {
  it.each([
    ["http://u:p@ss@proxy:3128", "http://********@proxy:3128/"],
    ["http://u:secret@proxy:3128/", "http://********@proxy:3128/"],
    ["http://tok3n-secret@proxy:3128/", "http://********@proxy:3128/"],
    ["https://tok3n-secret:@proxy:3128/", "https://********@proxy:3128/"],
    ["http://proxy:3128", "http://proxy:3128"],
    ["", ""],
  ])("%p -> %p", (input, expected) => {
    expect(maskProxy(input)).toBe(expected);
    if (input.includes("ss@")) expect(maskProxy(input)).not.toContain("ss@");
  });
});

describe("[storage] url and url_env (PostgreSQL)", () => {
  it("an inline url selects PostgreSQL; the default path does not apply", () => {
    expect(loadConfig(`[storage]\nurl = "${PG}"`, {}).storage).toEqual({ backend: "postgres", path: "", url: PG, url_env: "" });
  });

  it("url_env reads the url from the environment and remembers the variable's name", () => {
    const url = `postgresql://hookd:${PW}@db.internal/hookd?sslmode=require`;
    expect(loadConfig(`[storage]\nurl_env = "HOOKD_DB"`, { HOOKD_DB: url }).storage).toEqual({ backend: "postgres", path: "", url, url_env: "HOOKD_DB" });
  });

  it("accepts a socket directory as ?host=", () => {
    expect(loadConfig(`[storage]\nurl = "postgres:///hookd?host=/tmp/pg-sock"`, {}).storage.backend).toBe("postgres");
  });

  test.each([
    [`postgres://hookd:${PW}@db.internal:5432/hookd`, "postgres://hookd:********@db.internal:5432/hookd"],
    [`postgres://hookd@db.internal/hookd?password=${PW}&sslmode=require`, "postgres://hookd@db.internal/hookd?password=********&sslmode=require"],
    [`postgres://hookd:${PW}@[::1]:5432/hookd`, "postgres://hookd:********@[::1]:5432/hookd"],
    [PG, PG],
    ["not a url with a pg-Passw0rd-never-shown", "********"],
  ])("maskDatabaseUrl(%p) is %p", (url, shown) => {
    expect(maskDatabaseUrl(url)).toBe(shown);
  });

  test.each([
    ["url = a URL of another scheme", `[storage]\nurl = "mysql://hookd:${PW}@db/hookd"`, {}],
    ["url = not a URL", `[storage]\nurl = "${PW}"`, {}],
    ["url = a URL without database", `[storage]\nurl = "postgres://hookd:${PW}@db:5432"`, {}],
    ["url_env = a bad URL", `[storage]\nurl_env = "DB"`, { DB: `https://hookd:${PW}@db/x` }],
    ["url and path both set", `[storage]\npath = "x.db"\nurl = "postgres://hookd:${PW}@db/hookd"`, {}],
  ])("the password never appears in a config error: %s", (_what, toml, env: Record<string, string>) => {
    const issues = issuesOf(toml, env);
    expect(issues).toHaveLength(1);
    expect(JSON.stringify(issues)).not.toContain(PW);
  });

  it("check-config output shows an inline url with its password masked", () => {
    const out = renderEffectiveConfig(loadConfig(`[storage]\nurl = "postgres://hookd:${PW}@db.internal:5432/hookd?password=${PW}"`, {}));
    expect(out).not.toContain(PW);
    expect(out).toContain(`[storage]\nurl = "postgres://hookd:${MASK}@db.internal:5432/hookd?password=${MASK}"\n`);
    expect(out).not.toContain("path =");
  });

  it("check-config output names url_env and never shows the url it holds", () => {
    const out = renderEffectiveConfig(loadConfig(`[storage]\nurl_env = "HOOKD_DB"`, { HOOKD_DB: `postgres://hookd:${PW}@db.internal/hookd` }));
    expect(out).toContain('[storage]\nurl_env = "HOOKD_DB"\n');
    expect(out).not.toContain(PW);
    expect(out).not.toContain("db.internal");
  });

  it("storageLocation names the database for logs without the password", () => {
    expect(storageLocation(loadConfig(`[storage]\nurl = "postgres://hookd:${PW}@db/hookd"`, {}).storage)).toBe("postgres://hookd:********@db/hookd");
    expect(storageLocation(loadConfig(`[storage]\npath = "/var/lib/hookd/hookd.db"`, {}).storage)).toBe("/var/lib/hookd/hookd.db");
  });

  it("an inline password counts as a secret written in the config file (serve warns if it is readable by others)", () => {
    expect(inlineSecrets(loadConfig(`[storage]\nurl = "postgres://hookd:${PW}@db/hookd"`, {}))).toEqual(["storage.url"]);
    expect(inlineSecrets(loadConfig(`[storage]\nurl = "postgres://hookd@db/hookd?password=${PW}"`, {}))).toEqual(["storage.url"]);
    expect(inlineSecrets(loadConfig(`[storage]\nurl = "${PG}"`, {}))).toEqual([]);
    expect(inlineSecrets(loadConfig(`[storage]\nurl_env = "DB"`, { DB: `postgres://hookd:${PW}@db/hookd` }))).toEqual([]);
  });
});

describe("[server] node_id", () => {
  it("defaults to the host name and the listen port, so two nodes on one host differ", () => {
    expect(loadConfig(`[server]\nlisten = "127.0.0.1:9001"`, {}).server.node_id).toBe(`${hostname()}:9001`);
  });

  test.each(["vm-hookd-1", "hookd@rack 3", "n".repeat(128), "knoten-ü"])("accepts %p as given", (id) => {
    expect(loadConfig(`[server]\nnode_id = ${JSON.stringify(id)}`, {}).server.node_id).toBe(id);
  });

  it("is shown by check-config", () => {
    expect(renderEffectiveConfig(loadConfig(`[server]\nnode_id = "vm-1"`, {}))).toContain('node_id = "vm-1"\n');
  });
});
