// The dashboard's reading of X-Hookd-Key-Scopes: what it offers each kind of key (SPEC §14).
import { describe, expect, test } from "bun:test";
import { abilities, parseScopes } from "../../src/ui/key-scopes";

describe("parseScopes", () => {
  test.each([
    ["admin", ["admin"]],
    ["read,publish", ["read", "publish"]],
    [" publish , read ", ["read", "publish"]],
    ["read,bogus", ["read"]],
    ["", []],
  ])("%p → %j", (header, scopes) => {
    expect(parseScopes(header)).toEqual(scopes as never);
  });

  test("no header is null, so an answer without it changes nothing", () => {
    expect(parseScopes(null)).toBeNull();
  });
});

describe("abilities", () => {
  test.each([
    [["admin"], { read: true, change: true, audit: true, publishOnly: false }],
    [["read"], { read: true, change: false, audit: false, publishOnly: false }],
    [["publish"], { read: false, change: false, audit: false, publishOnly: true }],
    [["read", "publish"], { read: true, change: false, audit: false, publishOnly: false }],
    [["publish", "admin"], { read: true, change: true, audit: true, publishOnly: false }],
  ])("%j → %j", (scopes, expected) => {
    expect(abilities(scopes as never)).toEqual(expected);
  });
});
