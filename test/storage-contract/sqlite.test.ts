import { afterAll } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSqliteStorage } from "../../src/storage/sqlite/storage";
import type { OperationalEvents, Storage } from "../../src/storage/types";
import { FakeClock } from "../support/fake-clock";
import { alertsContract, CONTRACT_ALERTS } from "./alerts";
import { auditContract, sqliteAuditExplain } from "./audit";
import { type BackendFactory, storageContract } from "./contract";
import { deliverySearchContract, sqliteExplain } from "./delivery-search";
import { recordingRouter } from "./harness";
import { optionsContract } from "./options-contract";
import { statsContract } from "./stats";

const root = mkdtempSync(join(tmpdir(), "hookd-contract-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// A fixed start keeps time-derived values (rate windows, due times) the same on every run.
const START = Date.UTC(2030, 0, 1, 12);

// `alerts`: storage opened with SPEC §11's operational events (the alerts contract); others open without.
const openWith = (alerts?: OperationalEvents): BackendFactory => async () => {
  const dir = mkdtempSync(join(root, "db-"));
  const path = join(dir, "hookd.db");
  const clock = new FakeClock(START);
  const { route, routed } = recordingRouter();
  const open = () => openSqliteStorage(path, clock, { route, alerts });
  let storage: Storage = open();
  return {
    get storage() {
      return storage;
    },
    clock,
    async reopen() {
      await storage.close();
      storage = open();
      return storage;
    },
    async close() {
      await storage.close();
      rmSync(dir, { recursive: true, force: true });
    },
    facts: { backend: "sqlite", location: path },
    routed,
  };
};

const openTemp = openWith();

storageContract("sqlite", openTemp);
alertsContract("sqlite", openWith(CONTRACT_ALERTS));
deliverySearchContract("sqlite", openTemp, sqliteExplain);
optionsContract("sqlite", openTemp);
statsContract("sqlite", openTemp);
auditContract("sqlite", openTemp, sqliteAuditExplain);
