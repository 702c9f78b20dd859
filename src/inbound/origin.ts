/**
 * crossSiteProblem says why a browser post to an auth = "none" source is refused (SPEC §13), or null to
 * accept it. Such a source trusts its network, and a page in a browser on that network could otherwise
 * post to it (`fetch(url, {mode: "no-cors", method: "POST", body})` needs no CORS permission). An
 * Origin in allowOrigins is accepted whatever Sec-Fetch-Site says; any other Origin is refused; with no
 * Origin, Sec-Fetch-Site cross-site or same-site is refused. Senders outside a browser send neither.
 */
export function crossSiteProblem(allowOrigins: readonly string[], headers: Headers): string | null {
  const origin = headers.get("origin");
  if (origin !== null) {
    if (allowOrigins.includes(origin)) return null;
    return `Origin ${JSON.stringify(origin.slice(0, 256))} is not in this source's allow_origins (browser posts are refused unless their origin is listed)`;
  }
  const site = headers.get("sec-fetch-site")?.trim().toLowerCase();
  if (site === "cross-site" || site === "same-site") {
    return `a browser request from another site (Sec-Fetch-Site: ${site}) is refused by sources with auth = "none"`;
  }
  return null;
}
