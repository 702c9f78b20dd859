// Reading API answers and showing payloads as they were sent. A browser module served from /ui/payload.js.
import { el } from "./dom.js";

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

/** forgetDeep drops the source texts kept for the previous page. */
export function forgetDeep(): void {
  deepText.clear();
}

/** readJson parses an API answer; containers nested deeper than SHOWN_DEPTH become marker strings (see payloadView). */
export function readJson(text: string): unknown {
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

/** pretty is indented JSON. */
export function pretty(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/** payloadView shows a value as indented JSON; parts cut by readJson go back in as stored, with a note saying so. */
export function payloadView(value: unknown, id?: string): HTMLElement {
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
