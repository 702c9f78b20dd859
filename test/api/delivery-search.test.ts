import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { waitFor } from "../support/process";
import { type Receiver, startReceiver } from "../support/receiver";
import { call, startTestServer, type TestServer } from "../support/test-server";

// One receiver: paths under /down/ answer 500 while `outage` is on; /hang answers 500 once, then holds
// its second attempt open until `releaseHang` (a delivery that is failed and leased at the same time).
let server: TestServer;
let receiver: Receiver;
let outage = true;
let hangCalls = 0;
let releaseHang: () => void = () => {};
const held = new Promise<void>((resolve) => (releaseHang = resolve));

beforeAll(async () => {
  receiver = startReceiver(async (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/hang") {
      if (++hangCalls === 2) await held;
      return new Response("", { status: hangCalls === 1 ? 500 : 200 });
    }
    if (path.startsWith("/down/") && outage) return new Response("down", { status: 500 });
    if (path === "/bad") return new Response("no", { status: 500 });
    return new Response("ok");
  });
  server = await startTestServer({
    delivery: 'require_https = false\nallow_targets = ["127.0.0.0/8"]\nretry_schedule = ["200ms"]\nmax_endpoints = 50\ntimeout = "20s"',
  });
});
afterAll(async () => {
  releaseHang();
  await server.stop();
  await receiver.stop();
});

const endpoint = async (path: string, events: string[]) =>
  (await server.api("POST", "/v1/webhooks", { url: `${receiver.url}${path}`, events })).body.data as { id: string };
const publish = (type: string) => server.api("POST", "/v1/events", { type, data: { n: 1 } });
const list = (query: string) => server.api("GET", `/v1/deliveries?${query}`);
const counts = () => server.app.storage.deliveries.countByStatus();
const unfinished = async () => {
  const c = await counts();
  return c.pending + c.failed;
};

/** everyPage follows next_cursor and returns every delivery listed. */
async function everyPage(query: string): Promise<{ id: string; status: string; webhook_id: string; event_type: string; created_at: string }[]> {
  const out = [];
  let cursor = "";
  for (;;) {
    const answer = await list(`${query}&cursor=${cursor}`);
    expect(answer.status).toBe(200);
    out.push(...answer.body.data);
    if (answer.body.next_cursor === null) return out;
    cursor = answer.body.next_cursor;
  }
}

describe("GET /v1/deliveries", () => {
  test("lists every endpoint's deliveries newest first, by status list, endpoint, type and time, page by page", async () => {
    const good = await endpoint("/good", ["list.*"]);
    const bad = await endpoint("/bad", ["list.*"]);
    const t0 = new Date().toISOString();
    for (let i = 0; i < 3; i++) await publish("list.one");
    await Bun.sleep(5);
    const t1 = new Date().toISOString();
    for (let i = 0; i < 2; i++) await publish("list.two");
    await waitFor(async () => (await unfinished()) === 0, 10_000, "every delivery finished");

    const mine = <T extends { webhook_id: string }>(rows: T[]) => rows.filter((d) => d.webhook_id === good.id || d.webhook_id === bad.id);
    const all = mine(await everyPage("limit=500"));
    expect(all).toHaveLength(10);
    const order = all.map((d) => `${d.created_at} ${d.id}`);
    expect(order).toEqual([...order].sort().reverse());

    const undelivered = mine(await everyPage("status=failed,expired&limit=2"));
    expect(undelivered.map((d) => d.webhook_id)).toEqual(Array(5).fill(bad.id));
    expect(undelivered.every((d) => d.status === "expired")).toBe(true);
    expect(mine(await everyPage("status=expired&status=delivered&limit=3")).map((d) => d.id)).toEqual(all.map((d) => d.id));
    expect(mine(await everyPage("status=delivered"))).toHaveLength(5);
    expect(await everyPage(`webhook_id=${good.id}&limit=1`)).toEqual(all.filter((d) => d.webhook_id === good.id));
    expect(await everyPage(`webhook_id=${bad.id}&event_type=list.two`)).toHaveLength(2);
    expect(mine(await everyPage("event_type=list.one&status=expired"))).toHaveLength(3);
    expect(mine(await everyPage(`since=${t1}`))).toHaveLength(4);
    expect(mine(await everyPage(`since=${t0}&until=${t1}`))).toHaveLength(6);

    // Storage examining 3 deliveries per bounded range and call: pages come back short or empty with a
    // next_cursor, and following it lists the same deliveries.
    const deliveries = server.app.storage.deliveries;
    const search = deliveries.search;
    deliveries.search = (filter, page) => search({ ...filter, examine: 3 }, page);
    try {
      const short: number[] = [];
      const pages: string[] = [];
      let cursor = "";
      do {
        const answer = await list(`status=delivered,pending&event_type=list.one&limit=2&cursor=${cursor}`);
        expect(answer.status).toBe(200);
        pages.push(...answer.body.data.map((d: { id: string }) => d.id));
        if (answer.body.next_cursor !== null && answer.body.data.length < 2) short.push(answer.body.data.length);
        cursor = answer.body.next_cursor ?? "";
      } while (cursor !== "");
      expect(mine(pages.map((id) => all.find((d) => d.id === id) ?? { id, webhook_id: "" })).map((d) => d.id))
        .toEqual(all.filter((d) => d.webhook_id === good.id && d.event_type === "list.one").map((d) => d.id));
      expect(short.length).toBeGreaterThan(0);
      const none = await list("status=delivered&webhook_id=wh_00000000000000000000000000&limit=50");
      expect(none.body.data).toEqual([]);
      expect(none.body.next_cursor).not.toBeNull();
    } finally {
      deliveries.search = search;
    }
  });

  test.each([
    ["status=sent", "query.status"],
    ["status=failed,nope", "query.status"],
    ["webhook_id=evt_x", "query.webhook_id"],
    ["event_type=nodot", "query.event_type"],
    ["since=yesterday", "query.since"],
    ["cursor=bm90LWEtY3Vyc29y", "query.cursor"],
    ["limit=501", "query.limit"],
  ])("%s is 400 invalid_query naming %s", async (query, field) => {
    const answer = await list(query);
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe("invalid_query");
    expect(answer.body.error.details[0].field).toBe(field);
  });
});

describe("POST /v1/deliveries/replay", () => {
  test("after an outage of 2 000 deliveries to 3 endpoints: dry_run counts them, replay sends exactly those, all arrive", async () => {
    const since = new Date().toISOString();
    outage = true;
    const a = await endpoint("/down/a", ["outage.x", "outage.y"]);
    const b = await endpoint("/down/b", ["outage.x"]);
    const c = await endpoint("/down/c", ["outage.x"]);
    const off = await endpoint("/down/off", ["outage.off"]);
    const hang = await endpoint("/hang", ["outage.hang"]);
    // 666 events to a, b and c, and 2 to a alone: 2 000 deliveries; 10 to an endpoint disabled later.
    const types = [...Array(666).fill("outage.x"), "outage.y", "outage.y", ...Array(10).fill("outage.off")];
    for (let i = 0; i < types.length; i += 50) await Promise.all(types.slice(i, i + 50).map(publish));
    await publish("outage.hang");
    await waitFor(async () => (await unfinished()) === 1 && hangCalls === 2, 60_000, "the outage's deliveries expired");
    expect((await server.api("PATCH", `/v1/webhooks/${off.id}`, { status: "disabled" })).status).toBe(200);
    const expiredOf = async (w: { id: string }) => (await everyPage(`webhook_id=${w.id}&status=failed,expired&limit=500`)).length;
    expect([await expiredOf(a), await expiredOf(b), await expiredOf(c), await expiredOf(off)]).toEqual([668, 666, 666, 10]);
    const leased = (await everyPage(`webhook_id=${hang.id}&status=failed`))[0]!;
    expect(leased).toMatchObject({ status: "failed", in_flight: true });

    outage = false;
    const before = receiver.requests.length;
    const dry = await server.api("POST", "/v1/deliveries/replay", { since, dry_run: true });
    expect(dry.status).toBe(200);
    expect(dry.body).toEqual({ data: { matched: 2000 } });
    const replay = await server.api("POST", "/v1/deliveries/replay", { since });
    expect(replay.status).toBe(202);
    expect(replay.body).toEqual({ data: { replayed: 2000 } });

    await waitFor(async () => (await unfinished()) === 1, 60_000, "every replayed delivery delivered");
    const after = receiver.requests.slice(before);
    const arrived = (path: string) => new Set(after.filter((r) => r.path === path).map((r) => r.headers["webhook-id"])).size;
    expect([arrived("/down/a"), arrived("/down/b"), arrived("/down/c"), arrived("/down/off")]).toEqual([668, 666, 666, 0]);
    for (const w of [a, b, c]) expect(await expiredOf(w)).toBe(0);
    expect(await expiredOf(off)).toBe(10);
    expect((await server.api("GET", `/v1/deliveries/${leased.id}`)).body.data).toMatchObject({ status: "failed", in_flight: true, attempts: 1 });
    releaseHang();
    await waitFor(async () => (await unfinished()) === 0, 10_000, "the held delivery finished");
    expect(hangCalls).toBe(2);
    expect((await server.api("POST", "/v1/deliveries/replay", { since, dry_run: true })).body).toEqual({ data: { matched: 0 } });
  }, 120_000);

  test.each([
    [{}, "since"],
    [{ since: "2026-01-01T00:00:00Z", status: ["pending"] }, "status[0]"],
    [{ since: "2026-01-01T00:00:00Z", status: [] }, "status"],
    [{ since: "2026-01-01T00:00:00Z", webhook_id: "nope" }, "webhook_id"],
    [{ since: "2026-01-01T00:00:00Z", event_type: "x" }, "event_type"],
    [{ since: "soon" }, "since"],
    [{ since: "2026-01-01T00:00:00Z", until: "later" }, "until"],
    [{ since: "2026-01-01T00:00:00Z", dry_run: "yes" }, "dry_run"],
  ])("%j is 422 naming %s", async (body, field) => {
    const answer = await server.api("POST", "/v1/deliveries/replay", body);
    expect(answer.status).toBe(422);
    expect(answer.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
  });
});

describe("/openapi.json", () => {
  test("documents both routes: the list's filters and paging, replay's body and answers", async () => {
    const doc = (await call(`${server.url}/openapi.json`, "GET")).body;
    const params = doc.paths["/v1/deliveries"].get.parameters as { name: string; in: string; schema: Record<string, unknown> }[];
    const param = (name: string) => params.find((p) => p.in === "query" && p.name === name)!;
    expect(params.map((p) => p.name).sort()).toEqual(["cursor", "event_type", "limit", "since", "status", "until", "webhook_id"]);
    expect(param("limit").schema).toMatchObject({ type: "integer", minimum: 1, maximum: 500, default: 50 });
    expect(param("since").schema.format).toBe("date-time");
    expect(String(param("status").schema.description)).toContain("failed,expired");
    const replay = doc.paths["/v1/deliveries/replay"].post;
    expect(replay.requestBody.content["application/json"].schema.required).toEqual(["since"]);
    expect(Object.keys(replay.responses)).toEqual(expect.arrayContaining(["202", "401", "422"]));
  });
});
