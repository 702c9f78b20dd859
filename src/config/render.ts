import type { IpSet } from "../net/cidr";
import { formatDuration, formatRateLimit, formatSize } from "./duration";
import type { ApiKey, ClientTlsProfile, Config, OAuth2Profile, Source } from "./types";
import { maskDatabaseUrl } from "./storage";
import { formatListen, maskProxy } from "./values";

/** MASK replaces every secret in rendered output. */
export const MASK = "********";

/** renderEffectiveConfig prints the config as TOML with defaults filled in and secrets masked; it is what `hookd check-config` shows. */
export function renderEffectiveConfig(config: Config): string {
  const { server, storage, api, events, delivery, alerts, retention, log } = config;
  const sections = [
    table("[server]", [
      ["listen", str(formatListen(server.listen))],
      ["trusted_proxies", cidrs(server.trusted_proxies)],
      ["max_body", str(formatSize(server.max_body))],
      ["tls_cert", str(server.tls_cert)],
      ["tls_key", str(server.tls_key)],
      ["max_inflight_body", str(formatSize(server.max_inflight_body))],
      ["body_timeout", str(formatDuration(server.body_timeout))],
      ["node_id", str(server.node_id)],
    ]),
    // A url from the environment is shown by the variable's name; an inline one with its password masked.
    table("[storage]", [
      storage.backend === "sqlite"
        ? ["path", str(storage.path)]
        : storage.url_env !== ""
          ? ["url_env", str(storage.url_env)]
          : ["url", str(maskDatabaseUrl(storage.url))],
    ]),
    table("[api]", [
      ["keys", keys(api.keys.filter((k) => api.key_env === "" || k.name !== `env:${api.key_env}`))],
      ...(api.key_env === "" ? [] : [["key_env", str(api.key_env)] as [string, string]]),
      ["allow_ips", cidrs(api.allow_ips)],
    ]),
    table("[events]", [["types", strs(events.types)]]),
    table("[delivery]", [
      ["timeout", str(formatDuration(delivery.timeout))],
      ["retry_schedule", strs(delivery.retry_schedule.map(formatDuration))],
      ["concurrency", String(delivery.concurrency)],
      ["per_endpoint_concurrency", String(delivery.per_endpoint_concurrency)],
      ["max_endpoints", String(delivery.max_endpoints)],
      ["require_https", String(delivery.require_https)],
      ["allow_targets", cidrs(delivery.allow_targets)],
      ["disable_after", str(formatDuration(delivery.disable_after))],
      ["user_agent", str(delivery.user_agent)],
      ["proxy", str(maskProxy(delivery.proxy))],
    ]),
    ...delivery.client_tls.map(clientTls),
    ...delivery.oauth2.map(oauth2),
    table("[alerts]", [
      ["failing_after", String(alerts.failing_after)],
      ["backlog_age", str(formatDuration(alerts.backlog_age))],
    ]),
    table("[retention]", [
      ["deliveries", str(formatDuration(retention.deliveries))],
      ["events", str(formatDuration(retention.events))],
      ["inbound", str(formatDuration(retention.inbound))],
      ["audit", str(formatDuration(retention.audit))],
      ["cleanup_cron", str(retention.cleanup_cron)],
    ]),
    table("[log]", [["level", str(log.level)]]),
    ...config.sources.map(source),
  ];
  return sections.join("\n");
}

function source(s: Source): string {
  return table("[[sources]]", [
    ["id", str(s.id)],
    ["auth", str(s.auth)],
    // A secret from the environment is shown by the variable's name, an inline one is masked.
    s.secret_env !== "" ? ["secret_env", str(s.secret_env)] : ["secret", str(s.secret === "" ? "" : MASK)],
    ["header", str(s.header)],
    ["connector_header", str(s.connector_header)],
    ["connector_id", str(s.connector_id)],
    ["allow_ips", cidrs(s.allow_ips)],
    ["schema", str(s.schema)],
    ["event_type", str(s.event_type)],
    ["event_type_field", str(s.event_type_field)],
    ["rate_limit", str(formatRateLimit(s.rate_limit))],
    ["dedupe_header", str(s.dedupe_header)],
    ["allow_origins", strs(s.allow_origins)],
  ]);
}

function clientTls(p: ClientTlsProfile): string {
  return table("[[delivery.client_tls]]", [
    ["name", str(p.name)],
    ["cert", str(p.cert)],
    ["key", str(p.key)],
    ["ca", str(p.ca)],
  ]);
}

function oauth2(p: OAuth2Profile): string {
  return table("[[delivery.oauth2]]", [
    ["name", str(p.name)],
    ["token_url", str(p.token_url)],
    ["client_id", str(p.client_id)],
    // Like a source's secret: the variable's name, or the inline value masked.
    p.client_secret_env !== "" ? ["client_secret_env", str(p.client_secret_env)] : ["client_secret", str(MASK)],
    ["scope", str(p.scope)],
    ["audience", str(p.audience)],
    ["auth_method", str(p.auth_method)],
    ["allow_urls", strs(p.allow_urls)],
  ]);
}

function table(header: string, rows: [string, string][]): string {
  return `${header}\n${rows.map(([key, value]) => `${key} = ${value}\n`).join("")}`;
}

// Only a short prefix of each hash is shown: enough to tell keys apart, too
// little to be worth copying into another config. Scopes are always shown, the default too,
// so what each key may do (SPEC §14) reads off the output.
function keys(list: readonly ApiKey[]): string {
  if (list.length === 0) return "[]";
  const rows = list.map((k) => `  { name = ${str(k.name)}, hash = ${str(`${k.hash.slice(0, "sha256:".length + 8)}…`)}, scopes = ${strs(k.scopes)} },\n`);
  return `[\n${rows.join("")}]`;
}

function cidrs(set: IpSet): string {
  return strs(set.cidrs.map((c) => c.text));
}

function strs(values: readonly string[]): string {
  return `[${values.map(str).join(", ")}]`;
}

/** str quotes a TOML basic string; JSON escapes are valid TOML except that TOML also wants DEL escaped. */
function str(value: string): string {
  return JSON.stringify(value).replace(/\x7f/g, "\\u007F");
}
