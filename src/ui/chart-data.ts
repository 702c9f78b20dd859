// The overview charts' data: GET /v1/stats?window=&step= turned into the column arrays uPlot draws
// (x first, in Unix seconds) and the one-line summaries read out for each chart. Pure; served from
// /ui/chart-data.js and tested in Bun.

type Json = any;

/** Columns are uPlot's data: the x values, then one array per series. */
export type Columns = number[][];

/** stepLabel names a step for axis labels: "minute", "5 minutes", "30 seconds". */
export function stepLabel(seconds: number): string {
  if (seconds === 60) return "minute";
  if (seconds === 3600) return "hour";
  if (seconds % 3600 === 0) return `${seconds / 3600} hours`;
  if (seconds % 60 === 0) return `${seconds / 60} minutes`;
  return `${seconds} seconds`;
}

/** windowLabel names the whole window: "last hour", "last 6 hours", "last 30 minutes". */
export function windowLabel(series: Json): string {
  const seconds = (Date.parse(series.until) - Date.parse(series.since)) / 1000;
  return seconds === 3600 ? "last hour" : `last ${stepLabel(seconds)}`;
}

/** stepColumns picks `keys` from each step: x = the step's start in Unix seconds. */
export function stepColumns(steps: readonly Json[], keys: readonly string[]): Columns {
  return [steps.map((s) => Date.parse(s.at) / 1000), ...keys.map((k) => steps.map((s) => Number(s[k] ?? 0)))];
}

/** totals sums `keys` over the window. */
export function totals(steps: readonly Json[], keys: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = steps.reduce((n, s) => n + Number(s[k] ?? 0), 0);
  return out;
}

/** summary reads a chart out in one line: "Last hour: 12 delivered, 3 failed, 0 expired." */
export function summary(window: string, sums: Record<string, number>): string {
  const parts = Object.entries(sums).map(([k, n]) => `${n} ${k}`);
  return `${window[0]?.toUpperCase() ?? ""}${window.slice(1)}: ${parts.join(", ")}.`;
}

/** shortUrl labels an endpoint on an axis: host and path, cut to `max` characters. */
export function shortUrl(url: string, max = 28): string {
  let text = url;
  try {
    const u = new URL(url);
    text = `${u.host}${u.pathname === "/" ? "" : u.pathname}`;
  } catch {
    text = url;
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** endpointColumns: x = endpoint index, y = success rate in percent (0–100), with the axis labels. */
export function endpointColumns(endpoints: readonly Json[]): { columns: Columns; labels: string[] } {
  return {
    columns: [endpoints.map((_, i) => i), endpoints.map((e) => Math.round(Number(e.success_rate) * 1000) / 10)],
    labels: endpoints.map((e) => shortUrl(String(e.url))),
  };
}
