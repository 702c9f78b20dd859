import { describe, expect, test } from "bun:test";
import { ApiKeyVerifier, hashApiKey } from "../../src/security/api-keys";

describe("hashApiKey", () => {
  test("is sha256: + the hex digest (known answer)", () => {
    expect(hashApiKey("abc")).toBe("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });
});

describe("ApiKeyVerifier", () => {
  const verifier = new ApiKeyVerifier([
    { name: "ops", hash: hashApiKey("ops-key-0123456789") },
    { name: "ci", hash: hashApiKey("ci-key-0123456789") },
  ]);
  test.each([
    ["Bearer ops-key-0123456789", "ops"],
    ["bearer ci-key-0123456789", "ci"],
    ["Bearer   ops-key-0123456789 ", "ops"],
    ["Bearer ops-key-012345678", null],
    ["Bearer ops-key-0123456789x", null],
    ["Basic ops-key-0123456789", null],
    ["ops-key-0123456789", null],
    ["Bearer", null],
    ["Bearer a b", null],
    ["", null],
  ])("%p -> %p", (header, expected) => {
    expect(verifier.verify(header)?.name ?? null).toBe(expected);
  });
  test("no header, no key", () => {
    expect(verifier.verify(null)).toBeNull();
  });
  test("with no keys configured nothing passes", () => {
    expect(new ApiKeyVerifier([]).verify("Bearer anything")).toBeNull();
    expect(new ApiKeyVerifier([]).configured).toBe(false);
  });
});
