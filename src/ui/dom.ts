// The dashboard's DOM helpers, shared by app.js and its view modules. A browser module served from
// /ui/dom.js. Every value reaches the page as a text node or an attribute, never as markup.
import type { Abilities } from "./key-scopes.js";

export type Json = any;
export type Child = Node | string | number | null | undefined | false;

/** el builds an element: functions in `attrs` become event listeners, true an empty attribute, false nothing. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string | boolean | ((e: Event) => void)> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
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

/** when shows an RFC 3339 time in the browser's locale; "—" for none. */
export function when(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

/** badge is a status shown as a coloured label. */
export function badge(status: string): HTMLElement {
  return el("span", { class: `status status-${status}` }, status);
}

/** row is one table row's cells. */
export function row(cells: Child[]): HTMLTableRowElement {
  return el("tr", {}, ...cells.map((c) => el("td", {}, c)));
}

/** table builds a table with a header row; `cls` lets a view size its columns. */
export function table(headers: string[], rows: Child[][], caption?: string, cls?: string): HTMLTableElement {
  return el(
    "table",
    cls ? { class: cls } : {},
    caption ? el("caption", { class: "hidden" }, caption) : null,
    el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, ...rows.map(row)),
  );
}

/** field is a labelled form control. */
export function field(id: string, label: string, input: HTMLElement, hint = ""): HTMLElement {
  input.id = id;
  return el("div", { class: "field" }, el("label", { for: id }, label), input, hint === "" ? null : el("span", { class: "muted" }, hint));
}

/** ViewDeps is what a view module borrows from app.js. */
export interface ViewDeps {
  api(method: string, path: string, body?: unknown): Promise<Json>;
  /** act runs an action and shows its error in the page's message box. */
  act(fn: () => Promise<void>): Promise<void>;
  say(text: string, error?: boolean): void;
  /** layout draws the header and navigation with `current` marked, and returns the emptied main element. */
  layout(current: string, title: string): HTMLElement;
  /** can says what the signed-in key may do (its scopes): views leave out the actions it cannot take. */
  can(): Abilities;
}
