import { describe, expect, test } from "bun:test";
import { EventCatalogue, filterMatches, isEventFilter, isEventType, matchesAny } from "../../src/events/types";

describe("isEventType", () => {
  test.each([
    ["invoice.paid", true],
    ["resource.status_changed", true],
    ["a.b.c-d.e_f", true],
    ["sla.breach.started", true],
    ["invoice", false],
    ["invoice.", false],
    [".paid", false],
    ["invoice..paid", false],
    ["invoice.paid\r\nX-Evil: 1", false],
    ["invoice paid.x", false],
    ["in.*", false],
    ["*", false],
    [`a.${"b".repeat(126)}`, true],
    [`a.${"b".repeat(127)}`, false],
  ])("%p -> %p", (value, ok) => {
    expect(isEventType(value)).toBe(ok);
  });
});

describe("isEventFilter", () => {
  test.each([
    ["*", true],
    ["resource.*", true],
    ["sla.breach.*", true],
    ["invoice.paid", true],
    [".*", false],
    ["**", false],
    ["resource*", false],
    ["*.created", false],
    ["resource.*.x", false],
  ])("%p -> %p", (value, ok) => {
    expect(isEventFilter(value)).toBe(ok);
  });
});

describe("filterMatches", () => {
  test.each([
    ["*", "invoice.paid", true],
    ["*", "webhook.test", true],
    ["resource.*", "resource.created", true],
    ["resource.*", "resource.a.b", true],
    ["resource.*", "resource", false],
    ["resource.*", "resources.created", false],
    ["resource.*", "x.resource.created", false],
    ["sla.breach.*", "sla.breach.started", true],
    ["sla.*", "sla.breach.started", true],
    ["sla.breach.*", "sla.resolved", false],
    ["invoice.paid", "invoice.paid", true],
    ["invoice.paid", "invoice.paid.late", false],
    ["invoice.paid", "Invoice.paid", false],
  ])("%p matches %p: %p", (filter, type, expected) => {
    expect(filterMatches(filter, type)).toBe(expected);
  });

  test("matchesAny is true when one filter of several matches", () => {
    expect(matchesAny(["invoice.paid", "job.*"], "job.done")).toBe(true);
    expect(matchesAny(["invoice.paid", "job.*"], "device.online")).toBe(false);
    expect(matchesAny([], "job.done")).toBe(false);
  });
});

describe("EventCatalogue", () => {
  const catalogue = new EventCatalogue(["invoice.paid", "invoice.generated", "job.completed"]);
  test.each([
    ["invoice.paid", true],
    ["invoice.voided", false],
    ["resource.created", true],
    ["webhook.test", true],
  ])("allowsType(%p) = %p", (type, ok) => {
    expect(catalogue.allowsType(type)).toBe(ok);
  });
  test.each([
    ["*", true],
    ["invoice.*", true],
    ["resource.*", true],
    ["device.*", false],
    ["job.completed", true],
    ["job.failed", false],
  ])("allowsFilter(%p) = %p", (filter, ok) => {
    expect(catalogue.allowsFilter(filter)).toBe(ok);
  });
  test("an empty catalogue is free-form", () => {
    expect(new EventCatalogue([]).allowsType("anything.goes")).toBe(true);
    expect(new EventCatalogue([]).freeForm).toBe(true);
  });
});
