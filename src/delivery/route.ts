import { isIP } from "node:net";
import { normalizeIp } from "../net/cidr.ts";
import { isAllowedAddress, type TargetPolicy } from "../security/targets.ts";
import type { ClientTlsMaterial } from "./client-tls.ts";
import type { Resolver } from "./resolver.ts";

/** TARGET_BLOCKED is the exact `error` of an SSRF refusal, so the API and metrics can match it. */
export const TARGET_BLOCKED = "target_blocked";

/** RouteContext is what deciding where a request may go needs: deliveries and OAuth2 token requests share it. */
export interface RouteContext {
  readonly resolver: Resolver;
  readonly policy: TargetPolicy;
  readonly proxyUrl: URL | null;
}

/** Route is where one request goes: the URL handed to fetch (the checked address, or the original URL through a proxy) and how the peer is named. */
export interface Route {
  fetchUrl: string;
  hostHeader: string | null;
  serverName: string | undefined;
  peer: string;
}

const bracket = (ip: string): string => (isIP(ip) === 6 ? `[${ip}]` : ip);

/** parseProxy checks `[delivery] proxy` once at start, so a typo fails the boot rather than every attempt. */
export function parseProxy(text: string): URL | null {
  if (text === "") return null;
  const url = URL.parse(text);
  if (url === null || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw new Error(`delivery.proxy: ${JSON.stringify(text)} is not an http(s) URL (expected e.g. http://proxy.internal:3128)`);
  }
  return url;
}

/** pickRoute resolves the host once and keeps the first address the policy allows; a string is the failure to record. */
export async function pickRoute(url: URL, ctx: RouteContext): Promise<Route | string> {
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  let addresses: string[];
  if (isIP(host) !== 0) {
    addresses = [host];
  } else {
    try {
      addresses = await ctx.resolver(host);
    } catch (e) {
      return `dns lookup failed for ${host}: ${errorCode(e) ?? errorText(e)}`;
    }
    if (addresses.length === 0) return `dns lookup failed for ${host}: no addresses`;
  }
  const allowed = addresses.find((a) => isAllowedAddress(a, ctx.policy));
  if (allowed === undefined) return TARGET_BLOCKED;
  // isAllowedAddress is false for non-IPs, so normalizeIp cannot return null here.
  const address = bracket(normalizeIp(allowed) ?? allowed);
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  const portPart = url.port === "" ? "" : `:${url.port}`;
  return {
    // Connecting to the checked address itself is what makes a second resolution (DNS rebinding) impossible.
    fetchUrl: `${url.protocol}//${address}${portPart}${url.pathname}${url.search}`,
    hostHeader: url.host,
    serverName: isIP(host) === 0 ? host.replace(/\.$/, "") : undefined,
    // Through a proxy too: the request line (absolute-form, or CONNECT for https) names the checked
    // address, so the proxy cannot resolve the name again into a blocked range; Host/SNI keep the name.
    peer: ctx.proxyUrl === null ? `${address}:${port}` : `${address}:${port} via proxy ${ctx.proxyUrl.host}`,
  };
}

/** withDeadline lets the overall timeout cut a hanging DNS lookup short; null means the deadline won. */
export function withDeadline<T>(work: Promise<T>, signal: AbortSignal): Promise<T | null> {
  if (signal.aborted) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(null);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** outgoingHeaders drops any caller-supplied Host: it must name the original host, whatever address we connect to. */
export function outgoingHeaders(given: Record<string, string>, hostHeader: string | null): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(given)) if (name.toLowerCase() !== "host") headers[name] = value;
  if (hostHeader !== null) headers.host = hostHeader;
  return headers;
}

/** tlsOptions sets SNI and the certificate check to the original name (the fetched URL holds only an address), and the client certificate of a profile. */
export function tlsOptions(url: URL, serverName: string | undefined, ca: string | string[] | undefined, client: ClientTlsMaterial | null) {
  if (url.protocol !== "https:") return undefined;
  // A profile's own `ca` replaces every other trust anchor for its endpoints.
  const trust = client?.ca ?? ca;
  const tls = { ...(serverName === undefined ? {} : { serverName }), ...(trust === undefined ? {} : { ca: trust }) };
  if (client !== null) return { ...tls, cert: client.cert, key: client.key };
  return serverName === undefined && trust === undefined ? undefined : tls;
}

/** FAILURE_WORDS names the network failures operators meet most, in their words rather than Bun's. */
const FAILURE_WORDS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  ETIMEDOUT: "connect timed out",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  EPROTO: "tls handshake failed",
};

/** describeFailure turns a fetch rejection into a short line naming the peer, e.g. "connection refused (127.0.0.1:9)". */
export function describeFailure(e: unknown, route: Route, url: URL): string {
  const code = errorCode(e);
  if (code !== null && FAILURE_WORDS[code] !== undefined) return `${FAILURE_WORDS[code]} (${route.peer})`;
  if (code !== null && code.includes("CERT")) return `tls certificate rejected for ${url.hostname}: ${code}`;
  return `request failed (${route.peer}): ${errorText(e)}`;
}

/** errorCode reads the `code` Bun and node:dns put on errors (ECONNREFUSED, ENOTFOUND, ERR_TLS_CERT_ALTNAME_INVALID). */
export function errorCode(e: unknown): string | null {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" && code !== "" ? code : null;
}

/** errorText trims Bun's advice ("pass `verbose: true`…") so the stored line stays short. */
export function errorText(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.replace(/\s*For more information, pass `verbose: true`.*$/s, "").slice(0, 200);
}

/** LENIENT_UTF8 never throws: a body cut mid-character (or not UTF-8 at all) still records, with U+FFFD. */
const LENIENT_UTF8 = new TextDecoder("utf-8", { fatal: false });

/** BodyPrefix reads at most `limit` bytes, then cancels the stream so a huge body is never downloaded; keeps what arrived if reading fails. */
export class BodyPrefix {
  private readonly chunks: Uint8Array[] = [];
  private size = 0;

  constructor(private readonly limit: number) {}

  async read(res: Response): Promise<void> {
    const reader = res.body?.getReader();
    if (reader === undefined) return;
    while (this.size < this.limit) {
      const { value, done } = await reader.read();
      if (done) return;
      // Keep only what is recorded: a first read can hand over far more than the limit at once.
      this.chunks.push(value.slice(0, this.limit - this.size));
      this.size += value.byteLength;
    }
    reader.cancel().catch(() => {});
  }

  /** complete: the whole body arrived below the limit (a body of exactly `limit` bytes counts as cut). */
  get complete(): boolean {
    return this.size < this.limit;
  }

  text(): string {
    return LENIENT_UTF8.decode(Buffer.concat(this.chunks));
  }
}
