import { systemClock, type Clock } from "./clock";
import type { Config } from "./config/types";
import { LiveConfig } from "./config/live";
import { storageLocation } from "./config/storage";
import { formatListen } from "./config/values";
import { type Listener, startListener } from "./http/listener";
import { createInboundReceiver } from "./inbound/receiver";
import { scheduleRetention } from "./jobs/retention";
import { startAlertJob } from "./jobs/alerts";
import { createOperationalEvents } from "./alerts";
import { createMetrics } from "./metrics/metrics";
import { buildHttp } from "./http/server";
import { apiRoutes } from "./api";
import { scopeRefusal } from "./api/route-scopes";
import { INBOUND_PATHS } from "./api/inbound-doc";
import { uiRoutes } from "./ui/routes";
import { createLogger, type Logger } from "./log";
import { DeliveryScheduler } from "./delivery/scheduler";
import { type Resolver, systemResolver } from "./delivery/resolver";
import { ClientTlsError } from "./delivery/client-tls";
import { TOKEN_TIMEOUT_MS } from "./delivery/oauth2";
import { createSender, type Sender } from "./delivery/sender";
import { createRouter } from "./delivery/fanout";
import { createPrefilter } from "./routing/prefilter";
import { type OpenedStorage, openStorage, StorageOpenError } from "./storage/open";
import { createTransformPool } from "./transform";
import type { Storage } from "./storage/types";
import { logStartupReport } from "./startup-report";
import { createReload } from "./reload";
import { VERSION } from "./version";

/** AppOptions: tests pass a clock, a logger, a resolver and `listen` (port 0) instead of the config's address. */
export interface AppOptions {
  readonly config: Config;
  readonly clock?: Clock;
  readonly log?: Logger;
  readonly listen?: { host: string; port: number };
  /** resolver turns delivery hostnames into addresses; tests point names at blocked ranges with it. */
  readonly resolver?: Resolver;
  /** random drives retry jitter; tests fix it. */
  readonly random?: () => number;
  /** busyTimeoutMs: tests shorten how long a write waits on a lock held elsewhere. */
  readonly busyTimeoutMs?: number;
  /** groupCommitMaxBatch: 1 = one transaction per write, for benchmarks that show what group commit buys. */
  readonly groupCommitMaxBatch?: number;
}

/** RunningApp is a started hookd: its address, its storage and scheduler (for tests and jobs) and stop(). */
export interface RunningApp {
  readonly url: string;
  readonly port: number;
  readonly storage: Storage;
  readonly scheduler: DeliveryScheduler;
  /**
   * reload applies the config `load` reads again (SIGHUP, SPEC §14). `load` throws a ConfigError when the
   * file is invalid: the running config stays. Either way the TLS and client TLS files are read again.
   */
  reload(load: () => Config): Promise<"ok" | "invalid">;
  stop(): Promise<void>;
}

/** POSTGRES_RESCAN_MS: on PostgreSQL the scheduler claims at least this often even when nothing woke it. */
export const POSTGRES_RESCAN_MS = 5000;

// SPEC §10 transforms run in this many workers; a transform takes at most 100 ms, so two keep up easily.
const TRANSFORM_WORKERS = 2;

/** StartError is a failure to start that is not the config's fault (port taken, database held): exit 1. */
export class StartError extends Error {
  override readonly name = "StartError";
}

/** startApp is the composition root: config → storage → services → http, then listen. */
export async function startApp(options: AppOptions): Promise<RunningApp> {
  const { config } = options;
  const clock = options.clock ?? systemClock;
  const log = options.log ?? createLogger(config.log.level);
  // Requests and jobs read the config through this, so a reload (SIGHUP) reaches them without rebuilding anything.
  const live = new LiveConfig(config);
  const now = () => live.current().config;
  let storage: OpenedStorage;
  const metrics = createMetrics(() => storage, clock);
  // Late-bound: storage is opened before the scheduler exists, and wakes it once it does.
  let wakeScheduler = () => {};
  try {
    storage = await openStorage(config.storage, clock, {
      route: createRouter(),
      alerts: createOperationalEvents(() => ({ failingAfter: now().alerts.failing_after, backlogAgeMs: now().alerts.backlog_age })),
      onEnqueued: () => wakeScheduler(),
      onBatch: metrics.groupCommitted,
      onEventStored: metrics.eventStored,
      busyTimeoutMs: options.busyTimeoutMs,
      groupCommitMaxBatch: options.groupCommitMaxBatch,
      nodeId: config.server.node_id,
    });
  } catch (error) {
    throw error instanceof StorageOpenError ? new StartError(error.message) : error;
  }
  // Requests a previous process was running when it died can be retried at once instead of after their
  // lock. Only on SQLite, where this is the only process: on PostgreSQL a running claim may be another
  // live node's (claims carry no node id), so there they lapse by their lock instead.
  if (config.storage.backend === "sqlite") {
    const abandoned = await storage.idempotency.releaseAbandoned();
    if (abandoned > 0) log.warn("released Idempotency-Key claims left by a previous process", { count: abandoned });
  }
  if (storage.migrationsApplied.length > 0) {
    log.info("database migrated", { database: storageLocation(config.storage), versions: storage.migrationsApplied });
  }
  const prefilter = createPrefilter(() => storage.webhooks.active());
  const transforms = createTransformPool({
    size: TRANSFORM_WORKERS,
    maxResultBytes: config.server.max_body,
    onError: (message) => log.error(message),
  });
  const routes = apiRoutes({
    storage,
    clock,
    log,
    // Read from the request's own snapshot (see LiveConfig.within), so one request never sees two configs.
    get catalogue() {
      return live.snapshot().catalogue;
    },
    get targets() {
      return live.snapshot().targets;
    },
    get maxEndpoints() {
      return live.snapshot().config.delivery.max_endpoints;
    },
    deliveryProfiles: () => live.snapshot().profiles,
    transforms,
    maxBody: config.server.max_body,
    prefilter,
    metrics,
  });
  const http = buildHttp({
    idempotency: storage.idempotency,
    clock,
    log,
    routes: [routes, uiRoutes()],
    live,
    scopeRefusal,
    maxBody: config.server.max_body,
    maxInflightBody: config.server.max_inflight_body,
    version: VERSION,
    documentedPaths: INBOUND_PATHS,
    inbound: createInboundReceiver({
      settings: () => live.current(),
      storage,
      clock,
      log,
      maxBody: config.server.max_body,
      onOutcome: metrics.inboundRequest,
      prefilter,
    }),
  });
  let sender: Sender;
  try {
    sender = createSender({
      resolver: options.resolver ?? systemResolver,
      policy: { requireHttps: config.delivery.require_https, allowTargets: config.delivery.allow_targets },
      proxy: config.delivery.proxy,
      profiles: config.delivery,
      log,
      now: () => clock.now(),
      tokenTimeoutMs: TOKEN_TIMEOUT_MS,
    });
  } catch (error) {
    // A client certificate that cannot be read or does not match its key fails the boot, naming the key.
    await transforms.close();
    await storage.close();
    throw error instanceof ClientTlsError ? new StartError(error.message) : error;
  }
  const scheduler = new DeliveryScheduler({
    storage,
    send: (request) => sender.send(request),
    clock,
    log,
    // `[delivery]` limits and schedule are read when a claim or an attempt starts, so a reload applies to the next one.
    get concurrency() {
      return now().delivery.concurrency;
    },
    get perEndpointConcurrency() {
      return now().delivery.per_endpoint_concurrency;
    },
    owner: config.server.node_id,
    // Other nodes add work too; a notification lost on the way must cost at most this (SPEC §12).
    rescanMs: config.storage.backend === "postgres" ? POSTGRES_RESCAN_MS : undefined,
    get timeoutMs() {
      return now().delivery.timeout;
    },
    get retrySchedule() {
      return now().delivery.retry_schedule;
    },
    get userAgent() {
      return now().delivery.user_agent;
    },
    get disableAfterMs() {
      return now().delivery.disable_after;
    },
    random: options.random,
    tokenTimeoutMs: TOKEN_TIMEOUT_MS,
    transforms,
    maxBody: config.server.max_body,
    onAttempt: metrics.attemptMade,
  });
  const listen = options.listen ?? config.server.listen;
  const tls = config.server.tls_cert !== "" ? { cert: config.server.tls_cert, key: config.server.tls_key } : null;
  let listener: Listener;
  try {
    listener = startListener(listen.host, listen.port, tls, http, log);
  } catch (error) {
    sender.close();
    await transforms.close();
    await storage.close();
    throw new StartError(`cannot listen on ${formatListen(listen)}: ${(error as Error).message}`);
  }
  const host = listen.host.includes(":") ? `[${listen.host}]` : listen.host;
  const url = `${listener.scheme}://${host === "0.0.0.0" || host === "[::]" ? "127.0.0.1" : host}:${listener.port}`;
  const retention = scheduleRetention(storage, now, clock, log);
  await logStartupReport(config, storage, `${host}:${listener.port}`, log, retention.nextRun());
  wakeScheduler = () => scheduler.wake();
  await scheduler.start();
  const alertJob = startAlertJob(storage, clock, log);
  let stopped = false;
  const reload = createReload({ live, log, clock, metrics, sender, scheduler, retention, listener, storage });
  return {
    url,
    port: listener.port,
    storage,
    scheduler,
    async reload(load) {
      if (stopped) throw new Error("hookd is stopping; the config was not reloaded");
      return reload(load);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      // Stop accepting first, then let attempts in flight finish (they time out by `timeout`).
      await listener.stop();
      retention.stop();
      await alertJob.stop();
      await scheduler.stop(now().delivery.timeout + 1000);
      await transforms.close();
      sender.close();
      await storage.close();
      log.info("hookd stopped");
    },
  };
}
