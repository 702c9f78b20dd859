import { BlockList, isIP } from "node:net";

/** Cidr is one parsed network: `text` is the form the operator wrote. */
export interface Cidr {
  readonly text: string;
  readonly address: string;
  readonly prefix: number;
  readonly family: "ipv4" | "ipv6";
}

/** parseCidr accepts `10.0.0.0/8`, `2001:db8::/32` or a bare address (a /32 or /128); returns an error string otherwise. */
export function parseCidr(text: string): Cidr | string {
  if (typeof text !== "string" || text.trim() === "") return "is empty, expected a CIDR like 10.0.0.0/8";
  const trimmed = text.trim();
  const slash = trimmed.indexOf("/");
  const address = slash === -1 ? trimmed : trimmed.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return `${JSON.stringify(text)} is not a CIDR (bad address)`;
  const family = version === 4 ? "ipv4" : "ipv6";
  const max = version === 4 ? 32 : 128;
  let prefix = max;
  if (slash !== -1) {
    const bits = trimmed.slice(slash + 1);
    if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return `${JSON.stringify(text)} is not a CIDR (prefix must be 0-${max})`;
    prefix = Number(bits);
  }
  return { text: trimmed, address, prefix, family };
}

/** normalizeIp strips brackets and zone ids and turns IPv4-mapped IPv6 (`::ffff:1.2.3.4`) into plain IPv4; returns null for non-IPs. */
export function normalizeIp(raw: string): string | null {
  let ip = raw.trim();
  if (ip.startsWith("[") && ip.endsWith("]")) ip = ip.slice(1, -1);
  const zone = ip.indexOf("%");
  if (zone !== -1) ip = ip.slice(0, zone);
  const version = isIP(ip);
  if (version === 0) return null;
  if (version === 6) {
    const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
    if (mapped && isIP(mapped[1]!) === 4) return mapped[1]!;
  }
  return ip.toLowerCase();
}

/** IpSet answers "is this address inside any of these networks"; compiled once when config loads. */
export class IpSet {
  readonly cidrs: readonly Cidr[];
  private readonly list = new BlockList();

  constructor(cidrs: readonly Cidr[]) {
    this.cidrs = cidrs;
    for (const c of cidrs) this.list.addSubnet(c.address, c.prefix, c.family);
  }

  get size(): number {
    return this.cidrs.length;
  }

  /** has is false for anything that is not an IP address. */
  has(raw: string): boolean {
    const ip = normalizeIp(raw);
    if (ip === null) return false;
    return this.list.check(ip, isIP(ip) === 4 ? "ipv4" : "ipv6");
  }
}

/** ipSetOf builds an IpSet from CIDR strings already known to be valid (built-in tables, tests). */
export function ipSetOf(texts: readonly string[]): IpSet {
  return new IpSet(
    texts.map((t) => {
      const c = parseCidr(t);
      if (typeof c === "string") throw new Error(`bad built-in CIDR ${t}: ${c}`);
      return c;
    }),
  );
}
