import { describe, expect, test } from "bun:test";
import { encodeBase32, isId, newId, type IdPrefix } from "../../src/ids";

describe("encodeBase32", () => {
  test.each([
    [[0], "00"],
    [[255], "7z"],
    [[0, 0, 0, 0, 0], "00000000"],
    [[255, 255, 255, 255, 255], "zzzzzzzz"],
    [[1], "01"],
  ])("%p -> %s", (bytes, expected) => {
    expect(encodeBase32(new Uint8Array(bytes))).toBe(expected);
  });

  test("keeps byte order: larger bytes sort later as strings", () => {
    const a = encodeBase32(new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]));
    const b = encodeBase32(new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16]));
    expect(a < b).toBe(true);
    expect(a).toHaveLength(26);
  });
});

describe("newId", () => {
  test.each(["wh", "evt", "res", "dlv", "att", "in", "aud"] as IdPrefix[])("%s ids carry their prefix and pass isId", (prefix) => {
    const id = newId(prefix);
    expect(id.startsWith(`${prefix}_`)).toBe(true);
    expect(id).toHaveLength(prefix.length + 1 + 26);
    expect(isId(id, prefix)).toBe(true);
  });

  test("ids made one after another are unique and sort in creation order", () => {
    const ids = Array.from({ length: 2000 }, () => newId("evt"));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  test.each([
    ["wh_", "wh"],
    ["evt_0000000000000000000000000", "evt"],
    ["wh_0000000000000000000000000u", "wh"],
    [`evt_${"0".repeat(26)}`, "wh"],
    ["wh_../../etc/passwd", "wh"],
  ] as [string, IdPrefix][])("isId rejects %s as %s", (value, prefix) => {
    expect(isId(value, prefix)).toBe(false);
  });
});
