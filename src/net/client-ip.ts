import { type IpSet, normalizeIp } from "./cidr";

/** parseHop reads one X-Forwarded-For entry: a bare address, `[v6]`, `[v6]:port` or `v4:port`; null for anything else. */
function parseHop(entry: string): string | null {
  // Proxies differ on whether they append ports; the port says nothing about who the client is.
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(entry);
  if (bracketed) return normalizeIp(bracketed[1]!);
  const v4WithPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/.exec(entry);
  if (v4WithPort) return normalizeIp(v4WithPort[1]!);
  return normalizeIp(entry);
}

/** clientIp: the socket address (IPv4-mapped IPv6 → IPv4), unless the socket is a trusted proxy: then X-Forwarded-For is walked right to left, skipping trusted addresses, and the first untrusted one wins (garbage entries end the walk: fall back to the last trusted hop). */
export function clientIp(socketIp: string, forwardedFor: string | null, trustedProxies: IpSet): string {
  const socket = normalizeIp(socketIp) ?? socketIp;
  // Anyone can send X-Forwarded-For; only a proxy we trust can vouch for what it appended.
  if (forwardedFor === null || trustedProxies.size === 0 || !trustedProxies.has(socket)) return socket;
  let lastTrusted = socket;
  const entries = forwardedFor.split(",");
  for (let i = entries.length - 1; i >= 0; i--) {
    const entry = entries[i]!.trim();
    // Empty entries are artefacts of joining several headers (or a trailing comma), not claims about anyone.
    if (entry === "") continue;
    const hop = parseHop(entry);
    // Past an entry we cannot read ("unknown", a hostname, junk) nothing to its left can be attributed; stop at what we know.
    if (hop === null) return lastTrusted;
    if (!trustedProxies.has(hop)) return hop;
    lastTrusted = hop;
  }
  return lastTrusted;
}
