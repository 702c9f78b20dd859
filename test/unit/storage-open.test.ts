import { describe, expect, test } from "bun:test";
import { withoutPassword } from "../../src/storage/open";

// A driver's error may quote the URL or its password; openStorage's messages go to the journal and stderr.

describe("withoutPassword", () => {
  const url = "postgres://hookd:s3cr%40t-pw@db.internal:5432/hookd?sslpassword=key-pass&sslmode=require";
  test.each([
    [`connect failed: ${url}`, "connect failed: postgres://hookd:********@db.internal:5432/hookd?sslpassword=********&sslmode=require"],
    ["password authentication failed for user hookd (tried s3cr@t-pw)", "password authentication failed for user hookd (tried ********)"],
    ["raw s3cr%40t-pw and key-pass", "raw ******** and ********"],
    ["ECONNREFUSED 10.0.0.5:5432", "ECONNREFUSED 10.0.0.5:5432"],
  ])("%p → %p", (message, shown) => {
    expect(withoutPassword(message, url)).toBe(shown);
  });

  test("a URL without a password leaves the message alone", () => {
    expect(withoutPassword("no such database hookd", "postgres://hookd@db/hookd")).toBe("no such database hookd");
  });
});
