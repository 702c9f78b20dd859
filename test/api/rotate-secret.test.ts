import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as v from "valibot";
import { issuesToDetails } from "../../src/http/validation";
import { startTestServer, type TestServer } from "../support/test-server";

// Issue 14: an invalid rotate-secret `secret` answered two `details` entries for one problem (the pattern
// and a decoded-length check both failed). Every bad value now gets exactly one entry naming `secret`.

let server: TestServer;
let webhookId: string;
beforeAll(async () => {
  server = await startTestServer();
  webhookId = (await server.api("POST", "/v1/webhooks", { url: "https://example.com/hook", events: ["*"] })).body.data.id;
});
afterAll(() => server.stop());

describe("POST /v1/webhooks/:id/rotate-secret with a bad secret", () => {
  test.each([
    ["not whsec_", "hunter2"],
    ["too short", `whsec_${"A".repeat(31)}`],
    ["not base64", `whsec_${"!".repeat(40)}`],
    ["empty", ""],
    ["a number", 5],
    ["null", null],
  ])("%s: 422 with one details entry for secret", async (_name, secret) => {
    const answer = await server.api("POST", `/v1/webhooks/${webhookId}/rotate-secret`, { secret });
    expect(answer.status).toBe(422);
    expect(answer.body.error.code).toBe("invalid_request");
    expect(answer.body.error.details).toHaveLength(1);
    expect(answer.body.error.details[0].field).toBe("secret");
    expect(answer.body.error.details[0].code).toBe("invalid");
  });

  test("a good secret still rotates", async () => {
    const secret = `whsec_${Buffer.alloc(24, 7).toString("base64")}`;
    const answer = await server.api("POST", `/v1/webhooks/${webhookId}/rotate-secret`, { secret });
    expect(answer.status).toBe(200);
    expect(answer.body.data.secret).toBe(secret);
  });
});

describe("issuesToDetails", () => {
  test("keeps the first problem of each field: valibot runs every check of a pipe", () => {
    const schema = v.object({
      a: v.pipe(v.string(), v.minLength(5, "too short"), v.regex(/^x+$/, "only x")),
      b: v.pipe(v.string(), v.maxLength(1, "too long")),
    });
    const result = schema["~standard"].validate({ a: "yy", b: "zz" });
    const issues = "issues" in result && result.issues ? result.issues : [];
    expect(issues.length).toBe(3);
    expect(issuesToDetails(issues)).toEqual([
      { field: "a", code: "invalid", message: "too short" },
      { field: "b", code: "invalid", message: "too long" },
    ]);
  });
});
