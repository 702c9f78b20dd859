import type { OAuth2Profile } from "../config/types";
import { parseTokenAnswer, type RequestToken, tokenRequestParts, type TokenFailure, type TokenGrant } from "./oauth2";
import { BodyPrefix, describeFailure, outgoingHeaders, pickRoute, type RouteContext, TARGET_BLOCKED, tlsOptions, withDeadline } from "./route";

/** TOKEN_RESPONSE_LIMIT bounds how much of a token answer is read; real ones are well under 8 KiB. */
export const TOKEN_RESPONSE_LIMIT = 64 * 1024;

/** TokenTransport is how token requests leave: the same route rules as deliveries, their own session. */
export interface TokenTransport {
  readonly route: RouteContext;
  readonly session: Bun.FetchSession;
  readonly proxy: Bun.FetchProxyOption;
  /** ca replaces the trusted roots (tests, private CAs), as for deliveries. */
  readonly ca?: string | string[];
  readonly timeoutMs: number;
}

/**
 * tokenRequester makes client-credentials requests under the delivery rules: the host is resolved once
 * and only an allowed address is connected to, redirects are not followed, the answer is read up to a
 * bound, and the whole request has a deadline. Failures say what went wrong, never with the answer's body.
 */
export function tokenRequester(t: TokenTransport): RequestToken {
  return async (profile: OAuth2Profile): Promise<TokenGrant | TokenFailure> => {
    const failed = (why: string): TokenFailure => ({ error: `oauth2: token request failed: ${why}` });
    const url = URL.parse(profile.token_url);
    if (url === null || (url.protocol !== "http:" && url.protocol !== "https:")) return failed("token_url is not an http(s) URL");
    if (t.route.policy.requireHttps && url.protocol !== "https:") return failed(`token_url must be https (${url.host})`);
    if (url.username !== "" || url.password !== "") return failed(`token_url must not hold credentials (${url.host})`);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), t.timeoutMs);
    const timeout = `timeout after ${t.timeoutMs} ms (${url.host})`;
    try {
      const route = await withDeadline(pickRoute(url, t.route), controller.signal);
      if (route === null) return failed(timeout);
      if (typeof route === "string") return failed(route === TARGET_BLOCKED ? `${TARGET_BLOCKED} (${url.host})` : route);
      const { headers, body } = tokenRequestParts(profile);
      try {
        const res = await t.session.fetch(route.fetchUrl, {
          method: "POST",
          headers: outgoingHeaders(headers, route.hostHeader),
          body,
          redirect: "manual",
          proxy: t.proxy,
          signal: controller.signal,
          tls: tlsOptions(url, route.serverName, t.ca, null),
        });
        const answer = new BodyPrefix(TOKEN_RESPONSE_LIMIT);
        await answer.read(res);
        if (!res.ok) return failed(`HTTP ${res.status} from ${url.host}${oauthErrorCode(res, answer.text())}`);
        if (!answer.complete) return failed(`answer from ${url.host} is larger than ${TOKEN_RESPONSE_LIMIT} bytes`);
        return parseTokenAnswer(answer.text(), url.host);
      } catch (e) {
        return failed(controller.signal.aborted ? timeout : describeFailure(e, route, url));
      }
    } catch (e) {
      return failed(`${url.host}: ${(e as Error).message ?? String(e)}`.slice(0, 200));
    } finally {
      clearTimeout(timer);
    }
  };
}

/** oauthErrorCode quotes an RFC 6749 §5.2 `error` code (e.g. invalid_client) when it is one; nothing else of the body is kept. */
function oauthErrorCode(res: Response, text: string): string {
  if (!(res.headers.get("content-type") ?? "").includes("json")) return "";
  try {
    const code = (JSON.parse(text) as { error?: unknown }).error;
    return typeof code === "string" && /^[a-z_]{1,40}$/.test(code) ? ` (${code})` : "";
  } catch {
    return "";
  }
}
