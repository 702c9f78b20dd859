import { hostname } from "node:os";
import type { IpSet } from "../net/cidr";
import { formatDuration, formatRateLimit, formatSize } from "./duration";
import { MASK } from "./render";
import type { Config } from "./types";
import { formatListen } from "./values";

/** ConfigChange is one key path's value before and after a reload, secrets masked; null where it did not exist. */
export interface ConfigChange {
  before: unknown;
  after: unknown;
}

/** ConfigDiff is what a reload would change: what applies live, what waits for a restart, and the masked values. */
export interface ConfigDiff {
  /** applied: changed key paths that take effect at once, in config order (e.g. `sources[erp2]`, `api.keys`). */
  readonly applied: string[];
  /** restart: changed key paths that only a restart applies (`server.listen`, `storage.*`, …); ignored until then. */
  readonly restart: string[];
  /** changes: before/after of each applied path, secrets shown as "********" (for the audit log). */
  readonly changes: Record<string, ConfigChange>;
}

// Keys read once at start: the listening socket, the database, the lease owner and the body limits the
// transform workers and the body budget are sized by.
const RESTART_KEYS: readonly string[] = ["server.listen", "server.node_id", "server.max_body", "server.max_inflight_body"];

/** needsRestart is true for a key path a running process cannot change (`tlsToggled`: HTTPS switched on or off). */
export function needsRestart(path: string, tlsToggled: boolean): boolean {
  if (RESTART_KEYS.includes(path) || path.startsWith("storage.")) return true;
  return tlsToggled && (path === "server.tls_cert" || path === "server.tls_key");
}

/** diffConfig lists the key paths whose values differ between the running config and a reloaded one. */
export function diffConfig(before: Config, after: Config): ConfigDiff {
  const old = flatten(before);
  const next = flatten(after);
  const tlsToggled = (before.server.tls_cert === "") !== (after.server.tls_cert === "");
  const applied: string[] = [];
  const restart: string[] = [];
  const changes: Record<string, ConfigChange> = {};
  // A node_id left to its default (host name + ":" + port) follows `listen`: only `listen` is worth a warning then.
  const derivedNodeIds = before.server.node_id === defaultNodeId(before) && after.server.node_id === defaultNodeId(after);
  for (const path of new Set([...old.keys(), ...next.keys()])) {
    const a = old.get(path);
    const b = next.get(path);
    if (a !== undefined && b !== undefined && a.compare === b.compare) continue;
    if (path === "server.node_id" && derivedNodeIds) continue;
    if (needsRestart(path, tlsToggled)) {
      restart.push(path);
      continue;
    }
    applied.push(path);
    changes[path] = a !== undefined && b !== undefined ? narrowed(a, b) : { before: a?.shown ?? null, after: b?.shown ?? null };
  }
  return { applied, restart, changes };
}

/** keepRestartValues is `next` with the values a restart would change taken from `running`: the config to run with. */
export function keepRestartValues(running: Config, next: Config): Config {
  const tlsToggled = (running.server.tls_cert === "") !== (next.server.tls_cert === "");
  const s = running.server;
  return Object.freeze({
    ...next,
    server: Object.freeze({
      ...next.server,
      listen: s.listen,
      node_id: s.node_id,
      max_body: s.max_body,
      max_inflight_body: s.max_inflight_body,
      ...(tlsToggled ? { tls_cert: s.tls_cert, tls_key: s.tls_key } : {}),
    }),
    storage: running.storage,
  });
}

type Entry = { compare: string; raw: unknown; shown: unknown };

const defaultNodeId = (c: Config) => `${hostname()}:${c.server.listen.port}`;
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const named = (v: unknown): v is { name: string }[] => Array.isArray(v) && v.every((item) => isRecord(item) && typeof item.name === "string");

/**
 * narrowed is a changed object's fields that differ (a list of named objects: the entries that differ,
 * by name, each with its name and differing fields). Without it a changed secret would read
 * "********" before and after among identical fields, and an auditor could not tell what changed.
 */
function narrowed(a: Entry, b: Entry): ConfigChange {
  if (isRecord(a.raw) && isRecord(b.raw) && isRecord(a.shown) && isRecord(b.shown)) {
    const before: Record<string, unknown> = {};
    const after: Record<string, unknown> = {};
    for (const key of new Set([...Object.keys(a.raw), ...Object.keys(b.raw)])) {
      if (JSON.stringify(a.raw[key]) === JSON.stringify(b.raw[key])) continue;
      before[key] = a.shown[key] ?? null;
      after[key] = b.shown[key] ?? null;
    }
    return { before, after };
  }
  if (named(a.raw) && named(b.raw) && named(a.shown) && named(b.shown)) {
    const before: unknown[] = [];
    const after: unknown[] = [];
    const rawOf = (list: { name: string }[], name: string) => list.find((item) => item.name === name);
    for (const name of new Set([...a.raw.map((k) => k.name), ...b.raw.map((k) => k.name)])) {
      const was = rawOf(a.raw, name);
      const is = rawOf(b.raw, name);
      if (JSON.stringify(was) === JSON.stringify(is)) continue;
      const change = narrowed(
        { compare: "", raw: was ?? null, shown: rawOf(a.shown, name) ?? null },
        { compare: "", raw: is ?? null, shown: rawOf(b.shown, name) ?? null },
      );
      if (was !== undefined) before.push(is === undefined ? change.before : { name, ...(change.before as object) });
      if (is !== undefined) after.push(was === undefined ? change.after : { name, ...(change.after as object) });
    }
    return { before, after };
  }
  return { before: a.shown, after: b.shown };
}

/** flatten turns a config into key path → value; `compare` includes secrets (never shown), `shown` masks them. */
function flatten(c: Config): Map<string, Entry> {
  const out = new Map<string, Entry>();
  const put = (path: string, value: unknown, shown: unknown = value) => out.set(path, { compare: JSON.stringify(value), raw: value, shown });
  const masked = (secret: string) => (secret === "" ? "" : MASK);
  const { server, storage, api, delivery, alerts, retention } = c;
  put("server.listen", formatListen(server.listen));
  put("server.trusted_proxies", cidrs(server.trusted_proxies));
  put("server.max_body", formatSize(server.max_body));
  put("server.tls_cert", server.tls_cert);
  put("server.tls_key", server.tls_key);
  put("server.max_inflight_body", formatSize(server.max_inflight_body));
  put("server.body_timeout", formatDuration(server.body_timeout));
  put("server.node_id", server.node_id);
  put("storage.backend", storage.backend);
  put("storage.path", storage.path);
  put("storage.url", storage.url, masked(storage.url));
  put("storage.url_env", storage.url_env);
  put("api.keys", api.keys, api.keys.map((k) => ({ name: k.name, hash: MASK, scopes: k.scopes })));
  put("api.key_env", api.key_env);
  put("api.allow_ips", cidrs(api.allow_ips));
  put("events.types", c.events.types);
  put("delivery.timeout", formatDuration(delivery.timeout));
  put("delivery.retry_schedule", delivery.retry_schedule.map(formatDuration));
  put("delivery.concurrency", delivery.concurrency);
  put("delivery.per_endpoint_concurrency", delivery.per_endpoint_concurrency);
  put("delivery.max_endpoints", delivery.max_endpoints);
  put("delivery.require_https", delivery.require_https);
  put("delivery.allow_targets", cidrs(delivery.allow_targets));
  put("delivery.disable_after", formatDuration(delivery.disable_after));
  put("delivery.user_agent", delivery.user_agent);
  put("delivery.proxy", delivery.proxy, masked(delivery.proxy));
  for (const p of delivery.client_tls) put(`delivery.client_tls[${p.name}]`, p);
  for (const p of delivery.oauth2) put(`delivery.oauth2[${p.name}]`, p, { ...p, client_secret: masked(p.client_secret) });
  put("alerts.failing_after", alerts.failing_after);
  put("alerts.backlog_age", formatDuration(alerts.backlog_age));
  put("retention.deliveries", formatDuration(retention.deliveries));
  put("retention.events", formatDuration(retention.events));
  put("retention.inbound", formatDuration(retention.inbound));
  put("retention.audit", formatDuration(retention.audit));
  put("retention.cleanup_cron", retention.cleanup_cron);
  put("log.level", c.log.level);
  for (const s of c.sources) {
    const plain = { ...s, allow_ips: cidrs(s.allow_ips), rate_limit: formatRateLimit(s.rate_limit) };
    put(`sources[${s.id}]`, plain, { ...plain, secret: masked(s.secret) });
  }
  return out;
}

function cidrs(set: IpSet): string[] {
  return set.cidrs.map((c) => c.text);
}
