import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestServer, type TestServer } from "../support/test-server";

// SPEC §10's endpoint fields through the real API: stored, read back on every read, refused with the field named.
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ delivery: "max_endpoints = 100" });
});
afterAll(async () => {
  await server.stop();
});

const FILTER = { source: "psft-payroll", "data.severity": { $in: ["error", "critical"] } };
const TRANSFORM = '{"text": "Payroll batch " & data.batch & " failed: " & data.message}';
const create = (body: Record<string, unknown>) => server.api("POST", "/v1/webhooks", { url: "https://erp.example/hook", events: ["*"], ...body });
const patch = (id: string, body: Record<string, unknown>) => server.api("PATCH", `/v1/webhooks/${id}`, body);
const fields = (answer: { body: any }) => answer.body.error.details.map((d: { field: string }) => d.field);

describe("filter, transform and content_type on endpoints", () => {
  test("unset reads back null on create and get", async () => {
    const created = await create({});
    expect(created.body.data).toMatchObject({ filter: null, transform: null, content_type: null });
    expect((await server.api("GET", `/v1/webhooks/${created.body.data.id}`)).body.data).toMatchObject({ filter: null, transform: null, content_type: null });
  });

  test("round trip: create, get, list and PATCH show the filter as an object and the rest as given", async () => {
    const created = await create({ filter: FILTER, transform: TRANSFORM, content_type: "application/json; charset=utf-8" });
    expect(created.status).toBe(201);
    const shown = { filter: FILTER, transform: TRANSFORM, content_type: "application/json; charset=utf-8" };
    expect(created.body.data).toMatchObject(shown);
    const id = created.body.data.id;
    expect((await server.api("GET", `/v1/webhooks/${id}`)).body.data).toMatchObject(shown);
    const listed = (await server.api("GET", "/v1/webhooks?limit=500")).body.data.find((w: { id: string }) => w.id === id);
    expect(listed).toMatchObject(shown);
    const rotated = await server.api("POST", `/v1/webhooks/${id}/rotate-secret`);
    expect(rotated.body.data).toMatchObject(shown);

    const changed = await patch(id, { filter: { type: "payroll.failed" }, content_type: "text/xml" });
    expect(changed.status).toBe(200);
    expect(changed.body.data).toMatchObject({ filter: { type: "payroll.failed" }, transform: TRANSFORM, content_type: "text/xml" });
    const cleared = await patch(id, { filter: null, transform: null, content_type: null });
    expect(cleared.body.data).toMatchObject({ filter: null, transform: null, content_type: null });
    expect((await server.api("GET", `/v1/webhooks/${id}`)).body.data).toMatchObject({ filter: null, transform: null, content_type: null });
  });

  test.each([
    ["$where", { filter: { $where: "this.data.x == 1" } }, ["filter"]],
    ["$where nested in $or", { filter: { $or: [{ type: "a.b" }, { $where: "1" }] } }, ["filter"]],
    ["an unknown operator", { filter: { "data.n": { $mod: [2, 0] } } }, ["filter"]],
    ["a $regex RE2 cannot compile", { filter: { "data.s": { $regex: "(?=a)" } } }, ["filter"]],
    ["a filter that is not an object", { filter: ["a"] }, ["filter"]],
    ["JSONata that does not compile", { transform: '{"text": ' }, ["transform"]],
    ["an empty transform", { transform: "" }, ["transform"]],
    ["a transform over 16 KiB", { transform: `"${"x".repeat(16 * 1024)}"` }, ["transform"]],
    ["a content_type without subtype", { content_type: "xml" }, ["content_type"]],
    ["a content_type with CR/LF", { content_type: "text/plain\r\nX-Evil: 1" }, ["content_type"]],
    ["a content_type that is a number", { content_type: 5 }, ["content_type"]],
    ["all three at once", { filter: { $where: "1" }, transform: "(", content_type: "a" }, ["filter", "transform", "content_type"]],
  ])("%s → 422 naming the field", async (_name, body, expected) => {
    const answer = await create(body);
    expect(answer.status).toBe(422);
    expect(answer.body.error.code).toBe("invalid_request");
    expect(fields(answer)).toEqual(expected);
  });

  test("a refused PATCH changes nothing", async () => {
    const id = (await create({ filter: { type: "a.b" }, transform: "data" })).body.data.id;
    const refused = await patch(id, { filter: { $where: "1" }, transform: "data.x" });
    expect(refused.status).toBe(422);
    expect(fields(refused)).toEqual(["filter"]);
    expect((await server.api("GET", `/v1/webhooks/${id}`)).body.data).toMatchObject({ filter: { type: "a.b" }, transform: "data" });
    const badTransform = await patch(id, { transform: "$$$(" });
    expect(fields(badTransform)).toEqual(["transform"]);
  });

  test("/openapi.json documents the fields, the default content type and the preview route", async () => {
    const doc = await (await fetch(`${server.url}/openapi.json`)).json();
    const body = doc.paths["/v1/webhooks"].post.requestBody.content["application/json"].schema;
    expect(Object.keys(body.properties)).toEqual(expect.arrayContaining(["filter", "transform", "content_type"]));
    expect(doc.paths["/v1/webhooks/{id}"].patch.requestBody.content["application/json"].schema.properties).toHaveProperty("filter");
    const read = doc.paths["/v1/webhooks/{id}"].get.responses["200"].content["application/json"].schema.properties.data;
    expect(read.required).toEqual(expect.arrayContaining(["filter", "transform", "content_type"]));
    expect(JSON.stringify(read.properties.content_type)).toContain("text/plain; charset=utf-8");
    const preview = doc.paths["/v1/webhooks/{id}/preview"].post;
    expect(preview.description).toContain("filter");
    expect(Object.keys(preview.requestBody.content["application/json"].schema.properties)).toEqual(["event_id", "event"]);
  });
});
