// The Audit log view (SPEC §14): every change made through the admin API, newest first, filtered by
// key, target and time (GET /v1/audit), each with a before → after table of its changed fields.
// A browser module served from /ui/audit-view.js; values arrive masked and reach the page as text.
import { type Json, type ViewDeps, el, field, when } from "./dom.js";
import { pagedTable } from "./paging.js";
import { localInput } from "./undelivered.js";

/** AuditFilter is the view's state, kept in the URL hash so a reload or a link shows the same list. */
export interface AuditFilter {
  key: string;
  target_id: string;
  since: string;
}

const FILTER_FIELDS = ["key", "target_id", "since"] as const;

const isoOf = (local: string): string => (local === "" ? "" : new Date(local).toISOString());

/** auditFilterFrom reads the filter from the hash's query. */
export function auditFilterFrom(params: URLSearchParams): AuditFilter {
  return { key: params.get("key") ?? "", target_id: params.get("target_id") ?? "", since: params.get("since") ?? "" };
}

/** auditQuery is the filter as a query string (empty fields left out), for the hash and for GET /v1/audit. */
export function auditQuery(f: AuditFilter): URLSearchParams {
  const q = new URLSearchParams();
  for (const k of FILTER_FIELDS) if (f[k] !== "") q.set(k, f[k]);
  return q;
}

/** auditListPath is the GET /v1/audit path for a filter. */
export function auditListPath(f: AuditFilter, limit = 50): string {
  const q = auditQuery(f);
  q.set("limit", String(limit));
  return `/v1/audit?${q}`;
}

/** shown renders a before or after value: "—" when absent, strings as they are, the rest as JSON. */
export function shown(value: unknown): string {
  if (value === null || value === undefined) return "—";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** changeRows lists an entry's changes as [field, before, after] text rows. */
export function changeRows(changes: Record<string, { before: unknown; after: unknown }>): [string, string, string][] {
  return Object.entries(changes ?? {}).map(([name, c]) => [name, shown(c?.before), shown(c?.after)]);
}

const TARGET_PAGES: [string, string][] = [["wh_", "#/endpoints/"], ["dlv_", "#/deliveries/"]];

function targetCell(id: string | null): HTMLElement | string {
  if (id === null) return "—";
  const page = TARGET_PAGES.find(([prefix]) => id.startsWith(prefix));
  const filter = el("a", { href: `#/audit?${auditQuery({ key: "", target_id: id, since: "" })}`, title: `only changes of ${id}` }, id);
  return page ? el("span", {}, filter, " ", el("a", { href: `${page[1]}${encodeURIComponent(id)}`, class: "muted" }, "(open)")) : filter;
}

function changesTable(changes: Json): HTMLElement {
  const rows = changeRows(changes);
  if (rows.length === 0) return el("span", { class: "muted" }, "no field changes");
  return el(
    "table",
    { class: "audit-changes" },
    el("thead", {}, el("tr", {}, ...["Field", "Before", "After"].map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, ...rows.map(([name, before, after]) => el("tr", {}, el("th", { scope: "row" }, name), el("td", {}, before), el("td", {}, after)))),
  );
}

/** auditPage draws the audit log for `f`; changing the filter goes through the hash. */
export async function auditPage(deps: ViewDeps, f: AuditFilter): Promise<void> {
  const main = deps.layout("#/audit", "Audit log");
  const key = el("input", { type: "text", value: f.key, placeholder: "all keys" });
  const target = el("input", { type: "text", value: f.target_id, placeholder: "wh_…, dlv_… or res_…" });
  const since = el("input", { type: "datetime-local", value: localInput(f.since) });
  const filters = el(
    "form",
    {
      "aria-label": "Filter",
      submit: (e: Event) => {
        e.preventDefault();
        const q = auditQuery({ key: key.value.trim(), target_id: target.value.trim(), since: isoOf(since.value) });
        const next = q.toString() === "" ? "#/audit" : `#/audit?${q}`;
        if (location.hash === next) void deps.act(() => auditPage(deps, auditFilterFrom(q)));
        else location.hash = next;
      },
    },
    field("audit-key", "API key", key),
    field("audit-target", "Target", target),
    field("audit-since", "Since", since),
    el("button", { type: "submit", class: "secondary" }, "Show"),
  );
  const { node } = await pagedTable(
    {
      path: auditListPath(f),
      headers: ["Time", "Key", "Request", "Target", "Changes"],
      cells: (a: Json) => [
        when(a.time),
        a.key,
        el("span", {}, `${a.method} ${a.path}`, el("br", {}), el("span", { class: "muted" }, `${a.client_ip ?? "—"} · ${a.request_id ?? "—"}`)),
        targetCell(a.target_id),
        changesTable(a.changes),
      ],
      empty: "No audit entries match.",
      caption: "Audit log",
      cls: "audit-table",
    },
    deps.api,
    deps.act,
  );
  main.append(filters, el("p", { class: "muted" }, 'Secrets and sensitive header values are never recorded: they read "********".'), node);
}
