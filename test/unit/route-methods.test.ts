import { describe, expect, test } from "bun:test";
import { allowedMethods } from "../../src/http/route-methods";

const routes = [
  { method: "GET", path: "/v1/webhooks" },
  { method: "POST", path: "/v1/webhooks" },
  { method: "GET", path: "/v1/webhooks/:id" },
  { method: "PATCH", path: "/v1/webhooks/:id" },
  { method: "POST", path: "/v1/webhooks/:id/test" },
  { method: "GET", path: "/ui/*" },
  { method: "ALL", path: "/v1/*" },
];

describe("allowedMethods", () => {
  test.each([
    ["/v1/webhooks", ["GET", "POST"]],
    ["/v1/webhooks/", ["GET", "POST"]],
    ["/v1/webhooks/wh_1", ["GET", "PATCH"]],
    ["/v1/webhooks/wh_1/test", ["POST"]],
    ["/v1/webhooks//test", []],
    ["/v1/webhooks/wh_1/test/more", []],
    ["/ui/app.js", ["GET"]],
    ["/v1/nothing", []],
    ["/", []],
  ])("%s → %j", (path, expected) => {
    expect(allowedMethods(routes, path)).toEqual(expected);
  });
});
