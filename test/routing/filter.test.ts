import { describe, expect, test } from "bun:test";
import { checkFilter, compileFilter, filterContext, filterMatches, type FilterContext, MAX_FILTER_BYTES } from "../../src/routing/filter";
import type { EventRecord } from "../../src/storage/types";

const ctx = (data: unknown, source: string | null = null, type = "erp.batch.failed"): FilterContext => ({
  id: "evt_1", type, created_at: "2026-01-02T03:04:05.000Z", data, source,
});

const PAYROLL_ERROR = ctx({ severity: "error", site: { id: "s-1", region: "eu" }, tags: ["nightly", "payroll"], count: 3, lines: [{ sku: "A", qty: 2 }, { sku: "B", qty: 9 }] }, "psft-payroll");
const PAYROLL_INFO = ctx({ severity: "info", site: { id: "s-2" }, tags: [], count: 0, lines: [] }, "psft-payroll");
const API_ERROR = ctx({ severity: "error", message: "Disk FULL on\nnode 7" });

describe("compileFilter", () => {
  test.each([
    ["source", { source: "psft-payroll" }, [true, true, false]],
    ["source null (API events)", { source: null }, [false, false, true]],
    ["SPEC example", { source: "psft-payroll", "data.severity": { $in: ["error", "critical"] } }, [true, false, false]],
    ["type", { type: "erp.batch.failed" }, [true, true, true]],
    ["nested field by dot path", { "data.site.region": "eu" }, [true, false, false]],
    ["$eq / $ne", { "data.severity": { $ne: "info" } }, [true, false, true]],
    ["$gt / $lte", { "data.count": { $gt: 0, $lte: 3 } }, [true, false, false]],
    ["$nin", { "data.severity": { $nin: ["info", "warn"] } }, [true, false, true]],
    ["$exists true", { "data.message": { $exists: true } }, [false, false, true]],
    ["$exists false", { "data.site": { $exists: false } }, [false, false, true]],
    ["$regex", { "data.site.id": { $regex: "^s-1$" } }, [true, false, false]],
    ["$regex is case-sensitive without $options", { "data.message": { $regex: "full" } }, [false, false, false]],
    ["$regex with $options i", { "data.message": { $regex: "full", $options: "i" } }, [false, false, true]],
    ["$regex with $options m", { "data.message": { $regex: "^node", $options: "m" } }, [false, false, true]],
    ["$regex with $options s", { "data.message": { $regex: "on.node", $options: "s" } }, [false, false, true]],
    ["$regex on array elements", { "data.tags": { $regex: "^pay" } }, [true, false, false]],
    ["$and", { $and: [{ source: "psft-payroll" }, { "data.severity": "error" }] }, [true, false, false]],
    ["$or", { $or: [{ "data.severity": "info" }, { source: null }] }, [false, true, true]],
    ["$nor", { $nor: [{ "data.severity": "info" }, { source: null }] }, [true, false, false]],
    ["$not", { "data.severity": { $not: { $regex: "^err" } } }, [false, true, false]],
    ["$elemMatch", { "data.lines": { $elemMatch: { sku: "B", qty: { $gte: 5 } } } }, [true, false, false]],
    ["$elemMatch needs one element to match all", { "data.lines": { $elemMatch: { sku: "A", qty: { $gte: 5 } } } }, [false, false, false]],
    ["$size", { "data.tags": { $size: 2 } }, [true, false, false]],
    ["$all", { "data.tags": { $all: ["payroll", "nightly"] } }, [true, false, false]],
    ["empty filter matches every event", {}, [true, true, true]],
  ])("%s", (_name, filter, want) => {
    const check = checkFilter(filter);
    expect(check.ok).toBe(true);
    const matches = compileFilter(JSON.stringify(filter));
    expect([PAYROLL_ERROR, PAYROLL_INFO, API_ERROR].map(matches)).toEqual(want);
  });

  test("a catastrophic pattern runs on RE2 in well under a millisecond", () => {
    const matches = compileFilter(JSON.stringify({ "data.s": { $regex: "^(a+)+$" } }));
    const evil = ctx({ s: `${"a".repeat(30)}b` });
    expect(matches(evil)).toBe(false);
    const runs = 100;
    const started = performance.now();
    for (let i = 0; i < runs; i++) matches(evil);
    expect((performance.now() - started) / runs).toBeLessThan(0.5);
  });

  test("compiles each distinct text once", () => {
    const text = '{"data.count":{"$gt":1}}';
    expect(compileFilter(text)).toBe(compileFilter(text));
  });

  test("refuses text that is not a valid filter", () => {
    expect(() => compileFilter('{"$where":"true"}')).toThrow(/\$where/);
  });
});

describe("checkFilter", () => {
  const problemsOf = (value: unknown) => {
    const result = checkFilter(value);
    return result.ok ? [] : result.problems;
  };

  test.each([
    ["$where at the top", { $where: "this.data.x == 1" }, /^\$where: operator \$where is not allowed/],
    ["$where on a field", { data: { $where: "1" } }, /^data\.\$where: operator \$where is not allowed/],
    ["$where inside $and", { $and: [{ source: "x" }, { $where: "1" }] }, /^\$and\[1\]\.\$where: operator \$where/],
    ["$where inside $elemMatch", { "data.lines": { $elemMatch: { $where: "1" } } }, /^data\.lines\.\$elemMatch\.\$where: operator \$where/],
    ["$where inside $not", { "data.x": { $not: { $where: "1" } } }, /\$not\.\$where: operator \$where/],
    ["$expr", { $expr: { $gt: ["$a", 1] } }, /^\$expr: operator \$expr is not allowed/],
    ["$mod (sift has it, SPEC does not)", { "data.n": { $mod: [2, 0] } }, /\$mod is not allowed/],
    ["$type", { "data.n": { $type: "number" } }, /\$type is not allowed/],
    ["unknown operator", { "data.n": { $near: 1 } }, /\$near is not allowed/],
    ["$regex RE2 cannot compile (backreference)", { "data.s": { $regex: "(a)\\1" } }, /data\.s\.\$regex: .* not an RE2 pattern/],
    ["$regex RE2 cannot compile (lookahead)", { "data.s": { $regex: "a(?=b)" } }, /not an RE2 pattern/],
    ["$regex over 256 characters", { "data.s": { $regex: "a".repeat(257) } }, /\$regex is 257 characters; the limit is 256/],
    ["$regex not a string", { "data.s": { $regex: 5 } }, /\$regex takes a string/],
    ["$options JavaScript-only flag", { "data.s": { $regex: "a", $options: "g" } }, /\$options takes the letters i, m and s/],
    ["$options without $regex", { "data.s": { $options: "i" } }, /\$options needs a \$regex/],
    ["$in not an array", { "data.s": { $in: "a" } }, /\$in takes an array/],
    ["$and not an array", { $and: { a: 1 } }, /\$and takes a non-empty array/],
    ["$or empty", { $or: [] }, /\$or takes a non-empty array/],
    ["$exists not a boolean", { "data.s": { $exists: 1 } }, /\$exists takes true or false/],
    ["$size negative", { "data.s": { $size: -1 } }, /\$size takes a whole number/],
    ["$elemMatch not an object", { "data.s": { $elemMatch: 1 } }, /\$elemMatch takes a query object/],
    ["$and against a field", { data: { $and: [{ a: 1 }] } }, /not a valid query: Malformed query/],
    ["fields mixed with operators", { data: { $exists: true, a: 1 } }, /not a valid query/],
    ["__proto__ in a path", JSON.parse('{"data.__proto__.x":1}'), /__proto__ cannot be part of a field path/],
    ["an array", [{ source: "x" }], /must be a JSON object/],
    ["a string", "source = x", /must be a JSON object/],
    ["null", null, /must be a JSON object/],
  ])("refuses %s, naming where", (_name, value, message) => {
    const problems = problemsOf(value);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.join("\n")).toMatch(message);
  });

  test("reports every bad operator, not just the first", () => {
    expect(problemsOf({ $where: "1", "data.a": { $near: 1 } })).toHaveLength(2);
  });

  test("a filter of 8 KiB passes, one byte more does not", () => {
    const pad = (n: number) => ({ "data.s": "x".repeat(n) });
    const overhead = JSON.stringify(pad(0)).length;
    expect(checkFilter(pad(MAX_FILTER_BYTES - overhead))).toEqual({ ok: true, text: JSON.stringify(pad(MAX_FILTER_BYTES - overhead)) });
    expect(problemsOf(pad(MAX_FILTER_BYTES - overhead + 1))).toEqual([`the filter is ${MAX_FILTER_BYTES + 1} bytes as compact JSON; the limit is ${MAX_FILTER_BYTES}`]);
  });

  test("counts bytes, not characters", () => {
    const overhead = JSON.stringify({ "data.s": "" }).length;
    expect(checkFilter({ "data.s": "é".repeat((MAX_FILTER_BYTES - overhead) / 2 + 1) }).ok).toBe(false);
  });

  test("a pattern of exactly 256 characters passes", () => {
    expect(checkFilter({ "data.s": { $regex: "a".repeat(256) } }).ok).toBe(true);
  });

  test("gives the compact JSON to store", () => {
    expect(checkFilter({ source: "x", "data.n": { $gte: 1 } })).toEqual({ ok: true, text: '{"source":"x","data.n":{"$gte":1}}' });
  });

  test("a filter nested absurdly deep is refused", () => {
    let value: unknown = { a: 1 };
    for (let i = 0; i < 40; i++) value = { $and: [value] };
    expect(problemsOf(value).join()).toMatch(/nests deeper than 32 levels/);
  });
});

describe("filterMatches", () => {
  const stored = (data: unknown, source: string | null): EventRecord => ({
    id: "evt_9", type: "erp.batch.failed", origin: "inbound", created_at: Date.parse("2026-01-02T03:04:05Z"), source,
    body: JSON.stringify({ id: "evt_9", type: "erp.batch.failed", created_at: "2026-01-02T03:04:05.000Z", data }),
  });

  test("reads the envelope of a stored event, with its source", () => {
    expect(filterContext(stored({ a: 1 }, "s"))).toEqual({ id: "evt_9", type: "erp.batch.failed", created_at: "2026-01-02T03:04:05.000Z", data: { a: 1 }, source: "s" });
    expect(filterMatches('{"source":"s","data.a":1}', stored({ a: 1 }, "s"))).toBe(true);
    expect(filterMatches('{"source":"s","data.a":1}', stored({ a: 1 }, null))).toBe(false);
  });

  test("created_at compares as RFC 3339 text", () => {
    expect(filterMatches('{"created_at":{"$gte":"2026-01-01"}}', stored({}, null))).toBe(true);
    expect(filterMatches('{"created_at":{"$gte":"2026-02-01"}}', stored({}, null))).toBe(false);
  });

  test("an event body that is not JSON has no data to match", () => {
    const broken: EventRecord = { ...stored({}, null), body: "not json" };
    expect(filterMatches('{"data.a":{"$exists":false}}', broken)).toBe(true);
    expect(filterMatches('{"type":"erp.batch.failed"}', broken)).toBe(true);
  });

  test("data with its own hasOwnProperty field does not throw", () => {
    expect(() => filterMatches('{"data.x.y":1}', ctx({ x: [{ hasOwnProperty: 1, y: 1 }] }))).not.toThrow();
  });

  test("prototype members are not fields", () => {
    expect(filterMatches('{"data.constructor":{"$exists":true}}', ctx({}))).toBe(false);
    expect(filterMatches('{"data.toString":{"$exists":true}}', ctx({}))).toBe(false);
  });

  test("invalid stored text matches nothing", () => {
    expect(filterMatches("not json", ctx({}))).toBe(false);
    expect(filterMatches('{"$where":"true"}', ctx({}))).toBe(false);
  });
});
