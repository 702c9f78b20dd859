import { describe, expect, test } from "bun:test";
import { createRouter, laneOf, resolvePointer, RoutingIndex } from "../../src/delivery/fanout";
import type { ActiveEndpoint, EventRecord } from "../../src/storage/types";

/** ep is an unordered endpoint subscribed to `events`. */
const ep = (id: string, events: string[]): ActiveEndpoint => ({ id, events, ordering: "none", ordering_key: null, filter: null });

const ENDPOINTS: ActiveEndpoint[] = [
  ep("all", ["*"]),
  ep("a-family", ["a.*"]),
  ep("a.b-exact", ["a.b"]),
  ep("a.b-family", ["a.b.*"]),
  ep("two-filters", ["a.b", "a.*"]),
  ep("same-filter-twice", ["a.*", "a.*"]),
  ep("b-exact", ["b"]),
  ep("star-and-more", ["*", "a.b"]),
];

const event = (type: string, data: unknown = {}): EventRecord => ({
  id: "evt_1", type, origin: "api", body: JSON.stringify({ id: "evt_1", type, created_at: "", data }), created_at: 0, source: null,
});
const ids = (targets: { id: string }[]) => targets.map((t) => t.id);

describe("RoutingIndex.match", () => {
  test.each([
    ["a.b", ["a-family", "a.b-exact", "all", "same-filter-twice", "star-and-more", "two-filters"]],
    ["a.b.c", ["a-family", "a.b-family", "all", "same-filter-twice", "star-and-more", "two-filters"]],
    ["a.bc", ["a-family", "all", "same-filter-twice", "star-and-more", "two-filters"]],
    ["a", ["all", "star-and-more"]],
    ["ab.c", ["all", "star-and-more"]],
    ["x.a.b", ["all", "star-and-more"]],
    ["b", ["all", "b-exact", "star-and-more"]],
    ["b.c", ["all", "star-and-more"]],
  ])("%s goes to each matching endpoint once", (type, want) => {
    expect(new RoutingIndex(ENDPOINTS).match(type).sort()).toEqual(want);
  });

  test.each([
    ["no endpoints", [], "a.b", []],
    ["only an exact filter", [ep("x", ["a.b"])], "a.b", ["x"]],
    ["only a family filter", [ep("x", ["a.*"])], "a.b.c", ["x"]],
    ["no filters", [ep("x", [])], "a.b", []],
  ] as [string, ActiveEndpoint[], string, string[]][])("%s", (_name, endpoints, type, want) => {
    expect(new RoutingIndex(endpoints).match(type)).toEqual(want);
  });

  test("an answer can be changed by the caller without changing the index", () => {
    const index = new RoutingIndex([ep("x", ["*"])]);
    index.match("a.b").push("intruder");
    expect(index.match("a.b")).toEqual(["x"]);
  });
});

describe("createRouter", () => {
  test("routes like the index", () => {
    expect(ids(createRouter()(event("a.b.c"), ENDPOINTS)).sort()).toEqual(new RoutingIndex(ENDPOINTS).match("a.b.c").sort());
  });

  test("builds the index once per array of endpoints, and anew for a new array", () => {
    const route = createRouter();
    const endpoints: ActiveEndpoint[] = [ep("x", ["a.*"])];
    expect(ids(route(event("a.b"), endpoints))).toEqual(["x"]);
    // Storage hands the same array until an endpoint changes; a change is a new array.
    endpoints.push(ep("y", ["*"]));
    expect(ids(route(event("a.b"), endpoints))).toEqual(["x"]);
    expect(ids(route(event("a.b"), [...endpoints])).sort()).toEqual(["x", "y"]);
  });
});

describe("FIFO lanes", () => {
  const fifo = (id: string, key: string | null): ActiveEndpoint => ({ id, events: ["*"], ordering: "fifo", ordering_key: key, filter: null });

  test.each([
    ["unordered endpoint", ep("x", ["*"]), { doc: "A" }, null],
    ["fifo without a key: one lane", fifo("x", null), { doc: "A" }, ""],
    ["string key", fifo("x", "/doc"), { doc: "A" }, '"A"'],
    ["number key is not the same lane as its string", fifo("x", "/doc"), { doc: 1 }, "1"],
    ["nested key", fifo("x", "/order/no"), { order: { no: "4711" } }, '"4711"'],
    ["array index", fifo("x", "/lines/1"), { lines: ["a", "b"] }, '"b"'],
    ["escaped pointer", fifo("x", "/a~1b/c~0d"), { "a/b": { "c~d": 7 } }, "7"],
    ["missing key: the no-key lane", fifo("x", "/doc"), { other: 1 }, ""],
    ["null value is a value", fifo("x", "/doc"), { doc: null }, "null"],
    ["object value", fifo("x", "/doc"), { doc: { a: 1 } }, '{"a":1}'],
  ] as [string, ActiveEndpoint, unknown, string | null][])("%s", (_name, endpoint, data, lane) => {
    expect(createRouter()(event("a.b", data), [endpoint])).toEqual([{ id: "x", lane }]);
  });

  test("a very long key value is named by its hash, the same for the same value", () => {
    const long = "x".repeat(500);
    const lane = laneOf({ doc: long }, "/doc");
    expect(lane).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(laneOf({ doc: long }, "/doc")).toBe(lane);
    expect(laneOf({ doc: `${long}y` }, "/doc")).not.toBe(lane);
  });

  test.each([
    ["", { a: 1 }, { a: 1 }],
    ["/a", { a: 1 }, 1],
    ["/a/0", { a: [5] }, 5],
    ["/a/01", { a: [5, 6] }, undefined],
    ["/a/-", { a: [5] }, undefined],
    ["a", { a: 1 }, undefined],
    ["/constructor", {}, undefined],
    ["/a/b", { a: "text" }, undefined],
  ])("resolvePointer(%p)", (pointer, value, want) => {
    expect(resolvePointer(value, pointer)).toEqual(want);
  });

  test("an event that is not JSON goes to the no-key lane instead of failing", () => {
    const broken: EventRecord = { id: "evt_1", type: "a.b", origin: "api", body: "not json", created_at: 0, source: null };
    expect(createRouter()(broken, [fifo("x", "/doc")])).toEqual([{ id: "x", lane: "" }]);
  });
});

describe("createRouter with filters", () => {
  const filtered = (id: string, filter: string | null): ActiveEndpoint => ({ id, events: ["*"], ordering: "none", ordering_key: null, filter });
  const ERRORS = '{"data.severity":"error"}';
  const INFO = '{"data.severity":"info"}';
  const withVerdicts = (e: EventRecord, verdicts: [string, string, boolean][]): EventRecord => ({
    ...e, verdicts: new Map(verdicts.map(([id, filter, matches]) => [id, { filter, matches }])),
  });

  test("evaluates a filter when the event carries no verdict (resource events, built inside their transaction)", () => {
    const endpoints = [filtered("plain", null), filtered("errors", ERRORS), filtered("info", INFO)];
    expect(ids(createRouter()(event("a.b", { severity: "error" }), endpoints)).sort()).toEqual(["errors", "plain"]);
  });

  test("uses the verdict computed before the transaction while the endpoint's filter is still that text", () => {
    // The verdict contradicts the data on purpose: only the verdict can explain the answer.
    const e = withVerdicts(event("a.b", { severity: "error" }), [["errors", ERRORS, false], ["info", INFO, true]]);
    expect(ids(createRouter()(e, [filtered("errors", ERRORS), filtered("info", INFO)]))).toEqual(["info"]);
  });

  test("ignores a verdict computed for a filter the endpoint no longer has, and evaluates the current one", () => {
    const e = withVerdicts(event("a.b", { severity: "error" }), [["x", INFO, true]]);
    expect(ids(createRouter()(e, [filtered("x", ERRORS)]))).toEqual(["x"]);
    const stale = withVerdicts(event("a.b", { severity: "info" }), [["x", INFO, true]]);
    expect(ids(createRouter()(stale, [filtered("x", ERRORS)]))).toEqual([]);
  });

  test("an endpoint whose filter was removed takes the event whatever its old verdict said", () => {
    const e = withVerdicts(event("a.b"), [["x", ERRORS, false]]);
    expect(ids(createRouter()(e, [filtered("x", null)]))).toEqual(["x"]);
  });

  test("filters see the inbound source", () => {
    const fromPayroll: EventRecord = { ...event("a.b"), source: "psft-payroll" };
    const endpoints = [filtered("payroll", '{"source":"psft-payroll"}'), filtered("api-only", '{"source":null}')];
    expect(ids(createRouter()(fromPayroll, endpoints))).toEqual(["payroll"]);
    expect(ids(createRouter()(event("a.b"), endpoints))).toEqual(["api-only"]);
  });

  test("a type the endpoint does not subscribe to is not delivered even when its filter matches", () => {
    const endpoint: ActiveEndpoint = { ...filtered("x", "{}"), events: ["b.*"] };
    expect(ids(createRouter()(event("a.b"), [endpoint]))).toEqual([]);
  });

  test("a filtered FIFO endpoint keeps its lane", () => {
    const endpoint: ActiveEndpoint = { id: "x", events: ["*"], ordering: "fifo", ordering_key: "/doc", filter: '{"data.doc":{"$exists":true}}' };
    expect(createRouter()(event("a.b", { doc: "A" }), [endpoint])).toEqual([{ id: "x", lane: '"A"' }]);
    expect(createRouter()(event("a.b", {}), [endpoint])).toEqual([]);
  });

  test("a stored filter that no longer compiles matches nothing instead of failing the event", () => {
    expect(ids(createRouter()(event("a.b"), [filtered("x", '{"$where":"true"}'), filtered("y", null)]))).toEqual(["y"]);
  });
});
