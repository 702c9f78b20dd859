// The Undelivered view (SPEC §11): failed and expired deliveries across endpoints, filtered by
// endpoint, event type and time (GET /v1/deliveries), with a dry-run count and a bulk replay
// (POST /v1/deliveries/replay). A browser module served from /ui/undelivered.js.
import { type Json, type ViewDeps, badge, el, field, when } from "./dom.js";
import { pagedTable } from "./paging.js";

/** UndeliveredFilter is the view's state, kept in the URL hash so a reload or a link shows the same list. */
export interface UndeliveredFilter {
  status: string;
  webhook_id: string;
  event_type: string;
  since: string;
  until: string;
}

const STATUS_CHOICES: [string, string][] = [
  ["failed,expired", "failed and expired"],
  ["failed", "failed (retry scheduled)"],
  ["expired", "expired (gave up)"],
];
// Replay needs a start; an empty "since" means all of the stored history.
const ALL_TIME = "1970-01-01T00:00:00.000Z";

/** filterFrom reads the filter from the hash's query; unknown statuses fall back to failed and expired. */
export function filterFrom(params: URLSearchParams): UndeliveredFilter {
  const status = params.get("status") ?? "";
  return {
    status: STATUS_CHOICES.some(([v]) => v === status) ? status : "failed,expired",
    webhook_id: params.get("webhook_id") ?? "",
    event_type: params.get("event_type") ?? "",
    since: params.get("since") ?? "",
    until: params.get("until") ?? "",
  };
}

/** listPath is the GET /v1/deliveries query for a filter (empty fields left out). */
export function listPath(f: UndeliveredFilter, limit = 100): string {
  const q = new URLSearchParams({ status: f.status, limit: String(limit) });
  for (const k of ["webhook_id", "event_type", "since", "until"] as const) if (f[k] !== "") q.set(k, f[k]);
  return `/v1/deliveries?${q}`;
}

/** replayBody is the POST /v1/deliveries/replay body for a filter. */
export function replayBody(f: UndeliveredFilter, dryRun: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = { status: f.status.split(","), since: f.since === "" ? ALL_TIME : f.since };
  if (f.webhook_id !== "") body.webhook_id = f.webhook_id;
  if (f.event_type !== "") body.event_type = f.event_type;
  if (f.until !== "") body.until = f.until;
  if (dryRun) body.dry_run = true;
  return body;
}

/** localInput turns an RFC 3339 time into a datetime-local value (the browser's time zone); "" stays "". */
export function localInput(iso: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "";
  const d = new Date(t - new Date(t).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

function isoOf(local: string): string {
  return local === "" ? "" : new Date(local).toISOString();
}

async function endpointChoices(deps: ViewDeps): Promise<Json[]> {
  const all: Json[] = [];
  let cursor: string | null = null;
  do {
    const page: Json = await deps.api("GET", `/v1/webhooks?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    all.push(...page.data);
    cursor = page.next_cursor;
  } while (cursor);
  return all;
}

/** undeliveredPage draws the view for `f`; changing the filter goes through the hash. */
export async function undeliveredPage(deps: ViewDeps, f: UndeliveredFilter): Promise<void> {
  const main = deps.layout("#/undelivered", "Undelivered");
  const status = el("select", {}, ...STATUS_CHOICES.map(([v, label]) => el("option", { value: v, ...(v === f.status ? { selected: true } : {}) }, label)));
  const endpoint = el("select", {}, el("option", { value: "" }, "all endpoints"));
  for (const w of await endpointChoices(deps)) {
    endpoint.append(el("option", { value: w.id, ...(w.id === f.webhook_id ? { selected: true } : {}) }, w.description ? `${w.url} (${w.description})` : w.url));
  }
  const type = el("input", { type: "text", value: f.event_type, placeholder: "all types" });
  const since = el("input", { type: "datetime-local", value: localInput(f.since) });
  const until = el("input", { type: "datetime-local", value: localInput(f.until) });
  const filters = el(
    "form",
    {
      "aria-label": "Filter",
      submit: (e: Event) => {
        e.preventDefault();
        const q = new URLSearchParams({ status: status.value });
        const chosen = { webhook_id: endpoint.value, event_type: type.value.trim(), since: isoOf(since.value), until: isoOf(until.value) };
        for (const [k, v] of Object.entries(chosen)) if (v !== "") q.set(k, v);
        const next = `#/undelivered?${q}`;
        if (location.hash === next) void deps.act(() => undeliveredPage(deps, filterFrom(q)));
        else location.hash = next;
      },
    },
    field("undelivered-status", "Status", status),
    field("undelivered-endpoint", "Endpoint", endpoint),
    field("undelivered-type", "Event type", type),
    field("undelivered-since", "Created since", since),
    field("undelivered-until", "Created before", until),
    el("button", { type: "submit", class: "secondary" }, "Show"),
  );
  const outcome = el("p", { id: "replay-outcome", role: "status" });
  const replay = el(
    "section",
    { "aria-labelledby": "replay-title", class: "replay" },
    el("h2", { id: "replay-title" }, "Bulk replay"),
    el("p", { class: "muted" }, "Makes every matching delivery of an active endpoint pending again now, with a fresh schedule. Deliveries in flight and those of disabled or deleted endpoints are skipped. An empty \"Created since\" means all stored history."),
    el("button", { type: "button", class: "secondary", click: () => deps.act(() => count()) }, "Count matching (dry run)"),
    " ",
    el("button", { type: "button", click: () => deps.act(() => replayAll()) }, "Replay matching"),
    outcome,
  );
  const count = async () => {
    const n = (await deps.api("POST", "/v1/deliveries/replay", replayBody(f, true))).data.matched;
    outcome.textContent = `${n} ${n === 1 ? "delivery" : "deliveries"} would be replayed.`;
  };
  const replayAll = async () => {
    if (!confirm("Replay every matching failed or expired delivery now?")) return;
    const n = (await deps.api("POST", "/v1/deliveries/replay", replayBody(f, false))).data.replayed;
    await undeliveredPage(deps, f);
    deps.say(`${n} ${n === 1 ? "delivery" : "deliveries"} replayed.`);
  };
  const { node } = await pagedTable(
    {
      path: listPath(f),
      headers: ["Delivery", "Endpoint", "Event type", "Status", "Attempts", "Last code", "Last error", "Created"],
      cells: (d: Json) => [
        el("a", { href: `#/deliveries/${encodeURIComponent(d.id)}` }, d.id),
        el("a", { href: `#/endpoints/${encodeURIComponent(d.webhook_id)}` }, d.webhook_id),
        d.event_type,
        badge(d.status),
        d.attempts,
        d.last_status_code ?? "—",
        d.last_error ?? "",
        when(d.created_at),
      ],
      empty: "Nothing undelivered matches.",
      caption: "Undelivered deliveries",
      cls: "undelivered-table",
    },
    deps.api,
    deps.act,
  );
  // Bulk replay changes deliveries: only for a key with the admin scope.
  main.append(filters, deps.can().change ? replay : "", el("h2", {}, "Deliveries"), node);
}
