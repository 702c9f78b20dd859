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
    let answeredAt: number | null = null;
    const started = performance.now();
    const waiting = call(`${server.url}/in/erp`, "POST", JSON.stringify({ n: 1 }), { "x-auth-token": "erp-token-1" }).then((a) => {
      answeredAt = performance.now();
      return a;
    });
    const health = await call(`${server.url}/healthz`, "GET");
    expect(health.status).toBe(200);
    expect(performance.now() - started).toBeLessThan(400);
    // The lock is held across many of the writer's retries (it retries BEGIN every 20 ms, for up to
    // busyTimeoutMs): all that while the write must neither answer nor fail.
    await Bun.sleep(500);
    expect(answeredAt).toBeNull();
    const releasedAt = performance.now();
    blocker.run("ROLLBACK");
    blocker.close();
    const answer = await waiting;
    expect(answer.status).toBe(200);
    expect(answeredAt!).toBeGreaterThanOrEqual(releasedAt);
    expect((await server.api("GET", `/v1/events/${answer.body.id}`)).status).toBe(200);
  });
});
