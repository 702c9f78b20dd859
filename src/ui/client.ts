// The dashboard's browser module. Served from /ui/app.js (transpiled once by the server).
// Every stored value (payloads, responses, URLs, reasons) reaches the page through textContent,
// never innerHTML; the page only talks to the public /v1 API with the key the operator typed.
import { optionsEditor, optionsView } from "./endpoint-options.js";
import { routingPanel } from "./endpoint-routing.js";

const KEY = "hookd.apiKey";

type Json = any;
type Child = Node | string | number | null | undefined | false;

class ApiFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string | boolean | ((e: Event) => void)> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (typeof value === "function") node.addEventListener(name, value);
    else if (value === true) node.setAttribute(name, "");
    else if (value !== false) node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child);
  }
  return node;
}

const root = document.getElementById("app") as HTMLElement;

function getKey(): string | null {
  return sessionStorage.getItem(KEY);
}

async function api(method: string, path: string, body?: unknown): Promise<Json> {
  const key = getKey();
  const headers: Record<string, string> = { authorization: `Bearer ${key ?? ""}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 401) {
    sessionStorage.removeItem(KEY);
    renderSignIn("Your API key was refused; sign in again.");
    throw new ApiFailure(401, "unauthorized");
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let parsed: Json = null;
  try {
    parsed = text === "" ? null : readJson(text);
  } catch (e) {
    // A 2xx that cannot be read must say so, not render as an empty page.
    if (res.ok) throw new ApiFailure(res.status, `hookd's answer could not be read: ${e instanceof Error ? e.message : String(e)}`);
    parsed = null;
  }
  if (!res.ok) {
    const err = parsed?.error;
    const details = Array.isArray(err?.details) ? err.details.map((d: Json) => `${d.field}: ${d.message}`).join("; ") : "";
    throw new ApiFailure(res.status, `${err?.message ?? `HTTP ${res.status}`}${details ? ` (${details})` : ""}`);
  }
  return parsed;
}

/**
 * keepNumbers keeps numbers JavaScript cannot hold exactly (large integers, long decimals) as their
 * source text (JSON.parse source access + JSON.rawJSON), so payloads are shown as they were sent.
 */
function keepNumbers(_key: string, value: unknown, context?: { source?: string }): unknown {
  const raw = (JSON as unknown as { rawJSON?: (text: string) => unknown }).rawJSON;
  if (typeof value === "number" && raw && context?.source !== undefined && String(value) !== context.source) return raw(context.source);
  return value;
}

// Past this depth an answer's values are kept as their source text: JSON.parse's reviver and
// JSON.stringify recurse, and a payload stored before inbound bodies were limited to 128 levels may nest
// thousands deep (issue 14). Anything hookd accepts today stays below it, so it is shown formatted.
const SHOWN_DEPTH = 160;
// A value cut out of an answer is replaced by this marker plus a number; deepText keeps its source text.
const DEEP_MARK = "\u2063hookd-deep:";
const deepText = new Map<string, string>();

/** readJson parses an API answer; containers nested deeper than SHOWN_DEPTH become marker strings (see payloadView). */
function readJson(text: string): Json {
  return JSON.parse(cutDeep(text, SHOWN_DEPTH), keepNumbers as never);
}

/** cutDeep replaces each container that starts deeper than `limit` with a marker string, scanning without recursion. */
function cutDeep(text: string, limit: number): string {
  const parts: string[] = [];
  let depth = 0;
  let inString = false;
  let start = -1;
  let copied = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth === limit + 1) start = i;
    } else if ((c === 125 || c === 93) && depth-- === limit + 1 && start >= 0) {
      const id = `${DEEP_MARK}${deepText.size}`;
      deepText.set(id, text.slice(start, i + 1));
      parts.push(text.slice(copied, start), JSON.stringify(id));
      copied = i + 1;
      start = -1;
    }
  }
  if (parts.length === 0) return text;
  parts.push(text.slice(copied));
  return parts.join("");
}

/** payloadView shows a value as indented JSON; parts cut by readJson go back in as stored, with a note saying so. */
function payloadView(value: unknown, id?: string): HTMLElement {
  let deep = false;
  const text = pretty(value).replace(new RegExp(`"${DEEP_MARK}\\d+"`, "g"), (marker) => {
    const raw = deepText.get(JSON.parse(marker) as string);
    if (raw === undefined) return marker;
    deep = true;
    return raw;
  });
  const pre = el("pre", id ? { id } : {}, text);
  if (!deep) return pre;
  const note = `Parts of this payload nest deeper than ${SHOWN_DEPTH} levels; they are shown as stored, unformatted.`;
  return el("div", {}, el("p", { class: "muted payload-note" }, note), pre);
}

function when(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

function badge(status: string): HTMLElement {
  return el("span", { class: `status status-${status}` }, status);
}

let messageBox: HTMLElement | null = null;
function say(text: string, error = false): void {
  if (!messageBox) return;
  messageBox.textContent = text;
  messageBox.className = error ? "message error" : "message";
}

async function act(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof ApiFailure && e.status === 401) return;
    say(e instanceof Error ? e.message : String(e), true);
  }
}

function table(headers: string[], rows: Child[][], caption?: string): HTMLTableElement {
  return el(
    "table",
    {},
    caption ? el("caption", { class: "hidden" }, caption) : null,
    el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, ...rows.map((r) => el("tr", {}, ...r.map((c) => el("td", {}, c))))),
  );
}

function field(id: string, label: string, input: HTMLElement): HTMLElement {
  input.id = id;
  return el("div", { class: "field" }, el("label", { for: id }, label), input);
}

// ---- sign-in ---------------------------------------------------------------------------------

function renderSignIn(notice = ""): void {
  const input = el("input", { type: "password", name: "key", autocomplete: "off", required: true });
  const msg = el("p", { class: notice ? "message error" : "message", role: "alert" }, notice);
  const form = el(
    "form",
    {
      "aria-label": "Sign in",
      submit: async (e: Event) => {
        e.preventDefault();
        sessionStorage.setItem(KEY, input.value.trim());
        const res = await fetch("/v1/stats", { headers: { authorization: `Bearer ${input.value.trim()}` } });
        if (!res.ok) {
          sessionStorage.removeItem(KEY);
          msg.textContent = res.status === 401 ? "That API key was not accepted." : `Sign-in failed (HTTP ${res.status}).`;
          msg.className = "message error";
          input.focus();
          return;
        }
        if (location.hash === "" || location.hash === "#") location.hash = "#/overview";
        route();
      },
    },
    field("api-key", "API key", input),
    el("button", { type: "submit" }, "Sign in"),
  );
  root.replaceChildren(
    el("main", { class: "signin", id: "main" }, el("h1", {}, "hookd dashboard"), el("p", {}, "Sign in with an admin API key. It is kept in this tab only (sessionStorage)."), msg, form),
  );
  input.focus();
}

// ---- layout ----------------------------------------------------------------------------------

const PAGES: [string, string][] = [
  ["#/overview", "Overview"],
  ["#/endpoints", "Endpoints"],
  ["#/events", "Events"],
  ["#/inbound", "Inbound"],
];

function layout(current: string, title: string): HTMLElement {
  const main = el("main", { id: "main", tabindex: "-1" });
  const nav = el(
    "nav",
    { "aria-label": "Main" },
    el("ul", {}, ...PAGES.map(([href, label]) => el("li", {}, el("a", { href, ...(href === current ? { "aria-current": "page" } : {}) }, label)))),
  );
  const signOut = el("button", { type: "button", class: "secondary", click: () => { sessionStorage.removeItem(KEY); renderSignIn(); } }, "Sign out");
  root.replaceChildren(el("header", {}, el("span", { class: "brand" }, "hookd"), nav, signOut), main);
  messageBox = el("p", { class: "message", role: "status", "aria-live": "polite" });
  main.append(el("h1", {}, title), messageBox);
  document.title = `${title} · hookd`;
  main.focus();
  return main;
}

// ---- overview --------------------------------------------------------------------------------

async function overview(): Promise<void> {
  const main = layout("#/overview", "Overview");
  const body = el("div", { id: "overview" });
  main.append(el("button", { type: "button", class: "secondary", click: () => act(overview) }, "Refresh"), body);
  const s = (await api("GET", "/v1/stats")).data;
  const card = (label: string, value: number | string, id: string) =>
    el("div", { class: "card", id }, el("div", { class: "value" }, value), el("div", { class: "label" }, label));
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
    el("h2", {}, "Endpoints failing now"),
    s.failing_endpoints.length === 0
      ? el("p", {}, "None.")
      : table(
          ["Endpoint", "URL", "Failures", "Failing since"],
          s.failing_endpoints.map((w: Json) => [el("a", { href: `#/endpoints/${encodeURIComponent(w.id)}` }, w.id), w.url, w.failure_count, when(w.failing_since)]),
        ),
  );
}

// ---- endpoints -------------------------------------------------------------------------------

function parseEvents(text: string): string[] {
  return text.split(/[\s,]+/).filter((s) => s !== "");
}

function showSecret(where: HTMLElement, id: string, secret: string, verb: string): void {
  const code = el("code", { id: "secret-value" }, secret);
  const copy = el(
    "button",
    {
      type: "button",
      click: async () => {
        try {
          await navigator.clipboard.writeText(secret);
          say("Secret copied to the clipboard.");
        } catch {
          const range = document.createRange();
          range.selectNodeContents(code);
          getSelection()?.removeAllRanges();
          getSelection()?.addRange(range);
          say("Copy blocked by the browser: the secret is selected, press Ctrl+C.");
        }
      },
    },
    "Copy secret",
  );
  const box = el(
    "section",
    { class: "secret", id: "secret-box", "aria-labelledby": "secret-title", tabindex: "-1" },
    el("h2", { id: "secret-title" }, `Signing secret for ${id} (${verb})`),
    el("p", {}, el("strong", {}, "Copy it now: it won't be shown again.")),
    el("p", {}, code),
    copy,
    " ",
    el("button", { type: "button", class: "secondary", click: () => box.remove() }, "I have stored it"),
  );
  where.prepend(box);
  box.focus();
}

async function endpoints(): Promise<void> {
  const main = layout("#/endpoints", "Endpoints");
  const top = el("div", {});
  const url = el("input", { type: "url", required: true, placeholder: "https://example.com/hook" });
  const events = el("input", { type: "text", required: true, value: "*" });
  const description = el("input", { type: "text" });
  const options = optionsEditor("new", null);
  const create = el(
    "form",
    {
      "aria-label": "New endpoint",
      submit: (e: Event) => {
        e.preventDefault();
        void act(async () => {
          const body: Json = { url: url.value.trim(), events: parseEvents(events.value) };
          if (description.value.trim() !== "") body.description = description.value.trim();
          Object.assign(body, options.body());
          const made = (await api("POST", "/v1/webhooks", body)).data;
          await listEndpoints(list, top);
          say(`Endpoint ${made.id} created.`);
          showSecret(top, made.id, made.secret, "new endpoint");
        });
      },
    },
    field("new-url", "URL", url),
    field("new-events", "Events (comma-separated, * = all)", events),
    field("new-description", "Description", description),
    options.section,
    el("button", { type: "submit" }, "Create endpoint"),
  );
  const list = el("div", { id: "endpoint-list" });
  main.append(top, el("h2", {}, "New endpoint"), create, el("h2", {}, "Endpoints"), list);
  await listEndpoints(list, top);
}

async function listEndpoints(list: HTMLElement, top: HTMLElement): Promise<void> {
  const all: Json[] = [];
  let cursor: string | null = null;
  do {
    const page: Json = await api("GET", `/v1/webhooks?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    all.push(...page.data);
    cursor = page.next_cursor;
  } while (cursor);
  const editor = el("div", { id: "endpoint-editor" });
  const reload = () => listEndpoints(list, top);
  const rows = all.map((w) => {
    const label = w.description ? `${w.url} (${w.description})` : w.url;
    const actions = el(
      "div",
      {},
      el("a", { href: `#/endpoints/${encodeURIComponent(w.id)}` }, "Deliveries"),
      " ",
      el("button", { type: "button", class: "secondary", "aria-label": `Edit ${label}`, click: () => edit(editor, w, reload) }, "Edit"),
      el(
        "button",
        {
          type: "button",
          class: "secondary",
          "aria-label": `${w.status === "active" ? "Disable" : "Enable"} ${label}`,
          click: () =>
            act(async () => {
              await api("PATCH", `/v1/webhooks/${w.id}`, { status: w.status === "active" ? "disabled" : "active" });
              await reload();
              say(`Endpoint ${w.id} ${w.status === "active" ? "disabled" : "enabled"}.`);
            }),
        },
        w.status === "active" ? "Disable" : "Enable",
      ),
      el(
        "button",
        {
          type: "button",
          class: "secondary",
          "aria-label": `Send test event to ${label}`,
          click: () =>
            act(async () => {
              const r = (await api("POST", `/v1/webhooks/${w.id}/test`)).data;
              say(`Test event ${r.event_id} queued (delivery ${r.delivery_id}).`);
            }),
        },
        "Send test",
      ),
      el(
        "button",
        {
          type: "button",
          class: "secondary",
          "aria-label": `Rotate secret of ${label}`,
          click: () =>
            act(async () => {
              if (!confirm(`Rotate the secret of ${w.url}? The old one keeps signing webhook-signature for 24 hours.`)) return;
              const r = (await api("POST", `/v1/webhooks/${w.id}/rotate-secret`)).data;
              showSecret(top, w.id, r.secret, "rotated");
            }),
        },
        "Rotate secret",
      ),
      el(
        "button",
        {
          type: "button",
          class: "danger",
          "aria-label": `Delete ${label}`,
          click: () =>
            act(async () => {
              if (!confirm(`Delete endpoint ${w.url}? Its unfinished deliveries expire; history stays readable.`)) return;
              await api("DELETE", `/v1/webhooks/${w.id}`);
              await reload();
              say(`Endpoint ${w.id} deleted.`);
            }),
        },
        "Delete",
      ),
    );
    return [
      el("div", {}, el("div", {}, w.url), w.description ? el("div", { class: "muted" }, w.description) : null, el("div", { class: "muted" }, w.id)),
      badge(w.status),
      w.events.join(", "),
      w.failure_count,
      when(w.last_failure_at),
      actions,
    ];
  });
  list.replaceChildren(
    all.length === 0 ? el("p", {}, "No endpoints yet.") : table(["Endpoint", "Status", "Events", "Failures", "Last failure", "Actions"], rows),
    editor,
  );
}

function edit(editor: HTMLElement, w: Json, reload: () => Promise<void>): void {
  const description = el("input", { type: "text", value: w.description ?? "" });
  const events = el("input", { type: "text", value: w.events.join(", "), required: true });
  const options = optionsEditor("edit", w);
  const form = el(
    "form",
    {
      "aria-label": `Edit ${w.id}`,
      submit: (e: Event) => {
        e.preventDefault();
        void act(async () => {
          await api("PATCH", `/v1/webhooks/${w.id}`, { description: description.value, events: parseEvents(events.value), ...options.body() });
          await reload();
          say(`Endpoint ${w.id} saved.`);
        });
      },
    },
    field("edit-description", "Description", description),
    field("edit-events", "Events", events),
    options.section,
    el("button", { type: "submit" }, "Save"),
    el("button", { type: "button", class: "secondary", click: () => editor.replaceChildren() }, "Cancel"),
  );
  editor.replaceChildren(el("h2", {}, `Edit ${w.url}`), form);
  description.focus();
}

// ---- deliveries ------------------------------------------------------------------------------

async function deliveries(webhookId: string, status: string): Promise<void> {
  const main = layout("#/endpoints", "Deliveries");
  const w = (await api("GET", `/v1/webhooks/${encodeURIComponent(webhookId)}`).catch(() => ({ data: { id: webhookId, url: "(deleted)" } }))).data;
  const select = el("select", { change: () => act(() => deliveries(webhookId, select.value)) });
  for (const s of ["", "pending", "failed", "delivered", "expired"]) {
    const o = el("option", { value: s }, s === "" ? "all" : s);
    if (s === status) o.selected = true;
    select.append(o);
  }
  const since = el("input", { type: "datetime-local", required: true });
  const recover = el(
    "form",
    {
      "aria-label": "Recover since",
      submit: (e: Event) => {
        e.preventDefault();
        void act(async () => {
          const r = (await api("POST", `/v1/webhooks/${w.id}/recover`, { since: new Date(since.value).toISOString() })).data;
          await deliveries(webhookId, status);
          say(`${r.recovered} deliveries re-enqueued.`);
        });
      },
    },
    field("recover-since", "Re-send failed/expired deliveries created since", since),
    el("button", { type: "submit", class: "secondary" }, "Recover since"),
  );
  const page = await api("GET", `/v1/webhooks/${encodeURIComponent(webhookId)}/deliveries?limit=100${status ? `&status=${status}` : ""}`);
  main.append(
    el("p", {}, "Endpoint ", el("strong", {}, w.url), " ", el("span", { class: "muted" }, w.id)),
    w.ordering === undefined ? "" : optionsView(w),
    w.ordering === undefined ? "" : routingPanel(w, { api, act, say: (text) => say(text), reload: () => deliveries(webhookId, status), deliveries: page.data }),
    el(
      "form",
      { "aria-label": "Filter", submit: (e: Event) => e.preventDefault() },
      field("status-filter", "Status", select),
      el("button", { type: "button", class: "secondary", click: () => act(() => deliveries(webhookId, select.value)) }, "Refresh"),
    ),
    recover,
    page.data.length === 0
      ? el("p", {}, "No deliveries.")
      : table(
          ["Delivery", "Event type", "Status", "Attempts", "Last code", "Last error", "Created", ""],
          page.data.map((d: Json) => [
            el("a", { href: `#/deliveries/${encodeURIComponent(d.id)}` }, d.id),
            d.event_type,
            badge(d.status),
            d.attempts,
            d.last_status_code ?? "—",
            d.last_error ?? "",
            when(d.created_at),
            d.status === "pending" ? "" : retryButton(d, () => deliveries(webhookId, status)),
          ]),
        ),
  );
}

function retryButton(d: Json, after: () => Promise<void>): HTMLElement {
  return el(
    "button",
    {
      type: "button",
      class: "secondary",
      "aria-label": `Retry ${d.id}`,
      click: () =>
        act(async () => {
          await api("POST", `/v1/deliveries/${d.id}/retry`);
          await after();
          say(`Delivery ${d.id} queued again.`);
        }),
    },
    "Retry",
  );
}

function pretty(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

async function deliveryDetail(id: string): Promise<void> {
  const main = layout("#/endpoints", "Delivery");
  const d = (await api("GET", `/v1/deliveries/${encodeURIComponent(id)}`)).data;
  const event = await api("GET", `/v1/events/${encodeURIComponent(d.event_id)}`).catch(() => null);
  main.append(
    el("p", {}, el("a", { href: `#/endpoints/${encodeURIComponent(d.webhook_id)}` }, "← deliveries of this endpoint")),
    el(
      "dl",
      { id: "delivery-fields" },
      ...(
        [
          ["ID", d.id],
          ["Status", badge(d.status)],
          ["Event", `${d.event_type} (${d.event_id})`],
          ["Attempts", d.attempts],
          // A FIFO delivery behind its lane's head has no due time until the head finishes.
          ["Next attempt", d.status === "pending" && d.next_attempt_at === null && d.sequence !== null ? "waiting for the delivery before it in its FIFO lane" : when(d.next_attempt_at)],
          ...(d.sequence === null || d.sequence === undefined ? [] : [["Sequence (FIFO lane)", d.sequence] as [string, Child]]),
          ["Last status code", d.last_status_code ?? "—"],
          ["Last error", d.last_error ?? "—"],
          ["Created", when(d.created_at)],
          ["Delivered", when(d.delivered_at)],
        ] as [string, Child][]
      ).flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]),
    ),
    d.status === "pending" ? el("p", { class: "muted" }, "Pending: the next attempt is scheduled.") : retryButton(d, () => deliveryDetail(id)),
    el("h2", {}, "Attempts"),
    d.attempt_history.length === 0
      ? el("p", {}, "No attempts yet.")
      : table(
          ["Time", "Status code", "Duration", "Error", "Response (first 2 KiB, as text)"],
          d.attempt_history.map((a: Json) => [when(a.attempted_at), a.status_code ?? "—", `${a.duration_ms} ms`, a.error ?? "", el("pre", {}, a.response || "(empty)")]),
        ),
    el("h2", {}, "Event payload"),
    event
      ? payloadView({ id: event.data.id, type: event.data.type, created_at: event.data.created_at, data: event.data.data }, "event-payload")
      : el("pre", { id: "event-payload" }, "(event no longer stored)"),
  );
}

// ---- events ----------------------------------------------------------------------------------

async function eventsPage(type: string): Promise<void> {
  const main = layout("#/events", "Events");
  const types = await api("GET", "/v1/event-types");
  const select = el("select", { change: () => act(() => eventsPage(select.value)) });
  select.append(el("option", { value: "" }, "all types"));
  for (const t of types.data) {
    const o = el("option", { value: t.name }, t.name);
    if (t.name === type) o.selected = true;
    select.append(o);
  }
  const page = await api("GET", `/v1/events?limit=100${type ? `&type=${encodeURIComponent(type)}` : ""}`);
  const detail = el("div", { id: "event-detail" });
  main.append(
    el("form", { "aria-label": "Filter", submit: (e: Event) => e.preventDefault() }, field("type-filter", "Type", select)),
    page.data.length === 0
      ? el("p", {}, "No events.")
      : table(
          ["Event", "Type", "Origin", "Created", ""],
          page.data.map((e: Json) => [
            e.id,
            e.type,
            e.origin ?? "",
            when(e.created_at),
            el(
              "button",
              {
                type: "button",
                class: "secondary",
                "aria-label": `Show payload of ${e.id}`,
                click: () => {
                  detail.replaceChildren(el("h2", {}, `Payload of ${e.id}`), payloadView({ id: e.id, type: e.type, created_at: e.created_at, data: e.data }));
                  detail.scrollIntoView();
                },
              },
              "Payload",
            ),
          ]),
        ),
    detail,
  );
}

// ---- inbound ---------------------------------------------------------------------------------

async function inboundPage(source: string, status: string): Promise<void> {
  const main = layout("#/inbound", "Inbound");
  const src = el("input", { type: "text", value: source, placeholder: "all sources" });
  const st = el("select", {});
  for (const s of ["", "accepted", "duplicate", "rejected"]) {
    const o = el("option", { value: s }, s === "" ? "all" : s);
    if (s === status) o.selected = true;
    st.append(o);
  }
  const q = new URLSearchParams({ limit: "100" });
  if (source) q.set("source", source);
  if (status) q.set("status", status);
  const page = await api("GET", `/v1/inbound?${q}`);
  main.append(
    el(
      "form",
      {
        "aria-label": "Filter",
        submit: (e: Event) => {
          e.preventDefault();
          void act(() => inboundPage(src.value.trim(), st.value));
        },
      },
      field("source-filter", "Source", src),
      field("inbound-status", "Status", st),
      el("button", { type: "submit", class: "secondary" }, "Show"),
    ),
    el("p", { class: "muted" }, "Rejected requests are logged with their reason, size and body SHA-256 only; their bodies are never stored. Compare the SHA-256 with the bytes your sender signed: a different hash means the body changed on the way."),
    page.data.length === 0
      ? el("p", {}, "No inbound requests.")
      : table(
          ["Received", "Source", "Status", "Reason", "Body size", "Body SHA-256", "Client IP", "Event"],
          page.data.map((r: Json) => [
            when(r.received_at),
            r.source,
            badge(r.status),
            r.reason ?? "",
            `${r.size} bytes`,
            r.body_sha256 ?? "—",
            r.client_ip,
            r.event_id ?? "—",
          ]),
        ),
  );
}

// ---- router ----------------------------------------------------------------------------------

function route(): void {
  if (!getKey()) {
    renderSignIn();
    return;
  }
  deepText.clear();
  const hash = location.hash || "#/overview";
  const [path, query = ""] = hash.slice(1).split("?");
  const params = new URLSearchParams(query);
  const parts = (path ?? "").split("/").filter((p) => p !== "").map(decodeURIComponent);
  let page: Promise<void>;
  if (parts[0] === "endpoints" && parts[1]) page = deliveries(parts[1], params.get("status") ?? "");
  else if (parts[0] === "endpoints") page = endpoints();
  else if (parts[0] === "deliveries" && parts[1]) page = deliveryDetail(parts[1]);
  else if (parts[0] === "events") page = eventsPage(params.get("type") ?? "");
  else if (parts[0] === "inbound") page = inboundPage(params.get("source") ?? "", params.get("status") ?? "");
  else page = overview();
  void act(() => page);
}

window.addEventListener("hashchange", route);
route();
