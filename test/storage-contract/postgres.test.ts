import { afterAll, test } from "bun:test";
import { SQL } from "bun";
import { describeUrl, openPostgresStorage } from "../../src/storage/postgres/storage";
import type { OperationalEvents, Storage } from "../../src/storage/types";
import { FakeClock } from "../support/fake-clock";
import { startPgCluster } from "../support/postgres";
import { alertsContract, CONTRACT_ALERTS } from "./alerts";
import { auditContract, postgresAuditExplain } from "./audit";
import { type BackendFactory, storageContract } from "./contract";
import { deliverySearchContract, postgresExplain } from "./delivery-search";
import { recordingRouter } from "./harness";
import { optionsContract } from "./options-contract";
import { statsContract } from "./stats";
import { postgresNodesContract } from "./postgres-nodes";

// A fixed start keeps time-derived values (rate windows, due times) the same on every run.
const START = Date.UTC(2030, 0, 1, 12);
const TABLES = "webhooks, events, resources, idempotency_keys, deliveries, attempts, inbound, inbound_dedupe, rate_windows, delivery_queues, delivery_lanes, alert_expiry_batches, alert_state, audit_log";

const cluster = await startPgCluster();

if (typeof cluster === "string") {
  console.warn(cluster);
  test.skip(`storage contract: postgres (${cluster})`, () => {});
} else {
  // One database for the file, emptied before each test: far quicker than a database per test.
  const url = await cluster.createDatabase("hookd_contract");
  const admin = new SQL({ url, max: 1 });
  let migrated = false;
  afterAll(async () => {
    await admin.close();
    await cluster.stop();
  });

  // `alerts`: storage opened with SPEC §11's operational events (the alerts contract); others open without.
  const openWith = (alerts?: OperationalEvents): BackendFactory => async () => {
    const clock = new FakeClock(START);
    if (migrated) await admin.unsafe(`TRUNCATE ${TABLES} CASCADE`);
    const { route, routed } = recordingRouter();
    const open = () => openPostgresStorage(url, clock, { route, alerts, nodeId: "contract" });
    let storage: Storage = await open();
    migrated = true;
    return {
      get storage() {
        return storage;
      },
      clock,
      async reopen() {
        await storage.close();
        storage = await open();
        return storage;
      },
      async close() {
        await storage.close();
      },
      facts: { backend: "postgres", location: describeUrl(url) },
      routed,
    };
  };
  const openFresh = openWith();
  storageContract("postgres", openFresh);
  alertsContract("postgres", openWith(CONTRACT_ALERTS));
  deliverySearchContract("postgres", openFresh, postgresExplain(url));
  optionsContract("postgres", openFresh);
  statsContract("postgres", openFresh);
  auditContract("postgres", openFresh, postgresAuditExplain(url));

  postgresNodesContract(cluster);
}
