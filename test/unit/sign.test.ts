import { describe, expect, test } from "bun:test";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { Webhook as SvixWebhook } from "svix";
import { deliveryHeaders, hexSignature, standardSignature, type SignedHeadersInput } from "../../src/delivery/sign";

// Known-answer vector published by the Standard Webhooks spec.
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const TS = 1614265330;
const BODY = '{"test": 2432232314}';
// A second secret for rotation: base64 of bytes 0..31.
const OLD_SECRET = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
// Unicode in several UTF-8 widths and an integer beyond 2^53, which JSON.parse would round.
const UNICODE_BODY = 'Héllo ✓ 😀 {"n": 123456789012345678901234567890}';
const JSON_BIG_BODY = '{"name": "Héllo ✓ 😀", "n": 123456789012345678901234567890}';

const nowSec = () => Math.floor(Date.now() / 1000);

function input(over: Partial<SignedHeadersInput> = {}): SignedHeadersInput {
  return { secrets: [SECRET], eventId: MSG_ID, eventType: "order.paid", deliveryId: "dlv_1", body: BODY, timestampSec: nowSec(), userAgent: "hookd/0.1.0", ...over };
}

// Each library wrapped as "does it accept these headers with this one secret".
const verifiers: [string, (secret: string, body: string, headers: Record<string, string>) => unknown][] = [
  ["standardwebhooks", (s, b, h) => new StandardWebhook(s).verify(b, h)],
  ["svix", (s, b, h) => new SvixWebhook(s).verify(b, h)],
];

function svixNames(h: Record<string, string>): Record<string, string> {
  return { "svix-id": h["webhook-id"]!, "svix-timestamp": h["webhook-timestamp"]!, "svix-signature": h["webhook-signature"]! };
}

describe("hexSignature", () => {
  // Computed once with `printf '%s' BODY | openssl dgst -sha256 -hmac SECRET` and Python's hmac.
  test.each([
    [SECRET, BODY, "80ec8a89ce3cd22133a1066caecb4d04fea7467657c8514d717ec42c38a5c94c"],
    [SECRET, UNICODE_BODY, "93a2b51811db427e52c05d8f7b01debf3f8e1d4d2c3f508b290831a7674ace17"],
    [OLD_SECRET, BODY, "4685c9d16f64a759d47846eae0e4f6c75bedef25470e9a0e099c5a56f2f5571f"],
  ])("keys on the whole secret string (%s)", (secret, body, expected) => {
    expect(hexSignature(secret, body)).toBe(expected);
  });
});

describe("standardSignature", () => {
  // The first row is the spec's vector; the others were computed independently with Python's hmac.
  test.each([
    ["spec vector", SECRET, BODY, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="],
    ["unicode body", SECRET, UNICODE_BODY, "v1,vHkKXJMN5KtrBgQy0jlJT6iUq3Xnulz40GlOVd1BsI8="],
    ["other secret", OLD_SECRET, BODY, "v1,O4Gjv1HqPqsMrjmczoggs/sWA8gZD0VyHG+fLh4+ktI="],
  ])("matches the known answer: %s", (_name, secret, body, expected) => {
    expect(standardSignature(secret, MSG_ID, TS, body)).toBe(expected);
  });

  test("gives the same answer on a repeat call (decoded key cache)", () => {
    const first = standardSignature(SECRET, MSG_ID, TS, BODY);
    expect(standardSignature(SECRET, MSG_ID, TS, BODY)).toBe(first);
  });

  test.each(verifiers)("agrees with %s's own sign()", (name) => {
    const lib = name === "svix" ? new SvixWebhook(SECRET) : new StandardWebhook(SECRET);
    expect(lib.sign(MSG_ID, new Date(TS * 1000), UNICODE_BODY)).toBe(standardSignature(SECRET, MSG_ID, TS, UNICODE_BODY));
  });
});

describe("deliveryHeaders", () => {
  test("emits every header of the SPEC §6 table", () => {
    const h = deliveryHeaders(input({ timestampSec: TS }));
    expect(h).toEqual({
      "Content-Type": "application/json",
      "User-Agent": "hookd/0.1.0",
      "X-Hookd-Event": "order.paid",
      "X-Hookd-Delivery": "dlv_1",
      "X-Hookd-Signature": "80ec8a89ce3cd22133a1066caecb4d04fea7467657c8514d717ec42c38a5c94c",
      "webhook-id": MSG_ID,
      "webhook-timestamp": String(TS),
      "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    });
  });

  test("signs with every live secret, newest first, and the hex header with the newest only", () => {
    const h = deliveryHeaders(input({ secrets: [SECRET, OLD_SECRET], timestampSec: TS }));
    expect(h["webhook-signature"]).toBe("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= v1,O4Gjv1HqPqsMrjmczoggs/sWA8gZD0VyHG+fLh4+ktI=");
    expect(h["X-Hookd-Signature"]).toBe(hexSignature(SECRET, BODY));
  });

  test("floors a fractional timestamp so header and signature agree", () => {
    const h = deliveryHeaders(input({ timestampSec: TS + 0.9 }));
    expect(h["webhook-timestamp"]).toBe(String(TS));
    expect(h["webhook-signature"]).toBe(standardSignature(SECRET, MSG_ID, TS, BODY));
  });

  test("refuses an empty secret list rather than send unsigned", () => {
    expect(() => deliveryHeaders(input({ secrets: [] }))).toThrow("at least one secret");
  });
});

describe("receiver libraries verify deliveryHeaders", () => {
  test.each(verifiers)("%s verifies under the webhook-* names", (_name, verify) => {
    expect(verify(SECRET, BODY, deliveryHeaders(input()))).toEqual({ test: 2432232314 });
  });

  test("svix also verifies the same values under the svix-* names", () => {
    expect(new SvixWebhook(SECRET).verify(BODY, svixNames(deliveryHeaders(input())))).toEqual({ test: 2432232314 });
  });

  test("svix reads svix-* first and falls back to webhook-*", () => {
    const h = deliveryHeaders(input());
    const stale = { ...h, "svix-signature": "v1,AAAA" };
    expect(() => new SvixWebhook(SECRET).verify(BODY, stale)).toThrow("No matching signature");
  });

  test("standardwebhooks ignores svix-* names", () => {
    expect(() => new StandardWebhook(SECRET).verify(BODY, svixNames(deliveryHeaders(input())))).toThrow("Missing required headers");
  });

  const rotation = verifiers.flatMap(([name, verify]) => [["newest", SECRET], ["older", OLD_SECRET]].map(([which, s]) => [name, which, s!, verify] as const));
  test.each(rotation)("%s verifies a rotated delivery with the %s secret alone", (_name, _which, secret, verify) => {
    const h = deliveryHeaders(input({ secrets: [SECRET, OLD_SECRET] }));
    expect(() => verify(secret, BODY, h)).not.toThrow();
  });

  test.each(verifiers)("%s verifies a unicode, big-integer JSON body byte for byte", (_name, verify) => {
    const h = deliveryHeaders(input({ body: JSON_BIG_BODY }));
    expect(() => verify(SECRET, JSON_BIG_BODY, h)).not.toThrow();
    // Re-serialising rounds the integer and drops spaces, so only the exact bytes that were signed verify.
    const reserialised = JSON.stringify(JSON.parse(JSON_BIG_BODY));
    expect(reserialised).not.toBe(JSON_BIG_BODY);
    expect(() => verify(SECRET, reserialised, h)).toThrow("No matching signature");
  });

  const tampered: [string, (h: Record<string, string>) => [string, Record<string, string>]][] = [
    ["a changed body", (h) => ['{"test": 2432232315}', h]],
    ["a changed timestamp", (h) => [BODY, { ...h, "webhook-timestamp": String(Number(h["webhook-timestamp"]) - 1) }]],
    ["a changed id", (h) => [BODY, { ...h, "webhook-id": "msg_other" }]],
    ["another secret's signature", (h) => [BODY, { ...h, "webhook-signature": deliveryHeaders(input({ secrets: [OLD_SECRET] }))["webhook-signature"]! }]],
  ];
  const tamperCases = verifiers.flatMap(([name, verify]) => tampered.map(([what, change]) => [name, what, verify, change] as const));
  test.each(tamperCases)("%s rejects %s", (_name, _what, verify, change) => {
    const [body, headers] = change(deliveryHeaders(input()));
    expect(() => verify(SECRET, body, headers)).toThrow("No matching signature");
  });

  // Both libraries allow ±5 minutes, which is why every attempt signs with its own send time.
  const ages: [string, number, string | null][] = [
    ["4 minutes old", -240, null],
    ["10 minutes old", -600, "too old"],
    ["10 minutes ahead", 600, "too new"],
  ];
  const ageCases = verifiers.flatMap(([name, verify]) => ages.map(([what, shift, error]) => [name, what, shift, error, verify] as const));
  test.each(ageCases)("%s, timestamp %s", (_name, _what, shift, error, verify) => {
    const h = deliveryHeaders(input({ timestampSec: nowSec() + shift }));
    if (error === null) expect(() => verify(SECRET, BODY, h)).not.toThrow();
    else expect(() => verify(SECRET, BODY, h)).toThrow(error);
  });
});
