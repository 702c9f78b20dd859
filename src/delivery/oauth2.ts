import type { OAuth2Profile } from "../config/types";
import type { Logger } from "../log";

/** TOKEN_TIMEOUT_MS bounds one token request (connect, send, read); the scheduler adds it to the leases of OAuth2 endpoints. */
export const TOKEN_TIMEOUT_MS = 10_000;

/** EARLY_REFRESH_MS: a token is not used in its last 30 s, so it cannot expire on the way (SPEC §9). */
export const EARLY_REFRESH_MS = 30_000;

/** DEFAULT_LIFETIME_S is the lifetime of a token whose answer has no `expires_in`. */
export const DEFAULT_LIFETIME_S = 300;

/** TokenGrant is a token server's successful answer; `expiresIn` in seconds, null when absent. */
export interface TokenGrant {
  accessToken: string;
  expiresIn: number | null;
}

/** TokenFailure is a failed token request; `error` starts with "oauth2:" and holds neither secret nor token. */
export interface TokenFailure {
  error: string;
}

/** Token is a cached token; `generation` tells a token refreshed after a 401 from the one that got it. */
export interface Token {
  readonly value: string;
  readonly generation: number;
  readonly usableUntil: number;
}

/** RequestToken makes one client-credentials request for a profile (I/O; see token-request.ts). */
export type RequestToken = (profile: OAuth2Profile) => Promise<TokenGrant | TokenFailure>;

/** ProfileState is one profile's cache: the token in use and the request under way, if any. */
interface ProfileState {
  profile: OAuth2Profile;
  token: Token | null;
  inflight: Promise<Token | TokenFailure> | null;
  generation: number;
}

/**
 * OAuth2Tokens caches one token per profile and fetches at most one at a time per profile, however many
 * deliveries wait for it (single flight). Time comes from `now` so expiry is tested without sleeping.
 */
export class OAuth2Tokens {
  private readonly states = new Map<string, ProfileState>();

  constructor(
    private readonly requestToken: RequestToken,
    private readonly now: () => number,
    private readonly log?: Logger,
  ) {}

  /** token returns a usable cached token or joins (or starts) the one request for a new one. */
  token(profile: OAuth2Profile): Promise<Token | TokenFailure> {
    const state = this.state(profile);
    if (state.token !== null && this.now() < state.token.usableUntil) return Promise.resolve(state.token);
    return this.fetch(state);
  }

  /**
   * refresh is called after the endpoint answered 401 to `rejected`: a token issued since (another
   * attempt already refreshed) is used as is; otherwise the rejected one is dropped and a new one fetched once.
   */
  refresh(profile: OAuth2Profile, rejected: Token): Promise<Token | TokenFailure> {
    const state = this.state(profile);
    if (state.inflight !== null) return state.inflight;
    const current = state.token;
    if (current !== null && current.generation > rejected.generation && this.now() < current.usableUntil) return Promise.resolve(current);
    if (current?.generation === rejected.generation) state.token = null;
    return this.fetch(state);
  }

  private state(profile: OAuth2Profile): ProfileState {
    let state = this.states.get(profile.name);
    // A reload that changed the profile (another client or token URL) must not reuse the old client's token.
    if (state === undefined || !sameProfile(state.profile, profile)) {
      state = { profile, token: null, inflight: null, generation: state?.generation ?? 0 };
      this.states.set(profile.name, state);
    }
    return state;
  }

  private fetch(state: ProfileState): Promise<Token | TokenFailure> {
    if (state.inflight !== null) return state.inflight;
    const started = this.now();
    const flight = this.requestToken(state.profile).then((answer): Token | TokenFailure => {
      if ("error" in answer) {
        this.log?.warn("oauth2 token request failed", { profile: state.profile.name, error: answer.error });
        return answer;
      }
      const lifetimeMs = (answer.expiresIn ?? DEFAULT_LIFETIME_S) * 1000;
      state.generation += 1;
      // Counted from when the request started: the server's clock started no earlier than that.
      const token: Token = { value: answer.accessToken, generation: state.generation, usableUntil: started + lifetimeMs - EARLY_REFRESH_MS };
      if (this.states.get(state.profile.name) === state) state.token = token;
      this.log?.debug("oauth2 token fetched", { profile: state.profile.name, expires_in: answer.expiresIn });
      return token;
    });
    state.inflight = flight;
    // Cleared before any waiter continues, so a 401 handled right after sees no stale flight.
    void flight.finally(() => {
      if (state.inflight === flight) state.inflight = null;
    });
    return flight;
  }
}

/** urlAllowed: the endpoint URL starts with one of the profile's `allow_urls` (checked again at every send). */
export function urlAllowed(profile: OAuth2Profile, url: string): boolean {
  return profile.allow_urls.some((prefix) => url.startsWith(prefix));
}

/** tokenRequestParts is the client-credentials request (RFC 6749 §4.4) for a profile: form body and headers. */
export function tokenRequestParts(profile: OAuth2Profile): { headers: Record<string, string>; body: string } {
  const form = new URLSearchParams({ grant_type: "client_credentials" });
  if (profile.scope !== "") form.set("scope", profile.scope);
  if (profile.audience !== "") form.set("audience", profile.audience);
  const headers: Record<string, string> = { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" };
  if (profile.auth_method === "post") {
    form.set("client_id", profile.client_id);
    form.set("client_secret", profile.client_secret);
  } else {
    // RFC 6749 §2.3.1: id and secret are form-urlencoded before they are joined and base64-encoded.
    const basic = `${formEncode(profile.client_id)}:${formEncode(profile.client_secret)}`;
    headers.Authorization = `Basic ${Buffer.from(basic, "utf8").toString("base64")}`;
  }
  return { headers, body: form.toString() };
}

/** formEncode is application/x-www-form-urlencoded for one value (space as "+"). */
function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}

/** parseTokenAnswer reads a 2xx token answer; the failure text never quotes the body (it may hold a token). */
export function parseTokenAnswer(text: string, from: string): TokenGrant | TokenFailure {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { error: `oauth2: token response from ${from} is not JSON` };
  }
  const o = (typeof json === "object" && json !== null ? json : {}) as Record<string, unknown>;
  if (typeof o.access_token !== "string" || o.access_token === "" || /[\r\n]/.test(o.access_token)) {
    return { error: `oauth2: token response from ${from} has no usable access_token` };
  }
  if (o.token_type !== undefined && (typeof o.token_type !== "string" || o.token_type.toLowerCase() !== "bearer")) {
    return { error: `oauth2: token response from ${from} has token_type ${JSON.stringify(String(o.token_type)).slice(0, 40)}, expected Bearer` };
  }
  const raw = typeof o.expires_in === "string" ? Number(o.expires_in) : o.expires_in;
  const expiresIn = typeof raw === "number" && Number.isFinite(raw) && raw > 0 ? raw : null;
  return { accessToken: o.access_token, expiresIn };
}

function sameProfile(a: OAuth2Profile, b: OAuth2Profile): boolean {
  return a === b || (a.token_url === b.token_url && a.client_id === b.client_id && a.client_secret === b.client_secret
    && a.scope === b.scope && a.audience === b.audience && a.auth_method === b.auth_method);
}
