import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Clock } from "../clock";
import type { AttemptResult, DeliveryStatus, EventOrigin, Storage } from "../storage/types";
import { registerProcessMetrics } from "./process";

/** Metrics are hookd's Prometheus series (SPEC §8 names) and the hooks that feed them. */
export interface Metrics {
  readonly registry: Registry;
  inboundRequest(source: string, outcome: string): void;
  eventStored(origin: EventOrigin): void;
  attemptMade(result: AttemptResult): void;
  groupCommitted(batchSize: number): void;
  /** configReloaded counts a SIGHUP reload: "ok" (applied) or "invalid" (the running config stayed). */
  configReloaded(result: "ok" | "invalid"): void;
  /** render is the text exposition for GET /metrics. */
  render(): Promise<string>;
  readonly contentType: string;
}

const STATUSES: readonly DeliveryStatus[] = ["pending", "failed", "delivered", "expired"];

/** createMetrics registers every series on a private registry; queue gauges read storage when scraped. */
export function createMetrics(storage: () => Storage, clock: Clock): Metrics {
  const registry = new Registry();
  registerProcessMetrics(registry);
  const inbound = new Counter({
    name: "hookd_inbound_requests_total",
    help: "Inbound requests by source (unknown sources as _unknown) and outcome (accepted, duplicate, or the error code).",
    labelNames: ["source", "outcome"] as const,
    registers: [registry],
  });
  const events = new Counter({
    name: "hookd_events_created_total",
    help: "Events stored, by what produced them (api, inbound, resource, test).",
    labelNames: ["origin"] as const,
    registers: [registry],
  });
  const attempts = new Counter({
    name: "hookd_delivery_attempts_total",
    help: "Delivery attempts by outcome: delivered, failed (a retry is scheduled) or expired (no attempts left).",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "hookd_delivery_attempt_duration_seconds",
    help: "Time from sending a delivery to its answer (or failure).",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const batches = new Histogram({
    name: "hookd_group_commit_batch_size",
    help: "Write operations that shared one SQLite commit.",
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
    registers: [registry],
  });
  const reloads = new Counter({
    name: "hookd_config_reloads_total",
    help: "Config reloads (SIGHUP) by result: ok (applied) or invalid (refused; the running config stayed).",
    labelNames: ["result"] as const,
    registers: [registry],
  });
  // Both series exist from the start, so an alert on `invalid` > 0 needs no absent() guard.
  for (const result of ["ok", "invalid"] as const) reloads.inc({ result }, 0);
  new Gauge({
    name: "hookd_deliveries",
    help: "Deliveries by status, read from the database when scraped.",
    labelNames: ["status"] as const,
    registers: [registry],
    async collect() {
      const counts = await storage().deliveries.countByStatus();
      for (const status of STATUSES) this.set({ status }, counts[status]);
    },
  });
  new Gauge({
    name: "hookd_oldest_pending_delivery_seconds",
    help: "Age of the oldest delivery not yet delivered or expired; 0 when there is none.",
    registers: [registry],
    async collect() {
      const oldest = await storage().deliveries.oldestUnfinishedAt();
      this.set(oldest === null ? 0 : Math.max(0, (clock.now() - oldest) / 1000));
    },
  });

  return {
    registry,
    inboundRequest: (source, outcome) => inbound.inc({ source, outcome }),
    eventStored: (origin) => events.inc({ origin }),
    attemptMade: (r) => {
      attempts.inc({ outcome: r.ok ? "delivered" : r.nextAttemptAt !== null ? "failed" : "expired" });
      duration.observe(r.durationMs / 1000);
    },
    groupCommitted: (size) => batches.observe(size),
    configReloaded: (result) => reloads.inc({ result }),
    render: () => registry.metrics(),
    contentType: registry.contentType,
  };
}
