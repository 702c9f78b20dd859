import { describe, expect, test } from "bun:test";
import { ipSetOf } from "../../src/net/cidr";
import { clientIp } from "../../src/net/client-ip";

const trusted = ipSetOf(["10.0.0.0/8", "fd00::/8"]);
const none = ipSetOf([]);

describe("clientIp", () => {
  test.each([
    ["plain IPv4 socket", "203.0.113.7", "203.0.113.7"],
    ["IPv4-mapped IPv6 socket", "::ffff:203.0.113.7", "203.0.113.7"],
    ["IPv6 socket, lower-cased", "2001:DB8::1", "2001:db8::1"],
    ["IPv6 socket with a zone id", "fe80::1%eth0", "fe80::1"],
  ])("answers the socket address when no header is sent: %s", (_name, socket, expected) => {
    expect(clientIp(socket, null, trusted)).toBe(expected);
  });

  test.each([
    ["spoofed single entry", "1.2.3.4"],
    ["spoofed chain", "1.2.3.4, 10.0.0.5"],
    ["garbage", "unknown"],
  ])("ignores X-Forwarded-For from an untrusted socket (%s), so spoofing does not help", (_name, xff) => {
    expect(clientIp("198.51.100.9", xff, trusted)).toBe("198.51.100.9");
  });

  test("ignores X-Forwarded-For entirely when no proxy is trusted", () => {
    expect(clientIp("10.0.0.1", "1.2.3.4", none)).toBe("10.0.0.1");
    expect(clientIp("::ffff:10.0.0.1", "1.2.3.4", none)).toBe("10.0.0.1");
  });

  test.each([
    ["one proxy hop", "10.0.0.1", "1.2.3.4", "1.2.3.4"],
    ["skips trusted hops from the right", "10.0.0.1", "1.2.3.4, 10.0.0.5", "1.2.3.4"],
    ["the first untrusted from the right wins, not the leftmost", "10.0.0.1", "6.6.6.6, 1.2.3.4, 10.0.0.5", "1.2.3.4"],
    ["several headers joined by commas", "10.0.0.1", "6.6.6.6,1.2.3.4,10.0.0.5", "1.2.3.4"],
    ["extra spaces and a trailing comma", "10.0.0.1", "  1.2.3.4 ,   10.0.0.5 , ", "1.2.3.4"],
    ["a trusted socket written as IPv4-mapped IPv6", "::ffff:10.0.0.1", "1.2.3.4", "1.2.3.4"],
    ["an IPv6 client", "10.0.0.1", "2001:db8::1", "2001:db8::1"],
    ["a bracketed IPv6 client with a port", "10.0.0.1", "[2001:db8::1]:443", "2001:db8::1"],
    ["a bracketed IPv6 client without a port", "10.0.0.1", "[2001:DB8::1]", "2001:db8::1"],
    ["an IPv4 client with a port", "10.0.0.1", "1.2.3.4:5678", "1.2.3.4"],
    ["an IPv4-mapped client", "10.0.0.1", "::ffff:1.2.3.4", "1.2.3.4"],
    ["a trusted IPv6 proxy hop is skipped", "fd00::1", "1.2.3.4, [fd00::2]:8080", "1.2.3.4"],
    ["all hops trusted: the leftmost", "10.0.0.1", "10.0.0.9, 10.0.0.5", "10.0.0.9"],
    ["garbage ends the walk at the last trusted hop", "10.0.0.1", "1.2.3.4, unknown, 10.0.0.5", "10.0.0.5"],
    ["garbage right after the socket: the socket", "10.0.0.1", "1.2.3.4, unknown", "10.0.0.1"],
    ["a hostname is garbage", "10.0.0.1", "evil.example, 10.0.0.5", "10.0.0.5"],
    ["an out-of-range port is garbage", "10.0.0.1", "1.2.3.4:123456", "10.0.0.1"],
    ["an empty header: the socket", "10.0.0.1", "", "10.0.0.1"],
  ])("believes X-Forwarded-For from a trusted proxy: %s", (_name, socket, xff, expected) => {
    expect(clientIp(socket, xff, trusted)).toBe(expected);
  });
});
