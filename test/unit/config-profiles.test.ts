import { describe, expect, it, test } from "bun:test";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, loadConfig } from "../../src/config/load";
import { urlPrefixProblem } from "../../src/config/profiles";
import { MASK, renderEffectiveConfig } from "../../src/config/render";
import { inlineSecrets } from "../../src/config/secrets";

const DIR = mkdtempSync(join(tmpdir(), "hookd-profiles-"));
const PEM = join(DIR, "client.pem");
const NOT_PEM = join(DIR, "client.txt");
writeFileSync(PEM, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
writeFileSync(NOT_PEM, "not pem");
const SECRET = "oauth-client-secret-never-shown";

const tls = (extra = "", name = "sap-mtls") => `[[delivery.client_tls]]\nname = "${name}"\ncert = "${PEM}"\nkey = "${PEM}"\n${extra}\n`;
const oauth = (extra = "", name = "sap-oauth") =>
  `[[delivery.oauth2]]\nname = "${name}"\ntoken_url = "https://auth.example/oauth/token"\nclient_id = "hookd"\nallow_urls = ["https://sap-gw.example/"]\n${extra}\n`;

function issuesOf(toml: string, env: Record<string, string> = {}) {
  try {
    loadConfig(toml, env);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.issues;
  }
}

describe("[[delivery.client_tls]]", () => {
  it("loads name, cert, key and an optional ca", () => {
    const c = loadConfig(tls() + tls(`ca = "${PEM}"`, "other"), {});
    expect(c.delivery.client_tls).toEqual([
      { name: "sap-mtls", cert: PEM, key: PEM, ca: "" },
      { name: "other", cert: PEM, key: PEM, ca: PEM },
    ]);
  });

  test.each([
    ["missing cert", `[[delivery.client_tls]]\nname = "a"\nkey = "${PEM}"`, "delivery.client_tls[0].cert", "is required"],
    ["missing key", `[[delivery.client_tls]]\nname = "a"\ncert = "${PEM}"`, "delivery.client_tls[0].key", "is required"],
    ["unreadable cert", `[[delivery.client_tls]]\nname = "a"\ncert = "/nonexistent/c.pem"\nkey = "${PEM}"`, "delivery.client_tls[0].cert", 'cannot read "/nonexistent/c.pem": ENOENT'],
    ["key not PEM", `[[delivery.client_tls]]\nname = "a"\ncert = "${PEM}"\nkey = "${NOT_PEM}"`, "delivery.client_tls[0].key", expect.stringContaining("is not a PEM file")],
    ["unreadable ca", tls('ca = "/nonexistent/ca.pem"'), "delivery.client_tls[0].ca", expect.stringContaining("cannot read")],
    ["empty name", tls("", ""), "delivery.client_tls[0].name", expect.stringContaining("is not a profile name")],
    ["missing name", `[[delivery.client_tls]]\ncert = "${PEM}"\nkey = "${PEM}"`, "delivery.client_tls[0].name", "is required"],
    ["duplicate name", tls() + tls(), "delivery.client_tls[1].name", 'duplicate "sap-mtls" (also delivery.client_tls[0].name)'],
    ["unknown key", tls('certs = "x"'), "delivery.client_tls[0].certs", 'unknown key (did you mean "cert"?)'],
  ])("%s", (_name, toml, path, message) => {
    expect(issuesOf(toml)).toEqual([{ path, message }]);
  });
});

describe("[[delivery.oauth2]]", () => {
  it("resolves client_secret_env and applies the defaults", () => {
    const c = loadConfig(oauth('client_secret_env = "HOOKD_SAP_CLIENT_SECRET"'), { HOOKD_SAP_CLIENT_SECRET: SECRET });
    expect(c.delivery.oauth2).toEqual([
      {
        name: "sap-oauth", token_url: "https://auth.example/oauth/token", client_id: "hookd", client_secret: SECRET,
        client_secret_env: "HOOKD_SAP_CLIENT_SECRET", scope: "", audience: "", auth_method: "basic", allow_urls: ["https://sap-gw.example/"],
      },
    ]);
  });

  it("takes an inline client_secret, scope, audience and auth_method post", () => {
    const [p] = loadConfig(oauth(`client_secret = "${SECRET}"\nscope = "a b"\naudience = "api"\nauth_method = "post"`), {}).delivery.oauth2;
    expect(p).toMatchObject({ client_secret: SECRET, client_secret_env: "", scope: "a b", audience: "api", auth_method: "post" });
  });

  const s = 'client_secret = "s"';
  test.each([
    ["no secret", oauth(), "delivery.oauth2[0].client_secret", "required (set client_secret or client_secret_env)"],
    ["both secrets", oauth(`${s}\nclient_secret_env = "X"`), "delivery.oauth2[0].client_secret", "set either client_secret or client_secret_env, not both"],
    ["unset env", oauth('client_secret_env = "HOOKD_NOPE"'), "delivery.oauth2[0].client_secret_env", "environment variable HOOKD_NOPE is not set or empty"],
    ["bad env name", oauth('client_secret_env = "1X"'), "delivery.oauth2[0].client_secret_env", '"1X" is not an environment variable name'],
    ["duplicate name", oauth(s) + oauth(s), "delivery.oauth2[1].name", 'duplicate "sap-oauth" (also delivery.oauth2[0].name)'],
    ["bad auth_method", oauth(`${s}\nauth_method = "jwt"`), "delivery.oauth2[0].auth_method", 'must be one of "basic", "post", got "jwt"'],
    ["empty client_id", oauth(s).replace('client_id = "hookd"', 'client_id = ""'), "delivery.oauth2[0].client_id", "must not be empty"],
    ["empty allow_urls", oauth(s).replace('["https://sap-gw.example/"]', "[]"), "delivery.oauth2[0].allow_urls", expect.stringContaining("at least one")],
    ["allow_urls prefix open at the host", oauth(s).replace("sap-gw.example/", "sap-gw.example"), "delivery.oauth2[0].allow_urls[0]", expect.stringContaining('must continue past the host with "/"')],
    ["allow_urls not http", oauth(s).replace("https://sap-gw.example/", "ftp://x/"), "delivery.oauth2[0].allow_urls[0]", expect.stringContaining("is not an http(s) URL prefix")],
    ["token_url not a URL", oauth(s).replace("https://auth.example/oauth/token", "auth.example"), "delivery.oauth2[0].token_url", expect.stringContaining("is not an http(s) URL")],
    ["token_url over http", oauth(s).replace("https://auth", "http://auth"), "delivery.oauth2[0].token_url", expect.stringContaining("must use https")],
    ["token_url on loopback", oauth(s).replace("auth.example", "127.0.0.1"), "delivery.oauth2[0].token_url", expect.stringContaining("blocked range (loopback)")],
    ["token_url on localhost", oauth(s).replace("auth.example", "localhost"), "delivery.oauth2[0].token_url", expect.stringContaining("loopback")],
    ["token_url with credentials", oauth(s).replace("https://auth", "https://u:p@auth"), "delivery.oauth2[0].token_url", "URL must not contain credentials"],
  ])("%s", (_name, toml, path, message) => {
    expect(issuesOf(toml)).toEqual([{ path, message }]);
  });

  it("lets allow_targets and require_https = false admit a token_url, as for endpoints", () => {
    const toml = `[delivery]\nrequire_https = false\nallow_targets = ["10.0.0.0/8"]\n${oauth('client_secret = "s"').replace("https://auth.example", "http://10.1.2.3")}`;
    expect(loadConfig(toml, {}).delivery.oauth2[0]?.token_url).toBe("http://10.1.2.3/oauth/token");
  });

  it("never echoes an inline client_secret of the wrong type", () => {
    const issues = issuesOf(oauth("client_secret = 123456789"));
    expect(issues.map((i) => i.path)).toEqual(["delivery.oauth2[0].client_secret"]);
    expect(JSON.stringify(issues)).not.toContain("123456789");
  });
});

describe("urlPrefixProblem", () => {
  test.each([
    ["https://sap-gw.example/", null],
    ["https://sap-gw.example/api/v2/", null],
    ["http://gw.example:8443/", null],
    ["https://sap-gw.example", "must continue past the host"],
    ["https://sap-gw.example?x", "must continue past the host"],
    ["HTTPS://Sap-GW.example/", "is not written as URLs are stored"],
    ["https://gw.example:443/", "is not written as URLs are stored"],
    ["https://u@gw.example/", "must not contain credentials"],
    ["mailto:x@y", "is not an http(s) URL prefix"],
  ])("%p", (prefix, problem) => {
    const got = urlPrefixProblem(prefix);
    if (problem === null) expect(got).toBeNull();
    else expect(got).toContain(problem);
  });
});

describe("check-config rendering", () => {
  const env = { HOOKD_SAP_CLIENT_SECRET: SECRET };
  const rendered = renderEffectiveConfig(loadConfig(tls() + oauth('client_secret_env = "HOOKD_SAP_CLIENT_SECRET"') + oauth(`client_secret = "${SECRET}"`, "inline"), env));

  it("shows every profile with its keys, never a client secret", () => {
    expect(rendered).toContain(`[[delivery.client_tls]]\nname = "sap-mtls"\ncert = ${JSON.stringify(PEM)}\nkey = ${JSON.stringify(PEM)}\nca = ""\n`);
    expect(rendered).toContain('[[delivery.oauth2]]\nname = "sap-oauth"\ntoken_url = "https://auth.example/oauth/token"\nclient_id = "hookd"\nclient_secret_env = "HOOKD_SAP_CLIENT_SECRET"\n');
    expect(rendered).toContain(`name = "inline"\ntoken_url = "https://auth.example/oauth/token"\nclient_id = "hookd"\nclient_secret = "${MASK}"\n`);
    expect(rendered).toContain('auth_method = "basic"\nallow_urls = ["https://sap-gw.example/"]\n');
    expect(rendered).not.toContain(SECRET);
  });

  it("renders TOML that loads back to the same profiles", () => {
    const again = loadConfig(rendered.replace(`client_secret = "${MASK}"`, `client_secret = "${SECRET}"`), env);
    expect(again.delivery.oauth2.map((p) => p.client_secret)).toEqual([SECRET, SECRET]);
    expect(again.delivery.client_tls).toHaveLength(1);
  });

  it("lists an inline client_secret among the inline secrets serve warns about", () => {
    expect(inlineSecrets(loadConfig(oauth('client_secret = "s"'), {}))).toEqual(["delivery.oauth2[0].client_secret"]);
    expect(inlineSecrets(loadConfig(oauth('client_secret_env = "E"'), { E: "s" }))).toEqual([]);
  });
});

describe("config.example.toml profiles", () => {
  it("shows SPEC §2's two profiles commented out; uncommented (with real files) they load", () => {
    const text = readFileSync(join(import.meta.dir, "../../config.example.toml"), "utf8");
    const block = /^# \[\[delivery\.client_tls\]\][\s\S]*?^# allow_urls = .*$/m.exec(text)?.[0];
    expect(block).toBeDefined();
    const live = block!.replace(/^# /gm, "").replace("/etc/hookd/sap-client.pem", PEM).replace("/etc/hookd/sap-client.key", PEM);
    const c = loadConfig(text.replace(block!, live), { HOOKD_SAP_CLIENT_SECRET: SECRET });
    expect(c.delivery.client_tls.map((p) => p.name)).toEqual(["sap-mtls"]);
    expect(c.delivery.oauth2[0]).toMatchObject({ name: "sap-oauth", client_secret: SECRET, auth_method: "basic", allow_urls: ["https://sap-gw.example/"] });
  });
});
