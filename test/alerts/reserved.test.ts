import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { call, startTestServer, type TestServer } from "../support/test-server";

// hookd.* types are hookd's own: nobody may publish one (SPEC §11), and a catalogue always allows them.
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({
    events: 'types = ["invoice.paid"]',
    '[[sources]]': ['id = "erp"', 'auth = "token"', 'secret = "s3cret-token-value"', 'schema = "json"', 'event_type_field = "type"'].join("\n"),
  });
});
afterAll(async () => {
  await server.stop();
});

describe("reserved hookd.* types", () => {
  test.each(["hookd.x", "hookd.endpoint.disabled"])("publishing %s through the API is 422", async (type) => {
    const answer = await server.api("POST", "/v1/events", { type, data: {} });
    expect(answer.status).toBe(422);
    expect(answer.body.error.details[0]).toMatchObject({ field: "type", code: "reserved_event_type" });
  });

  test("sending hookd.x inbound is 422", async () => {
    const answer = await call(`${server.url}/in/erp`, "POST", { type: "hookd.x", n: 1 }, { "x-auth-token": "s3cret-token-value" });
    expect(answer.status).toBe(422);
    expect(answer.body.error.details[0]).toMatchObject({ code: "reserved_event_type" });
    // The same source accepts a catalogue type, so it was the type that was refused.
    const ok = await call(`${server.url}/in/erp`, "POST", { type: "invoice.paid", n: 1 }, { "x-auth-token": "s3cret-token-value" });
    expect(ok.status).toBe(200);
  });

  test.each([["hookd.*"], ["hookd.endpoint.*"], ["hookd.queue.backlog"]])("a catalogue allows subscribing to %s", async (filter) => {
    const answer = await server.api("POST", "/v1/webhooks", { url: "https://ops.example/hook", events: [filter] });
    expect(answer.status).toBe(201);
    expect((await server.api("DELETE", `/v1/webhooks/${answer.body.data.id}`)).status).toBe(204);
  });
});
