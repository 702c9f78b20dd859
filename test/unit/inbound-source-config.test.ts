import { describe, expect, test } from "bun:test";
import { ConfigError, loadConfig } from "../../src/config/load";
import { renderEffectiveConfig } from "../../src/config/render";

// The [[sources]] keys issue 14 added: dedupe_header (SPEC §2, §7) and allow_origins (SPEC §13).

function errorsOf(source: string): string[] {
  try {
    loadConfig(`[[sources]]\nid = "s"\n${source}`, {});
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.format().split("\n");
  }
}
const none = 'auth = "none"\nallow_ips = ["10.0.0.0/8"]';

describe("allow_origins", () => {
  test("defaults to none and loads with auth = none", () => {
    const config = loadConfig(`[[sources]]\nid = "s"\n${none}\nallow_origins = ["https://erp.example", "http://10.0.0.5:8080"]`, {});
    expect(config.sources[0]!.allow_origins).toEqual(["https://erp.example", "http://10.0.0.5:8080"]);
    expect(loadConfig(`[[sources]]\nid = "s"\n${none}`, {}).sources[0]!.allow_origins).toEqual([]);
  });

  test.each(["hmac", "token"])("is a config error with auth = %s, naming the key path", (auth) => {
    expect(errorsOf(`auth = "${auth}"\nsecret = "x"\nallow_origins = ["https://erp.example"]`)).toEqual([
      `config error: sources[0].allow_origins: only used with auth = "none" (this source has auth = "${auth}")`,
    ]);
  });

  test.each([
    ["https://erp.example/", 'config error: sources[0].allow_origins[0]: "https://erp.example/" is not written as an origin; use "https://erp.example"'],
    ["https://ERP.example", 'config error: sources[0].allow_origins[0]: "https://ERP.example" is not written as an origin; use "https://erp.example"'],
    ["https://erp.example:443", 'config error: sources[0].allow_origins[0]: "https://erp.example:443" is not written as an origin; use "https://erp.example"'],
    ["erp.example", 'config error: sources[0].allow_origins[0]: "erp.example" is not an origin like "https://erp.example" (http or https, no path)'],
    ["null", 'config error: sources[0].allow_origins[0]: "null" is not an origin like "https://erp.example" (http or https, no path)'],
    ["file:///tmp/x", 'config error: sources[0].allow_origins[0]: "file:///tmp/x" is not an origin like "https://erp.example" (http or https, no path)'],
  ])("%p is refused", (origin, message) => {
    expect(errorsOf(`${none}\nallow_origins = ["${origin}"]`)).toEqual([message]);
  });
});

describe("dedupe_header", () => {
  test("defaults to none; a header name loads", () => {
    expect(loadConfig(`[[sources]]\nid = "s"\n${none}`, {}).sources[0]!.dedupe_header).toBe("");
    const config = loadConfig(`[[sources]]\nid = "s"\nauth = "hmac"\nsecret = "x"\ndedupe_header = "X-GitHub-Delivery"`, {});
    expect(config.sources[0]!.dedupe_header).toBe("X-GitHub-Delivery");
  });

  test("a value that is not a header name is a config error at its key path", () => {
    const errors = errorsOf(`${none}\ndedupe_header = "X GitHub Delivery"`);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toStartWith("config error: sources[0].dedupe_header: ");
  });

  test.each([
    ["the source's own signature header", 'auth = "hmac"\nsecret = "x"\nheader = "X-Hub-Signature-256"', "x-hub-signature-256"],
    ["the default token header", 'auth = "token"\nsecret = "x"', "X-Auth-Token"],
    ["Authorization", 'auth = "hmac"\nsecret = "x"', "Authorization"],
    ["a Standard Webhooks signature", 'auth = "standard-webhooks"\nsecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"', "webhook-signature"],
  ])("naming %s is a config error (the dedupe key is stored as sent)", (_what, auth, header) => {
    const errors = errorsOf(`${auth}\ndedupe_header = "${header}"`);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toStartWith("config error: sources[0].dedupe_header: ");
    expect(errors[0]).toContain("credential");
  });

  test("check-config shows both keys", () => {
    const out = renderEffectiveConfig(loadConfig(`[[sources]]\nid = "s"\n${none}\ndedupe_header = "X-Delivery"\nallow_origins = ["https://erp.example"]`, {}));
    expect(out).toContain('dedupe_header = "X-Delivery"\nallow_origins = ["https://erp.example"]\n');
  });
});
