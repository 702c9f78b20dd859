import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeBase32 } from "../../src/ids";
import { copySqliteToPostgres } from "../../src/storage/copy-to-postgres";
import { openPostgresStorage } from "../../src/storage/postgres/storage";
import { openSqliteStorage } from "../../src/storage/sqlite/storage";
import type { AuditEntry } from "../../src/storage/types";
import { FakeClock } from "../support/fake-clock";
import { type PgCluster, startPgCluster } from "../support/postgres";

// copy-storage moves every table by name: SPEC §14's audit log must arrive whole, in the same order.

const NOW = Date.UTC(2030, 0, 1, 12);
let cluster: PgCluster | null = null;
let skipped = "";
const dir = mkdtempSync(join(tmpdir(), "hookd-copy-audit-"));
beforeAll(async () => {
  const started = await startPgCluster();
  if (typeof started === "string") skipped = started;
  else cluster = started;
}, 90_000);
afterAll(async () => {
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const entry = (time: number, over: Partial<AuditEntry>): AuditEntry => ({
  id: `aud_${encodeBase32(Bun.randomUUIDv7("buffer", time))}`, time, key: "ops", client_ip: "192.0.2.7", request_id: "req_1",
  method: "PATCH", path: "/v1/webhooks/wh_1", target_id: "wh_1", changes: { url: { before: "https://a.example/", after: "https://b.example/" } }, ...over,
});

describe("copy-storage with an audit log", () => {
  test("carries every entry with its fields and changes as written", async () => {
    if (cluster === null) return console.warn(skipped);
    const clock = new FakeClock(NOW);
    const path = join(dir, "hookd.db");
    const sqlite = openSqliteStorage(path, clock);
    const entries = [
      entry(NOW - 2000, {}),
      entry(NOW - 1000, { key: "sighup", client_ip: null, request_id: null, method: "SIGHUP", path: "", target_id: null,
        changes: { "retention.audit": { before: "365d", after: "30d" }, "api.keys[1].secret": { before: "***", after: "***" } } }),
      entry(NOW, { method: "DELETE", target_id: "wh_2", changes: {} }),
    ];
    for (const e of entries) await sqlite.audit.record(e);
    await sqlite.close();

    const url = await cluster.createDatabase("copy_audit");
    const copied = await copySqliteToPostgres(path, url, NOW);
    expect(copied.tables.find((t) => t.table === "audit_log")).toEqual({ table: "audit_log", rows: 3 });
    const pg = await openPostgresStorage(url, clock, { nodeId: "copy" });
    try {
      const listed = await pg.audit.list({ limit: 10 });
      expect(listed).toEqual([...entries].reverse());
      expect(Object.keys(listed[1]!.changes)).toEqual(["retention.audit", "api.keys[1].secret"]);
      expect(await pg.audit.list({ limit: 10, target_id: "wh_2" })).toEqual([entries[2]!]);
    } finally {
      await pg.close();
    }
  }, 60_000);
});
