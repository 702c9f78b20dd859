import { describe, expect, test } from "bun:test";
import { loadConfig } from "../../src/config/load";
import { RoutingIndex } from "../../src/delivery/fanout";
import { EventCatalogue, filterMatches, isReservedType } from "../../src/events/types";
import type { ActiveEndpoint } from "../../src/storage/types";

const endpoint = (id: string, events: string[]): ActiveEndpoint => ({ id, events, ordering: "none", ordering_key: null, filter: null });

describe("hookd.* is opt-in (SPEC §11)", () => {
  const index = new RoutingIndex([
    endpoint("star", ["*"]),
    endpoint("ops", ["hookd.*"]),
    endpoint("endpoints", ["hookd.endpoint.*"]),
    endpoint("backlog", ["hookd.queue.backlog"]),
  ]);
  test.each([
    ["hookd.endpoint.disabled", ["endpoints", "ops"]],
    ["hookd.queue.backlog", ["backlog", "ops"]],
    ["hookd.deliveries.expired", ["ops"]],
    ["invoice.paid", ["star"]],
  ])("%s goes to %p", (type, want) => {
    expect(index.match(type).sort()).toEqual(want);
  });

  test('filterMatches: "*" takes everything but hookd.*', () => {
    expect(filterMatches("*", "invoice.paid")).toBe(true);
    expect(filterMatches("*", "hookd.queue.backlog")).toBe(false);
    expect(filterMatches("hookd.*", "hookd.queue.backlog")).toBe(true);
  });

  test("hookd.* types are reserved, and a catalogue always allows them", () => {
    expect(isReservedType("hookd.x")).toBe(true);
    expect(isReservedType("hookdx.y")).toBe(false);
    const catalogue = new EventCatalogue(["invoice.paid"]);
    expect(catalogue.allowsType("hookd.endpoint.failing")).toBe(true);
    expect(catalogue.allowsFilter("hookd.*")).toBe(true);
    expect(catalogue.allowsFilter("hookd.queue.*")).toBe(true);
    expect(catalogue.allowsFilter("other.*")).toBe(false);
  });
});

describe("[alerts] config", () => {
  test("defaults: failing_after 10, backlog_age 15m", () => {
    expect(loadConfig("", {}).alerts).toEqual({ failing_after: 10, backlog_age: 15 * 60_000 });
  });
  test("values and errors name the key", () => {
    expect(loadConfig('[alerts]\nfailing_after = 3\nbacklog_age = "1h"', {}).alerts).toEqual({ failing_after: 3, backlog_age: 3_600_000 });
    expect(() => loadConfig("[alerts]\nfailing_after = 0", {})).toThrow(/alerts\.failing_after/);
    expect(() => loadConfig('[alerts]\nbacklog_age = "soon"', {})).toThrow(/alerts\.backlog_age/);
  });
  test("a source may not publish a hookd.* type", () => {
    const toml = '[[sources]]\nid = "s"\nauth = "token"\nsecret = "abc"\nschema = "json"\nevent_type = "hookd.x"';
    expect(() => loadConfig(toml, {})).toThrow(/sources\[0\]\.event_type.*reserved/s);
  });
});
