import { describe, expect, test } from "bun:test";
import { asked, auditEntry, changesOf, pickFields, resourceChanges, ROTATED_SECRET, scrub, webhookChanges } from "../../src/api/audit-record";
import { isId } from "../../src/ids";
import { ENDPOINT_OPTION_DEFAULTS, type ResourceRecord, type WebhookRecord } from "../../src/storage/types";

const SECRET = "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA==";
const TOKEN = "Bearer tok-0123456789";

const webhook = (over: Partial<WebhookRecord> = {}): WebhookRecord => ({
  id: "wh_0000000000000000000000000a", url: "https://a.example/hook", events: ["*"], description: "", status: "active",
  secret: SECRET, failure_count: 0, last_failure_at: null, failing_since: null, created_at: 1, updated_at: 1,
  ...ENDPOINT_OPTION_DEFAULTS, ...over,
});

const resource = (over: Partial<ResourceRecord> = {}): ResourceRecord => ({
  id: "res_0000000000000000000000000a", type: "job", name: "nightly", status: "active", metadata: { team: "ops" }, created_at: 1, updated_at: 1,
  ...over,
});

describe("changesOf", () => {
  test.each([
    ["create: every set field, before null", null, { a: 1, b: null, c: "x" }, { a: { before: null, after: 1 }, c: { before: null, after: "x" } }],
    ["delete: every set field, after null", { a: 1, b: null }, null, { a: { before: 1, after: null } }],
    ["update: only the fields that differ", { a: 1, b: [1, 2], c: "x" }, { a: 1, b: [1, 3], c: "y" }, { b: { before: [1, 2], after: [1, 3] }, c: { before: "x", after: "y" } }],
    ["update: set to null and from null", { a: "x", b: null }, { a: null, b: { k: 1 } }, { a: { before: "x", after: null }, b: { before: null, after: { k: 1 } } }],
    ["update: nothing differs", { a: { k: [1] } }, { a: { k: [1] } }, {}],
    ["a field only on one side", { a: 1 }, { b: 2 }, { a: { before: 1, after: null }, b: { before: null, after: 2 } }],
  ] as const)("%s", (_name, before, after, expected) => {
    expect(changesOf(before, after)).toEqual(expected as never);
  });

  test("compares values as stored but shows them through the field's mask", () => {
    const mask = { fields: { pin: () => "****" } };
    expect(changesOf({ pin: "1234" }, { pin: "5678" }, mask)).toEqual({ pin: { before: "****", after: "****" } });
    expect(changesOf({ pin: "1234" }, { pin: "1234" }, mask)).toEqual({});
    expect(changesOf({ pin: null }, { pin: "1234" }, mask)).toEqual({ pin: { before: null, after: "****" } });
  });

  test("a string holding a secret is masked wherever it is", () => {
    const out = changesOf(null, { note: `was ${SECRET}`, list: [{ deep: SECRET }], short: "abc" }, { secrets: [SECRET, "abc"] });
    expect(out).toEqual({ note: { before: null, after: "********" }, list: { before: null, after: [{ deep: "********" }] }, short: { before: null, after: "abc" } });
  });
});

describe("scrub", () => {
  test.each([
    ["a string with the secret", "x-s3cret-x", "********"],
    ["a string without it", "plain", "plain"],
    ["numbers and booleans", 5, 5],
    ["null", null, null],
    ["object keys are kept, values masked", { "s3cret": "s3cret" }, { "s3cret": "********" }],
    ["arrays", ["a", "s3cret"], ["a", "********"]],
  ])("%s", (_name, value, expected) => {
    expect(scrub(value, ["s3cret"])).toEqual(expected);
  });
});

describe("webhookChanges", () => {
  test("create: the fields set, the secret and sensitive header values masked, unset options left out", () => {
    const created = webhook({ headers: { Authorization: TOKEN, "X-Team": "ops" }, timeout_ms: 5000 });
    const changes = webhookChanges(null, created);
    expect(changes).toEqual({
      url: { before: null, after: "https://a.example/hook" },
      events: { before: null, after: ["*"] },
      description: { before: null, after: "" },
      status: { before: null, after: "active" },
      headers: { before: null, after: { Authorization: "********", "X-Team": "ops" } },
      timeout: { before: null, after: "5s" },
      ordering: { before: null, after: "none" },
      secret: { before: null, after: "********" },
    });
    expect(JSON.stringify(changes)).not.toContain(TOKEN);
    expect(JSON.stringify(changes)).not.toContain(SECRET);
  });

  test.each([
    ["the URL", { url: "https://b.example/hook" }, { url: { before: "https://a.example/hook", after: "https://b.example/hook" } }],
    ["status and events", { status: "disabled", events: ["a.b"] }, { events: { before: ["*"], after: ["a.b"] }, status: { before: "active", after: "disabled" } }],
    ["a filter, shown as the object", { filter: '{"type":"a.b"}' }, { filter: { before: null, after: { type: "a.b" } } }],
    ["bookkeeping only (updated_at, failure_count): nothing", { updated_at: 9, failure_count: 3 }, {}],
  ] as const)("PATCH of %s: only what changed", (_name, patch, expected) => {
    expect(webhookChanges(webhook(), webhook(patch as Partial<WebhookRecord>))).toEqual(expected as never);
  });

  test("PATCH of a sensitive header's value: recorded as changed, both values masked", () => {
    const before = webhook({ headers: { Authorization: "Bearer old-token-1" } });
    const after = webhook({ headers: { Authorization: TOKEN } });
    const changes = webhookChanges(before, after);
    expect(changes).toEqual({ headers: { before: { Authorization: "********" }, after: { Authorization: "********" } } });
  });

  test("a sensitive value repeated in another field is masked too", () => {
    const before = webhook({ headers: { "X-Api-Key": "k-0123456789" } });
    const after = webhook({ headers: { "X-Api-Key": "k-0123456789" }, description: "key is k-0123456789" });
    expect(webhookChanges(before, after)).toEqual({ description: { before: "", after: "********" } });
  });

  test("delete: every set field as before, after null, nothing secret", () => {
    const changes = webhookChanges(webhook({ headers: { Cookie: "session=abcdef" } }), null);
    expect(changes.url).toEqual({ before: "https://a.example/hook", after: null });
    expect(changes.secret).toEqual({ before: "********", after: null });
    expect(changes.headers).toEqual({ before: { Cookie: "********" }, after: null });
    expect(JSON.stringify(changes)).not.toContain("abcdef");
  });

  test("rotate: that the secret changed, never a value", () => {
    expect(ROTATED_SECRET).toEqual({ secret: { before: "********", after: "********" } });
  });
});

describe("resourceChanges", () => {
  test.each([
    ["create", null, resource(), { type: { before: null, after: "job" }, status: { before: null, after: "active" }, name: { before: null, after: "nightly" }, metadata: { before: null, after: { team: "ops" } } }],
    ["rename", resource(), resource({ name: "weekly", updated_at: 5 }), { name: { before: "nightly", after: "weekly" } }],
    ["delete", resource(), null, { type: { before: "job", after: null }, status: { before: "active", after: null }, name: { before: "nightly", after: null }, metadata: { before: { team: "ops" }, after: null } }],
  ] as const)("%s", (_name, before, after, expected) => {
    expect(resourceChanges(before, after)).toEqual(expected as never);
  });
});

describe("asked", () => {
  test("each given value as {before: null, after}; undefined ones left out, null kept", () => {
    expect(asked({ since: "2026-01-01T00:00:00.000Z", recovered: 3, webhook_id: undefined, delivery_id: null })).toEqual({
      since: { before: null, after: "2026-01-01T00:00:00.000Z" },
      recovered: { before: null, after: 3 },
      delivery_id: { before: null, after: null },
    });
  });
});

describe("auditEntry", () => {
  const request = { key: "ops", client_ip: "10.0.0.1", request_id: "req_1", method: "PATCH", path: "/v1/webhooks/wh_x" };

  test("carries the request's key, address, id, method and path, the target and the changes", () => {
    const changes = { url: { before: "a", after: "b" } };
    expect(auditEntry(request, 1234, "wh_x", changes, "aud_fixed")).toEqual({
      id: "aud_fixed", time: 1234, key: "ops", client_ip: "10.0.0.1", request_id: "req_1", method: "PATCH", path: "/v1/webhooks/wh_x", target_id: "wh_x", changes,
    });
  });

  test("makes a time-ordered aud_ id when none is given", () => {
    const first = auditEntry(request, 1, null, {}).id;
    const second = auditEntry(request, 1, null, {}).id;
    expect(isId(first, "aud")).toBe(true);
    expect(first < second).toBe(true);
  });
});

describe("pickFields", () => {
  const changes = { status: { before: "active", after: "disabled" }, description: { before: "a", after: "b" } };
  test.each([
    ["a PATCH of description keeps description only (a disable the scheduler made meanwhile is not the key's)", ["description"], { description: changes.description }],
    ["a named field that did not change is left out", ["url", "description"], { description: changes.description }],
    ["no names, no changes", [], {}],
    ["both named, both kept", ["status", "description"], changes],
  ])("%s", (_name, names, expected) => {
    expect(pickFields(changes, names)).toEqual(expected);
  });
});
