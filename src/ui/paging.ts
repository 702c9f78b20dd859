// "Load more" for every dashboard list (SPEC §3 next_cursor). A browser module served from /ui/paging.js.
import { type Child, type Json, el, row, table } from "./dom.js";

/** PagedList describes one list: the first page's path (with its filters and ?limit=) and how a row looks. */
export interface PagedList {
  path: string;
  headers: string[];
  cells(item: Json): Child[];
  empty: string;
  caption?: string;
  cls?: string;
}

/** withCursor adds ?cursor= (or &cursor=) to a list path. */
export function withCursor(path: string, cursor: string): string {
  return `${path}${path.includes("?") ? "&" : "?"}cursor=${encodeURIComponent(cursor)}`;
}

/**
 * pagedTable shows a list's first page and, while the API answers a next_cursor, a "Load more" button
 * that appends the next page to the same table. Resolves with the element and the first page's items.
 * More follows exactly while next_cursor is non-null: a page may hold fewer items than asked, even none
 * (GET /v1/deliveries examines a bounded number of deliveries per request), so its length says nothing.
 */
export async function pagedTable(
  list: PagedList,
  api: (method: string, path: string) => Promise<Json>,
  act: (fn: () => Promise<void>) => Promise<void>,
): Promise<{ node: HTMLElement; first: Json[] }> {
  const page = await api("GET", list.path);
  if (page.data.length === 0 && !page.next_cursor) return { node: el("p", {}, list.empty), first: [] };
  const grid = table(list.headers, page.data.map(list.cells), list.caption, list.cls);
  const body = grid.tBodies[0] as HTMLTableSectionElement;
  const count = el("p", { class: "muted", role: "status" });
  const more = el("button", { type: "button", class: "secondary" }, "Load more");
  const box = el("div", { class: "paged" }, grid, count, more);
  let shown = page.data.length;
  let cursor: string | null = page.next_cursor;
  const update = () => {
    count.textContent = cursor ? `${shown} shown; more to load.` : `${shown} shown, all loaded.`;
    more.hidden = cursor === null;
  };
  more.addEventListener("click", () =>
    act(async () => {
      if (!cursor) return;
      more.disabled = true;
      try {
        const next = await api("GET", withCursor(list.path, cursor));
        body.append(...next.data.map((item: Json) => row(list.cells(item))));
        shown += next.data.length;
        cursor = next.next_cursor;
        update();
      } finally {
        more.disabled = false;
      }
    }),
  );
  update();
  return { node: box, first: page.data };
}
