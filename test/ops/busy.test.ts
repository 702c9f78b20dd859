import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { call, startTestServer, type TestServer } from "../support/test-server";

// Another process (a backup tool, `sqlite3` by hand) holding the write lock must delay writes,
// not freeze the server: the wait for the lock is asynchronous.
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer(
    { "[[sources]]": 'id = "erp"\nauth = "token"\nsecret = "erp-token-1"\nschema = "json"\nevent_type = "erp.thing"' },
    { busyTimeoutMs: 3000 },
  );
});
afterAll(() => server.stop());

describe("a write lock held by another process", () => {
  test("the server keeps answering while a write waits, and the write succeeds once the lock is gone", async () => {
    const blocker = new Database(join(server.dir, "hookd.db"));
    blocker.run("BEGIN IMMEDIATE");
    const started = performance.now();
    const waiting = call(`${server.url}/in/erp`, "POST", JSON.stringify({ n: 1 }), { "x-auth-token": "erp-token-1" });
    const health = await call(`${server.url}/healthz`, "GET");
    const healthMs = performance.now() - started;
    expect(health.status).toBe(200);
    expect(healthMs).toBeLessThan(400);
    await Bun.sleep(600); // hold the lock a while: the write must wait for it, not fail
    blocker.run("ROLLBACK");
    blocker.close();
    const answer = await waiting;
    expect(answer.status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(600);
  });
});
