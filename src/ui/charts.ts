// The overview's charts, drawn with uPlot (bundled into the binary and served from /ui/uplot.js, so
// the CSP stays default-src 'self'). A browser module served from /ui/charts.js. Each chart is a
// <figure> whose caption reads the chart out; its uPlot instance is kept on the element as `chart`
// (the dashboard tests read the data it drew from there).
import { endpointColumns, stepColumns, stepLabel, summary, totals, windowLabel } from "./chart-data.js";
import { type Json, el, table } from "./dom.js";
import uPlot from "./uplot.js";

const HEIGHT = 220;
// The bar chart shows the endpoints doing worst; the table under it lists them all.
const MAX_BARS = 20;
const COLOURS = { delivered: "#0b6b2f", failed: "#a50e0e", expired: "#7a4a00", accepted: "#0b57d0", rejected: "#b3261e" } as const;

type Line = keyof typeof COLOURS;

/** ChartFigure is a chart's figure with its uPlot instance. */
export type ChartFigure = HTMLElement & { chart?: uPlot };

function figure(id: string, title: string, caption: string): ChartFigure {
  return el("figure", { id, class: "chart" }, el("h3", {}, title), el("div", { class: "plot" }), el("figcaption", { class: "muted" }, caption)) as ChartFigure;
}

function widthOf(box: HTMLElement): number {
  return Math.max(320, Math.min(1100, box.clientWidth || 900));
}

/** describe gives the canvas a text alternative: screen readers read the summary, not pixels. */
function describe(u: uPlot, text: string): void {
  u.root.querySelectorAll("canvas").forEach((canvas) => {
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", text);
  });
}

// Failures sit on their own scale (right axis): a few failed attempts beside thousands delivered
// would otherwise be a flat line on the floor of the chart, and an outage must be visible.
const BAD: ReadonlySet<Line> = new Set(["failed", "expired", "rejected"]);
const count = (_u: uPlot, splits: number[]) => splits.map((v) => (Number.isInteger(v) ? String(v) : ""));
const fromZero = (_u: uPlot, _min: number, max: number): uPlot.Range.MinMax => [0, Math.max(1, max)];

function timeChart(box: HTMLElement, id: string, title: string, series: Json, steps: Json[], keys: readonly Line[]): ChartFigure {
  const text = summary(windowLabel(series), totals(steps, keys));
  const fig = figure(id, title, text);
  box.append(fig);
  const per = `per ${stepLabel(series.step_seconds)}`;
  const good = keys.filter((k) => !BAD.has(k));
  const bad = keys.filter((k) => BAD.has(k));
  const opts: uPlot.Options = {
    width: widthOf(box),
    height: HEIGHT,
    scales: { x: { time: true }, y: { range: fromZero }, bad: { range: fromZero } },
    axes: [
      {},
      { scale: "y", label: `${good.join(" / ")} ${per}`, values: count },
      { scale: "bad", side: 1, label: `${bad.join(" / ")} ${per}`, values: count, stroke: COLOURS.failed, grid: { show: false } },
    ],
    series: [
      {},
      ...keys.map((k) => ({
        label: k,
        scale: BAD.has(k) ? "bad" : "y",
        stroke: COLOURS[k],
        width: 2,
        ...(k === "failed" || k === "rejected" ? { fill: "rgba(165, 14, 14, 0.12)" } : {}),
        ...(k === "expired" ? { dash: [6, 3] } : {}),
      })),
    ],
  };
  const u = new uPlot(opts, stepColumns(steps, keys) as uPlot.AlignedData, fig.querySelector(".plot") as HTMLElement);
  describe(u, `${title}. ${text}`);
  fig.chart = u;
  return fig;
}

function endpointChart(box: HTMLElement, series: Json): ChartFigure {
  const endpoints: Json[] = series.endpoints;
  const title = "Success rate per endpoint";
  const span = windowLabel(series);
  const lines = endpoints.map((e) => `${e.url}: ${Math.round(e.success_rate * 1000) / 10}% of ${e.attempts}`);
  const text = endpoints.length === 0 ? `No delivery attempts in the ${span}.` : `${span[0]?.toUpperCase() ?? ""}${span.slice(1)}: ${lines.join("; ")}.`;
  const fig = figure("chart-endpoints", title, text);
  box.append(fig);
  if (endpoints.length === 0) return fig;
  const worst = [...endpoints].sort((a, b) => a.success_rate - b.success_rate || a.id.localeCompare(b.id)).slice(0, MAX_BARS);
  const { columns, labels } = endpointColumns(worst);
  const bars = uPlot.paths.bars?.({ size: [0.6, 80] });
  const opts: uPlot.Options = {
    width: widthOf(box),
    height: HEIGHT,
    scales: { x: { time: false, range: [-0.5, worst.length - 0.5] }, y: { range: [0, 100] } },
    axes: [
      { splits: () => labels.map((_, i) => i), values: (_u, splits) => splits.map((i) => labels[i] ?? "") },
      { label: "% 2xx", values: (_u, splits) => splits.map((v) => `${v}%`) },
    ],
    series: [
      { label: "endpoint", value: (_u, i) => (i === null ? "" : (labels[i] ?? "")) },
      { label: "success %", stroke: COLOURS.delivered, fill: "rgba(11, 107, 47, 0.35)", width: 1, ...(bars ? { paths: bars } : {}), points: { show: false } },
    ],
  };
  const u = new uPlot(opts, columns as uPlot.AlignedData, fig.querySelector(".plot") as HTMLElement);
  describe(u, `${title}. ${text}`);
  fig.chart = u;
  fig.append(
    table(
      ["Endpoint", "Attempts", "2xx", "Success rate"],
      endpoints.map((e) => [el("a", { href: `#/endpoints/${encodeURIComponent(e.id)}` }, e.url), e.attempts, e.succeeded, `${Math.round(e.success_rate * 1000) / 10}%`]),
      "Success rate per endpoint",
    ),
  );
  return fig;
}

/** drawCharts draws the three overview charts into `box` (already in the page, so it has a width). */
export function drawCharts(box: HTMLElement, series: Json): void {
  const per = stepLabel(series.step_seconds);
  timeChart(box, "chart-deliveries", `Delivery attempts per ${per}`, series, series.deliveries, ["delivered", "failed", "expired"]);
  timeChart(box, "chart-inbound", `Inbound requests per ${per}`, series, series.inbound, ["accepted", "rejected"]);
  endpointChart(box, series);
}
