import { describe, expect, test } from "bun:test";
import { bounded as pgBounded } from "../../src/storage/postgres/delivery-search";
import { examineCap, EXAMINE_CAP } from "../../src/storage/search-order";
import { bounded as sqliteBounded } from "../../src/storage/sqlite/delivery-search";
import type { DeliveryFilter, DeliveryStatus } from "../../src/storage/types";

// Which status ranges a call must bound (EXAMINE_CAP): those whose filter has a column the range's index lacks,
// so rows are checked one by one. The same on both backends, so both page alike.
const W = "wh_00000000000000000000000000";
const cases: [string, Partial<DeliveryFilter>, DeliveryStatus, boolean][] = [
  ["no filter", {}, "delivered", false],
  ["time only", { since: 1, until: 2 }, "pending", false],
  ["delivered by endpoint", { webhookId: W }, "delivered", true],
  ["pending by type", { eventType: "a.b" }, "pending", true],
  ["failed by endpoint (its undelivered index)", { webhookId: W }, "failed", false],
  ["expired by type (its undelivered index)", { eventType: "a.b" }, "expired", false],
  ["failed by endpoint and type (the type checked over the endpoint's range)", { webhookId: W, eventType: "a.b" }, "failed", true],
  ["delivered by endpoint and type", { webhookId: W, eventType: "a.b" }, "delivered", true],
];

describe("bounded", () => {
  test.each(cases)("%s", (_name, over, status, expected) => {
    const filter: DeliveryFilter = { statuses: [status], ...over };
    expect([sqliteBounded(filter, status), pgBounded(filter, status)]).toEqual([expected, expected]);
  });
});

describe("examineCap", () => {
  test.each([
    [undefined, EXAMINE_CAP],
    [10, 10],
    [2.7, 2],
    [0, 1],
    [Number.NaN, EXAMINE_CAP],
  ])("examine %p -> %p", (examine, expected) => {
    expect(examineCap({ examine })).toBe(expected);
  });
});
