import { statSync } from "node:fs";
import type { Clock } from "../../clock";
import type { EventOrigin, OperationalEvents, RouteEvent, Storage, Tx } from "../types";
import { BodyCache } from "../body-cache";
import { alertRows } from "./alerts";
import { auditReads, auditWrites } from "./audit";
import { deliveryQueue } from "./deliveries";
import { deliveryReads } from "./delivery-reads";
import { deliverySearch } from "./delivery-search";
import { guarded, toStorageError } from "./errors";
import { eventReads, eventWrites } from "./events";
import { type AfterCommit, GroupCommit } from "./group-commit";
import { idempotencyWrites } from "./idempotency";
import { inboundReads, inboundWrites } from "./inbound";
import { laneRows } from "./lanes";
import { sqliteMaintenance } from "./maintenance";
import { migrate, requireCurrentSchema } from "./migrate";
import { openDatabase, openReader } from "./open";
import { queueRows } from "./queue";
import { resourceReads, resourceWrites } from "./resources";
import { sqliteStats } from "./stats";
import { webhookReads, webhookWrites } from "./webhooks";

// Longest the event loop may block on another process's write lock for a single statement.
const SYNC_BUSY_MS = 250;

/** StorageOptions: `route` decides fan-out; the hooks observe commits (metrics, scheduler wake-ups). */
export interface StorageOptions {
  /** route picks the endpoints an event goes to (src/delivery/fanout.ts); without it events make no deliveries. */
  route?: RouteEvent;
  /** alerts builds SPEC §11's operational events (src/alerts/); without it none are stored. */
  alerts?: OperationalEvents;
  onBatch?: (size: number) => void;
  onEnqueued?: () => void;
  /** busyTimeoutMs: how long a write waits for another process's lock before it is an outage (503). */
  busyTimeoutMs?: number;
  /** blockingBusyMs: how long one synchronous statement may wait; commands without an event loop to protect raise it. */
  blockingBusyMs?: number;
  /** groupCommitMaxBatch caps writes per commit; 1 turns group commit off (benchmarks compare the two). */
  groupCommitMaxBatch?: number;
  /**
   * besideServer: for commands that run next to a `serve` (backup, cleanup): the database must already
   * exist and have this binary's schema; nothing is created or migrated.
   */
  besideServer?: boolean;
  /** onEventStored hears of each event once it is durable (metrics). */
  onEventStored?: (origin: EventOrigin) => void;
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/**
 * openSqliteStorage opens the database, applies migrations and wires the stores: writes go through
 * one connection and its group commit, reads through a second, read-only one.
 */
export function openSqliteStorage(path: string, clock: Clock, options: StorageOptions = {}): Storage & { migrationsApplied: number[] } {
  const busyMs = options.busyTimeoutMs ?? 5000;
  // The connection itself waits only briefly (a synchronous wait freezes the event loop); batched
  // writes keep retrying asynchronously up to busyMs.
  const blockingMs = Math.min(busyMs, options.blockingBusyMs ?? SYNC_BUSY_MS);
  const writer = openDatabase(path, blockingMs, !options.besideServer);
  let migrationsApplied: number[] = [];
  try {
    if (options.besideServer) requireCurrentSchema(writer);
    else migrationsApplied = migrate(writer, clock.now());
  } catch (error) {
    writer.close();
    throw error;
  }
  const reader = path === ":memory:" ? writer : openReader(path, blockingMs);
  const commits = new GroupCommit(writer, options.groupCommitMaxBatch ?? 512, options.onBatch, busyMs);
  const write = <T>(op: (after: AfterCommit) => T | Promise<T>): Promise<T> => commits.run(op).catch((e: unknown) => Promise.reject(toStorageError(e)));
  const hooks = {
    onEnqueued: () => options.onEnqueued?.(),
    onEventStored: (origin: EventOrigin) => options.onEventStored?.(origin),
  };
  const route = options.route ?? (() => []);
  const bodies = new BodyCache();

  const webhooksR = webhookReads(reader);
  const queueW = queueRows(writer);
  // Operational events are ordinary events, stored and fanned out in the transaction that causes them.
  const alerts = alertRows(writer, options.alerts ?? null, (after, e) => void eventsW.insert(after, e));
  const webhooksW = webhookWrites(writer, queueW, webhooksR.invalidate, alerts);
  const lanes = laneRows(writer);
  const eventsW = eventWrites(writer, queueW, lanes, route, webhooksR.active, bodies, hooks);
  const queue = deliveryQueue(writer, queueW, lanes, bodies, webhooksR.invalidate, hooks.onEnqueued, alerts);
  const inboundW = inboundWrites(writer, (after, e) => eventsW.insert(after, e));
  const resourcesW = resourceWrites(writer, (after, events) => {
    for (const e of events) eventsW.insert(after, e);
  });
  const idempotency = idempotencyWrites(writer);
  const audit = auditWrites(writer);
  const maintenance = sqliteMaintenance(writer, reader, commits);
  const probe = writer.query("DELETE FROM schema_migrations WHERE 0");

  // The writes a Tx offers, bound to one transaction's after-commit list.
  const txFor = (after: AfterCommit): Tx => ({
    webhooks: {
      create: async (r, max) => webhooksW.create(after, r, max),
      update: async (id, patch, now) => webhooksW.update(after, id, patch, now),
      remove: async (id, now) => webhooksW.remove(after, id, now),
      rotateSecret: async (id, secret, until, now) => webhooksW.rotateSecret(after, id, secret, until, now),
    },
    events: { insert: async (e, o) => eventsW.insert(after, e, o) },
    resources: {
      create: async (r, events) => resourcesW.create(after, r, events),
      update: async (id, change) => resourcesW.update(after, id, change),
      remove: async (id, describe) => resourcesW.remove(after, id, describe),
    },
    deliveries: {
      retry: async (id, now) => queue.retry(after, id, now),
      recover: async (id, since, now) => queue.recover(after, id, since, now),
    },
    idempotency: { complete: async (scope, key, status, body, type) => idempotency.complete(scope, key, status, body, type) },
    audit: { record: async (entry) => audit.record(entry) },
  });

  const webhooksRead = guarded({ get: webhooksR.get, getAny: webhooksR.getAny, list: webhooksR.list, active: webhooksR.active });
  const deliveriesRead = guarded(deliveryReads(reader, queueRows(reader)));
  const search = deliverySearch(reader, writer, queueW, lanes, hooks.onEnqueued);
  return {
    migrationsApplied,
    webhooks: {
      ...webhooksRead,
      create: (r, max) => write((after) => webhooksW.create(after, r, max)),
      update: (id, patch, now) => write((after) => webhooksW.update(after, id, patch, now)),
      remove: (id, now) => write((after) => webhooksW.remove(after, id, now)),
      rotateSecret: (id, secret, until, now) => write((after) => webhooksW.rotateSecret(after, id, secret, until, now)),
    },
    events: {
      ...guarded(eventReads(reader)),
      insert: (e, o) => write((after) => eventsW.insert(after, e, o)),
    },
    resources: {
      ...guarded(resourceReads(reader)),
      create: (r, events) => write((after) => resourcesW.create(after, r, events)),
      update: (id, change) => write((after) => resourcesW.update(after, id, change)),
      remove: (id, describe) => write((after) => resourcesW.remove(after, id, describe)),
    },
    deliveries: {
      ...deliveriesRead,
      claimDue: (request) => write((after) => queue.claim(after, request)),
      complete: (results, decide, now) => write((after) => queue.complete(after, results, decide, now)),
      release: (leases, now) => write(() => queue.release(leases, now)),
      releaseAbandoned: (_owner, now) => write(() => queue.releaseAbandoned(now)),
      retry: (id, now) => write((after) => queue.retry(after, id, now)),
      recover: (id, since, now) => write((after) => queue.recover(after, id, since, now)),
      ...guarded({ search: search.search, replayable: search.replayable }),
      replay: (filter, from, limit, now) => write((after) => search.replay(after, filter, from, limit, now)),
    },
    inbound: {
      ...guarded(inboundReads(reader)),
      accept: (request) => write((after) => inboundW.accept(after, request)),
      logRejected: (record) => write((after) => inboundW.logRejected(after, record)),
    },
    idempotency: {
      begin: (scope, key, hash, now, ttl, lock) => write(() => idempotency.begin(scope, key, hash, now, ttl, lock)),
      complete: (scope, key, status, body, type) => write(() => idempotency.complete(scope, key, status, body, type)),
      release: (scope, key) => write(() => idempotency.release(scope, key)),
      releaseAbandoned: () => write(() => idempotency.releaseAbandoned()),
    },
    maintenance: guarded(maintenance),
    alerts: {
      checkBacklog: (now) => write((after) => alerts.checkBacklog(after, now)),
      flushExpiries: (now) => write((after) => alerts.flushExpiries(after, now)),
    },
    stats: guarded(sqliteStats(reader)),
    audit: {
      ...guarded(auditReads(reader)),
      record: (entry) => write(() => audit.record(entry)),
    },
    tx: (fn) => write((after) => fn(txFor(after))),
    checkWritable: async () => {
      try {
        // A write transaction: a read-only, full or locked database fails here.
        await write(() => probe.run());
        return true;
      } catch {
        return false;
      }
    },
    describe: async () => ({ backend: "sqlite", location: path, bytes: fileSize(path) + fileSize(`${path}-wal`) }),
    close: async () => {
      await commits.close();
      if (reader !== writer) reader.close();
      writer.close();
    },
  };
}
