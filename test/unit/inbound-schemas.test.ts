import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import { checkErpEvent, checkJsonBody, ErpEvent, isRfc3339 } from "../../src/inbound/schemas";

// The example body from the ERP integration docs senders are built against (seed 002).
const SEED_BODY = JSON.parse(
  '{"connector_id":"YOUR_ID","event_type":"integration.failed","timestamp":"2026-04-20T03:00:00Z","severity":"error","source":"PSFT_PAYROLL_BATCH","message":"Exit code 1 at record 18441"}',
);
const event = (over: Record<string, unknown> = {}) => ({ ...SEED_BODY, ...over });
const without = (key: string) => Object.fromEntries(Object.entries(SEED_BODY).filter(([k]) => k !== key));

describe("isRfc3339", () => {
  test.each([
    ["2026-04-20T03:00:00Z", true],
    ["2026-04-20T03:00:00+02:00", true],
    ["2026-04-20T03:00:00-05:30", true],
    ["2026-04-20T03:00:00.123Z", true],
    ["2026-04-20T03:00:00.1234567+00:00", true],
    ["2026-04-20t03:00:00z", true],
    ["2024-02-29T00:00:00Z", true],
    ["2016-12-31T23:59:60Z", true],
    ["2026-04-20T03:00:00", false],
    ["2026-02-30T00:00:00Z", false],
    ["2025-02-29T00:00:00Z", false],
    ["1900-02-29T00:00:00Z", false],
    ["2026-04-31T00:00:00Z", false],
    ["2026-13-01T00:00:00Z", false],
    ["2026-00-10T00:00:00Z", false],
    ["2026-04-20T24:00:00Z", false],
    ["2026-04-20T03:60:00Z", false],
    ["2026-04-20T03:00:00+24:00", false],
    ["2026-04-20T03:00:00+0200", false],
    ["2026-04-20 03:00:00Z", false],
    ["2026-04-20", false],
    ["yesterday", false],
    ["2026-04-20T03:00:00Z\n", false],
  ])("%j → %p", (value, expected) => {
    expect(isRfc3339(value)).toBe(expected);
  });
});

describe("checkErpEvent", () => {
  test.each([
    ["the seed doc's example body", SEED_BODY],
    ["no severity (defaults to info)", without("severity")],
    ["only the required fields", { connector_id: "c", event_type: "integration.failed", timestamp: "2026-04-20T03:00:00Z" }],
    ["a timestamp with an offset", event({ timestamp: "2026-04-20T03:00:00+02:00" })],
    ["metadata as an object", event({ metadata: { exit_code: 1, records_processed: 18441, nested: { a: [1] } } })],
    ["empty metadata", event({ metadata: {} })],
    ["extra fields of the sender's own", event({ site: "PARIS-01", retry: 2 })],
    ["severity critical", event({ severity: "critical" })],
  ])("accepts %s", (_name, body) => {
    expect(checkErpEvent(body)).toEqual({ ok: true, eventType: "integration.failed" });
  });

  test("defaults severity to info and keeps unknown fields", () => {
    const parsed = v.parse(ErpEvent, { ...without("severity"), site: "PARIS-01" });
    expect(parsed.severity).toBe("info");
    expect(parsed).toMatchObject({ site: "PARIS-01" });
  });

  test.each([
    ["connector_id missing", without("connector_id"), "connector_id", "required"],
    ["connector_id a number", event({ connector_id: 42 }), "connector_id", "invalid"],
    ["connector_id empty", event({ connector_id: "" }), "connector_id", "invalid"],
    ["event_type missing", without("event_type"), "event_type", "required"],
    ["event_type with one segment", event({ event_type: "integration" }), "event_type", "invalid"],
    ["event_type with CR/LF", event({ event_type: "integration.failed\r\nX-Evil: 1" }), "event_type", "invalid"],
    ["event_type with a trailing LF", event({ event_type: "integration.failed\n" }), "event_type", "invalid"],
    ["event_type too long", event({ event_type: `a.${"b".repeat(127)}` }), "event_type", "invalid"],
    ["event_type null", event({ event_type: null }), "event_type", "invalid"],
    ["timestamp missing", without("timestamp"), "timestamp", "required"],
    ["timestamp without an offset", event({ timestamp: "2026-04-20T03:00:00" }), "timestamp", "invalid"],
    ["timestamp not a real date", event({ timestamp: "2026-02-30T00:00:00Z" }), "timestamp", "invalid"],
    ["timestamp in words", event({ timestamp: "yesterday" }), "timestamp", "invalid"],
    ["timestamp as epoch seconds", event({ timestamp: 1776654000 }), "timestamp", "invalid"],
    ["severity unknown", event({ severity: "warning" }), "severity", "invalid"],
    ["severity in upper case", event({ severity: "ERROR" }), "severity", "invalid"],
    ["severity null", event({ severity: null }), "severity", "invalid"],
    ["source not a string", event({ source: ["PSFT"] }), "source", "invalid"],
    ["message not a string", event({ message: { text: "x" } }), "message", "invalid"],
    ["metadata an array", event({ metadata: [1, 2] }), "metadata", "invalid"],
    ["metadata null", event({ metadata: null }), "metadata", "invalid"],
    ["metadata a string", event({ metadata: "exit_code=1" }), "metadata", "invalid"],
  ])("names the field when %s", (_name, body, field, code) => {
    const result = checkErpEvent(body);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.details).toHaveLength(1);
    expect(result.details[0]).toMatchObject({ field, code });
    expect(result.details[0]!.message).toStartWith(field);
  });

  test("names every bad field at once", () => {
    const result = checkErpEvent({ event_type: "integration", timestamp: "yesterday", severity: "loud", metadata: [], message: 7 });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.details.map((d) => [d.field, d.code]).sort()).toEqual([
      ["connector_id", "required"],
      ["event_type", "invalid"],
      ["message", "invalid"],
      ["metadata", "invalid"],
      ["severity", "invalid"],
      ["timestamp", "invalid"],
    ]);
  });

  test("says what is expected without echoing a huge value", () => {
    const result = checkErpEvent(event({ severity: "x".repeat(10_000) }));
    if (result.ok) throw new Error("expected a failure");
    expect(result.details[0]!.message).toContain('"info", "warn", "error", "critical"');
    expect(result.details[0]!.message.length).toBeLessThan(200);
  });

  test.each([
    ["an array", [SEED_BODY]],
    ["a string", "integration.failed"],
    ["a number", 42],
    ["null", null],
    ["a boolean", true],
  ])("rejects %s as the body with one detail naming body", (_name, body) => {
    expect(checkErpEvent(body)).toMatchObject({ ok: false, details: [{ field: "body", code: "invalid" }] });
  });
});

describe("checkJsonBody", () => {
  test.each([
    ["a fixed type ignores the body's fields", { anything: [1, 2] }, "order.paid", "", "order.paid"],
    ["a fixed type wins over a field", { kind: "x.y" }, "order.paid", "", "order.paid"],
    ["the type read from a field", { kind: "invoice.posted", n: 1 }, "", "kind", "invoice.posted"],
    ["the default field event_type", { event_type: "invoice.posted" }, "", "", "invoice.posted"],
    ["an empty object with a fixed type", {}, "order.paid", "", "order.paid"],
  ])("accepts %s", (_name, body, fixed, field, expected) => {
    expect(checkJsonBody(body, fixed, field)).toEqual({ ok: true, eventType: expected });
  });

  test.each([
    ["the field missing", { other: "a.b" }, "kind", "required"],
    ["the field inherited, not own", {}, "constructor", "required"],
    ["the field not a string", { kind: 5 }, "kind", "invalid"],
    ["the field null", { kind: null }, "kind", "invalid"],
    ["the field not a valid type", { kind: "invoice" }, "kind", "invalid"],
    ["the field with CR/LF", { kind: "a.b\r\nX: y" }, "kind", "invalid"],
  ])("names the field when %s", (_name, body, field, code) => {
    const result = checkJsonBody(body, "", field);
    expect(result).toMatchObject({ ok: false, details: [{ field, code }] });
    if (!result.ok) expect(result.details).toHaveLength(1);
  });

  test.each([
    ["an array", [{ kind: "a.b" }]],
    ["a string", "a.b"],
    ["a number", 1],
    ["null", null],
  ])("rejects %s as the body, even with a fixed type", (_name, body) => {
    expect(checkJsonBody(body, "order.paid", "")).toMatchObject({ ok: false, details: [{ field: "body" }] });
  });
});
