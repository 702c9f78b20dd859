import { isIP } from "node:net";
import { normalizeIp } from "../net/cidr.ts";
import { isAllowedAddress, type TargetPolicy } from "../security/targets.ts";
import type { Resolver } from "./resolver.ts";

/** RESPONSE_LIMIT is how much response body is read and kept (SPEC §6: 2 KiB); the rest is never downloaded. */
export const RESPONSE_LIMIT = 2048;

/** TARGET_BLOCKED is the exact `error` of an SSRF refusal, so the API and metrics can match it. */
export const TARGET_BLOCKED = "target_blocked";

/** SendRequest is one delivery attempt: always a POST of `body` to `url`. */
export interface SendRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
}

/** SendOutcome is what gets recorded on the attempt; failures are values here, never exceptions. */
export interface SendOutcome {
  ok: boolean;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  response: string;
  retryAfter: string | null;
}

/** SenderOptions: `proxy` "" or absent means direct; `ca` (PEM) replaces the trusted roots for https, for private CAs and tests. */
export interface SenderOptions {
  resolver: Resolver;
  policy: TargetPolicy;
  proxy?: string;
  ca?: string | string[];
}

/** Sender is what the dispatcher holds: send never throws, close drops idle keep-alive connections. */
export interface Sender {
  send(req: SendRequest): Promise<SendOutcome>;
  close(): void;
}

/** Route is where one attempt goes: the URL handed to fetch (the checked address, or the original URL through a proxy) and how the peer is named. */
interface Route {
  fetchUrl: string;
  hostHeader: string | null;
  serverName: string | undefined;
  peer: string;
}

const bracket = (ip: string): string => (isIP(ip) === 6 ? `[${ip}]` : ip);

/** createSender: one per process; keeps connections alive per origin in its own FetchSession, isolated from any other fetch(). */
export function createSender(options: SenderOptions): Sender {
  const proxyUrl = parseProxy(options.proxy ?? "");
  // Every request also says `proxy` itself; `false` is the only value that makes Bun ignore HTTP(S)_PROXY/ALL_PROXY.
  const proxy: Bun.FetchProxyOption = proxyUrl === null ? false : { url: proxyUrl.href, respectNoProxy: false };
  const session = new Bun.FetchSession({ proxy });

  async function send(req: SendRequest): Promise<SendOutcome> {
    const started = performance.now();
    const finish = (fields: Partial<SendOutcome>): SendOutcome => ({
      ok: false,
      statusCode: null,
      error: null,
      response: "",
      retryAfter: null,
      ...fields,
      durationMs: Math.round(performance.now() - started),
    });
    const url = URL.parse(req.url);
    if (url === null) return finish({ error: "invalid URL" });
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      return finish({ error: `unsupported URL scheme ${url.protocol.replace(/:$/, "")}` });
    }
    // Create-time rules reject credentials in URLs; should one slip through, it is not sent as Basic auth to the target.
    url.username = "";
    url.password = "";
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), req.timeoutMs);
    const timeoutError = `timeout after ${req.timeoutMs} ms`;
    try {
      const route = await withDeadline(pickRoute(url, options, proxyUrl), controller.signal);
      if (route === null) return finish({ error: timeoutError });
      if (typeof route === "string") return finish({ error: route });
      const body = new BodyPrefix();
      let statusCode: number | null = null;
      let retryAfter: string | null = null;
      try {
        const res = await session.fetch(route.fetchUrl, {
          method: "POST",
          headers: outgoingHeaders(req.headers, route.hostHeader),
          body: req.body,
          redirect: "manual",
          proxy,
          signal: controller.signal,
          tls: tlsOptions(url, route.serverName, options.ca),
        });
        statusCode = res.status;
        retryAfter = res.headers.get("retry-after");
        await body.read(res);
        return finish({ ok: res.ok, statusCode, error: statusError(res), response: body.text(), retryAfter });
      } catch (e) {
        const error = controller.signal.aborted ? timeoutError : describeFailure(e, route, url);
        return finish({ statusCode, error, response: body.text(), retryAfter });
      }
    } catch (e) {
      // Only a misbehaving injected resolver gets here; the dispatcher relies on send never throwing.
      return finish({ error: `send failed: ${errorText(e)}` });
    } finally {
      clearTimeout(timer);
    }
  }

  return { send, close: () => session.close() };
}

/** parseProxy checks `[delivery] proxy` once at start, so a typo fails the boot rather than every attempt. */
function parseProxy(text: string): URL | null {
  if (text === "") return null;
  const url = URL.parse(text);
  if (url === null || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw new Error(`delivery.proxy: ${JSON.stringify(text)} is not an http(s) URL (expected e.g. http://proxy.internal:3128)`);
  }
  return url;
}

/** pickRoute resolves the host once and keeps the first address the policy allows; a string is the failure to record. */
async function pickRoute(url: URL, options: SenderOptions, proxyUrl: URL | null): Promise<Route | string> {
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  let addresses: string[];
  if (isIP(host) !== 0) {
    addresses = [host];
  } else {
    try {
      addresses = await options.resolver(host);
    } catch (e) {
      return `dns lookup failed for ${host}: ${errorCode(e) ?? errorText(e)}`;
    }
    if (addresses.length === 0) return `dns lookup failed for ${host}: no addresses`;
  }
  const allowed = addresses.find((a) => isAllowedAddress(a, options.policy));
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
    peer: proxyUrl === null ? `${address}:${port}` : `${address}:${port} via proxy ${proxyUrl.host}`,
  };
}

/** withDeadline lets the overall timeout cut a hanging DNS lookup short; null means the deadline won. */
function withDeadline<T>(work: Promise<T>, signal: AbortSignal): Promise<T | null> {
  if (signal.aborted) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(null);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** outgoingHeaders drops any caller-supplied Host: it must name the original host, whatever address we connect to. */
function outgoingHeaders(given: Record<string, string>, hostHeader: string | null): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(given)) if (name.toLowerCase() !== "host") headers[name] = value;
  if (hostHeader !== null) headers.host = hostHeader;
  return headers;
}

/** tlsOptions sets SNI and the certificate check to the original name, since the URL we fetch holds only an address. */
function tlsOptions(url: URL, serverName: string | undefined, ca: string | string[] | undefined) {
  if (url.protocol !== "https:" || (serverName === undefined && ca === undefined)) return undefined;
  return { ...(serverName === undefined ? {} : { serverName }), ...(ca === undefined ? {} : { ca }) };
}

/** statusError words a non-2xx answer; a 3xx says where it pointed, since redirects are never followed. */
function statusError(res: Response): string | null {
  if (res.ok) return null;
  if (res.status >= 300 && res.status < 400) {
    const location = res.headers.get("location");
    return `redirect not followed (${res.status}${location === null ? "" : ` to ${location.slice(0, 200)}`})`;
  }
  return `HTTP ${res.status}`;
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
function describeFailure(e: unknown, route: Route, url: URL): string {
  const code = errorCode(e);
  if (code !== null && FAILURE_WORDS[code] !== undefined) return `${FAILURE_WORDS[code]} (${route.peer})`;
  if (code !== null && code.includes("CERT")) return `tls certificate rejected for ${url.hostname}: ${code}`;
  return `request failed (${route.peer}): ${errorText(e)}`;
}

/** errorCode reads the `code` Bun and node:dns put on errors (ECONNREFUSED, ENOTFOUND, ERR_TLS_CERT_ALTNAME_INVALID). */
function errorCode(e: unknown): string | null {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" && code !== "" ? code : null;
}

/** errorText trims Bun's advice ("pass `verbose: true`…") so the stored line stays short. */
function errorText(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.replace(/\s*For more information, pass `verbose: true`.*$/s, "").slice(0, 200);
}

/** LENIENT_UTF8 never throws: a body cut mid-character (or not UTF-8 at all) still records, with U+FFFD. */
const LENIENT_UTF8 = new TextDecoder("utf-8", { fatal: false });

/** BodyPrefix reads at most RESPONSE_LIMIT bytes, then cancels the stream so a huge body is never downloaded; keeps what arrived if reading fails. */
class BodyPrefix {
  private readonly chunks: Uint8Array[] = [];
  private size = 0;

  async read(res: Response): Promise<void> {
    const reader = res.body?.getReader();
    if (reader === undefined) return;
    while (this.size < RESPONSE_LIMIT) {
      const { value, done } = await reader.read();
      if (done) return;
      // Keep only what is recorded: a first read can hand over far more than 2 KiB at once.
      this.chunks.push(value.slice(0, RESPONSE_LIMIT - this.size));
      this.size += value.byteLength;
    }
    reader.cancel().catch(() => {});
  }

  text(): string {
    return LENIENT_UTF8.decode(Buffer.concat(this.chunks));
  }
}
