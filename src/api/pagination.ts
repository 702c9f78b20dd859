import { queryParam } from "./schemas";
import { ApiError } from "../http/errors";
import { type IdPrefix, isId } from "../ids";

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 500;

/** PAGE_QUERY is the query schema every list route shares; /openapi.json documents limit as an integer. */
export const PAGE_QUERY = {
  limit: queryParam("page size", { type: "integer", minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT }),
  cursor: queryParam("next_cursor of the previous page, unchanged"),
};

/** Page is a parsed ?limit=&cursor= pair; `before` is the id the cursor points past. */
export interface Page {
  limit: number;
  before?: string;
}

/** parsePage validates ?limit and ?cursor (which must come from a list of `prefix` objects), naming the parameter that is wrong. */
export function parsePage(query: { limit?: string; cursor?: string }, prefix: IdPrefix): Page {
  let limit = DEFAULT_LIMIT;
  if (query.limit !== undefined) {
    if (!/^\d{1,4}$/.test(query.limit) || Number(query.limit) < 1 || Number(query.limit) > MAX_LIMIT) {
      throw new ApiError("invalid_query", "limit must be an integer from 1 to 500", [
        { field: "query.limit", code: "invalid", message: `${JSON.stringify(query.limit)} is not an integer from 1 to ${MAX_LIMIT}` },
      ]);
    }
    limit = Number(query.limit);
  }
  if (query.cursor === undefined || query.cursor === "") return { limit };
  const before = Buffer.from(query.cursor, "base64url").toString("utf8");
  if (!isId(before, prefix)) {
    throw new ApiError("invalid_query", "cursor is not one this API returned", [
      { field: "query.cursor", code: "invalid", message: "use next_cursor from the previous page unchanged" },
    ]);
  }
  return { limit, before };
}

/** pageOf asks storage for one extra row to know whether another page exists, and renders the list envelope. */
export async function pageOf<T extends { id: string }, R>(
  page: Page,
  fetch: (query: { limit: number; before?: string }) => Promise<T[]>,
  render: (row: T) => R,
): Promise<{ data: R[]; next_cursor: string | null }> {
  const rows = await fetch({ limit: page.limit + 1, before: page.before });
  const more = rows.length > page.limit;
  const shown = more ? rows.slice(0, page.limit) : rows;
  const last = shown.at(-1);
  return {
    data: shown.map(render),
    next_cursor: more && last ? Buffer.from(last.id, "utf8").toString("base64url") : null,
  };
}
