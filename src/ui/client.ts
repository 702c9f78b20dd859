// The dashboard's browser module. Served from /ui/app.js (transpiled once by the server).
// Every stored value (payloads, responses, URLs, reasons) reaches the page through textContent,
// never innerHTML; the page only talks to the public /v1 API with the key the operator typed.
import { deliveriesView } from "./deliveries-view.js";
import { type Json, type ViewDeps, badge, el, field, when } from "./dom.js";
import { endpointsView } from "./endpoints-view.js";
import { currentAbilities, forgetScopes, rememberScopes, SCOPES_HEADER } from "./key-scopes.js";
import { eventDetail, eventsPage } from "./events-view.js";
import { overviewPage } from "./overview.js";
import { pagedTable } from "./paging.js";
import { forgetDeep, readJson } from "./payload.js";
import { filterFrom, undeliveredPage } from "./undelivered.js";
import { auditFilterFrom, auditPage } from "./audit-view.js";

const KEY = "hookd.apiKey";

class ApiFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
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
  rememberScopes(res.headers.get(SCOPES_HEADER));
  if (res.status === 401) {
    sessionStorage.removeItem(KEY);
    forgetScopes();
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
        // A key that may not read the stats (a publish-only key) is still a valid key: its 403 names its scopes.
        const scopes = res.headers.get(SCOPES_HEADER);
        if (!res.ok && !(res.status === 403 && scopes !== null)) {
          sessionStorage.removeItem(KEY);
          msg.textContent = res.status === 401 ? "That API key was not accepted." : `Sign-in failed (HTTP ${res.status}).`;
          msg.className = "message error";
          input.focus();
          return;
        }
        rememberScopes(scopes);
        if (location.hash === "" || location.hash === "#") location.hash = "#/overview";
        route();
      },
    },
    field("api-key", "API key", input),
    el("button", { type: "submit" }, "Sign in"),
  );
  root.replaceChildren(
    el("main", { class: "signin", id: "main" }, el("h1", {}, "hookd dashboard"), el("p", {}, "Sign in with an API key. It is kept in this tab only (sessionStorage); the dashboard shows what its scopes allow."), msg, form),
  );
  input.focus();
}

// ---- layout ----------------------------------------------------------------------------------

const PAGES: [string, string][] = [
  ["#/overview", "Overview"],
  ["#/endpoints", "Endpoints"],
  ["#/undelivered", "Undelivered"],
  ["#/events", "Events"],
  ["#/inbound", "Inbound"],
  ["#/audit", "Audit log"],
];

function layout(current: string, title: string): HTMLElement {
  const main = el("main", { id: "main", tabindex: "-1" });
  const nav = el(
    "nav",
    { "aria-label": "Main" },
    el("ul", {}, ...shownPages().map(([href, label]) => el("li", {}, el("a", { href, ...(href === current ? { "aria-current": "page" } : {}) }, label)))),
  );
  const signOut = el("button", { type: "button", class: "secondary", click: () => { sessionStorage.removeItem(KEY); forgetScopes(); renderSignIn(); } }, "Sign out");
  const can = currentAbilities();
  const scopeNote = can.read && !can.change ? el("span", { class: "key-scope", title: "This key has the read scope: it cannot change anything." }, "read-only key") : null;
  root.replaceChildren(el("header", {}, el("span", { class: "brand" }, "hookd"), nav, scopeNote, signOut), main);
  messageBox = el("p", { class: "message", role: "status", "aria-live": "polite" });
  main.append(el("h1", {}, title), messageBox);
  document.title = `${title} · hookd`;
  main.focus();
  return main;
}

/** shownPages are the pages the key may read: none for a publish-only key, no audit log without admin. */
function shownPages(): [string, string][] {
  const can = currentAbilities();
  if (!can.read) return [];
  return PAGES.filter(([href]) => href !== "#/audit" || can.audit);
}

/** publishOnlyPage is all a key that may only publish sees: there is nothing it may read. */
function publishOnlyPage(): void {
  const main = layout("", "Publish-only key");
  main.append(
    el("p", {}, "This key can only publish: POST /v1/events and the /v1/resources routes. It cannot read endpoints, deliveries, events or stats, so the dashboard has nothing to show for it."),
    el("p", { class: "muted" }, "Sign out and sign in with a key that has the read or admin scope to use the dashboard."),
  );
}

/** views is what the view modules borrow from this one. */
const views: ViewDeps = { api, act, say, layout, can: currentAbilities };
const showOverview = (): Promise<void> => overviewPage(views, showOverview);
const { endpoints } = endpointsView(views);
const { deliveries, deliveryDetail } = deliveriesView(views);

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
  const { node } = await pagedTable(
    {
      path: `/v1/inbound?${q}`,
      headers: ["Received", "Source", "Status", "Reason", "Body size", "Body SHA-256", "Client IP", "Event"],
      cells: (r: Json) => [
        when(r.received_at),
        r.source,
        badge(r.status),
        r.reason ?? "",
        `${r.size} bytes`,
        r.body_sha256 ? el("code", { class: "hash" }, r.body_sha256) : "—",
        r.client_ip,
        r.event_id ? el("a", { href: `#/events/${encodeURIComponent(r.event_id)}` }, r.event_id) : "—",
      ],
      empty: "No inbound requests.",
      // Long values (hashes, ids, IPv6) wrap so the table fits a 1280 px window.
      cls: "inbound-table",
    },
    api,
    act,
  );
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
    node,
  );
}

// ---- router ----------------------------------------------------------------------------------

function route(): void {
  if (!getKey()) {
    renderSignIn();
    return;
  }
  forgetDeep();
  const hash = location.hash || "#/overview";
  const [path, query = ""] = hash.slice(1).split("?");
  const params = new URLSearchParams(query);
  const parts = (path ?? "").split("/").filter((p) => p !== "").map(decodeURIComponent);
  const can = currentAbilities();
  if (can.publishOnly) return publishOnlyPage();
  if (parts[0] === "audit" && !can.audit) {
    location.hash = "#/overview";
    return;
  }
  let page: Promise<void>;
  if (parts[0] === "endpoints" && parts[1]) page = deliveries(parts[1], params.get("status") ?? "");
  else if (parts[0] === "endpoints") page = endpoints();
  else if (parts[0] === "deliveries" && parts[1]) page = deliveryDetail(parts[1]);
  else if (parts[0] === "events" && parts[1]) page = eventDetail(views, parts[1]);
  else if (parts[0] === "events") page = eventsPage(views, params.get("type") ?? "");
  else if (parts[0] === "undelivered") page = undeliveredPage(views, filterFrom(params));
  else if (parts[0] === "audit") page = auditPage(views, auditFilterFrom(params));
  else if (parts[0] === "inbound") page = inboundPage(params.get("source") ?? "", params.get("status") ?? "");
  else page = showOverview();
  void act(() => page);
}

window.addEventListener("hashchange", route);
route();
