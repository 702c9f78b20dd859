// The overview's and the Undelivered view's pure helpers: chart columns, summaries, list and replay queries.
import { describe, expect, test } from "bun:test";
import { endpointColumns, shortUrl, stepColumns, stepLabel, summary, totals, windowLabel } from "../../src/ui/chart-data";
import { withCursor } from "../../src/ui/paging";
import { filterFrom, listPath, replayBody } from "../../src/ui/undelivered";

const steps = [
  { at: "2030-01-01T12:00:00.000Z", delivered: 3, failed: 1, expired: 0 },
  { at: "2030-01-01T12:01:00.000Z", delivered: 0, failed: 4, expired: 2 },
];

describe("chart data", () => {
  test("stepColumns: x in Unix seconds, then one column per key", () => {
    expect(stepColumns(steps, ["delivered", "failed", "expired"])).toEqual([
      [Date.UTC(2030, 0, 1, 12) / 1000, Date.UTC(2030, 0, 1, 12, 1) / 1000],
      [3, 0],
      [1, 4],
      [0, 2],
    ]);
  });

  test("totals and summary read the window out in one line", () => {
    expect(summary("last hour", totals(steps, ["delivered", "failed", "expired"]))).toBe("Last hour: 3 delivered, 5 failed, 2 expired.");
  });

  test.each([
    [60, "minute"],
    [300, "5 minutes"],
    [30, "30 seconds"],
    [3600, "hour"],
    [7200, "2 hours"],
  ])("stepLabel(%d) is %p", (seconds, label) => expect(stepLabel(seconds)).toBe(label));

  test("windowLabel", () => {
    expect(windowLabel({ since: "2030-01-01T11:00:00Z", until: "2030-01-01T12:00:00Z" })).toBe("last hour");
    expect(windowLabel({ since: "2030-01-01T11:30:00Z", until: "2030-01-01T12:00:00Z" })).toBe("last 30 minutes");
  });

  test("endpointColumns: index on x, success in percent, labels host and path", () => {
    expect(endpointColumns([{ url: "https://a.example/hook", success_rate: 0.9806 }, { url: "https://b.example/", success_rate: 0 }])).toEqual({
      columns: [[0, 1], [98.1, 0]],
      labels: ["a.example/hook", "b.example"],
    });
    expect(shortUrl("https://a-very-long-host-name.example/with/a/long/path")).toHaveLength(28);
  });
});

describe("undelivered queries", () => {
  test("filterFrom defaults to failed and expired; listPath leaves empty fields out", () => {
    const f = filterFrom(new URLSearchParams("status=bogus&webhook_id=wh_1"));
    expect(f).toEqual({ status: "failed,expired", webhook_id: "wh_1", event_type: "", since: "", until: "" });
    expect(listPath(f)).toBe("/v1/deliveries?status=failed%2Cexpired&limit=100&webhook_id=wh_1");
  });

  test("replayBody: statuses as a list, since from the start of time when empty, dry_run only when asked", () => {
    const f = filterFrom(new URLSearchParams("status=expired&event_type=order.failed&until=2030-01-01T00:00:00.000Z"));
    expect(replayBody(f, true)).toEqual({ status: ["expired"], since: "1970-01-01T00:00:00.000Z", event_type: "order.failed", until: "2030-01-01T00:00:00.000Z", dry_run: true });
    expect(replayBody(f, false)).not.toHaveProperty("dry_run");
  });

  test("withCursor adds the cursor to a path with or without a query", () => {
    expect(withCursor("/v1/events?limit=100", "a+b")).toBe("/v1/events?limit=100&cursor=a%2Bb");
    expect(withCursor("/v1/webhooks", "x")).toBe("/v1/webhooks?cursor=x");
  });
});
