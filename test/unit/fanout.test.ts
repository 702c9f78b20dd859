import { describe, expect, test } from "bun:test";
import { createRouter, RoutingIndex } from "../../src/delivery/fanout";
import type { ActiveEndpoint, EventRecord } from "../../src/storage/types";

const ENDPOINTS: ActiveEndpoint[] = [
  { id: "all", events: ["*"] },
  { id: "a-family", events: ["a.*"] },
  { id: "a.b-exact", events: ["a.b"] },
  { id: "a.b-family", events: ["a.b.*"] },
  { id: "two-filters", events: ["a.b", "a.*"] },
  { id: "same-filter-twice", events: ["a.*", "a.*"] },
  { id: "b-exact", events: ["b"] },
  { id: "star-and-more", events: ["*", "a.b"] },
];

const event = (type: string): EventRecord => ({ id: "evt_1", type, origin: "api", body: "{}", created_at: 0 });

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
    ["only an exact filter", [{ id: "x", events: ["a.b"] }], "a.b", ["x"]],
    ["only a family filter", [{ id: "x", events: ["a.*"] }], "a.b.c", ["x"]],
    ["no filters", [{ id: "x", events: [] }], "a.b", []],
  ] as [string, ActiveEndpoint[], string, string[]][])("%s", (_name, endpoints, type, want) => {
    expect(new RoutingIndex(endpoints).match(type)).toEqual(want);
  });

  test("an answer can be changed by the caller without changing the index", () => {
    const index = new RoutingIndex([{ id: "x", events: ["*"] }]);
    index.match("a.b").push("intruder");
    expect(index.match("a.b")).toEqual(["x"]);
  });
});

describe("createRouter", () => {
  test("routes like the index", () => {
    expect(createRouter()(event("a.b.c"), ENDPOINTS).sort()).toEqual(new RoutingIndex(ENDPOINTS).match("a.b.c").sort());
  });

  test("builds the index once per array of endpoints, and anew for a new array", () => {
    const route = createRouter();
    const endpoints: ActiveEndpoint[] = [{ id: "x", events: ["a.*"] }];
    expect(route(event("a.b"), endpoints)).toEqual(["x"]);
    // Storage hands the same array until an endpoint changes; a change is a new array.
    endpoints.push({ id: "y", events: ["*"] });
    expect(route(event("a.b"), endpoints)).toEqual(["x"]);
    expect(route(event("a.b"), [...endpoints]).sort()).toEqual(["x", "y"]);
  });
});
