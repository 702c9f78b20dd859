import type { IpSet } from "../net/cidr";
import type { Scope } from "../security/scopes";
import type { RateLimit } from "./duration";

/** Env is the process environment that `*_env` keys name variables in. */
export type Env = Readonly<Record<string, string | undefined>>;

/** AUTH_MODES are the ways an inbound source proves who it is. */
export const AUTH_MODES = ["hmac", "token", "standard-webhooks", "none"] as const;
/** AuthMode is one of AUTH_MODES. */
export type AuthMode = (typeof AUTH_MODES)[number];

/** BODY_SCHEMAS are the shapes an inbound body may be checked against. */
export const BODY_SCHEMAS = ["erp-event", "json"] as const;
/** BodySchema is one of BODY_SCHEMAS. */
export type BodySchema = (typeof BODY_SCHEMAS)[number];

/** LOG_LEVELS are the accepted `[log] level` values, quietest last. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
/** LogLevel is one of LOG_LEVELS. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Source is one `[[sources]]` entry with its secret resolved and its defaults applied. */
export interface Source {
  readonly id: string;
  readonly auth: AuthMode;
  /** secret is the resolved value of `secret` or `$secret_env`; "" for auth = "none". */
  readonly secret: string;
  /** secret_env names the variable the secret came from; "" when it is inline (or auth = "none"). */
  readonly secret_env: string;
  readonly header: string;
  readonly connector_header: string;
  readonly connector_id: string;
  readonly allow_ips: IpSet;
  readonly schema: BodySchema;
  readonly event_type: string;
  readonly event_type_field: string;
  readonly rate_limit: RateLimit | null;
  /** dedupe_header names a sender's own delivery-id header (e.g. X-GitHub-Delivery), deduped on before webhook-id; "" = none. */
  readonly dedupe_header: string;
  /** allow_origins are the browser Origins an auth = "none" source accepts posts from (SPEC §13); empty = none. */
  readonly allow_origins: readonly string[];
}

/** ApiKey is one admin key: its name, `sha256:<64 hex>` hash (never the key itself) and scopes (SPEC §14). */
export interface ApiKey {
  readonly name: string;
  readonly hash: string;
  /** scopes: at least one; default ["admin"]. */
  readonly scopes: readonly Scope[];
}

/** ClientTlsProfile is one `[[delivery.client_tls]]`: PEM paths (read at start and on SIGHUP by the sender). */
export interface ClientTlsProfile {
  readonly name: string;
  readonly cert: string;
  readonly key: string;
  /** ca: "" = the system roots; else a PEM bundle that replaces them. */
  readonly ca: string;
}

/** OAUTH2_AUTH_METHODS: client_secret_basic ("basic") or client_secret_post ("post"). */
export const OAUTH2_AUTH_METHODS = ["basic", "post"] as const;

/** OAuth2Profile is one `[[delivery.oauth2]]` with its client secret resolved (never log it). */
export interface OAuth2Profile {
  readonly name: string;
  readonly token_url: string;
  readonly client_id: string;
  readonly client_secret: string;
  /** client_secret_env names the variable the secret came from; "" when inline. */
  readonly client_secret_env: string;
  readonly scope: string;
  readonly audience: string;
  readonly auth_method: (typeof OAUTH2_AUTH_METHODS)[number];
  /** allow_urls: URL prefixes an endpoint must start with to use this profile (create/PATCH and send). */
  readonly allow_urls: readonly string[];
}

/** DeliveryProfiles are `[delivery]`'s named outbound profiles, which endpoints refer to by name (reloadable). */
export interface DeliveryProfiles {
  readonly client_tls: readonly ClientTlsProfile[];
  readonly oauth2: readonly OAuth2Profile[];
}

/** StorageConfig is `[storage]`: SQLite at `path`, or PostgreSQL at `url` (inline or from `$url_env`). */
export interface StorageConfig {
  readonly backend: "sqlite" | "postgres";
  /** path is the SQLite database; "" on PostgreSQL. */
  readonly path: string;
  /** url is the resolved PostgreSQL URL (it may hold a password: never log it, see maskDatabaseUrl); "" on SQLite. */
  readonly url: string;
  /** url_env names the variable the url came from; "" when it is inline or unused. */
  readonly url_env: string;
}

/** Config is the validated, converted, deep-frozen configuration: durations in ms, sizes in bytes, CIDR lists compiled. */
export interface Config {
  readonly server: {
    readonly listen: { readonly host: string; readonly port: number };
    readonly trusted_proxies: IpSet;
    readonly max_body: number;
    readonly tls_cert: string;
    readonly tls_key: string;
    /** max_inflight_body bounds request-body bytes being read at once (bytes); one client address may hold a quarter. */
    readonly max_inflight_body: number;
    /** body_timeout is the total time (ms) from the request head for the body to arrive; then 408. */
    readonly body_timeout: number;
    /** node_id names this node in delivery leases (PostgreSQL: several nodes); default host name + ":" + listen port. */
    readonly node_id: string;
  };
  readonly storage: StorageConfig;
  /** api.key_env is the variable `[api] key_env` names ("" = unused); its key, when set, is the last of `keys`. */
  readonly api: { readonly keys: readonly ApiKey[]; readonly key_env: string; readonly allow_ips: IpSet };
  readonly events: { readonly types: readonly string[] };
  readonly delivery: {
    readonly timeout: number;
    readonly retry_schedule: readonly number[];
    readonly concurrency: number;
    readonly per_endpoint_concurrency: number;
    readonly max_endpoints: number;
    readonly require_https: boolean;
    readonly allow_targets: IpSet;
    /** disable_after is 0 when endpoints are never disabled for failing. */
    readonly disable_after: number;
    readonly user_agent: string;
    readonly proxy: string;
    readonly client_tls: readonly ClientTlsProfile[];
    readonly oauth2: readonly OAuth2Profile[];
  };
  /** alerts: SPEC §11's thresholds; backlog_age in ms. */
  readonly alerts: { readonly failing_after: number; readonly backlog_age: number };
  readonly retention: {
    readonly deliveries: number;
    readonly events: number;
    readonly inbound: number;
    /** audit: how long audit log entries are kept (ms, SPEC §14). */
    readonly audit: number;
    readonly cleanup_cron: string;
  };
  readonly log: { readonly level: LogLevel };
  readonly sources: readonly Source[];
}
