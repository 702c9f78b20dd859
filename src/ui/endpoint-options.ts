// The dashboard's editor and view of an endpoint's delivery options (SPEC §9). A browser module served
// from /ui/endpoint-options.js and imported by app.js. Values reach the page through textContent and
// input values only; sensitive header values arrive as "********" and are sent back as such, which
// keeps the stored value.
import { el, field } from "./dom.js";

type Json = any;

/** OptionsEditor is the option inputs of one form and how to read them back. */
export interface OptionsEditor {
  /** section is the collapsible group of inputs to put in the form. */
  readonly section: HTMLElement;
  /** body gives the option fields to send: on create only those filled in, on edit only those changed (null clears). */
  body(): Record<string, unknown>;
}

const make = el;
const labelled = field;

/** headersText shows headers one "Name: value" per line, the way the textarea takes them. */
export function headersText(headers: Record<string, string> | null): string {
  return headers === null ? "" : Object.entries(headers).map(([name, value]) => `${name}: ${value}`).join("\n");
}

/** parseHeaders reads "Name: value" lines (blank lines skipped); a line without a colon is an error naming it. */
export function parseHeaders(text: string): Record<string, string> | null {
  const out: [string, string][] = [];
  for (const [i, line] of text.split("\n").entries()) {
    if (line.trim() === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new Error(`Headers, line ${i + 1}: write it as "Name: value"`);
    out.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  return out.length === 0 ? null : Object.fromEntries(out);
}

/** optionsEditor builds the option inputs for a new endpoint (`w` null) or to edit `w`; ids start with `prefix`. */
export function optionsEditor(prefix: string, w: Json | null): OptionsEditor {
  const headers = make("textarea", { rows: "3", placeholder: "X-Tenant: plant-7" });
  headers.value = headersText(w?.headers ?? null);
  const timeout = make("input", { type: "text", placeholder: "default", value: w?.timeout ?? "" });
  const rate = make("input", { type: "number", min: "1", max: "10000", placeholder: "unlimited", value: w?.rate_limit == null ? "" : String(w.rate_limit) });
  const ordering = make("select", {}, make("option", { value: "none" }, "none"), make("option", { value: "fifo" }, "fifo"));
  ordering.value = w?.ordering ?? "none";
  const key = make("input", { type: "text", placeholder: "/document_no", value: w?.ordering_key ?? "" });
  const tls = make("input", { type: "text", placeholder: "none", value: w?.client_tls ?? "" });
  const oauth2 = make("input", { type: "text", placeholder: "none", value: w?.oauth2 ?? "" });
  const section = make(
    "details",
    { class: "options" },
    make("summary", {}, "Delivery options"),
    make(
      "div",
      { class: "option-fields" },
      labelled(`${prefix}-headers`, "Extra headers", headers, 'one "Name: value" per line; ******** keeps a stored secret'),
      labelled(`${prefix}-timeout`, "Timeout", timeout, '"1s"–"60s"'),
      labelled(`${prefix}-rate`, "Rate limit (per second)", rate),
      labelled(`${prefix}-ordering`, "Ordering", ordering),
      labelled(`${prefix}-ordering-key`, "Ordering key (JSON Pointer)", key, "fifo only"),
      labelled(`${prefix}-client-tls`, "Client TLS profile", tls),
      labelled(`${prefix}-oauth2`, "OAuth2 profile", oauth2),
    ),
  );
  // An endpoint that already has options opens with them shown.
  if (w !== null && summarize(w).length > 0) section.setAttribute("open", "");
  const text = (input: HTMLInputElement) => (input.value.trim() === "" ? null : input.value.trim());
  const read = (): Record<string, unknown> => ({
    headers: parseHeaders(headers.value),
    timeout: text(timeout),
    rate_limit: rate.value.trim() === "" ? null : Number(rate.value),
    ordering: ordering.value,
    ordering_key: text(key),
    client_tls: text(tls),
    oauth2: text(oauth2),
  });
  return {
    section,
    body() {
      const now = read();
      const before: Record<string, unknown> = w === null ? { ordering: "none" } : w;
      // Only what changed is sent, so an untouched option (e.g. a profile since removed from the config) is not judged again.
      return Object.fromEntries(Object.entries(now).filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(before[k] ?? null)));
    },
  };
}

/** summarize lists an endpoint's options that are set, as [label, text] pairs for a detail view. */
export function summarize(w: Json): [string, string][] {
  const rows: [string, string][] = [];
  if (w.headers) rows.push(["Extra headers", headersText(w.headers)]);
  if (w.timeout) rows.push(["Timeout", w.timeout]);
  if (w.rate_limit != null) rows.push(["Rate limit", `${w.rate_limit} per second`]);
  if (w.ordering === "fifo") rows.push(["Ordering", w.ordering_key ? `fifo, one lane per ${w.ordering_key}` : "fifo"]);
  if (w.client_tls) rows.push(["Client TLS profile", w.client_tls]);
  if (w.oauth2) rows.push(["OAuth2 profile", w.oauth2]);
  return rows;
}

/** optionsView is a definition list of the endpoint's options, or a note that it has none. */
export function optionsView(w: Json): HTMLElement {
  const rows = summarize(w);
  if (rows.length === 0) return make("p", { class: "muted", id: "endpoint-options" }, "Delivery options: defaults.");
  const list = make("dl", { id: "endpoint-options" });
  // Headers keep their lines; the other values are one short line each.
  for (const [label, value] of rows) list.append(make("dt", {}, label), make("dd", {}, label === "Extra headers" ? make("pre", {}, value) : value));
  return list;
}
