/** RouteEntry is the part of a registered route that says which method answers which path pattern. */
export interface RouteEntry {
  method: string;
  path: string;
}

/** segmentsMatch: ":name" matches one non-empty segment, "*" the rest of the path, anything else itself. */
function segmentsMatch(pattern: string[], path: string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    if (p === "*") return true;
    if (i >= path.length) return false;
    if (p.startsWith(":") ? path[i] === "" : p !== path[i]) return false;
  }
  return pattern.length === path.length;
}

/**
 * allowedMethods lists the methods registered for a path, so a request with another method can be
 * answered 405 with an Allow header instead of a 404 that suggests the path is wrong. A trailing
 * slash is ignored, as the router ignores it.
 */
export function allowedMethods(routes: readonly RouteEntry[], pathname: string): string[] {
  const split = (p: string) => (p.length > 1 ? p.replace(/\/$/, "") : p).split("/");
  const path = split(pathname);
  const methods = new Set<string>();
  for (const route of routes) {
    if (route.method === "ALL" || !segmentsMatch(split(route.path), path)) continue;
    methods.add(route.method);
  }
  return [...methods].sort();
}

/**
 * matchedPattern is the pattern of the route that answers `method` on `pathname` ("/v1/webhooks/:id"),
 * or null. Like the router, a fixed segment beats a parameter at the same place; HEAD is answered by GET.
 */
export function matchedPattern(routes: readonly RouteEntry[], method: string, pathname: string): string | null {
  const split = (p: string) => (p.length > 1 ? p.replace(/\/$/, "") : p).split("/");
  const path = split(pathname);
  const wanted = method === "HEAD" ? "GET" : method;
  let best: { pattern: string; rank: string } | null = null;
  for (const route of routes) {
    if (route.method !== wanted) continue;
    const pattern = split(route.path);
    if (!segmentsMatch(pattern, path)) continue;
    // "0" for a fixed segment, "1" for a parameter: the smallest rank is the most specific route.
    const rank = pattern.map((segment) => (segment.startsWith(":") || segment === "*" ? "1" : "0")).join("");
    if (best === null || rank < best.rank) best = { pattern: route.path, rank };
  }
  return best?.pattern ?? null;
}
