import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestServer, type TestServer } from "../support/test-server";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

describe("a known path with a method it does not take", () => {
  test.each([
    ["PUT", "/v1/webhooks", "GET, POST"],
    ["DELETE", "/v1/events", "GET, POST"],
    ["GET", "/v1/deliveries/dlv_x/retry", "POST"],
    ["POST", "/healthz", "GET"],
  ])("%s %s is 405 method_not_allowed with Allow: %s", async (method, path, allow) => {
    const r = await server.api(method, path);
    expect(r.status).toBe(405);
    expect(r.headers.get("allow")).toBe(allow);
    expect(r.body.error.code).toBe("method_not_allowed");
    expect(r.body.error.message).toContain(method);
  });

  test("an unknown path is still 404 not_found", async () => {
    const r = await server.api("GET", "/v1/nothing-here");
    expect({ status: r.status, code: r.body.error.code, allow: r.headers.get("allow") }).toEqual({ status: 404, code: "not_found", allow: null });
  });

  test("without a key a wrong method on /v1 is still 401: nothing about the API shows before auth", async () => {
    const r = await server.api("PUT", "/v1/webhooks", undefined, { authorization: "" });
    expect(r.status).toBe(401);
  });
});
