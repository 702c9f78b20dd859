// The dashboard's filter and transform editors for one endpoint (SPEC §10), with a preview against a
// recent event. A browser module served from /ui/endpoint-routing.js and imported by app.js. Values
// reach the page through textContent and input values only.
import { el, field } from "./dom.js";

type Json = any;

/** RoutingDeps is what the panel borrows from app.js: the API call, its error reporting and the page reload. */
export interface RoutingDeps {
  api(method: string, path: string, body?: unknown): Promise<Json>;
  /** act runs an action and shows its error in the page's message box. */
  act(fn: () => Promise<void>): Promise<void>;
  say(text: string): void;
  /** reload draws the endpoint page again (after a save). */
  reload(): Promise<void>;
  /** deliveries are the endpoint's recent deliveries shown on the page (their events come first in the preview list). */
  deliveries: readonly Json[];
  /** readOnly: the key may not change the endpoint or run a preview (admin routes); the panel only shows the settings. */
  readOnly?: boolean;
}

const make = el;
const labelled = field;

/** filterText shows a filter as indented JSON for the textarea; unset is empty. */
export function filterText(filter: unknown): string {
  return filter === null || filter === undefined ? "" : JSON.stringify(filter, null, 2);
}

/** parseFilter reads the textarea: empty = no filter (null), else a JSON object; an error names the field. */
export function parseFilter(text: string): Record<string, unknown> | null {
  if (text.trim() === "") return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(`Filter: not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error('Filter: must be a JSON object, e.g. {"data.severity": "error"}');
  return value as Record<string, unknown>;
}

/** routingChanges gives the PATCH body: only the fields that differ from the endpoint as loaded (null clears). */
export function routingChanges(w: Json, filter: string, transform: string, contentType: string): Record<string, unknown> {
  const now: Record<string, unknown> = {
    filter: parseFilter(filter),
    transform: transform.trim() === "" ? null : transform,
    content_type: contentType.trim() === "" ? null : contentType.trim(),
  };
  return Object.fromEntries(Object.entries(now).filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(w[k] ?? null)));
}

/** eventChoices lists events to preview against: the endpoint's recent deliveries' events, then recent events, once each. */
export function eventChoices(deliveries: readonly Json[], events: readonly Json[]): { id: string; label: string }[] {
  const seen = new Set<string>();
  const out: { id: string; label: string }[] = [];
  const add = (id: string, type: string, at: string, from: string) => {
    if (seen.has(id)) return;
    seen.add(id);
    out.push({ id, label: `${type} · ${id} · ${from} ${at}` });
  };
  for (const d of deliveries) add(d.event_id, d.event_type, d.created_at, "delivered");
  for (const e of events) add(e.id, e.type, e.created_at, "event");
  return out;
}

/** previewView shows a preview answer: the verdict, the content type and the exact body (or the transform's error). */
export function previewView(p: Json): HTMLElement {
  const verdict = p.matches ? "matches: a delivery would be created" : "does not match: no delivery (events or filter)";
  const list = make("dl", { id: "preview-result" }, make("dt", {}, "Verdict"), make("dd", { id: "preview-verdict" }, verdict));
  if (p.error) list.append(make("dt", {}, "Transform error"), make("dd", { id: "preview-error" }, p.error));
  else list.append(make("dt", {}, "Content type"), make("dd", { id: "preview-content-type" }, p.content_type), make("dt", {}, "Body"), make("dd", {}, make("pre", { id: "preview-body" }, p.body)));
  return list;
}

/** routingSettings shows the saved filter, transform and content type as text, for a key that may not edit them. */
function routingSettings(w: Json): HTMLElement {
  const shown = (text: string, none: string) => make("pre", {}, text === "" ? none : text);
  return make(
    "section",
    { id: "endpoint-routing", "aria-labelledby": "routing-title" },
    make("h2", { id: "routing-title" }, "Filter and transform"),
    make(
      "dl",
      {},
      make("dt", {}, "Filter"),
      make("dd", {}, shown(filterText(w.filter), "(none: every event of the subscribed types)")),
      make("dt", {}, "Transform"),
      make("dd", {}, shown(w.transform ?? "", "(none: the event envelope is sent as is)")),
      make("dt", {}, "Content type of string results"),
      make("dd", {}, w.content_type ?? "text/plain; charset=utf-8 (default)"),
    ),
  );
}

/** routingPanel is the endpoint page's section: filter and transform editors saved with PATCH, and the preview. */
export function routingPanel(w: Json, deps: RoutingDeps): HTMLElement {
  if (deps.readOnly) return routingSettings(w);
  const filter = make("textarea", { rows: "6", placeholder: '{"source": "psft-payroll", "data.severity": {"$in": ["error", "critical"]}}' });
  filter.value = filterText(w.filter);
  const transform = make("textarea", { rows: "6", placeholder: '{"text": "Payroll batch " & data.batch & " failed: " & data.message}' });
  transform.value = w.transform ?? "";
  const contentType = make("input", { type: "text", placeholder: "text/plain; charset=utf-8", value: w.content_type ?? "" });
  const save = make("form", { "aria-label": "Routing" });
  save.addEventListener("submit", (e) => {
    e.preventDefault();
    void deps.act(async () => {
      const body = routingChanges(w, filter.value, transform.value, contentType.value);
      if (Object.keys(body).length === 0) return deps.say("Routing unchanged.");
      await deps.api("PATCH", `/v1/webhooks/${encodeURIComponent(w.id)}`, body);
      await deps.reload();
      deps.say(`Routing of ${w.id} saved.`);
    });
  });
  save.append(
    labelled("routing-filter", "Filter (MongoDB-style query, JSON)", filter, "over {id, type, created_at, data, source}; empty = every event of the subscribed types"),
    labelled("routing-transform", "Transform (JSONata)", transform, "empty = the event envelope is sent as is"),
    labelled("routing-content-type", "Content type of string results", contentType, "default text/plain; charset=utf-8; objects are sent as application/json"),
    make("button", { type: "submit" }, "Save routing"),
  );

  const choice = make("select", {});
  const result = make("div", { id: "preview-output", "aria-live": "polite" });
  const run = make("form", { "aria-label": "Preview" });
  run.addEventListener("submit", (e) => {
    e.preventDefault();
    void deps.act(async () => {
      if (choice.value === "") return deps.say("Pick an event to preview.");
      const p = (await deps.api("POST", `/v1/webhooks/${encodeURIComponent(w.id)}/preview`, { event_id: choice.value })).data;
      result.replaceChildren(previewView(p));
    });
  });
  run.append(labelled("preview-event", "Event", choice), make("button", { type: "submit", class: "secondary" }, "Preview"));
  void deps.act(async () => {
    const events = (await deps.api("GET", "/v1/events?limit=20")).data;
    const options = eventChoices(deps.deliveries, events);
    choice.replaceChildren(...(options.length === 0 ? [make("option", { value: "" }, "no events yet")] : options.map((o) => make("option", { value: o.id }, o.label))));
  });

  return make(
    "section",
    { id: "endpoint-routing", "aria-labelledby": "routing-title" },
    make("h2", { id: "routing-title" }, "Filter and transform"),
    save,
    make("h3", {}, "Preview"),
    make("p", { class: "muted" }, "What this endpoint would receive for an event, with the saved filter and transform. Nothing is sent or stored."),
    run,
    result,
  );
}
