import { lookup } from "node:dns/promises";

/** Resolver turns a hostname into its addresses; injected so tests can point a name anywhere (including blocked ranges) without DNS. */
export type Resolver = (hostname: string) => Promise<string[]>;

/** systemResolver asks the OS resolver (getaddrinfo, so /etc/hosts counts) for every address, both families, in its preferred order. */
export const systemResolver: Resolver = async (hostname) => {
  const answers = await lookup(hostname, { all: true });
  return answers.map((a) => a.address);
};

/** ResolverError carries a DNS-style `code` (ENOTFOUND) so the sender reports fake and real lookups alike. */
class ResolverError extends Error {
  readonly code: string;
  readonly hostname: string;

  constructor(code: string, hostname: string) {
    super(`getaddrinfo ${code} ${hostname}`);
    this.name = "ResolverError";
    this.code = code;
    this.hostname = hostname;
  }
}

/** staticResolver answers from a fixed table (names compared case-insensitively, trailing dot ignored); unknown names reject with ENOTFOUND. */
export function staticResolver(table: Record<string, string[]>): Resolver {
  const entries = new Map(Object.entries(table).map(([name, addresses]) => [canonical(name), [...addresses]]));
  return async (hostname) => {
    const addresses = entries.get(canonical(hostname));
    if (addresses === undefined) throw new ResolverError("ENOTFOUND", hostname);
    return [...addresses];
  };
}

/** canonical folds the spellings DNS treats as one name, so a test table need not list "Evil.test." separately. */
function canonical(name: string): string {
  return name.toLowerCase().replace(/\.$/, "");
}
