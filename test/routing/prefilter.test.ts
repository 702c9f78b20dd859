import { describe, expect, test } from "bun:test";
import { createRouter } from "../../src/delivery/fanout";
import { createPrefilter } from "../../src/routing/prefilter";
import type { ActiveEndpoint, EventRecord } from "../../src/storage/types";

const ep = (id: string, events: string[], filter: string | null): ActiveEndpoint => ({ id, events, ordering: "none", ordering_key: null, filter });
const event = (type: string, data: unknown, source: string | null = null): EventRecord => ({
  id: "evt_1", type, origin: "api", created_at: 0, source, body: JSON.stringify({ id: "evt_1", type, created_at: "2026-01-01T00:00:00.000Z", data }),
});
const ERRORS = '{"data.severity":"error"}';

describe("createPrefilter", () => {
  test("leaves a verdict for each subscribed endpoint with a filter, and none for the others", async () => {
    const endpoints = [ep("plain", ["*"], null), ep("errors", ["erp.*"], ERRORS), ep("other-type", ["crm.*"], ERRORS), ep("payroll", ["*"], '{"source":"payroll"}')];
    const e = event("erp.batch", { severity: "error" });
    await createPrefilter(async () => endpoints)(e);
    expect(e.verdicts).toEqual(new Map([
      ["errors", { filter: ERRORS, matches: true }],
      ["payroll", { filter: '{"source":"payroll"}', matches: false }],
    ]));
  });

  test("does nothing when no endpoint has a filter", async () => {
    const e = event("a.b", {});
    await createPrefilter(async () => [ep("x", ["*"], null)])(e);
    expect(e.verdicts).toBeUndefined();
  });

  test("does nothing when no filtered endpoint takes the type", async () => {
    const e = event("a.b", {});
    await createPrefilter(async () => [ep("x", ["c.*"], ERRORS)])(e);
    expect(e.verdicts).toBeUndefined();
  });

  test("does not parse the event when no filtered endpoint takes it", async () => {
    const e: EventRecord = { ...event("a.b", {}), body: "not json" };
    Object.defineProperty(e, "body", { get: () => { throw new Error("body read"); } });
    await createPrefilter(async () => [ep("x", ["*"], null), ep("y", ["c.*"], ERRORS)])(e);
    expect(e.verdicts).toBeUndefined();
  });

  test("builds its index once per endpoint list and anew when the list changes", async () => {
    let endpoints: readonly ActiveEndpoint[] = [ep("x", ["*"], ERRORS)];
    const prefilter = createPrefilter(async () => endpoints);
    const first = event("a.b", { severity: "error" });
    await prefilter(first);
    expect(first.verdicts?.get("x")).toEqual({ filter: ERRORS, matches: true });
    endpoints = [ep("x", ["*"], '{"data.severity":"info"}')];
    const second = event("a.b", { severity: "error" });
    await prefilter(second);
    expect(second.verdicts?.get("x")).toEqual({ filter: '{"data.severity":"info"}', matches: false });
  });

  test("the router follows the verdicts, and evaluates anew for an endpoint changed in between", async () => {
    const before = [ep("errors", ["*"], ERRORS), ep("infos", ["*"], '{"data.severity":"info"}')];
    const e = event("a.b", { severity: "error" });
    await createPrefilter(async () => before)(e);
    expect(createRouter()(e, before).map((t) => t.id)).toEqual(["errors"]);
    // "infos" now takes errors too: its verdict was for its old filter, so it is not used.
    const after = [before[0] as ActiveEndpoint, ep("infos", ["*"], '{"data.severity":{"$in":["info","error"]}}')];
    expect(createRouter()(e, after).map((t) => t.id)).toEqual(["errors", "infos"]);
  });

  test("an inbound event's source reaches the filter", async () => {
    const endpoints = [ep("payroll", ["*"], '{"source":"psft-payroll","data.severity":{"$in":["error","critical"]}}')];
    const e = event("erp.batch", { severity: "critical" }, "psft-payroll");
    await createPrefilter(async () => endpoints)(e);
    expect(e.verdicts?.get("payroll")?.matches).toBe(true);
  });
});
