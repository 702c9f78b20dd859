// The dashboard's overview: queue cards, charts of the last hour (GET /v1/stats?window=1h&step=1m)
// and the endpoints failing now. A browser module served from /ui/overview.js.
import { drawCharts } from "./charts.js";
import { type Json, type ViewDeps, el, table, when } from "./dom.js";

/** overviewPage draws the overview; `again` redraws it (the Refresh button). */
export async function overviewPage(deps: ViewDeps, again: () => Promise<void>): Promise<void> {
  const main = deps.layout("#/overview", "Overview");
  const body = el("div", { id: "overview" });
  main.append(el("button", { type: "button", class: "secondary", click: () => deps.act(again) }, "Refresh"), body);
  const s = (await deps.api("GET", "/v1/stats?window=1h&step=1m")).data;
  const card = (label: string, value: number | string, id: string) =>
    el("div", { class: "card", id }, el("div", { class: "value" }, value), el("div", { class: "label" }, label));
  const charts = el("div", { class: "charts", id: "charts" });
  body.append(
    el("h2", {}, "Queue"),
    el(
      "div",
      { class: "cards" },
      card("pending", s.deliveries.pending, "stat-pending"),
      card("failed (retry scheduled)", s.deliveries.failed, "stat-failed"),
      card("delivered", s.deliveries.delivered, "stat-delivered"),
      card("expired", s.deliveries.expired, "stat-expired"),
      card("oldest pending (s)", s.oldest_pending_seconds, "stat-oldest"),
      card("attempts last minute", s.attempts_last_minute, "stat-attempts"),
    ),
    el("p", {}, el("a", { href: "#/undelivered" }, `Undelivered: ${s.deliveries.failed + s.deliveries.expired} failed or expired deliveries`)),
    el("h2", {}, "Last hour"),
    charts,
    el("h2", {}, "Endpoints failing now"),
    s.failing_endpoints.length === 0
      ? el("p", {}, "None.")
      : table(
          ["Endpoint", "URL", "Failures", "Failing since"],
          s.failing_endpoints.map((w: Json) => [el("a", { href: `#/endpoints/${encodeURIComponent(w.id)}` }, w.id), w.url, w.failure_count, when(w.failing_since)]),
        ),
  );
  drawCharts(charts, s.series);
}
