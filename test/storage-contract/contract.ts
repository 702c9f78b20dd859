import { describe } from "bun:test";
import { claimsContract } from "./claims";
import { type BackendFactory, useBackend } from "./harness";
import { idempotencyContract } from "./idempotency";
import { inboundContract } from "./inbound";
import { leasesContract } from "./leases";
import { listingsContract } from "./listings";
import { outcomesContract } from "./outcomes";
import { requeueContract } from "./requeue";
import { retentionContract } from "./retention";
import { webhooksContract } from "./webhooks";
import { fanOutContract, txContract } from "./writes";

export type { BackendFactory, ContractBackend } from "./harness";

/**
 * storageContract checks the behaviour every storage backend must have (src/storage/types.ts) through
 * the Storage interface alone, each test on a fresh database from `factory`. A backend's test file is
 * one call: `storageContract("sqlite", openTempSqlite)`.
 */
export function storageContract(name: string, factory: BackendFactory): void {
  describe(`storage contract: ${name}`, () => {
    const f = useBackend(factory);
    fanOutContract(f);
    txContract(f);
    webhooksContract(f);
    claimsContract(f);
    leasesContract(f);
    outcomesContract(f);
    requeueContract(f);
    inboundContract(f);
    idempotencyContract(f);
    retentionContract(f);
    listingsContract(f);
  });
}
