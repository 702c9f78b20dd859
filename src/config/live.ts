import { AsyncLocalStorage } from "node:async_hooks";
import { EventCatalogue } from "../events/types";
import type { IpSet } from "../net/cidr";
import { ApiKeyVerifier } from "../security/api-keys";
import type { TargetPolicy } from "../security/targets";
import type { Config, DeliveryProfiles, Source } from "./types";

/**
 * Runtime is one config compiled for use: what requests read. It is never changed, only replaced
 * whole (SIGHUP), so a request that took one at its start sees no half-applied reload.
 */
export interface Runtime {
  readonly config: Config;
  readonly apiKeys: ApiKeyVerifier;
  readonly apiAllowIps: IpSet;
  readonly trustedProxies: IpSet;
  /** bodyTimeoutMs is `[server] body_timeout`. */
  readonly bodyTimeoutMs: number;
  readonly sources: ReadonlyMap<string, Source>;
  readonly catalogue: EventCatalogue;
  readonly targets: TargetPolicy;
  readonly profiles: DeliveryProfiles;
}

/** compileRuntime builds the compiled pieces of a config (key digests, source map, catalogue) once. */
export function compileRuntime(config: Config): Runtime {
  return Object.freeze({
    config,
    apiKeys: new ApiKeyVerifier(config.api.keys),
    apiAllowIps: config.api.allow_ips,
    trustedProxies: config.server.trusted_proxies,
    bodyTimeoutMs: config.server.body_timeout,
    sources: new Map(config.sources.map((s) => [s.id, s])),
    catalogue: new EventCatalogue(config.events.types),
    targets: Object.freeze({ requireHttps: config.delivery.require_https, allowTargets: config.delivery.allow_targets }),
    profiles: Object.freeze({ client_tls: config.delivery.client_tls, oauth2: config.delivery.oauth2 }),
  });
}

/**
 * LiveConfig holds the Runtime in force. A request takes `current()` once at its start and runs inside
 * `within(snapshot, …)`; code that cannot be handed the snapshot (route dependencies) reads `snapshot()`,
 * which is the request's own one. Background work (deliveries, jobs) reads `current()` when it runs.
 */
export class LiveConfig {
  private runtime: Runtime;
  private readonly bound = new AsyncLocalStorage<Runtime>();

  constructor(config: Config) {
    this.runtime = compileRuntime(config);
  }

  /** current is the Runtime in force now. */
  current(): Runtime {
    return this.runtime;
  }

  /** snapshot is the Runtime of the request being served (see within), else the current one. */
  snapshot(): Runtime {
    return this.bound.getStore() ?? this.runtime;
  }

  /** within runs `fn` (and everything it awaits) with `snapshot` bound. */
  within<T>(snapshot: Runtime, fn: () => T): T {
    return this.bound.run(snapshot, fn);
  }

  /** swap puts a new config in force at once; requests already running keep theirs. */
  swap(config: Config): Runtime {
    this.runtime = compileRuntime(config);
    return this.runtime;
  }
}
