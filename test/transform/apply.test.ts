import { afterAll, describe, expect, test } from "bun:test";
import { applyTransform, checkTransform, createTransformPool, DEFAULT_TRANSFORM_CONTENT_TYPE, MAX_TRANSFORM_BYTES } from "../../src/transform";

const pool = createTransformPool({ size: 2 });
afterAll(() => pool.close());

const ENVELOPE = '{"id":"evt_1","type":"payroll.failed","created_at":"2030-01-01T00:00:00.000Z","data":{"batch":"B-7","n":3}}';
const apply = (transform: string | null, contentType: string | null = null, maxBody = 1024 * 1024) =>
  applyTransform(pool, { transform, content_type: contentType }, ENVELOPE, "psft", maxBody);

describe("applyTransform", () => {
  test("no transform: the envelope byte for byte, as JSON", async () => {
    expect(await apply(null)).toEqual({ kind: "body", body: ENVELOPE, contentType: "application/json" });
  });

  test.each<[string, string, string | null, { body: string; contentType: string }]>([
    ["the input is the envelope plus source", "$", null,
      { body: '{"id":"evt_1","type":"payroll.failed","created_at":"2030-01-01T00:00:00.000Z","data":{"batch":"B-7","n":3},"source":"psft"}', contentType: "application/json" }],
    ["an object is JSON", '{"text": "batch " & data.batch, "from": source}', "text/xml", { body: '{"text":"batch B-7","from":"psft"}', contentType: "application/json" }],
    ["an array is JSON", "[data.n, type]", null, { body: '[3,"payroll.failed"]', contentType: "application/json" }],
    ["a string is sent as is with the default type", '"batch=" & data.batch', null, { body: "batch=B-7", contentType: DEFAULT_TRANSFORM_CONTENT_TYPE }],
    ["a string takes the endpoint's content_type", '"<b>" & data.batch & "</b>"', "application/xml", { body: "<b>B-7</b>", contentType: "application/xml" }],
    ["a number is JSON", "data.n * 2", "text/csv", { body: "6", contentType: "application/json" }],
    ["a boolean is JSON", "data.n > 2", null, { body: "true", contentType: "application/json" }],
    ["null is JSON", "null", null, { body: "null", contentType: "application/json" }],
  ])("%s", async (_name, transform, contentType, want) => {
    expect(await apply(transform, contentType)).toEqual({ kind: "body", ...want });
  });

  test.each([
    ["a throw", '$error("no route")', "transform_failed: no route"],
    ["nothing", "data.missing", "transform_failed: the expression returned nothing"],
    ["a function", "function($x) { $x }", "transform_failed: the expression returned a function"],
    ["a result over max_body", '$pad("", 200, "x")', "transform_failed: the result is 200 bytes, over max_body (100)"],
  ])("%s fails with transform_failed", async (_name, transform, prefix) => {
    const r = await apply(transform, null, 100);
    expect(r.kind).toBe("failed");
    expect(r.kind === "failed" && r.error).toStartWith(prefix);
  });

  test("a runaway transform times out", async () => {
    expect(await apply('$match($pad("", 32, "a") & "b", /^(a+)+$/)')).toEqual({ kind: "timeout" });
  });
});

describe("checkTransform", () => {
  test.each<[string, string, string | null]>([
    ["a valid expression", '{"text": data.message}', null],
    ["an expression of exactly 16 KiB", `"${"x".repeat(MAX_TRANSFORM_BYTES - 2)}"`, null],
    ["one byte over 16 KiB", `"${"x".repeat(MAX_TRANSFORM_BYTES - 1)}"`, `transform is ${MAX_TRANSFORM_BYTES + 1} bytes; at most ${MAX_TRANSFORM_BYTES} are allowed`],
    ["multi-byte characters count as bytes", `"${"é".repeat(MAX_TRANSFORM_BYTES / 2)}"`, `transform is ${MAX_TRANSFORM_BYTES + 2} bytes; at most ${MAX_TRANSFORM_BYTES} are allowed`],
    ["empty", "  ", "transform is empty"],
    ["a syntax error", '{"a": ', 'Expected "}" before end of expression (at position 6)'],
  ])("%s", (_name, expression, want) => {
    expect(checkTransform(expression)).toBe(want);
  });

  test("does not evaluate: a runaway expression compiles at once", () => {
    const started = performance.now();
    expect(checkTransform('$pad("", 50000000) & ($f := function($x) { $f($x) }; $f(1))')).toBeNull();
    expect(performance.now() - started).toBeLessThan(50);
  });
});
