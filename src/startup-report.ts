import { storageLocation } from "./config/storage";
import type { Config } from "./config/types";
import type { Logger } from "./log";
import type { Storage } from "./storage/types";

/** logStartupReport says what this hookd serves, from where, with what backlog, and what looks risky. */
export async function logStartupReport(config: Config, storage: Storage, listen: string, log: Logger, retentionNextRun: Date | null): Promise<void> {
  const queue = await storage.deliveries.countByStatus();
  const facts = await storage.describe();
  log.info("hookd started", {
    listen,
    tls: config.server.tls_cert !== "",
    node_id: config.server.node_id,
    database_backend: config.storage.backend,
    // From the config, not the driver: the location is the URL with its password masked.
    database: config.storage.backend === "sqlite" ? facts.location : storageLocation(config.storage),
    database_bytes: facts.bytes,
    sources: config.sources.map((s) => `${s.id} (${s.auth}${s.allow_ips.size > 0 ? ", allowlisted" : ""})`),
    // Names and scopes only (SPEC §14), never hashes.
    api_keys: config.api.keys.map((k) => `${k.name} (${k.scopes.join(", ")})`),
    active_endpoints: (await storage.webhooks.active()).length,
    queue_pending: queue.pending,
    queue_failed: queue.failed,
    retention_cron: config.retention.cleanup_cron,
    retention_next_run: retentionNextRun?.toISOString() ?? null,
  });
  for (const warning of riskySettings(config)) log.warn(warning.msg, { setting: warning.setting });
}

/** riskySettings lists settings an operator should know are loosening a default protection. */
export function riskySettings(config: Config): { setting: string; msg: string }[] {
  const out: { setting: string; msg: string }[] = [];
  if (config.api.keys.length === 0) {
    const env = config.api.key_env;
    out.push({
      setting: env === "" ? "api.keys" : "api.key_env",
      msg:
        env === ""
          ? "no API keys configured: the admin API (/v1) answers 401. Add one: printf %s 'a-long-random-key' | hookd hash-key, then put the hash in [api] keys"
          : `no API keys configured: the admin API (/v1) answers 401. [api] key_env names ${env}, which is not set: start with ${env}=<a long random key>, or put a hash from \`hookd hash-key\` in [api] keys`,
    });
  }
  if (!config.delivery.require_https) {
    out.push({ setting: "delivery.require_https", msg: "require_https = false: webhook endpoints may receive events over plain HTTP" });
  }
  if (config.delivery.allow_targets.cidrs.some((c) => c.prefix === 0)) {
    out.push({
      setting: "delivery.allow_targets",
      msg: "allow_targets covers every address: SSRF protection for webhook URLs is off",
    });
  }
  config.sources.forEach((s, i) => {
    if (s.auth === "token" && s.allow_ips.size === 0) {
      out.push({
        setting: `sources[${i}]`,
        msg: `source ${s.id} authenticates with a shared token only and accepts any address; consider allow_ips or auth = "hmac"`,
      });
    }
  });
  return out;
}
