import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRouter } from "../../src/delivery/fanout";
import { buildEvent } from "../../src/events/envelope";
import { newId } from "../../src/ids";
import { copySqliteToPostgres } from "../../src/storage/copy-to-postgres";
import { openPostgresStorage } from "../../src/storage/postgres/storage";
import { openSqliteStorage } from "../../src/storage/sqlite/storage";
import { ENDPOINT_OPTION_DEFAULTS, type WebhookRecord } from "../../src/storage/types";
import { FakeClock } from "../support/fake-clock";
import { type PgCluster, startPgCluster } from "../support/postgres";

// copy-storage moves columns by name: SPEC §10's routing columns (issue 17) must arrive with their values.

const NOW = Date.UTC(2030, 0, 1, 12);
let cluster: PgCluster | null = null;
let skipped = "";
const dir = mkdtempSync(join(tmpdir(), "hookd-copy-routing-"));
beforeAll(async () => {
  const started = await startPgCluster();
  if (typeof started === "string") skipped = started;
  else cluster = started;
}, 90_000);
afterAll(async () => {
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("copy-storage with routing data", () => {
  test("carries endpoints' filter, transform and content_type and events' source, and the claim sees them", async () => {
    if (cluster === null) return console.warn(skipped);
    const clock = new FakeClock(NOW);
    const path = join(dir, "hookd.db");
    const sqlite = openSqliteStorage(path, clock, { route: createRouter() });
    const w: WebhookRecord = {
      ...ENDPOINT_OPTION_DEFAULTS, id: newId("wh"), url: "https://hooks.example/x", events: ["*"], description: "", status: "active",
      secret: "whsec_x", failure_count: 0, last_failure_at: null, failing_since: null, created_at: NOW, updated_at: NOW,
      filter: `{"source":"psft"}`, transform: `"<a>" & data.m & "</a>"`, content_type: "application/xml",
    };
    expect(await sqlite.webhooks.create(w, 10)).toBe("created");
    const inbound = buildEvent("erp.failed", `{"m":"x"}`, "inbound", NOW, "psft");
    const api = buildEvent("erp.failed", `{"m":"y"}`, "api", NOW);
    await sqlite.events.insert(inbound, { onlyWebhook: w.id });
    await sqlite.events.insert(api, { onlyWebhook: w.id });
    await sqlite.close();

    const url = await cluster.createDatabase("copy_routing");
    await copySqliteToPostgres(path, url, NOW);
    const pg = await openPostgresStorage(url, clock, { route: createRouter(), nodeId: "copy" });
    try {
      expect(await pg.webhooks.get(w.id)).toEqual(w);
      expect((await pg.webhooks.active()).map((e) => e.filter)).toEqual([w.filter]);
      expect(await pg.events.get(inbound.id)).toEqual(inbound);
      expect(await pg.events.get(api.id)).toEqual(api);
      const claimed = await pg.deliveries.claimDue({ now: NOW, total: 10, perEndpoint: 10, leaseMs: () => 60_000, owner: "copy" });
      expect(claimed.map((d) => [d.event_id, d.source, d.transform, d.content_type]).sort()).toEqual(
        [[inbound.id, "psft", w.transform, "application/xml"], [api.id, null, w.transform, "application/xml"]].sort(),
      );
    } finally {
      await pg.close();
    }
  }, 60_000);
});
