import type { IpSet } from "../net/cidr";
import type { ApiKeyVerifier, VerifiedKey } from "../security/api-keys";
import { ApiError } from "./errors";

/** AdminGateSettings are the [api] settings the gate enforces: the network allowlist and the keys. */
export interface AdminGateSettings {
  readonly apiKeys: ApiKeyVerifier;
  readonly apiAllowIps: IpSet;
}

/** AdminGate decides which requests need an API key and lets through only those that have one. */
export interface AdminGate {
  /** appliesTo is true for /v1 paths; it errs towards yes for odd encodings. */
  appliesTo(pathname: string): boolean;
  /** admit returns the key the request carries (name and scopes), or throws the ApiError to answer with. */
  admit(request: Request, clientIp: string): VerifiedKey;
}

/** safeDecode percent-decodes a path, keeping the text as sent when its encoding is invalid. */
export function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** isAdminPath: decoded, lower-cased and with leading slashes collapsed, so `//V1/%77ebhooks` still needs a key. */
export function isAdminPath(pathname: string): boolean {
  const p = safeDecode(pathname).toLowerCase().replace(/^\/+/, "/");
  return p === "/v1" || p.startsWith("/v1/");
}

/** adminGate checks allow_ips, then the Authorization header: a caller outside allow_ips learns nothing about keys. */
export function adminGate(settings: AdminGateSettings): AdminGate {
  return { appliesTo: isAdminPath, admit: (request, clientIp) => admitKey(settings, request, clientIp) };
}

/** admitKey is the gate's check against one set of settings (a request's snapshot, so a reload never splits it). */
export function admitKey(settings: AdminGateSettings, request: Request, clientIp: string): VerifiedKey {
  const { apiKeys, apiAllowIps } = settings;
  if (apiAllowIps.size > 0 && !apiAllowIps.has(clientIp)) {
    throw new ApiError("ip_not_allowed", `client address ${clientIp} is not in [api] allow_ips`);
  }
  const apiKey = apiKeys.verify(request.headers.get("authorization"));
  if (apiKey === null) {
    // Telling "no keys configured" apart from "wrong key" saves a new operator a search; it reveals no key.
    const why = apiKeys.configured
      ? "missing or invalid API key: send Authorization: Bearer <key>"
      : "the admin API is closed: no API keys are configured (see `hookd hash-key` and [api] keys)";
    throw new ApiError("unauthorized", why, [], { "www-authenticate": 'Bearer realm="hookd"' });
  }
  return apiKey;
}
