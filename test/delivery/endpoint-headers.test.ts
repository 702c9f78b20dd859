import { afterEach, describe, expect, it } from "bun:test";
import { attemptDelivery, type DispatchSettings } from "../../src/delivery/dispatcher.ts";
import { isReservedHeader, mergeHeaders } from "../../src/delivery/headers.ts";
import { staticResolver } from "../../src/delivery/resolver.ts";
import { createSender } from "../../src/delivery/sender.ts";
import { ipSetOf } from "../../src/net/cidr.ts";
import type { ClaimedDelivery } from "../../src/storage/types.ts";
import { FakeClock } from "../support/fake-clock.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

const OWN = { "Content-Type": "application/json", "User-Agent": "hookd/1", "X-Hookd-Delivery": "dlv_1", "webhook-id": "evt_1" };

describe("mergeHeaders", () => {
  it.each([
    ["keeps custom headers, before hookd's own", { "X-Tenant": "acme", Accept: "text/plain" }, { "X-Tenant": "acme", Accept: "text/plain", ...OWN }],
    ["lets hookd's own win over the same name in any case", { "content-type": "text/xml", "user-agent": "spoof", "X-HOOKD-DELIVERY": "x" }, OWN],
    ["drops reserved names even when hookd does not set them", { Host: "evil", "Content-Length": "1", Connection: "close", "Transfer-Encoding": "chunked", TE: "x", Upgrade: "h2c", "Content-Encoding": "gzip", "X-Hookd-Sequence": "9", "webhook-signature": "v1,x" }, OWN],
    ["drops names that are not tokens and values with CR/LF", { "Bad Name": "x", "X-Ok": "fine", "X-Split": "a\r\nX-Injected: 1" }, { "X-Ok": "fine", ...OWN }],
  ])("%s", (_name, custom, expected) => {
    const merged = mergeHeaders(custom as Record<string, string>, OWN);
    expect(merged).toEqual(expected);
    expect(Object.keys(merged)).toEqual(Object.keys(expected));
  });

  it("treats null as no custom headers", () => expect(mergeHeaders(null, OWN)).toEqual(OWN));

  it.each(["Host", "x-hookd-anything", "Webhook-Id", "user-agent"])("%s is reserved", (name) => expect(isReservedHeader(name)).toBe(true));
  it.each(["Authorization", "X-Api-Key", "Accept"])("%s is not reserved", (name) => expect(isReservedHeader(name)).toBe(false));
});

function receiver(delayMs = 0) {
  const seen: Headers[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1", port: 0, idleTimeout: 10,
    async fetch(req) {
      seen.push(req.headers);
      if (delayMs > 0) await Bun.sleep(delayMs);
      return new Response("ok");
    },
  });
  cleanups.push(() => server.stop(true));
  return { seen, url: `http://127.0.0.1:${server.port}/hook` };
}

function claimed(url: string, over: Partial<ClaimedDelivery> = {}): ClaimedDelivery {
  return {
    id: "dlv_1", event_id: "evt_1", event_type: "order.created", webhook_id: "wh_1", url, secrets: ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    body: '{"a":1}', attempts: 0, schedule_attempts: 0, sequence: null, headers: null, timeout_ms: null, client_tls: null, oauth2: null, transform: null, content_type: null, source: null, lease: "l1", ...over,
  };
}

const settings: DispatchSettings = { timeoutMs: 5000, retrySchedule: [1000], userAgent: "hookd-test", random: () => 0 };

function send() {
  const s = createSender({ resolver: staticResolver({}), policy: { requireHttps: false, allowTargets: ipSetOf(["127.0.0.0/8"]) } });
  cleanups.push(() => s.close());
  return (req: Parameters<typeof s.send>[0]) => s.send(req);
}

describe("attemptDelivery with endpoint options", () => {
  it("sends the endpoint's headers with hookd's own, which win", async () => {
    const r = receiver();
    const headers = { "X-Tenant": "acme", Authorization: "Bearer static", "Content-Type": "text/plain", "webhook-id": "forged" };
    const out = await attemptDelivery(claimed(r.url, { headers }), send(), new FakeClock(), settings);
    expect(out.ok).toBe(true);
    const got = r.seen[0]!;
    expect([got.get("x-tenant"), got.get("authorization"), got.get("content-type"), got.get("webhook-id"), got.get("user-agent")])
      .toEqual(["acme", "Bearer static", "application/json", "evt_1", "hookd-test"]);
    expect(got.get("x-hookd-sequence")).toBeNull();
  });

  it("carries X-Hookd-Sequence on every attempt of a FIFO delivery", async () => {
    const r = receiver();
    const s = send();
    await attemptDelivery(claimed(r.url, { sequence: 7 }), s, new FakeClock(), settings);
    await attemptDelivery(claimed(r.url, { sequence: 7, attempts: 1, schedule_attempts: 1 }), s, new FakeClock(), settings);
    expect(r.seen.map((h) => h.get("x-hookd-sequence"))).toEqual(["7", "7"]);
  });

  it("uses the endpoint's timeout instead of [delivery] timeout", async () => {
    const r = receiver(2000);
    const s = send();
    const short = await attemptDelivery(claimed(r.url, { timeout_ms: 1000 }), s, new FakeClock(), settings);
    expect(short).toMatchObject({ ok: false, statusCode: null, error: "timeout after 1000 ms" });
    expect(short.durationMs).toBeLessThan(1800);
    const defaulted = await attemptDelivery(claimed(r.url), s, new FakeClock(), settings);
    expect(defaulted).toMatchObject({ ok: true, statusCode: 200 });
  });
});
