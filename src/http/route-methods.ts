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
