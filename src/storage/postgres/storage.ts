import { SQL } from "bun";
import type { Clock } from "../../clock";
import { BodyCache } from "../body-cache";
import type { EventOrigin, OperationalEvents, RouteEvent, Storage, StorageFacts, Tx } from "../types";
import { alertRows } from "./alerts";
import { auditReads, auditWrites } from "./audit";
import { type Db, one, run } from "./client";
import { deliveryReads } from "./delivery-reads";
import { deliveryQueue } from "./deliveries";
import { deliverySearch } from "./delivery-search";
import { guarded, toStorageError } from "./errors";
import { eventReads, eventWrites } from "./events";
import { type AfterCommit, GroupCommit } from "./group-commit";
import { idempotencyWrites } from "./idempotency";
import { inboundReads, inboundWrites } from "./inbound";
import { postgresMaintenance } from "./maintenance";
import { migrate } from "./migrate";
import { crossNodeNotices } from "./notify";
import { requeue } from "./requeue";
import { resourceReads, resourceWrites } from "./resources";
import { postgresStats } from "./stats";
import { webhookReads, webhookWrites } from "./webhooks";

/** PostgresOptions: SQLite's StorageOptions that apply to a server database, plus this node's id. */
export interface PostgresOptions {
  /** route picks the endpoints an event goes to (src/delivery/fanout.ts); without it events make no deliveries. */
  route?: RouteEvent;
  /** alerts builds SPEC §11's operational events (src/alerts/); without it none are stored. */
  alerts?: OperationalEvents;
  onBatch?: (size: number) => void;
  onEnqueued?: () => void;
  onEventStored?: (origin: EventOrigin) => void;
  /** groupCommitMaxBatch caps writes per commit; 1 turns group commit off. */
  groupCommitMaxBatch?: number;
  /** nodeId names this process among the nodes sharing the database ([server] node_id). */
  nodeId: string;
  /** poolSize: connections this node opens at most (default 10). */
  poolSize?: number;
}

// Every write runs inside one batch of one connection: a row another node keeps locked, or a node that
// hangs mid-transaction, must turn into an error (503, retried) instead of stalling every writer.
const SESSION = { lock_timeout: "10s", statement_timeout: "60s", idle_in_transaction_session_timeout: "60s" };

/** describeUrl names a database url as host:port/database, never its user or password. */
export function describeUrl(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || "5432"}/${decodeURIComponent(u.pathname.replace(/^\//, ""))}`;
}

/**
 * openPostgresStorage connects a pool, applies migrations (under an advisory lock) and wires the
 * stores: writes go through the group commit, one transaction per batch; reads use the pool and
 * so see only committed rows. Other nodes' new work and endpoint changes arrive over LISTEN/NOTIFY
 * as `onEnqueued` calls and cache invalidations (./notify.ts).
 */
export async function openPostgresStorage(url: string, clock: Clock, options: PostgresOptions): Promise<Storage & { migrationsApplied: number[] }> {
  const sql = new SQL({
    url, bigint: true, max: options.poolSize ?? 10, connection: { ...SESSION, application_name: `hookd ${options.nodeId}`.slice(0, 63) },
  });
  let migrationsApplied: number[];
  try {
    migrationsApplied = await migrate(sql, clock.now());
  } catch (error) {
    await sql.close().catch(() => {});
    throw toStorageError(error);
  }
  const commits = new GroupCommit(sql, options.groupCommitMaxBatch ?? 512, options.onBatch);
  const write = <T>(op: (db: Db, after: AfterCommit) => Promise<T>): Promise<T> => commits.run(op);
  const route = options.route ?? (() => []);
  const bodies = new BodyCache();

  const webhooksR = webhookReads(sql, () => clock.now());
  const notices = await crossNodeNotices(sql, { work: () => options.onEnqueued?.(), endpoints: webhooksR.invalidate });
  // This node's committed changes: acted on here at once, and announced to the other nodes.
  const hooks = {
    onEnqueued: () => {
      options.onEnqueued?.();
      notices.announce("work");
    },
    onEventStored: (origin: EventOrigin) => options.onEventStored?.(origin),
  };
  const endpointsChanged = () => {
    webhooksR.invalidate();
    notices.announce("endpoints");
  };
  const eventsW = eventWrites(route, webhooksR.active, bodies, hooks);
  // Operational events are ordinary events, stored and fanned out in the transaction that causes them.
  const alerts = alertRows(options.alerts ?? null, (db, after, e) => eventsW.insert(db, after, e));
  const webhooksW = webhookWrites(endpointsChanged, alerts);
  const queue = deliveryQueue(bodies, endpointsChanged, alerts);
  const resend = requeue(hooks.onEnqueued);
  const search = deliverySearch(sql, hooks.onEnqueued);
  const inboundW = inboundWrites((db, after, e) => eventsW.insert(db, after, e));
  const resourcesW = resourceWrites(async (db, after, events) => {
    for (const e of events) await eventsW.insert(db, after, e);
  });
  const idempotency = idempotencyWrites();
  const audit = auditWrites();
  const maintenance = postgresMaintenance(sql);

  // The writes a Tx offers, bound to one batch's transaction and after-commit list.
  const txFor = (db: Db, after: AfterCommit): Tx => ({
    webhooks: {
      create: (r, max) => webhooksW.create(db, after, r, max),
      update: (id, patch, now) => webhooksW.update(db, after, id, patch, now),
      remove: (id, now) => webhooksW.remove(db, after, id, now),
      rotateSecret: (id, secret, until, now) => webhooksW.rotateSecret(db, after, id, secret, until, now),
    },
    events: { insert: (e, o) => eventsW.insert(db, after, e, o) },
    resources: {
      create: (r, events) => resourcesW.create(db, after, r, events),
      update: (id, change) => resourcesW.update(db, after, id, change),
      remove: (id, describe) => resourcesW.remove(db, after, id, describe),
    },
    deliveries: {
      retry: (id, now) => resend.retry(db, after, id, now),
      recover: (id, since, now) => resend.recover(db, after, id, since, now),
    },
    idempotency: { complete: (scope, key, status, body, type) => idempotency.complete(db, scope, key, status, body, type) },
    audit: { record: (entry) => audit.record(db, entry) },
  });

  return {
    migrationsApplied,
    webhooks: {
      ...guarded({ get: webhooksR.get, getAny: webhooksR.getAny, list: webhooksR.list, active: webhooksR.active }),
      create: (r, max) => write((db, after) => webhooksW.create(db, after, r, max)),
      update: (id, patch, now) => write((db, after) => webhooksW.update(db, after, id, patch, now)),
      remove: (id, now) => write((db, after) => webhooksW.remove(db, after, id, now)),
      rotateSecret: (id, secret, until, now) => write((db, after) => webhooksW.rotateSecret(db, after, id, secret, until, now)),
    },
    events: {
      ...guarded(eventReads(sql)),
      insert: (e, o) => write((db, after) => eventsW.insert(db, after, e, o)),
    },
    resources: {
      ...guarded(resourceReads(sql)),
      create: (r, events) => write((db, after) => resourcesW.create(db, after, r, events)),
      update: (id, change) => write((db, after) => resourcesW.update(db, after, id, change)),
      remove: (id, describe) => write((db, after) => resourcesW.remove(db, after, id, describe)),
    },
    deliveries: {
      ...guarded(deliveryReads(sql)),
      claimDue: (request) => write((db, after) => queue.claim(db, after, request)),
      complete: (results, decide, now) => write((db, after) => queue.complete(db, after, results, decide, now)),
      release: (leases, now) => write((db) => queue.release(db, leases, now)),
      releaseAbandoned: (owner, now) => write((db) => queue.releaseAbandoned(db, owner, now)),
      retry: (id, now) => write((db, after) => resend.retry(db, after, id, now)),
      recover: (id, since, now) => write((db, after) => resend.recover(db, after, id, since, now)),
      ...guarded({ search: search.search, replayable: search.replayable }),
      replay: (filter, from, limit, now) => write((db, after) => search.replay(db, after, filter, from, limit, now)),
    },
    inbound: {
      ...guarded(inboundReads(sql)),
      accept: (request) => write((db, after) => inboundW.accept(db, after, request)),
      logRejected: (record) => write((db) => inboundW.logRejected(db, record)),
    },
    idempotency: {
      begin: (scope, key, hash, now, ttl, lock) => write((db) => idempotency.begin(db, scope, key, hash, now, ttl, lock)),
      complete: (scope, key, status, body, type) => write((db) => idempotency.complete(db, scope, key, status, body, type)),
      release: (scope, key) => write((db) => idempotency.release(db, scope, key)),
      releaseAbandoned: () => write((db) => idempotency.releaseAbandoned(db)),
    },
    maintenance: guarded(maintenance),
    alerts: {
      checkBacklog: (now) => write((db, after) => alerts.checkBacklog(db, after, now)),
      flushExpiries: (now) => write((db, after) => alerts.flushExpiries(db, after, now)),
    },
    stats: guarded(postgresStats(sql)),
    audit: {
      ...guarded(auditReads(sql)),
      record: (entry) => write((db) => audit.record(db, entry)),
    },
    tx: (fn) => write((db, after) => fn(txFor(db, after))),
    checkWritable: async () => {
      try {
        // A write transaction: a read-only standby, a full disk or a lost server fails here.
        await write((db) => run(db, "DELETE FROM schema_migrations WHERE false"));
        return true;
      } catch {
        return false;
      }
    },
    describe: async (): Promise<StorageFacts> => {
      let bytes: number | null = null;
      try {
        bytes = (await one<{ n: number }>(sql, "SELECT pg_database_size(current_database()) AS n"))?.n ?? null;
      } catch {
        bytes = null;
      }
      return { backend: "postgres", location: describeUrl(url), bytes };
    },
    close: async () => {
      await commits.close();
      await notices.close();
      await sql.close();
    },
  };
}
