import { describe, expect, it, test } from "bun:test";
import { checkOptions } from "../../src/api/webhook-options";
import { checkRouting, mediaTypeProblem, routingJson, transformProblem } from "../../src/api/webhook-routing";
import { ENDPOINT_OPTION_DEFAULTS } from "../../src/storage/types";

// SPEC §10's endpoint fields as pure rules: what create/PATCH accept, store and show.
const PROFILES = { client_tls: [], oauth2: [] };
const fields = (change: { details: { field: string }[] }) => change.details.map((d) => d.field);

describe("mediaTypeProblem", () => {
  test.each([
    ["application/xml", null],
    ["text/plain; charset=utf-8", null],
    ["application/x-www-form-urlencoded", null],
    ["application/vnd.api+json", null],
    ["text/xml;charset=UTF-8", null],
    ['multipart/form-data; boundary="a b;c"', null],
    ["text/plain ; charset=utf-8 ; format=flowed", null],
    ["text/plain;", null],
    ["text", "media type"],
    ["/xml", "media type"],
    ["text/", "media type"],
    ["text/plain; charset", "media type"],
    ["text/plain; charset=", "media type"],
    [" text/plain", "media type"],
    ["text/plain\r\nX-Evil: 1", "media type"],
    ["text/pläin", "media type"],
    ["text plain/xml", "media type"],
    ['text/plain; a="unterminated', "media type"],
    [`text/${"x".repeat(251)}`, "at most 255"],
  ])("%#: %p", (value, problem) => {
    const got = mediaTypeProblem(value);
    if (problem === null) expect(got).toBeNull();
    else expect(got).toContain(problem);
  });

  it("accepts exactly 255 characters", () => expect(mediaTypeProblem(`text/${"x".repeat(250)}`)).toBeNull());
});

describe("transformProblem", () => {
  test.each([
    ['{"text": "Payroll batch " & data.batch & " failed: " & data.message}', null],
    ['"<order id=\\"" & data.id & "\\"/>"', null],
    ["$", null],
    ["", "empty"],
    ["   ", "empty"],
    [5, "JSONata expression"],
    [{ text: "x" }, "JSONata expression"],
    ['{"text": ', "*"],
    ["data.(", "*"],
    [`"${"x".repeat(16 * 1024)}"`, "at most 16384"],
  ])("%#", (value, problem) => {
    const got = transformProblem(value);
    if (problem === null) expect(got).toBeNull();
    else if (problem === "*") expect(got).toEqual(expect.any(String));
    else expect(got).toContain(problem);
  });
});

describe("checkRouting", () => {
  it("stores the filter as compact JSON text and the rest as given", () => {
    const change = checkRouting({ filter: { source: "psft-payroll", "data.severity": { $in: ["error", "critical"] } }, transform: '"<x/>"', content_type: "application/xml" });
    expect(change.details).toEqual([]);
    expect(change.patch).toEqual({ filter: '{"source":"psft-payroll","data.severity":{"$in":["error","critical"]}}', transform: '"<x/>"', content_type: "application/xml" });
  });

  it("clears each field with null and leaves fields not sent alone", () => {
    expect(checkRouting({ filter: null, transform: null, content_type: null }).patch).toEqual({ filter: null, transform: null, content_type: null });
    expect(checkRouting({}).patch).toEqual({});
  });

  test.each([
    ["$where", { filter: { $where: "this.data.x == 1" } }, "filter"],
    ["nested $where", { filter: { $or: [{ type: "a.b" }, { $where: "1" }] } }, "filter"],
    ["unknown operator", { filter: { "data.n": { $mod: [2, 0] } } }, "filter"],
    ["$regex RE2 cannot compile", { filter: { "data.s": { $regex: "(a)\\1" } } }, "filter"],
    ["$regex over 256 characters", { filter: { "data.s": { $regex: "a".repeat(257) } } }, "filter"],
    ["filter over 8 KiB", { filter: { "data.s": "x".repeat(8 * 1024) } }, "filter"],
    ["filter an array", { filter: [{ type: "a.b" }] }, "filter"],
    ["filter a string", { filter: '{"type": "a.b"}' }, "filter"],
    ["transform that does not compile", { transform: '{"a": ' }, "transform"],
    ["transform not a string", { transform: 1 }, "transform"],
    ["transform over 16 KiB", { transform: `"${"x".repeat(16 * 1024)}"` }, "transform"],
    ["content_type without a subtype", { content_type: "xml" }, "content_type"],
    ["content_type with CR/LF", { content_type: "text/plain\r\nX-A: 1" }, "content_type"],
    ["content_type not a string", { content_type: ["text/plain"] }, "content_type"],
    ["content_type over 255 characters", { content_type: `text/${"x".repeat(251)}` }, "content_type"],
  ])("%s is refused naming its field", (_name, body, field) => {
    const change = checkRouting(body);
    expect(change.patch).toEqual({});
    expect(change.details.length).toBeGreaterThan(0);
    expect(new Set(fields(change))).toEqual(new Set([field]));
    for (const d of change.details) expect(d.code).toBe("invalid");
  });

  it("gives one detail per filter problem and reports every field at once", () => {
    const change = checkRouting({ filter: { $where: "1", "data.x": { $mod: [2, 0] } }, transform: "(", content_type: "nope" });
    expect(fields(change)).toEqual(["filter", "filter", "transform", "content_type"]);
  });
});

describe("checkOptions with routing fields", () => {
  it("passes them through beside the SPEC §9 options", () => {
    const change = checkOptions({ body: { timeout: "5s", filter: { type: "a.b" }, transform: "data" }, before: null, url: "https://x.example/", profiles: PROFILES });
    expect(change.details).toEqual([]);
    expect(change.patch).toEqual({ timeout_ms: 5000, filter: '{"type":"a.b"}', transform: "data" });
  });

  it("stores nothing when a routing field is bad", () => {
    const change = checkOptions({ body: { timeout: "5s", filter: { $where: "1" } }, before: null, url: "https://x.example/", profiles: PROFILES });
    expect(change.patch).toEqual({});
    expect(fields(change)).toEqual(["filter"]);
  });
});

describe("routingJson", () => {
  it("shows unset fields as null", () => {
    expect(routingJson(ENDPOINT_OPTION_DEFAULTS)).toEqual({ filter: null, transform: null, content_type: null });
  });

  it("shows the stored filter text as the object it was given", () => {
    const shown = routingJson({ filter: '{"data.n":{"$gte":5}}', transform: "data", content_type: "text/csv" });
    expect(shown).toEqual({ filter: { "data.n": { $gte: 5 } }, transform: "data", content_type: "text/csv" });
  });
});
