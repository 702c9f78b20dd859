import { describe, expect, it, test } from "bun:test";
import type { OAuth2Profile } from "../../src/config/types";
import { checkOptions, formatTimeout, headerNameProblem, isSensitiveHeader, jsonPointerProblem, MASK, maskHeaders, optionsJson, type OptionsRequest } from "../../src/api/webhook-options";
import { ENDPOINT_OPTION_DEFAULTS, type EndpointOptions } from "../../src/storage/types";

const OAUTH: OAuth2Profile = {
  name: "sap-oauth", token_url: "https://auth.example/t", client_id: "hookd", client_secret: "s", client_secret_env: "",
  scope: "", audience: "", auth_method: "basic", allow_urls: ["https://sap-gw.example/"],
};
const PROFILES = { client_tls: [{ name: "sap-mtls", cert: "/c", key: "/k", ca: "" }], oauth2: [OAUTH] };
const URL_ = "https://erp.example/hook";
const KEY = "api-key-value-never-shown";

const create = (body: OptionsRequest["body"], url = URL_) => checkOptions({ body, before: null, url, profiles: PROFILES });
const stored = (o: Partial<EndpointOptions> = {}, url = URL_) => ({ ...ENDPOINT_OPTION_DEFAULTS, url, ...o });
const patch = (before: ReturnType<typeof stored>, body: OptionsRequest["body"], url = before.url) => checkOptions({ body, before, url, profiles: PROFILES });
const fields = (change: ReturnType<typeof checkOptions>) => change.details.map((d) => d.field);

describe("isSensitiveHeader", () => {
  test.each([
    ["Authorization", true], ["X-Api-Key", true], ["x-auth-token", true], ["X-Client-Secret", true], ["Proxy-Password", true],
    ["Cookie", true], ["KEYCLOAK", true], ["X-Tenant", false], ["Accept", false],
  ])("%p → %p", (name, sensitive) => expect(isSensitiveHeader(name)).toBe(sensitive));
});

describe("headerNameProblem", () => {
  test.each([
    ["X-Tenant", null], ["x_custom", null], ["Authorization", null],
    ["Host", "set by hookd"], ["content-length", "set by hookd"], ["Connection", "set by hookd"], ["Transfer-Encoding", "set by hookd"],
    ["Content-Encoding", "set by hookd"], ["TE", "set by hookd"], ["Upgrade", "set by hookd"], ["Content-Type", "set by hookd"],
    ["User-Agent", "set by hookd"], ["X-Hookd-Event", "set by hookd"], ["x-hookd-anything", "set by hookd"], ["Webhook-Signature", "set by hookd"],
    ["webhook-id", "set by hookd"], ["bad name", "not a header name"], ["X:Y", "not a header name"], ["", "not a header name"], ["Ünï", "not a header name"],
  ])("%p", (name, problem) => {
    const got = headerNameProblem(name);
    if (problem === null) expect(got).toBeNull();
    else expect(got).toContain(problem);
  });
});

describe("jsonPointerProblem", () => {
  test.each([["/document_no", null], ["/a/0/b", null], ["/a~1b/~0c", null], ["/", null], ["document_no", "starting with"], ["", "starting with"], ["/a~2", "~"], ["/a~", "~"], [`/${"x".repeat(256)}`, "at most 256"]])(
    "%p",
    (pointer, problem) => {
      const got = jsonPointerProblem(pointer);
      if (problem === null) expect(got).toBeNull();
      else expect(got).toContain(problem);
    },
  );
});

describe("checkOptions on create", () => {
  it("takes every option and resolves the timeout", () => {
    const change = create({ headers: { "X-Tenant": "acme", "X-Api-Key": KEY }, timeout: "1500ms", rate_limit: 50, ordering: "fifo", ordering_key: "/document_no", client_tls: "sap-mtls" });
    expect(change.details).toEqual([]);
    expect(change.patch).toEqual({ headers: { "X-Tenant": "acme", "X-Api-Key": KEY }, timeout_ms: 1500, rate_limit: 50, ordering: "fifo", ordering_key: "/document_no", client_tls: "sap-mtls" });
  });

  it("stores an empty headers object as unset", () => {
    expect(create({ headers: {} }).patch).toEqual({ headers: null });
  });

  test.each([
    ["headers not an object", { headers: ["a"] }, "headers", "invalid"],
    ["too many headers", { headers: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`X-H${i}`, "v"])) }, "headers", "invalid"],
    ["reserved header", { headers: { Host: "x" } }, "headers", "invalid"],
    ["webhook-* header", { headers: { "Webhook-Id": "x" } }, "headers", "invalid"],
    ["header value with CR/LF", { headers: { "X-A": "a\r\nX-Evil: 1" } }, "headers", "invalid"],
    ["header value with NUL", { headers: { "X-A": "a\u0000" } }, "headers", "invalid"],
    ["header value not a string", { headers: { "X-A": 5 } }, "headers", "invalid"],
    ["header value over 4 KiB", { headers: { "X-A": "é".repeat(2049) } }, "headers", "invalid"],
    ["same header twice in different case", { headers: { "X-A": "1", "x-a": "2" } }, "headers", "invalid"],
    ["mask with nothing stored", { headers: { "X-Api-Key": MASK } }, "headers", "invalid"],
    ["timeout below 1s", { timeout: "999ms" }, "timeout", "invalid"],
    ["timeout above 60s", { timeout: "61s" }, "timeout", "invalid"],
    ["timeout not a duration", { timeout: "soon" }, "timeout", "invalid"],
    ["timeout as a number", { timeout: 5000 }, "timeout", "invalid"],
    ["rate_limit 0", { rate_limit: 0 }, "rate_limit", "invalid"],
    ["rate_limit over 10000", { rate_limit: 10_001 }, "rate_limit", "invalid"],
    ["rate_limit fractional", { rate_limit: 1.5 }, "rate_limit", "invalid"],
    ["rate_limit a string", { rate_limit: "5" }, "rate_limit", "invalid"],
    ["ordering unknown", { ordering: "lifo" }, "ordering", "invalid"],
    ["ordering_key without fifo", { ordering_key: "/a" }, "ordering_key", "invalid"],
    ["ordering_key not a pointer", { ordering: "fifo", ordering_key: "a" }, "ordering_key", "invalid"],
    ["unknown client_tls", { client_tls: "nope" }, "client_tls", "unknown_profile"],
    ["unknown oauth2", { oauth2: "nope" }, "oauth2", "unknown_profile"],
    ["client_tls not a string", { client_tls: 1 }, "client_tls", "invalid"],
    ["oauth2 outside allow_urls", { oauth2: "sap-oauth" }, "oauth2", "invalid"],
  ])("%s → 422 naming the field", (_name, body, field, code) => {
    const change = create(body as OptionsRequest["body"]);
    expect(change.details).toEqual([{ field, code, message: expect.any(String) }]);
    expect(change.patch).toEqual({});
  });

  it("reports every bad field, one entry each", () => {
    expect(fields(create({ headers: { Host: "x", "X-A": "\n" }, timeout: "0", rate_limit: 0, client_tls: "x" }))).toEqual(["headers", "timeout", "rate_limit", "client_tls"]);
  });

  it("never quotes a header value in a message", () => {
    const change = create({ headers: { "X-Api-Key": `${KEY}\n` } });
    expect(JSON.stringify(change.details)).not.toContain(KEY);
  });

  it("accepts oauth2 on an allowed URL, refuses it beside an Authorization header", () => {
    const gw = "https://sap-gw.example/orders";
    expect(create({ oauth2: "sap-oauth" }, gw)).toEqual({ patch: { oauth2: "sap-oauth" }, details: [] });
    expect(fields(create({ oauth2: "sap-oauth", headers: { authorization: "Basic x" } }, gw))).toEqual(["headers"]);
    // Another sensitive header is fine: only Authorization collides with the Bearer token.
    expect(create({ oauth2: "sap-oauth", headers: { "X-Api-Key": KEY } }, gw).details).toEqual([]);
  });
});

describe("checkOptions on PATCH", () => {
  const keyed = stored({ headers: { "X-Api-Key": KEY, "X-Tenant": "acme" } });

  it("keeps a stored sensitive value for the mask, replacing the set", () => {
    expect(patch(keyed, { headers: { "x-api-key": MASK } }).patch).toEqual({ headers: { "x-api-key": KEY } });
  });

  it("takes a new real value and drops headers left out", () => {
    expect(patch(keyed, { headers: { "X-Api-Key": "new" } }).patch).toEqual({ headers: { "X-Api-Key": "new" } });
  });

  it("clears with null", () => {
    expect(patch(stored({ timeout_ms: 5000, rate_limit: 3, client_tls: "sap-mtls" }), { timeout: null, rate_limit: null, client_tls: null, headers: null }).patch).toEqual({
      timeout_ms: null, rate_limit: null, client_tls: null, headers: null,
    });
  });

  it("a null ordering is none", () => {
    expect(patch(stored({ ordering: "fifo" }), { ordering: null }).patch).toEqual({ ordering: "none" });
  });

  it("turning fifo off drops the stored ordering_key", () => {
    expect(patch(stored({ ordering: "fifo", ordering_key: "/a" }), { ordering: "none" }).patch).toEqual({ ordering: "none", ordering_key: null });
  });

  it("refuses a key sent with ordering none, and a key on a none endpoint", () => {
    expect(fields(patch(stored({ ordering: "fifo", ordering_key: "/a" }), { ordering: "none", ordering_key: "/b" }))).toEqual(["ordering_key"]);
    expect(fields(patch(stored(), { ordering_key: "/b" }))).toEqual(["ordering_key"]);
    expect(patch(stored({ ordering: "fifo" }), { ordering_key: "/b" }).patch).toEqual({ ordering_key: "/b" });
  });

  describe("when the URL's origin changes", () => {
    test.each([
      ["host", "https://other.example/hook"],
      ["scheme", "http://erp.example/hook"],
      ["port", "https://erp.example:8443/hook"],
    ])("(%s) without headers while sensitive ones are stored → 422 headers", (_what, url) => {
      expect(fields(patch(keyed, { url } as never, url))).toEqual(["headers"]);
    });

    it("refuses the mask for a sensitive header", () => {
      const url = "https://other.example/hook";
      const change = patch(keyed, { headers: { "X-Api-Key": MASK, "X-Tenant": "acme" } }, url);
      expect(change.details).toEqual([{ field: "headers", code: "invalid", message: expect.stringContaining("X-Api-Key") }]);
    });

    it("accepts the real values again, or clearing the headers", () => {
      const url = "https://other.example/hook";
      expect(patch(keyed, { headers: { "X-Api-Key": "k2" } }, url).details).toEqual([]);
      expect(patch(keyed, { headers: null }, url).details).toEqual([]);
    });

    it("needs nothing when no sensitive header is stored, or only the path changes", () => {
      expect(patch(stored({ headers: { "X-Tenant": "a" } }), {}, "https://other.example/").details).toEqual([]);
      expect(patch(keyed, {}, "https://erp.example/other?x=1").details).toEqual([]);
    });
  });

  it("re-checks oauth2's allow_urls when the URL changes, naming url", () => {
    const gw = stored({ oauth2: "sap-oauth" }, "https://sap-gw.example/a");
    expect(patch(gw, {}, "https://sap-gw.example/b").details).toEqual([]);
    expect(fields(patch(gw, {}, "https://elsewhere.example/b"))).toEqual(["url"]);
    // An unrelated PATCH does not re-judge a stored profile.
    expect(patch(stored({ oauth2: "gone" }), { rate_limit: 5 }).details).toEqual([]);
  });

  it("refuses an Authorization header added to an oauth2 endpoint", () => {
    const gw = stored({ oauth2: "sap-oauth" }, "https://sap-gw.example/a");
    expect(fields(patch(gw, { headers: { Authorization: "Bearer x" } }))).toEqual(["headers"]);
    expect(fields(patch(stored({ headers: { Authorization: "Bearer x" } }, "https://sap-gw.example/a"), { oauth2: "sap-oauth" }))).toEqual(["oauth2"]);
  });
});

describe("read view", () => {
  it("masks sensitive values and shows unset options as null", () => {
    expect(optionsJson({ ...ENDPOINT_OPTION_DEFAULTS })).toEqual({ headers: null, timeout: null, rate_limit: null, ordering: "none", ordering_key: null, client_tls: null, oauth2: null, filter: null, transform: null, content_type: null });
    expect(maskHeaders({ Authorization: "Bearer t", Cookie: "c", "X-Tenant": "acme" })).toEqual({ Authorization: MASK, Cookie: MASK, "X-Tenant": "acme" });
  });

  test.each([[5000, "5s"], [1500, "1500ms"], [60_000, "60s"], [1000, "1s"]])("timeout %p reads %p", (ms, text) => {
    expect(formatTimeout(ms)).toBe(text);
  });
});
