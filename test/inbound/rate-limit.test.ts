import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { FakeClock } from "../support/fake-clock";
import { call, startTestServer, type TestServer } from "../support/test-server";

const SEC = 1000;
const MIN = 60 * SEC;
// 20 min into a whole hour, so a "2/1h" window began 20 min ago and ends in 40.
const START = Date.parse("2026-03-02T10:20:00Z");

let clock: FakeClock;
let server: TestServer;
beforeAll(async () => {
  clock = new FakeClock(START);
  server = await startTestServer(
    { "[[sources]]": 'id = "limited"\nauth = "token"\nsecret = "tok-lim-1"\nschema = "json"\nevent_type = "lim.thing"\nrate_limit = "2/1h"' },
    { clock },
  );
});
afterAll(() => server.stop());

let n = 0;
const send = () => call(`${server.url}/in/limited`, "POST", JSON.stringify({ n: n++ }), { "x-auth-token": "tok-lim-1" });

describe("inbound rate limit windows", () => {
  test("Retry-After is the time left in the current window, to the second, and the next window accepts again", async () => {
    expect((await send()).status).toBe(200);
    expect((await send()).status).toBe(200);
    const over = await send();
    expect(over.status).toBe(429);
    expect(over.body.error.code).toBe("rate_limited");
    expect(over.headers.get("retry-after")).toBe(String(40 * 60));

    clock.advance(25 * MIN + 500); // 14 min 59.5 s left: rounded up
    expect((await send()).headers.get("retry-after")).toBe(String(15 * 60));

    clock.advance(15 * MIN - 500 - SEC); // 1 s left
    const last = await send();
    expect(last.status).toBe(429);
    expect(last.headers.get("retry-after")).toBe("1");

    clock.advance(SEC); // 11:00:00, a new window
    expect((await send()).status).toBe(200);
  });
});
