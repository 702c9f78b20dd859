import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestServer, type TestServer } from "../support/test-server";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

async function eventsFor(resourceId: string) {
  const list = await server.api("GET", "/v1/events?limit=500");
  return list.body.data
    .filter((e: { data: { object?: { id: string } } }) => e.data.object?.id === resourceId)
    .map((e: { type: string; data: { object: Record<string, unknown> } }) => ({ type: e.type, object: e.data.object }))
    .reverse();
}

describe("resources", () => {
  test("create answers 201 with the resource and stores resource.created with data.object", async () => {
    const created = await server.api("POST", "/v1/resources", {
      name: "My Integration Resource",
      type: "standard",
      metadata: { source: "my-app", environment: "production" },
    });
    expect(created.status).toBe(201);
    const r = created.body.data;
    expect(r).toMatchObject({ type: "standard", status: "active", name: "My Integration Resource", metadata: { source: "my-app", environment: "production" } });
    expect(r.id).toMatch(/^res_[0-9a-z]{26}$/);
    expect(await eventsFor(r.id)).toEqual([{ type: "resource.created", object: r }]);
  });

  test("type defaults to resource and metadata to {}", async () => {
    const r = (await server.api("POST", "/v1/resources", { name: "plain" })).body.data;
    expect(r).toMatchObject({ type: "resource", status: "active", metadata: {} });
  });

  test("patch emits resource.updated, plus resource.status_changed when status changes", async () => {
    const r = (await server.api("POST", "/v1/resources", { name: "payroll" })).body.data;
    const renamed = await server.api("PATCH", `/v1/resources/${r.id}`, { name: "payroll-batch" });
    expect(renamed.status).toBe(200);
    expect(renamed.body.data.name).toBe("payroll-batch");
    const paused = await server.api("PATCH", `/v1/resources/${r.id}`, { status: "paused" });
    expect(paused.body.data.status).toBe("paused");
    const same = await server.api("PATCH", `/v1/resources/${r.id}`, { status: "paused" });
    expect(same.status).toBe(200);
    expect(same.body.data.updated_at).toBe(paused.body.data.updated_at);
    expect((await eventsFor(r.id)).map((e: { type: string }) => e.type)).toEqual([
      "resource.created",
      "resource.updated",
      "resource.updated",
      "resource.status_changed",
    ]);
  });

  test("concurrent status changes each see the state the other left: one status_changed per real change", async () => {
    const r = (await server.api("POST", "/v1/resources", { name: "racy" })).body.data;
    await Promise.all([
      server.api("PATCH", `/v1/resources/${r.id}`, { status: "paused" }),
      server.api("PATCH", `/v1/resources/${r.id}`, { status: "paused" }),
      server.api("PATCH", `/v1/resources/${r.id}`, { status: "paused" }),
    ]);
    const types = (await eventsFor(r.id)).map((e: { type: string }) => e.type);
    expect(types.filter((t: string) => t === "resource.status_changed")).toHaveLength(1);
  });

  test("delete answers 204, emits resource.deleted with the last object, then 404", async () => {
    const r = (await server.api("POST", "/v1/resources", { name: "temp" })).body.data;
    expect((await server.api("DELETE", `/v1/resources/${r.id}`)).status).toBe(204);
    expect((await server.api("GET", `/v1/resources/${r.id}`)).status).toBe(404);
    expect((await server.api("DELETE", `/v1/resources/${r.id}`)).status).toBe(404);
    const events = await eventsFor(r.id);
    expect(events.at(-1)).toEqual({ type: "resource.deleted", object: r });
  });

  test("list and get", async () => {
    const r = (await server.api("POST", "/v1/resources", { name: "listed" })).body.data;
    expect((await server.api("GET", `/v1/resources/${r.id}`)).body.data).toEqual(r);
    const list = await server.api("GET", "/v1/resources?limit=1");
    expect(list.body.data).toEqual([r]);
    expect(list.body.next_cursor).not.toBeNull();
  });

  test.each([
    [{}, "name"],
    [{ name: "" }, "name"],
    [{ name: "x", metadata: [1] }, "metadata"],
    [{ name: "x", type: "has space" }, "type"],
    [{ name: "x", colour: "red" }, "colour"],
  ])("%j is 422 naming %s", async (body, field) => {
    const answer = await server.api("POST", "/v1/resources", body);
    expect(answer.status).toBe(422);
    expect(answer.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
  });
});
