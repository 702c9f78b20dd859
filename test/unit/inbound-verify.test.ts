import { describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { verifyHmac, verifyStandardWebhooks, verifyToken } from "../../src/inbound/verify";

const bytes = (s: string) => new TextEncoder().encode(s);

// GitHub's published vector for X-Hub-Signature-256.
const GH_SECRET = "It's a Secret to Everybody";
const GH_BODY = bytes("Hello, World!");
const GH_HEX = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

// The ERP sender recipe, run once in a shell:
// printf '%s' "$BODY" | openssl dgst -sha256 -hmac "YOUR_SECRET" | awk '{print $2}'
const RECIPE_SECRET = "YOUR_SECRET";
const RECIPE_BODY = bytes(
  '{"connector_id":"YOUR_ID","event_type":"integration.failed","timestamp":"2026-04-20T03:00:00Z","severity":"error","source":"PSFT_PAYROLL_BATCH","message":"Exit code 1 at record 18441"}',
);
const RECIPE_HEX = "e7be30eca1175f99f87947d5e12b935e53545e9493982ae229059e5eba1e25d7";

// The Standard Webhooks spec's known-answer vector.
const SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SW_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const SW_TS = 1614265330;
const SW_BODY = bytes('{"test": 2432232314}');
const SW_SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

// Bytes that are not valid UTF-8 (a lone continuation byte, an overlong NUL, 0xff).
const BINARY_BODY = new Uint8Array([0x7b, 0x80, 0xc0, 0x80, 0xff, 0x7d]);

describe("verifyHmac", () => {
  test.each([
    ["GitHub vector with sha256= prefix", GH_SECRET, GH_BODY, `sha256=${GH_HEX}`],
    ["GitHub vector, bare hex", GH_SECRET, GH_BODY, GH_HEX],
    ["GitHub vector, upper-case hex", GH_SECRET, GH_BODY, `sha256=${GH_HEX.toUpperCase()}`],
    ["GitHub vector, upper-case prefix", GH_SECRET, GH_BODY, `SHA256=${GH_HEX}`],
    ["surrounding whitespace", GH_SECRET, GH_BODY, `  sha256=${GH_HEX} `],
    ["the openssl dgst -hmac recipe", RECIPE_SECRET, RECIPE_BODY, `sha256=${RECIPE_HEX}`],
    ["a body that is not valid UTF-8", "k", BINARY_BODY, createHmac("sha256", "k").update(BINARY_BODY).digest("hex")],
  ])("accepts %s", (_name, secret, body, header) => {
    expect(verifyHmac(secret, body, header)).toEqual({ ok: true });
  });

  const changedByte = Uint8Array.from(GH_BODY);
  changedByte[0] = changedByte[0]! ^ 1;

  test.each([
    ["one changed body byte", GH_SECRET, changedByte, `sha256=${GH_HEX}`, "does not match the body"],
    ["a trailing newline added to the body", GH_SECRET, bytes("Hello, World!\n"), `sha256=${GH_HEX}`, "does not match the body"],
    ["the wrong secret", "It's a Secret to Everybody!", GH_BODY, `sha256=${GH_HEX}`, "does not match the body"],
    ["a missing header", GH_SECRET, GH_BODY, null, "missing X-Hookd-Signature header"],
    ["an empty header", GH_SECRET, GH_BODY, "", "X-Hookd-Signature header is empty"],
    ["only the prefix", GH_SECRET, GH_BODY, "sha256=", "(it has 0 characters)"],
    ["hex one character short", GH_SECRET, GH_BODY, `sha256=${GH_HEX.slice(1)}`, "(it has 63 characters)"],
    ["hex one byte too long", GH_SECRET, GH_BODY, `sha256=${GH_HEX}00`, "(it has 66 characters)"],
    ["64 characters that are not hex", GH_SECRET, GH_BODY, `sha256=${"z".repeat(64)}`, "non-hex characters"],
    ["a sha1= signature", GH_SECRET, GH_BODY, `sha1=${GH_HEX.slice(0, 40)}`, "uses sha1="],
    ["an empty secret", "", GH_BODY, `sha256=${createHmac("sha256", "").update(GH_BODY).digest("hex")}`, "no secret configured"],
  ])("rejects %s", (_name, secret, body, header, message) => {
    const result = verifyHmac(secret, body, header);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.code).toBe("invalid_signature");
    expect(result.message).toContain(message);
    // The expected value must never be handed to whoever is guessing it.
    expect(result.message).not.toContain(createHmac("sha256", secret).update(body).digest("hex"));
  });

  test("names the configured header in its messages", () => {
    expect(verifyHmac(GH_SECRET, GH_BODY, null, "X-ERPOps-Signature")).toMatchObject({ message: "missing X-ERPOps-Signature header" });
  });
});

describe("verifyToken", () => {
  test.each([
    ["equal", "s3cret-token", "s3cret-token", true, ""],
    ["different, same length", "s3cret-token", "s3cret-tokeN", false, "does not match"],
    ["a prefix of the secret", "s3cret-token", "s3cret", false, "does not match"],
    ["longer than the secret", "s3cret-token", "s3cret-token-and-more", false, "does not match"],
    ["missing", "s3cret-token", null, false, "missing x-auth-token header"],
    ["empty", "s3cret-token", "", false, "x-auth-token header is empty"],
    ["any token against an empty secret", "", "x", false, "does not match"],
  ])("%s", (_name, secret, header, ok, message) => {
    const result = verifyToken(secret, header);
    expect(result.ok).toBe(ok);
    if (result.ok) return;
    expect(result.code).toBe("invalid_token");
    expect(result.message).toContain(message);
    expect(result.message).not.toContain(secret || "\u0000");
  });
});

describe("verifyStandardWebhooks", () => {
  const headers = (over: Partial<{ id: string | null; timestamp: string | null; signature: string | null }> = {}) => ({
    id: SW_ID,
    timestamp: String(SW_TS),
    signature: SW_SIG,
    ...over,
  });
  const binarySig = `v1,${createHmac("sha256", Buffer.from("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "base64")).update(`${SW_ID}.${SW_TS}.`).update(BINARY_BODY).digest("base64")}`;

  test.each([
    ["the spec vector at its own time", SW_BODY, headers(), SW_TS],
    ["299 s later", SW_BODY, headers(), SW_TS + 299],
    ["exactly 300 s earlier", SW_BODY, headers(), SW_TS - 300],
    ["a second, unrelated signature first in the list", SW_BODY, headers({ signature: `v1,${"A".repeat(43)}= ${SW_SIG}` }), SW_TS],
    ["a v2 entry alongside the v1", SW_BODY, headers({ signature: `v2,abc ${SW_SIG}` }), SW_TS],
    ["a body that is not valid UTF-8", BINARY_BODY, headers({ signature: binarySig }), SW_TS],
  ])("accepts %s", (_name, body, hdrs, now) => {
    expect(verifyStandardWebhooks(SW_SECRET, body, hdrs, now)).toEqual({ ok: true });
  });

  test.each([
    ["301 s later", SW_BODY, headers(), SW_TS + 301, "webhook-timestamp is 301 s away from the server's clock (tolerance 300 s)"],
    ["301 s earlier", SW_BODY, headers(), SW_TS - 301, "webhook-timestamp is 301 s away from the server's clock (tolerance 300 s)"],
    ["612 s off", SW_BODY, headers(), SW_TS + 612, "webhook-timestamp is 612 s away from the server's clock (tolerance 300 s)"],
    ["only v2 entries", SW_BODY, headers({ signature: `v2,${SW_SIG.slice(3)}` }), SW_TS, "no v1,<base64> entry"],
    ["a changed body", bytes('{"test": 2432232315}'), headers(), SW_TS, "no webhook-signature entry matches"],
    ["a changed id", SW_BODY, headers({ id: "msg_other" }), SW_TS, "no webhook-signature entry matches"],
    ["a truncated signature", SW_BODY, headers({ signature: SW_SIG.slice(0, -4) }), SW_TS, "no webhook-signature entry matches"],
    ["a missing webhook-id", SW_BODY, headers({ id: null }), SW_TS, "missing webhook-id header"],
    ["a missing webhook-timestamp", SW_BODY, headers({ timestamp: null }), SW_TS, "missing webhook-timestamp header"],
    ["a missing webhook-signature", SW_BODY, headers({ signature: null }), SW_TS, "missing webhook-signature header"],
    ["a timestamp in milliseconds", SW_BODY, headers({ timestamp: `${SW_TS}000` }), SW_TS, "it looks like milliseconds: send whole seconds"],
    ["a non-numeric timestamp", SW_BODY, headers({ timestamp: "2021-02-26T00:00:00Z" }), SW_TS, "Unix time in whole seconds"],
  ])("rejects %s", (_name, body, hdrs, now, message) => {
    const result = verifyStandardWebhooks(SW_SECRET, body, hdrs, now);
    expect(result).toMatchObject({ ok: false, code: "invalid_signature" });
    if (result.ok) return;
    expect(result.message).toContain(message);
    expect(result.message).not.toContain(SW_SIG.slice(3));
  });

  test("honours a custom tolerance", () => {
    expect(verifyStandardWebhooks(SW_SECRET, SW_BODY, headers(), SW_TS + 61, 60)).toMatchObject({
      ok: false,
      message: "webhook-timestamp is 61 s away from the server's clock (tolerance 60 s)",
    });
  });
});
