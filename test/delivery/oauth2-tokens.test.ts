import { describe, expect, it } from "bun:test";
import type { OAuth2Profile } from "../../src/config/types.ts";
import { OAuth2Tokens, parseTokenAnswer, type Token, type TokenFailure, type TokenGrant, urlAllowed } from "../../src/delivery/oauth2.ts";

const PROFILE: OAuth2Profile = {
  name: "p", token_url: "https://auth.example/token", client_id: "id", client_secret: "secret", client_secret_env: "",
  scope: "", audience: "", auth_method: "basic", allow_urls: ["https://gw.example/"],
};

/** gated hands out tok-1, tok-2, … but only when the test calls release(), so concurrency is explicit. */
function gated() {
  let calls = 0;
  const gates: ((answer: TokenGrant | TokenFailure) => void)[] = [];
  const request = () => {
    calls++;
    return new Promise<TokenGrant | TokenFailure>((resolve) => gates.push(resolve));
  };
  return {
    request,
    calls: () => calls,
    release: (answer?: TokenGrant | TokenFailure) => gates.shift()!(answer ?? { accessToken: `tok-${calls}`, expiresIn: 3600 }),
  };
}

const value = (t: Token | TokenFailure) => ("error" in t ? t.error : t.value);

describe("OAuth2Tokens", () => {
  it("makes one request however many callers wait, and shares its answer", async () => {
    const g = gated();
    const tokens = new OAuth2Tokens(g.request, () => 0);
    const waiting = Array.from({ length: 20 }, () => tokens.token(PROFILE));
    expect(g.calls()).toBe(1);
    g.release();
    expect((await Promise.all(waiting)).map(value)).toEqual(Array(20).fill("tok-1"));
  });

  it("after a 401, refreshes once for every attempt holding the rejected token, and reuses a newer one", async () => {
    const g = gated();
    const tokens = new OAuth2Tokens(g.request, () => 0);
    const first = tokens.token(PROFILE);
    g.release();
    const rejected = (await first) as Token;
    const refreshes = Array.from({ length: 5 }, () => tokens.refresh(PROFILE, rejected));
    // A caller arriving while the refresh runs does not get the rejected token either.
    const late = tokens.token(PROFILE);
    expect(g.calls()).toBe(2);
    g.release();
    expect((await Promise.all([...refreshes, late])).map(value)).toEqual(Array(6).fill("tok-2"));
    // Another attempt that was rejected with tok-1 afterwards takes tok-2 without a request.
    expect(value(await tokens.refresh(PROFILE, rejected))).toBe("tok-2");
    expect(g.calls()).toBe(2);
  });

  it("shares a failure with the callers that waited, then tries again on the next call", async () => {
    const g = gated();
    const tokens = new OAuth2Tokens(g.request, () => 0);
    const a = tokens.token(PROFILE);
    const b = tokens.token(PROFILE);
    g.release({ error: "oauth2: token request failed: HTTP 500 from auth.example" });
    expect([value(await a), value(await b)]).toEqual(Array(2).fill("oauth2: token request failed: HTTP 500 from auth.example"));
    const c = tokens.token(PROFILE);
    expect(g.calls()).toBe(2);
    g.release();
    expect(value(await c)).toBe("tok-2");
  });

  it("drops the cached token when a reload changes the profile's client", async () => {
    const g = gated();
    const tokens = new OAuth2Tokens(g.request, () => 0);
    const a = tokens.token(PROFILE);
    g.release();
    await a;
    const b = tokens.token({ ...PROFILE, client_id: "other" });
    expect(g.calls()).toBe(2);
    g.release();
    expect(value(await b)).toBe("tok-2");
  });
});

describe("parseTokenAnswer", () => {
  it.each([
    ['{"access_token":"abc","token_type":"bearer","expires_in":60}', { accessToken: "abc", expiresIn: 60 }],
    ['{"access_token":"abc","expires_in":"120"}', { accessToken: "abc", expiresIn: 120 }],
    ['{"access_token":"abc"}', { accessToken: "abc", expiresIn: null }],
    ['{"access_token":"abc","token_type":"mac"}', { error: 'oauth2: token response from a.example has token_type "mac", expected Bearer' }],
    ['{"access_token":"a\\r\\nb"}', { error: "oauth2: token response from a.example has no usable access_token" }],
    ["[]", { error: "oauth2: token response from a.example has no usable access_token" }],
    ["<html>", { error: "oauth2: token response from a.example is not JSON" }],
  ])("%s", (text, expected) => expect(parseTokenAnswer(text, "a.example")).toEqual(expected));
});

describe("urlAllowed", () => {
  it.each([
    ["https://gw.example/hooks/1", true],
    ["https://gw.example.evil/", false],
    ["http://gw.example/", false],
  ])("%s → %p", (url, allowed) => expect(urlAllowed(PROFILE, url)).toBe(allowed));
});
