import { hostname } from "node:os";
import { isBuiltInType, isReservedType } from "../events/types";
import { hashApiKey } from "../security/api-keys";
import { DEFAULT_SCOPES, SCOPES } from "../security/scopes";
import * as v from "valibot";
import { checkedText, choice, cidrList, converted, duration, flag, list, oneOf, required, size, table, text, uniqueList, whole } from "./fields";
import { formatSize } from "./duration";
import { pemFileProblem } from "./pem";
import { profileLists, tokenUrlRule } from "./profiles";
import { sourceSchema } from "./sources";
import { storageSchema } from "./storage";
import { LOG_LEVELS, type ApiKey, type Config, type Env } from "./types";
import {
  cronProblem,
  envNameProblem,
  eventTypeProblem,
  headerValueProblem,
  keyHashProblem,
  keyNameProblem,
  nodeIdProblem,
  parseListen,
  proxyProblem,
} from "./values";

export type { Config, Source } from "./types";

/** DEFAULT_RETRY_SCHEDULE is SPEC §2's default: eight attempts over about 27.6 hours. */
export const DEFAULT_RETRY_SCHEDULE: readonly string[] = ["5s", "5m", "30m", "2h", "5h", "10h", "10h"];

const server = table(
  {
    listen: v.optional(converted('an address like "0.0.0.0:8080"', parseListen), "0.0.0.0:8080"),
    trusted_proxies: cidrList(),
    max_body: v.optional(size(), "1MiB"),
    tls_cert: text(""),
    tls_key: text(""),
    max_inflight_body: v.optional(size(), "64MiB"),
    body_timeout: v.optional(duration(true), "30s"),
    node_id: checkedText("", (id) => (id === "" ? null : nodeIdProblem(id))),
  },
  [
    {
      needs: ["max_body", "max_inflight_body"],
      check({ max_body, max_inflight_body }, report) {
        // One client address may hold a quarter of the bound (SPEC §13); below 4 × max_body a body of max_body could never be read.
        if (max_inflight_body < 4 * max_body) report("max_inflight_body", `must be at least 4 × server.max_body (${formatSize(4 * max_body)})`);
      },
    },
    {
      needs: ["tls_cert", "tls_key"],
      check({ tls_cert, tls_key }, report) {
        if (tls_cert !== "" && tls_key === "") report("tls_key", "required when server.tls_cert is set");
        if (tls_key !== "" && tls_cert === "") report("tls_cert", "required when server.tls_key is set");
        for (const [key, path] of [["tls_cert", tls_cert], ["tls_key", tls_key]] as const) {
          const problem = path === "" ? null : pemFileProblem(path);
          if (problem) report(key, problem);
        }
      },
    },
  ],
  // Two nodes on one host differ by their port, so the default stays unique per node.
  (s): Config["server"] => ({ ...s, node_id: s.node_id !== "" ? s.node_id : `${hostname()}:${s.listen.port}` }),
);

const apiKey = table(
  {
    name: required(keyNameProblem),
    hash: required(keyHashProblem),
    // Listed without repeats and never empty: a key that may do nothing is a typo, not a policy.
    scopes: v.pipe(
      uniqueList(oneOf(SCOPES), DEFAULT_SCOPES, null, (first) => `also scopes[${first}]`),
      v.check((scopes) => scopes.length > 0, `must name at least one of ${SCOPES.map((s) => JSON.stringify(s)).join(", ")}`),
    ),
  },
  [],
  (k): ApiKey => k,
);


function api(env: Env) {
  return table(
    {
      keys: uniqueList(apiKey, [], "name", (first) => `also api.keys[${first}].name`),
      key_env: checkedText("", envNameProblem),
      allow_ips: cidrList(),
    },
    [
      {
        needs: ["key_env"],
        check({ key_env }, report) {
          // An unset or empty variable adds no key (the API stays closed and `serve` warns), so the
          // example config can name HOOKD_API_KEY and `HOOKD_API_KEY=… npm start` opens the API.
          const key = key_env === "" ? undefined : env[key_env];
          // The verifier reads `Bearer <key>` up to the first space, so such a key could never match.
          if (key !== undefined && /\s/.test(key)) report("key_env", `$${key_env} contains whitespace; a Bearer token cannot carry it`);
        },
      },
    ],
    // The plain key from the environment is hashed at once so it is held like every other key.
    (a): Config["api"] => ({
      keys: a.key_env === "" || !env[a.key_env] ? a.keys : [...a.keys, { name: `env:${a.key_env}`, hash: hashApiKey(env[a.key_env] ?? ""), scopes: DEFAULT_SCOPES }],
      key_env: a.key_env,
      allow_ips: a.allow_ips,
    }),
  );
}

const events = table(
  { types: uniqueList(required(eventTypeProblem), [], null, (first) => `also events.types[${first}]`) },
  [],
  (e): Config["events"] => e,
);

function delivery(env: Env, version: string) {
  return table(
    {
      timeout: v.optional(duration(true), "10s"),
      retry_schedule: list(duration(), DEFAULT_RETRY_SCHEDULE),
      concurrency: whole(64, 1),
      per_endpoint_concurrency: whole(8, 1),
      max_endpoints: whole(10, 1),
      require_https: flag(true),
      allow_targets: cidrList(),
      disable_after: v.optional(duration(), "5d"),
      user_agent: checkedText("hookd/<version>", headerValueProblem),
      proxy: checkedText("", proxyProblem),
      ...profileLists(env),
    },
    [
      {
        needs: ["concurrency", "per_endpoint_concurrency"],
        check({ concurrency, per_endpoint_concurrency }, report) {
          if (per_endpoint_concurrency > concurrency) {
            report("per_endpoint_concurrency", `must not exceed delivery.concurrency (${concurrency})`);
          }
        },
      },
      tokenUrlRule,
    ],
    (d): Config["delivery"] => ({ ...d, user_agent: d.user_agent.replaceAll("<version>", version) }),
  );
}

const alerts = table(
  { failing_after: whole(10, 1), backlog_age: v.optional(duration(true), "15m") },
  [],
  (a): Config["alerts"] => a,
);

// Retention of "0" is refused rather than read as "keep forever": the cleanup
// job computes cutoff = now - retention, so 0 would delete everything finished.
const retention = table(
  {
    deliveries: v.optional(duration(true), "30d"),
    events: v.optional(duration(true), "30d"),
    inbound: v.optional(duration(true), "30d"),
    audit: v.optional(duration(true), "365d"),
    cleanup_cron: checkedText("0 3 * * *", cronProblem),
  },
  [],
  (r): Config["retention"] => r,
);

const log = table({ level: choice(LOG_LEVELS, "info") }, [], (l): Config["log"] => l);


/** configSchema validates a parsed TOML document and converts it into a Config; `env` resolves `*_env` keys, `version` fills user_agent. */
export function configSchema(env: Env, version: string) {
  return table(
    {
      server: v.optional(server, {}),
      storage: v.optional(storageSchema(env), {}),
      api: v.optional(api(env), {}),
      events: v.optional(events, {}),
      delivery: v.optional(delivery(env, version), {}),
      alerts: v.optional(alerts, {}),
      retention: v.optional(retention, {}),
      log: v.optional(log, {}),
      sources: uniqueList(sourceSchema(env), [], "id", (first) => `also sources[${first}].id`),
    },
    [
      {
        needs: ["events", "sources"],
        check({ events, sources }, report) {
          sources.forEach((source, i) => {
            const type = source.event_type;
            if (isReservedType(type)) {
              report(["sources", i, "event_type"], `${JSON.stringify(type)} is reserved: hookd.* events are published by hookd itself`);
              return;
            }
            if (events.types.length === 0) return;
            if (type !== "" && !events.types.includes(type) && !isBuiltInType(type)) {
              report(["sources", i, "event_type"], `${JSON.stringify(type)} is not in events.types`);
            }
          });
        },
      },
    ],
    (c): Config => c,
  );
}
