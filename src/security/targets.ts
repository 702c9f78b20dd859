import { isIP } from "node:net";
import { type IpSet, ipSetOf, normalizeIp } from "../net/cidr.ts";

/** TargetPolicy is the `[delivery]` config that decides where endpoints may point: loaded once, shared by create/update and send time. */
export interface TargetPolicy {
  readonly requireHttps: boolean;
  readonly allowTargets: IpSet;
}

/** TargetProblemCode is the `details[].code` of a 422; target_blocked also covers credentials so API clients see one SSRF-ish code. */
export type TargetProblemCode = "invalid_url" | "https_required" | "target_blocked";

/** TargetProblem is one `details` entry of a 422 answer; `message` is meant for the operator and says how to fix it. */
export interface TargetProblem {
  readonly field: string;
  readonly code: TargetProblemCode;
  readonly message: string;
}

/** BlockedRange names a range so refusals can say why (private, loopback, …) instead of just "blocked". */
interface BlockedRange {
  readonly cidr: string;
  readonly name: string;
}

/** IPV4_BLOCKED lists the IANA IPv4 special-purpose ranges not marked globally reachable (whole blocks, sub-exceptions ignored on purpose). */
const IPV4_BLOCKED: readonly BlockedRange[] = [
  { cidr: "0.0.0.0/8", name: "this network" },
  { cidr: "10.0.0.0/8", name: "private" },
  { cidr: "100.64.0.0/10", name: "shared address space (CGNAT)" },
  { cidr: "127.0.0.0/8", name: "loopback" },
  { cidr: "169.254.0.0/16", name: "link-local" },
  { cidr: "172.16.0.0/12", name: "private" },
  { cidr: "192.0.0.0/24", name: "IETF protocol assignments" },
  { cidr: "192.0.2.0/24", name: "documentation" },
  { cidr: "192.88.99.0/24", name: "6to4 relay anycast" },
  { cidr: "192.168.0.0/16", name: "private" },
  { cidr: "198.18.0.0/15", name: "benchmarking" },
  { cidr: "198.51.100.0/24", name: "documentation" },
  { cidr: "203.0.113.0/24", name: "documentation" },
  { cidr: "224.0.0.0/4", name: "multicast" },
  { cidr: "240.0.0.0/4", name: "reserved" },
  { cidr: "255.255.255.255/32", name: "broadcast" },
];

/** IPV6_BLOCKED is the IPv6 counterpart; IPv4-embedding prefixes are not here because their IPv4 part decides (see embeddedIpv4). */
const IPV6_BLOCKED: readonly BlockedRange[] = [
  { cidr: "::/128", name: "unspecified" },
  { cidr: "::1/128", name: "loopback" },
  { cidr: "100::/64", name: "discard-only" },
  { cidr: "64:ff9b:1::/48", name: "local-use NAT64" },
  { cidr: "2001::/23", name: "IETF protocol assignments" },
  { cidr: "2001:db8::/32", name: "documentation" },
  { cidr: "3fff::/20", name: "documentation" },
  { cidr: "5f00::/16", name: "segment routing (SRv6) SIDs" },
  { cidr: "fc00::/7", name: "unique local" },
  { cidr: "fe80::/10", name: "link-local" },
  { cidr: "fec0::/10", name: "site-local" },
  { cidr: "ff00::/8", name: "multicast" },
];

/** CompiledRange pairs a name with a one-network IpSet so membership uses node:net BlockList, not hand-written bit math. */
interface CompiledRange {
  readonly name: string;
  readonly set: IpSet;
}

const compile = (table: readonly BlockedRange[]): CompiledRange[] =>
  table.map((r) => ({ name: r.name, set: ipSetOf([r.cidr]) }));

const V4_RANGES = compile(IPV4_BLOCKED);
const V6_RANGES = compile(IPV6_BLOCKED);

/** rangeName returns the name of the first table entry holding `ip` (already normalized), or null. */
function rangeName(ip: string, ranges: readonly CompiledRange[]): string | null {
  for (const r of ranges) if (r.set.has(ip)) return r.name;
  return null;
}

/** expandIpv6 turns a valid IPv6 text (no zone, no brackets) into its 8 16-bit groups, undoing `::` and a dotted IPv4 tail. */
function expandIpv6(ip: string): number[] | null {
  let text = ip.toLowerCase();
  const dotted = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (dotted) {
    const o = dotted.slice(1, 5).map(Number);
    if (o.some((n) => n > 255)) return null;
    const hi = (o[0]! * 256 + o[1]!).toString(16);
    const lo = (o[2]! * 256 + o[3]!).toString(16);
    text = `${text.slice(0, dotted.index)}${hi}:${lo}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const parse = (part: string | undefined): number[] | null => {
    if (part === undefined || part === "") return [];
    const groups = part.split(":");
    if (groups.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return null;
    return groups.map((g) => parseInt(g, 16));
  };
  const head = parse(halves[0]);
  const tail = parse(halves[1]);
  if (head === null || tail === null) return null;
  if (halves.length === 1) return head.length === 8 ? head : null;
  const zeros = 8 - head.length - tail.length;
  if (zeros < 1) return null;
  return [...head, ...new Array<number>(zeros).fill(0), ...tail];
}

/** EmbeddedIpv4 is the IPv4 a router would actually reach for an IPv6 address, plus which translation form carried it. */
interface EmbeddedIpv4 {
  readonly form: "IPv4-mapped" | "IPv4-translated" | "IPv4-compatible" | "NAT64" | "6to4";
  readonly ipv4: string;
}

const v4From = (hi: number, lo: number): string => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;

/** embeddedIpv4 extracts the IPv4 from ::ffff:0:0/96, ::/96, 64:ff9b::/96 and 2002::/16, because those forms tunnel to that IPv4. */
function embeddedIpv4(ipv6: string): EmbeddedIpv4 | null {
  const g = expandIpv6(ipv6);
  if (g === null) return null;
  const first96 = g.slice(0, 6).join(":");
  if (first96 === "0:0:0:0:0:65535") return { form: "IPv4-mapped", ipv4: v4From(g[6]!, g[7]!) };
  if (first96 === "0:0:0:0:0:0") return { form: "IPv4-compatible", ipv4: v4From(g[6]!, g[7]!) };
  // SIIT's IPv4-translated form (::ffff:0:a.b.c.d) also carries an IPv4 in its last 32 bits.
  if (first96 === "0:0:0:0:65535:0") return { form: "IPv4-translated", ipv4: v4From(g[6]!, g[7]!) };
  if (first96 === "100:65435:0:0:0:0") return { form: "NAT64", ipv4: v4From(g[6]!, g[7]!) };
  if (g[0] === 0x2002) return { form: "6to4", ipv4: v4From(g[1]!, g[2]!) };
  return null;
}

/** blockReason says why a normalized IP is blocked ("private", "6to4 of 127.0.0.1: loopback"), or null when it is globally reachable. */
function blockReason(ip: string): string | null {
  if (isIP(ip) === 4) return rangeName(ip, V4_RANGES);
  const direct = rangeName(ip, V6_RANGES);
  if (direct !== null) return direct;
  const embedded = embeddedIpv4(ip);
  if (embedded === null) return null;
  const inner = rangeName(embedded.ipv4, V4_RANGES);
  return inner === null ? null : `${embedded.form} of ${embedded.ipv4}: ${inner}`;
}

/** isBlockedAddress: true when an IP (any spelling normalizeIp accepts) is in a non-globally-reachable range or embeds one. */
export function isBlockedAddress(ip: string): boolean {
  const n = normalizeIp(ip);
  return n !== null && blockReason(n) !== null;
}

/** allowedByPolicy checks allowTargets for the address and, for ::ffff:a.b.c.d, its IPv4 too, since both reach the same socket. */
function allowedByPolicy(ip: string, policy: TargetPolicy): boolean {
  if (policy.allowTargets.has(ip)) return true;
  if (isIP(ip) !== 6) return false;
  const embedded = embeddedIpv4(ip);
  return embedded?.form === "IPv4-mapped" && policy.allowTargets.has(embedded.ipv4);
}

/** isAllowedAddress: the send-time check for a resolved address: not blocked, or inside policy.allowTargets. */
export function isAllowedAddress(ip: string, policy: TargetPolicy): boolean {
  const n = normalizeIp(ip);
  // Fail closed: a "resolved address" that is not an IP must never be connected to.
  if (n === null) return false;
  return blockReason(n) === null || allowedByPolicy(n, policy);
}

/** isLocalhostName matches names resolvers answer with loopback by convention (RFC 6761), so they are refused without DNS. */
function isLocalhostName(host: string): boolean {
  const h = host.toLowerCase().replace(/\.+$/, "");
  return h === "localhost" || h.endsWith(".localhost");
}

const problem = (code: TargetProblemCode, message: string): TargetProblem => ({ field: "url", code, message });

/** hostProblem applies the create-time host rule: localhost names and blocked IP literals, unless allow_targets covers them. */
function hostProblem(host: string, policy: TargetPolicy): TargetProblem | null {
  if (isLocalhostName(host)) {
    if (allowedByPolicy("127.0.0.1", policy) || allowedByPolicy("::1", policy)) return null;
    return problem(
      "target_blocked",
      `host ${host} is loopback (127.0.0.1, ::1); add 127.0.0.1 or ::1 to [delivery] allow_targets to allow it`,
    );
  }
  const ip = normalizeIp(host);
  if (ip === null) return null; // a DNS name: resolved and checked at send time, not here
  const reason = blockReason(ip);
  if (reason === null || allowedByPolicy(ip, policy)) return null;
  return problem(
    "target_blocked",
    `host ${host} is in a blocked range (${reason}); add it to [delivery] allow_targets to allow it`,
  );
}

/** checkEndpointUrl: create/update-time rules; returns [] when fine. `field` is "url". */
export function checkEndpointUrl(url: string, policy: TargetPolicy): TargetProblem[] {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return [problem("invalid_url", "URL does not parse; expected e.g. https://example.com/hook")];
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    return [problem("invalid_url", `URL scheme must be http or https, not ${parsed.protocol.replace(/:$/, "")}`)];
  }
  // WHATWG parsing already canonicalized decimal/hex/octal/short IPv4 hosts; IPv6 comes bracketed.
  const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  if (host === "") return [problem("invalid_url", "URL has no host")];
  const problems: TargetProblem[] = [];
  // Credentials are target_blocked: they would be stored and listed in plain text, and smuggle auth to the target.
  if (parsed.username !== "" || parsed.password !== "") {
    problems.push(problem("target_blocked", "URL must not contain credentials"));
  }
  if (parsed.protocol === "http:" && policy.requireHttps) {
    problems.push(problem("https_required", "URL must use https (set [delivery] require_https = false to allow http)"));
  }
  const blocked = hostProblem(host, policy);
  if (blocked !== null) problems.push(blocked);
  return problems;
}
