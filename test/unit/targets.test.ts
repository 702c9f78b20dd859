import { describe, expect, test } from "bun:test";
import { ipSetOf } from "../../src/net/cidr.ts";
import {
  checkEndpointUrl,
  isAllowedAddress,
  isBlockedAddress,
  type TargetPolicy,
  type TargetProblemCode,
} from "../../src/security/targets.ts";

const policy = (allow: string[] = [], requireHttps = false): TargetPolicy => ({
  requireHttps,
  allowTargets: ipSetOf(allow),
});

describe("isBlockedAddress", () => {
  test.each([
    // IPv4 special-purpose ranges
    ["0.0.0.0"],
    ["0.1.2.3"],
    ["10.0.0.1"],
    ["100.64.0.1"],
    ["100.127.255.255"],
    ["127.0.0.1"],
    ["127.255.255.254"],
    ["169.254.169.254"],
    ["172.16.0.1"],
    ["172.31.255.255"],
    ["192.0.0.8"],
    ["192.0.2.1"],
    ["192.88.99.1"],
    ["192.168.1.1"],
    ["198.18.0.1"],
    ["198.19.255.255"],
    ["198.51.100.7"],
    ["203.0.113.9"],
    ["224.0.0.1"],
    ["239.255.255.250"],
    ["240.0.0.1"],
    ["255.255.255.255"],
    // IPv6 special-purpose ranges
    ["::"],
    ["::1"],
    ["[::1]"],
    ["0:0:0:0:0:0:0:1"],
    ["100::1"],
    ["64:ff9b:1::1"],
    ["2001::1"],
    ["2001:1ff::1"],
    ["2001:db8::1"],
    ["3fff::1"],
    ["5f00::1"],
    ["fc00::1"],
    ["fd12:3456::1"],
    ["fe80::1"],
    ["FE80::1"],
    ["fe80::1%eth0"],
    ["[fe80::1%25eth0]"],
    ["fec0::1"],
    ["ff02::1"],
    // IPv4 embedded in IPv6
    ["::ffff:127.0.0.1"],
    ["::ffff:7f00:1"],
    ["0:0:0:0:0:ffff:10.0.0.1"],
    ["::127.0.0.1"],
    ["::7f00:1"],
    ["::a9fe:a9fe"],
    ["64:ff9b::a00:1"],
    ["64:ff9b::10.0.0.1"],
    ["64:ff9b::169.254.169.254"],
    ["2002:7f00:1::1"],
    ["2002:a00:1:1234::abcd"],
    ["2002:c0a8:101::"],
  ])("%s is blocked", (ip) => {
    expect(isBlockedAddress(ip)).toBe(true);
  });

  test.each([
    ["8.8.8.8"],
    ["1.1.1.1"],
    ["9.255.255.255"],
    ["11.0.0.0"],
    ["100.63.255.255"],
    ["100.128.0.0"],
    ["172.15.255.255"],
    ["172.32.0.0"],
    ["192.0.1.1"],
    ["198.17.255.255"],
    ["198.20.0.0"],
    ["223.255.255.255"],
    ["2606:4700::1111"],
    ["2001:4860:4860::8888"],
    ["2001:200::1"], // just past 2001::/23
    ["::ffff:8.8.8.8"],
    ["::ffff:808:808"],
    ["::8.8.8.8"],
    ["64:ff9b::8.8.8.8"],
    ["2002:808:808::1"],
    // not an IP at all
    ["example.com"],
    ["localhost"],
    [""],
    ["127.1"],
    ["::ffff:999.0.0.1"],
  ])("%s is not blocked", (ip) => {
    expect(isBlockedAddress(ip)).toBe(false);
  });
});

describe("isAllowedAddress", () => {
  test.each<[string, string[], boolean]>([
    ["8.8.8.8", [], true],
    ["2606:4700::1111", [], true],
    ["::ffff:8.8.8.8", [], true],
    ["10.0.0.1", [], false],
    ["10.0.0.1", ["10.0.0.0/8"], true],
    ["10.0.0.1", ["10.0.0.2/32"], false],
    ["::ffff:10.0.0.1", [], false],
    ["::ffff:10.0.0.1", ["10.0.0.0/8"], true],
    ["::ffff:a00:1", ["10.0.0.0/8"], true],
    ["127.0.0.1", ["127.0.0.0/8"], true],
    ["::1", ["127.0.0.0/8"], false],
    ["::1", ["::1/128"], true],
    ["fd00::5", ["fd00::/8"], true],
    ["fe80::1%eth0", ["fe80::/10"], true],
    ["2002:7f00:1::1", ["127.0.0.0/8"], false], // 6to4 is a different socket; list it explicitly
    ["2002:7f00:1::1", ["2002:7f00:1::/48"], true],
    ["not-an-ip", [], false], // fail closed
    ["", ["0.0.0.0/0"], false],
  ])("%s with allow %j → %p", (ip, allow, expected) => {
    expect(isAllowedAddress(ip, policy(allow))).toBe(expected);
  });
});

describe("checkEndpointUrl", () => {
  // [url, allowTargets that make it acceptable]
  const refused: [string, string[]][] = [
    ["http://127.0.0.1/", ["127.0.0.0/8"]],
    ["http://127.1/", ["127.0.0.0/8"]],
    ["http://localhost./", ["127.0.0.0/8"]],
    ["http://localhost/", ["::1/128"]],
    ["http://LocalHost:8080/x", ["127.0.0.1"]],
    ["http://api.localhost/", ["127.0.0.0/8"]],
    ["http://api.localhost./", ["::1"]],
    ["http://[::1]/", ["::1/128"]],
    ["http://2130706433/", ["127.0.0.0/8"]],
    ["http://0x7f000001/", ["127.0.0.0/8"]],
    ["http://0177.0.0.1/", ["127.0.0.0/8"]],
    ["http://127.0.0.1./", ["127.0.0.0/8"]],
    ["http://[::ffff:127.0.0.1]/", ["127.0.0.0/8"]],
    ["http://[::127.0.0.1]/", ["::/96"]],
    ["http://[2002:7f00:1::1]/", ["2002::/16"]],
    ["http://[64:ff9b::a00:1]/", ["64:ff9b::/96"]],
    ["http://169.254.169.254/latest/meta-data", ["169.254.0.0/16"]],
    ["http://10.0.0.1/", ["10.0.0.0/8"]],
    ["http://192.168.1.1/", ["192.168.0.0/16"]],
    ["http://100.64.0.1/", ["100.64.0.0/10"]],
    ["http://0.0.0.0/", ["0.0.0.0/8"]],
    ["http://0/", ["0.0.0.0/8"]],
    ["http://4294967295/", ["255.255.255.255"]],
    ["http://[fd00::1]:9000/", ["fc00::/7"]],
  ];

  test.each(refused)("%s is target_blocked with empty allow_targets", (url) => {
    const problems = checkEndpointUrl(url, policy());
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ field: "url", code: "target_blocked" });
    expect(problems[0]!.message).toContain("allow_targets");
  });

  test.each(refused)("%s is accepted when allow_targets has %j", (url, allow) => {
    expect(checkEndpointUrl(url, policy(allow))).toEqual([]);
  });

  test.each<[string, string[], string]>([
    ["http://user:pw@example.com/", [], "URL must not contain credentials"],
    ["http://user@example.com/", [], "URL must not contain credentials"],
    ["http://:pw@example.com/", [], "URL must not contain credentials"],
    ["http://user:pw@10.0.0.1/", ["10.0.0.0/8"], "URL must not contain credentials"],
  ])("%s is refused for credentials even with allow %j", (url, allow, message) => {
    expect(checkEndpointUrl(url, policy(allow))).toEqual([{ field: "url", code: "target_blocked", message }]);
  });

  test.each<[string, boolean]>([
    ["https://example.com/hook", true],
    ["https://example.com/hook", false],
    ["http://example.com/", false],
    ["HTTPS://Example.COM:8443/a?b=c", true],
    ["https://8.8.8.8/", true],
    ["https://[2606:4700::1111]/", true],
    ["https://[::ffff:8.8.8.8]/", true],
    ["https://127.0.0.1.nip.io/", true], // a DNS name: checked at send time
    ["https://localhost.example.com/", true],
    ["https://mylocalhost/", true],
  ])("%s is fine (requireHttps=%p)", (url, requireHttps) => {
    expect(checkEndpointUrl(url, policy([], requireHttps))).toEqual([]);
  });

  test.each<[string, boolean, TargetProblemCode[]]>([
    ["http://example.com/", true, ["https_required"]],
    ["http://10.0.0.1/", true, ["https_required", "target_blocked"]],
    ["http://u:p@localhost/", true, ["target_blocked", "https_required", "target_blocked"]],
    ["ftp://x", false, ["invalid_url"]],
    ["file:///etc/passwd", false, ["invalid_url"]],
    ["javascript:alert(1)", false, ["invalid_url"]],
    ["not a url", false, ["invalid_url"]],
    ["", false, ["invalid_url"]],
    ["/relative/hook", false, ["invalid_url"]],
    ["http://[fe80::1%25eth0]/", false, ["invalid_url"]], // WHATWG URL rejects zone ids
    ["http://4294967296/", false, ["invalid_url"]],
  ])("%s (requireHttps=%p) → %j", (url, requireHttps, codes) => {
    const problems = checkEndpointUrl(url, policy([], requireHttps));
    expect(problems.map((p) => p.code)).toEqual(codes);
    for (const p of problems) expect(p.field).toBe("url");
  });

  test.each<[string, string]>([
    ["http://10.0.0.1/", "host 10.0.0.1 is in a blocked range (private); add it to [delivery] allow_targets to allow it"],
    ["http://169.254.169.254/", "link-local"],
    ["http://100.64.0.1/", "CGNAT"],
    ["http://2130706433/", "host 127.0.0.1 is in a blocked range (loopback)"],
    ["http://[::ffff:10.0.0.1]/", "IPv4-mapped of 10.0.0.1: private"],
    ["http://[2002:7f00:1::1]/", "6to4 of 127.0.0.1: loopback"],
    ["http://[64:ff9b::a9fe:a9fe]/", "NAT64 of 169.254.169.254: link-local"],
    ["http://localhost/", "host localhost is loopback"],
  ])("message for %s mentions %p", (url, fragment) => {
    const [p] = checkEndpointUrl(url, policy());
    expect(p?.message).toContain(fragment);
  });
});

describe("review regressions", () => {
  const open = { requireHttps: false, allowTargets: ipSetOf([]) };
  test.each(["http://localhost../", "http://LOCALHOST.../x", "http://[::ffff:0:7f00:1]/", "http://[::ffff:0:a00:1]/"])("%s is target_blocked", (url) => {
    expect(checkEndpointUrl(url, open).map((p) => p.code)).toEqual(["target_blocked"]);
  });
});
