import type { DeliveryProfiles } from "../config/types";
import type { Logger } from "../log";
import { type ClientTlsEntry, type ClientTlsReload, ClientTlsStore } from "./client-tls";
import { OAuth2Tokens, type Token, TOKEN_TIMEOUT_MS, urlAllowed } from "./oauth2";
import type { Resolver } from "./resolver";
import { BodyPrefix, describeFailure, errorText, outgoingHeaders, parseProxy, pickRoute, type Route, type RouteContext, tlsOptions, withDeadline } from "./route";
import { tokenRequester } from "./token-request";
import type { TargetPolicy } from "../security/targets";

export { TARGET_BLOCKED } from "./route";

/** RESPONSE_LIMIT is how much response body is read and kept (SPEC §6: 2 KiB); the rest is never downloaded. */
export const RESPONSE_LIMIT = 2048;

/** SendRequest is one delivery attempt: always a POST of `body` to `url`, with the endpoint's profiles (SPEC §9) by name. */
export interface SendRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  /** clientTls names a `[[delivery.client_tls]]` profile whose certificate the attempt presents. */
  clientTls?: string | null;
  /** oauth2 names a `[[delivery.oauth2]]` profile whose bearer token the attempt sends. */
  oauth2?: string | null;
  /** secrets: values (sensitive header values) replaced by "********" in the recorded answer, should the receiver echo them. */
  secrets?: readonly string[];
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
  profiles?: DeliveryProfiles;
  /** log receives profile reloads and token failures (never a token or secret). */
  log?: Logger;
  /** now drives OAuth2 token expiry; tests move it. */
  now?: () => number;
  tokenTimeoutMs?: number;
}

/** NetworkSettings are the reloadable `[delivery]` settings of where requests may go and how: SSRF policy and proxy. */
export interface NetworkSettings {
  readonly policy: TargetPolicy;
  readonly proxy: string;
}

/**
 * Sender is what the dispatcher holds: send never throws, reload re-reads profile files (SIGHUP),
 * configure applies a reloaded policy and proxy to attempts that start afterwards, close drops idle keep-alive connections.
 */
export interface Sender {
  send(req: SendRequest): Promise<SendOutcome>;
  reload(profiles?: DeliveryProfiles): ClientTlsReload;
  configure(settings: NetworkSettings): void;
  close(): void;
}

type Exchange = Omit<SendOutcome, "durationMs">;

/**
 * createSender: one per process. Connections are kept alive in FetchSessions isolated from any other
 * fetch(): one for plain deliveries, one per client TLS profile (a connection that presented a client
 * certificate never carries another profile's request), one for OAuth2 token requests.
 */
export function createSender(options: SenderOptions): Sender {
  let policy = options.policy;
  const timeoutMs = options.tokenTimeoutMs ?? TOKEN_TIMEOUT_MS;
  // Everything the proxy decides, replaced whole when a reload changes it; attempts under way keep theirs.
  const network = (proxyText: string) => {
    const proxyUrl = parseProxy(proxyText);
    // Every request also says `proxy` itself; `false` is the only value that makes Bun ignore HTTP(S)_PROXY/ALL_PROXY.
    const proxy: Bun.FetchProxyOption = proxyUrl === null ? false : { url: proxyUrl.href, respectNoProxy: false };
    const ctx: RouteContext = { resolver: options.resolver, get policy() { return policy; }, proxyUrl };
    const tokenSession = new Bun.FetchSession({ proxy });
    const tokens = new OAuth2Tokens(
      tokenRequester({ route: ctx, session: tokenSession, proxy, ca: options.ca, timeoutMs }),
      options.now ?? Date.now,
      options.log,
    );
    return { text: proxyText, proxy, ctx, session: new Bun.FetchSession({ proxy }), tokenSession, tokens };
  };
  let net = network(options.proxy ?? "");
  const clientTls = new ClientTlsStore(options.profiles?.client_tls ?? [], net.proxy, options.log);
  let oauth2 = byName(options.profiles?.oauth2 ?? []);

  /** exchange makes one POST under its own deadline; `route` is reused for the resend after a 401, so the host is resolved once. */
  async function exchange(url: URL, route: Route | null, req: SendRequest, headers: Record<string, string>, client: ClientTlsEntry | null): Promise<Exchange & { route: Route | null }> {
    const { ctx, session, proxy } = net;
    const empty = { ok: false, statusCode: null, error: null, response: "", retryAfter: null, route };
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), req.timeoutMs);
    const timeoutError = `timeout after ${req.timeoutMs} ms`;
    try {
      const picked = route ?? (await withDeadline(pickRoute(url, ctx), controller.signal));
      if (picked === null) return { ...empty, error: timeoutError };
      if (typeof picked === "string") return { ...empty, error: picked };
      const body = new BodyPrefix(RESPONSE_LIMIT);
      let statusCode: number | null = null;
      let retryAfter: string | null = null;
      try {
        const res = await (client?.session ?? session).fetch(picked.fetchUrl, {
          method: "POST",
          headers: outgoingHeaders(headers, picked.hostHeader),
          body: req.body,
          redirect: "manual",
          proxy,
          signal: controller.signal,
          tls: tlsOptions(url, picked.serverName, options.ca, client?.material ?? null),
        });
        statusCode = res.status;
        retryAfter = res.headers.get("retry-after");
        await body.read(res);
        return { ok: res.ok, statusCode, error: statusError(res), response: body.text(), retryAfter, route: picked };
      } catch (e) {
        const error = controller.signal.aborted ? timeoutError : describeFailure(e, picked, url);
        return { ...empty, statusCode, error, response: body.text(), retryAfter, route: picked };
      }
    } finally {
      clearTimeout(timer);
    }
  }

  async function attempt(req: SendRequest): Promise<Exchange> {
    const failed = (error: string): Exchange => ({ ok: false, statusCode: null, error, response: "", retryAfter: null });
    const url = URL.parse(req.url);
    if (url === null) return failed("invalid URL");
    if (url.protocol !== "http:" && url.protocol !== "https:") return failed(`unsupported URL scheme ${url.protocol.replace(/:$/, "")}`);
    // Create-time rules reject credentials in URLs; should one slip through, it is not sent as Basic auth to the target.
    url.username = "";
    url.password = "";
    let client: ClientTlsEntry | null = null;
    if (req.clientTls != null) {
      client = clientTls.get(req.clientTls);
      if (client === null) return failed(`client_tls: profile ${JSON.stringify(req.clientTls)} is not configured (or its files could not be read)`);
    }
    if (req.oauth2 == null) return exchange(url, null, req, req.headers, client);
    const profile = oauth2.get(req.oauth2);
    if (profile === undefined) return failed(`oauth2: profile ${JSON.stringify(req.oauth2)} is not configured`);
    if (!urlAllowed(profile, req.url)) return failed(`oauth2: endpoint URL is not under an allow_urls prefix of profile ${JSON.stringify(profile.name)}`);
    const { tokens } = net;
    const token = await tokens.token(profile);
    if ("error" in token) return failed(token.error);
    const first = await exchange(url, null, req, bearer(req.headers, token), client);
    if (first.statusCode !== 401) return masked(first, token);
    // Revoked or expired early: one new token (or the one another attempt just got), one resend, one attempt record.
    const fresh = await tokens.refresh(profile, token);
    if ("error" in fresh) return masked({ ...first, error: fresh.error }, token);
    return masked(masked(await exchange(url, first.route, req, bearer(req.headers, fresh), client), fresh), token);
  }

  async function send(req: SendRequest): Promise<SendOutcome> {
    const started = performance.now();
    let out: Exchange;
    try {
      out = await attempt(req);
    } catch (e) {
      // Only a misbehaving injected resolver gets here; the dispatcher relies on send never throwing.
      out = { ok: false, statusCode: null, error: `send failed: ${errorText(e)}`, response: "", retryAfter: null };
    }
    const { ok, statusCode, error, retryAfter } = out;
    const response = req.secrets === undefined ? out.response : withoutSecrets(out.response, req.secrets);
    return { ok, statusCode, error, response, retryAfter, durationMs: Math.round(performance.now() - started) };
  }

  return {
    send,
    reload(profiles) {
      if (profiles !== undefined) oauth2 = byName(profiles.oauth2);
      return clientTls.reload(profiles?.client_tls);
    },
    configure(settings) {
      policy = settings.policy;
      if (settings.proxy === net.text) return;
      // New keep-alive sessions for the new proxy; closing the old ones drops only their idle connections.
      const old = net;
      net = network(settings.proxy);
      clientTls.setProxy(net.proxy);
      old.session.close();
      old.tokenSession.close();
    },
    close() {
      net.session.close();
      net.tokenSession.close();
      clientTls.close();
    },
  };
}

/** withoutSecrets keeps sensitive header values (API keys…) out of the stored response, should a receiver echo its request back. */
function withoutSecrets(response: string, secrets: readonly string[]): string {
  let out = response;
  for (const value of secrets) if (out.includes(value)) out = out.replaceAll(value, "********");
  return out;
}

/** masked keeps a token out of the stored response even when a receiver echoes its request headers back. */
function masked(out: Exchange, token: Token): Exchange {
  return out.response.includes(token.value) ? { ...out, response: out.response.replaceAll(token.value, "********") } : out;
}

function byName<T extends { name: string }>(list: readonly T[]): Map<string, T> {
  return new Map(list.map((p) => [p.name, p]));
}

/** bearer sets the token as the only Authorization header, whatever the endpoint's own headers say. */
function bearer(given: Record<string, string>, token: Token): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(given)) if (name.toLowerCase() !== "authorization") headers[name] = value;
  headers.Authorization = `Bearer ${token.value}`;
  return headers;
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
