import { describe, expect, test } from "bun:test";
import { loadConfig } from "../../src/config/load";
import { dedupeKeyOf, STORED_HEADER_BYTES, standardHeaders, storedHeaders } from "../../src/inbound/headers";
import { crossSiteProblem } from "../../src/inbound/origin";

const source = (extra = "") => loadConfig(`[[sources]]\nid = "s"\nauth = "hmac"\nsecret = "x"\n${extra}`, {}).sources[0]!;
const bytes = (h: Record<string, string>) => Object.entries(h).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);

describe("storedHeaders", () => {
  test("keeps the identifying headers, never a signature, a token header or Authorization", () => {
    const h = new Headers({
      "content-type": "application/json",
      "user-agent": "GitHub-Hookshot/1",
      "x-github-delivery": "d-1",
      "svix-id": "msg_1",
      "svix-timestamp": "1700000000",
      "svix-signature": "v1,abc",
      "webhook-signature": "v1,abc",
      "x-hub-signature-256": "sha256=00",
      authorization: "Bearer t",
      cookie: "c=1",
    });
    expect(storedHeaders(source('header = "X-Hub-Signature-256"\ndedupe_header = "X-GitHub-Delivery"'), h)).toEqual({
      "content-type": "application/json",
      "user-agent": "GitHub-Hookshot/1",
      "x-github-delivery": "d-1",
      "svix-id": "msg_1",
      "svix-timestamp": "1700000000",
    });
  });

  test.each([
    ["ASCII", "x"],
    ["Latin-1 (two UTF-8 bytes each)", "é"],
  ])("every kept header at its longest stays within 2 KiB in all (%s)", (_name, ch) => {
    const names = ["content-type", "user-agent", "x-hookd-connector-id", "idempotency-key", "webhook-id", "svix-id", "webhook-timestamp", "svix-timestamp"];
    const h = new Headers(names.map((n) => [n, ch.repeat(4000)] as [string, string]));
    const kept = storedHeaders(source(), h);
    expect(bytes(kept)).toBeLessThanOrEqual(STORED_HEADER_BYTES);
    expect(bytes(kept)).toBeGreaterThan(STORED_HEADER_BYTES - 40);
    // Earlier headers keep up to 512 characters; the budget decides where the rest stop.
    expect(kept["content-type"]).toBe(ch.repeat(512));
  });
});

describe("dedupeKeyOf", () => {
  test.each([
    ["the dedupe_header first", { "x-github-delivery": "gh", "webhook-id": "wh", "idempotency-key": "ik" }, { header: "X-GitHub-Delivery", key: "gh" }],
    ["webhook-id when the dedupe header is absent", { "webhook-id": "wh", "idempotency-key": "ik" }, { header: "webhook-id", key: "wh" }],
    ["webhook-id when the dedupe header is blank", { "x-github-delivery": "  ", "webhook-id": "wh" }, { header: "webhook-id", key: "wh" }],
    ["svix-id after webhook-id", { "svix-id": "sv", "idempotency-key": "ik" }, { header: "svix-id", key: "sv" }],
    ["Idempotency-Key last", { "idempotency-key": "ik" }, { header: "Idempotency-Key", key: "ik" }],
    ["nothing", {}, null],
  ])("%s", (_name, headers, expected) => {
    expect(dedupeKeyOf(new Headers(headers), "X-GitHub-Delivery")).toEqual(expected);
  });

  test("without a dedupe_header the order is webhook-id, svix-id, Idempotency-Key", () => {
    expect(dedupeKeyOf(new Headers({ "x-github-delivery": "gh", "idempotency-key": "ik" }))).toEqual({ header: "Idempotency-Key", key: "ik" });
  });
});

describe("standardHeaders", () => {
  test("reads webhook-* and falls back to svix-* per header", () => {
    expect(standardHeaders(new Headers({ "svix-id": "a", "svix-timestamp": "1", "svix-signature": "v1,x" }))).toEqual({ id: "a", timestamp: "1", signature: "v1,x" });
    expect(standardHeaders(new Headers({ "webhook-id": "w", "svix-id": "a", "svix-timestamp": "1" }))).toEqual({ id: "w", timestamp: "1", signature: null });
  });
});

describe("crossSiteProblem", () => {
  const allow = ["https://erp.example"];
  test.each(([
    [{}, false],
    [{ "sec-fetch-site": "same-origin" }, false],
    [{ "sec-fetch-site": "none" }, false],
    [{ "sec-fetch-site": "cross-site" }, true],
    [{ "sec-fetch-site": "Same-Site" }, true],
    [{ origin: "https://erp.example" }, false],
    [{ origin: "https://erp.example", "sec-fetch-site": "cross-site" }, false],
    [{ origin: "https://erp.example.evil" }, true],
    [{ origin: "null" }, true],
    [{ origin: "" }, true],
  ] as [Record<string, string>, boolean][]).map(([h, refused]) => [JSON.stringify(h), refused, h] as const))("%s refused: %p", (_name, refused, headers) => {
    expect(crossSiteProblem(allow, new Headers(headers)) !== null).toBe(refused);
  });
});
