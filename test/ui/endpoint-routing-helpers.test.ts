// The routing panel's pure helpers: what the editors send and which events the preview offers.
import { describe, expect, it, test } from "bun:test";
import { eventChoices, filterText, parseFilter, routingChanges } from "../../src/ui/endpoint-routing";

describe("parseFilter", () => {
  test.each([
    ["", null],
    ["  \n", null],
    ['{"data.severity": "error"}', { "data.severity": "error" }],
  ])("%p", (text, expected) => expect(parseFilter(text)).toEqual(expected));

  test.each([["{oops"], ["[1]"], ['"x"'], ["null"]])("%p is refused naming the filter", (text) => {
    expect(() => parseFilter(text)).toThrow(/^Filter: /);
  });

  it("round-trips filterText", () => {
    const filter = { $or: [{ source: "a" }, { "data.n": { $gte: 2 } }] };
    expect(parseFilter(filterText(filter))).toEqual(filter);
    expect(filterText(null)).toBe("");
  });
});

describe("routingChanges", () => {
  const w = { filter: { type: "a.b" }, transform: "data", content_type: null };

  it("sends only what changed", () => {
    expect(routingChanges(w, '{"type": "a.b"}', "data", "")).toEqual({});
    expect(routingChanges(w, '{"type": "a.c"}', "data", " text/csv ")).toEqual({ filter: { type: "a.c" }, content_type: "text/csv" });
  });

  it("clears with null when an editor is emptied", () => {
    expect(routingChanges(w, "", "", "")).toEqual({ filter: null, transform: null });
  });
});

describe("eventChoices", () => {
  it("lists the endpoint's delivered events first, each event once", () => {
    const deliveries = [{ event_id: "evt_1", event_type: "a.b", created_at: "t1" }];
    const events = [{ id: "evt_2", type: "a.c", created_at: "t2" }, { id: "evt_1", type: "a.b", created_at: "t1" }];
    expect(eventChoices(deliveries, events).map((c) => c.id)).toEqual(["evt_1", "evt_2"]);
    expect(eventChoices([], [])).toEqual([]);
  });
});
