import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { newSecret } from "../../src/api/webhook-view";
import { hexSignature, standardSignature } from "../../src/delivery/sign";
import { freePort, waitFor } from "../support/process";
import { type Received, type Receiver, startReceiver } from "../support/receiver";
import { startTestServer, type TestServer } from "../support/test-server";
import { DOCS_DIR, docSnippets, fillPlaceholders, startSnippet, where, type RunningSnippet, type Snippet } from "./snippets";

/**
 * Every `receiver` block of docs/receivers.md is a complete server a subscriber copies. Each one is run
 * behind a real hookd: hookd delivers to it through a forwarding proxy that records the exact bytes,
 * then the recorded delivery is replayed (dedupe), tampered with (signature) and, for Standard
 * Webhooks, re-signed with a stale timestamp (replay window).
 */

const PLACEHOLDER = "whsec_YOUR_ENDPOINT_SECRET";
const DELIVERY = 'require_https = false\nallow_targets = ["127.0.0.0/8"]';
const SCHEMES = ["hookd", "standard-webhooks"] as const;

const blocks = docSnippets("receivers.md");
// Blocks with `option=` belong to "Endpoint delivery options" and are run by delivery-options.test.ts.
const receivers = blocks.filter((s) => s.runnable && s.role === "receiver" && s.attrs.option === undefined);

/** Everything a test started, stopped in reverse order even when an assertion fails half-way. */
const cleanups: (() => Promise<unknown> | unknown)[] = [];
async function cleanUp(): Promise<void> {
  for (const stop of cleanups.splice(0).reverse()) {
    try {
      await stop();
    } catch {
      // already stopped
    }
  }
}
afterAll(cleanUp);

/** startForwarder is the recording proxy between hookd and a snippet: it forwards each request unchanged and answers with the snippet's answer. */
function startForwarder(target: string): Receiver {
  return startReceiver(async (request, _n, body) => {
    const headers = [...request.headers].filter(([name]) => name !== "host" && name !== "content-length");
    const answer = await fetch(`${target}${new URL(request.url).pathname}`, { method: request.method, headers, body, redirect: "manual" });
    return new Response(await answer.arrayBuffer(), {
      status: answer.status,
      headers: { "content-type": answer.headers.get("content-type") ?? "text/plain" },
    });
  });
}

/** send posts a (possibly altered) recorded delivery straight to the snippet, not through hookd. */
async function send(url: string, r: Received, headers = r.headers, body: string | Uint8Array<ArrayBuffer> = r.body): Promise<{ status: number; text: string }> {
  const { host: _host, "content-length": _length, ...forwarded } = headers;
  const answer = await fetch(`${url}${r.path}`, { method: "POST", headers: forwarded, body });
  return { status: answer.status, text: await answer.text() };
}

function occurrences(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

/** DeliveryView is the part of the API's delivery object these tests read. */
interface DeliveryView {
  id: string;
  status: string;
  attempts: number;
  last_status_code: number | null;
  last_response: string | null;
  last_error: string | null;
}

/** deliveryOf polls GET /v1/events/:id until its one delivery satisfies `done`; fails with everything known. */
async function deliveryOf(server: TestServer, eventId: string, done: (d: DeliveryView) => boolean, snippet: RunningSnippet, what: string) {
  let last: DeliveryView | undefined;
  try {
    await waitFor(async () => {
      const answer = await server.api("GET", `/v1/events/${eventId}`);
      last = answer.body?.data?.deliveries?.[0];
      return last !== undefined && done(last);
    }, 8000, what);
  } catch (error) {
    throw new Error(`${(error as Error).message}\ndelivery: ${JSON.stringify(last)}\nsnippet output:\n${snippet.output()}`);
  }
  return last!;
}

/** A receiver wired to a real hookd through the recording forwarder. */
interface Rig {
  server: TestServer;
  webhookId: string;
  secret: string;
  snippet: RunningSnippet;
  snippetUrl: string;
  forwarder: Receiver;
}

/** rig starts hookd, the forwarder and the snippet (with `secret` filled in, else the endpoint's own). */
async function rig(s: Snippet, secret?: (endpointSecret: string) => string): Promise<Rig> {
  const server = await startTestServer({ delivery: DELIVERY });
  cleanups.push(() => server.stop());
  const port = freePort();
  const snippetUrl = `http://127.0.0.1:${port}`;
  const forwarder = startForwarder(snippetUrl);
  cleanups.push(() => forwarder.stop());
  const created = await server.api("POST", "/v1/webhooks", { url: `${forwarder.url}/hook`, events: ["*"] });
  expect(created.status).toBe(201);
  const endpointSecret: string = created.body.data.secret;
  expect(endpointSecret).toMatch(/^whsec_/);
  const snippet = startSnippet(s, fillPlaceholders(s, { [PLACEHOLDER]: secret ? secret(endpointSecret) : endpointSecret }), { PORT: String(port) });
  cleanups.push(() => snippet.stop());
  try {
    // Any HTTP answer (405, 501) means the server is up; a refused connection throws and is polled again.
    await waitFor(async () => (await fetch(snippetUrl)).status > 0, 10_000, `${where(s)} to answer HTTP on ${snippetUrl}`);
  } catch (error) {
    throw new Error(`${(error as Error).message}\nsnippet output:\n${snippet.output()}`);
  }
  return { server, webhookId: created.body.data.id, secret: endpointSecret, snippet, snippetUrl, forwarder };
}

/**
 * publish sends `data` as raw JSON text: hookd delivers it byte for byte, so spacing, `1250.00`, a
 * 20-digit integer and a \u escape reach the receiver as written, and a receiver that verifies a
 * re-serialized body (JSON.stringify(JSON.parse(body)), json.dumps) no longer matches the signature.
 */
async function publish(server: TestServer, data: string): Promise<string> {
  const published = await server.api("POST", "/v1/events", `{"type": "invoice.paid", "data": ${data}}`);
  expect(published.status).toBe(202);
  expect(published.body.data.deliveries).toBe(1);
  return published.body.data.id;
}

describe("docs/receivers.md", () => {
  test("has the receivers it promises, and every runnable block is one this file runs", () => {
    expect(receivers.length).toBeGreaterThanOrEqual(4);
    for (const s of blocks.filter((b) => b.runnable)) {
      expect(s.role, where(s)).toBe("receiver");
      if (s.attrs.option !== undefined) continue;
      expect(SCHEMES as readonly string[], where(s)).toContain(s.attrs.scheme ?? "");
      expect(["python", "js"], where(s)).toContain(s.lang);
    }
    const has = (lang: string, scheme: string) => receivers.some((s) => s.lang === lang && s.attrs.scheme === scheme);
    expect(has("python", "hookd")).toBe(true);
    expect(has("js", "hookd")).toBe(true);
    expect(has("python", "standard-webhooks")).toBe(true);
    expect(receivers.some((s) => s.lang === "js" && s.attrs.scheme === "standard-webhooks" && /from "standardwebhooks"/.test(s.code))).toBe(true);
    // Code a reader might run is either tested or not code at all: no untested js/python blocks.
    for (const s of blocks.filter((b) => b.lang === "js" || b.lang === "python")) expect(s.runnable, where(s)).toBe(true);
    for (const s of receivers) expect(s.code, where(s)).toContain(PLACEHOLDER);
  });

  test("the example delivery's signatures verify with the example secret it names", () => {
    const text = readFileSync(join(DOCS_DIR, "receivers.md"), "utf8");
    const secret = /example secret\s+`(whsec_[A-Za-z0-9+/=]+)`/.exec(text)?.[1];
    expect(secret).toBeDefined();
    const example = blocks.find((b) => b.lang === "http" && b.code.startsWith("POST /hook "));
    expect(example).toBeDefined();
    const [head, body] = example!.code.replace(/\n$/, "").split("\n\n") as [string, string];
    const headers = Object.fromEntries(
      head.split("\n").slice(1).map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]),
    );
    expect(Number(headers["content-length"])).toBe(Buffer.byteLength(body));
    expect(headers["x-hookd-signature"]).toBe(hexSignature(secret!, body));
    expect(headers["webhook-id"]).toBe(JSON.parse(body).id);
    expect(headers["webhook-signature"]).toBe(standardSignature(secret!, headers["webhook-id"]!, Number(headers["webhook-timestamp"]), body));
  });

  test.each(receivers.map((s) => [where(s), s] as const))(
    "%s verifies, dedupes and rejects a tampered delivery behind a real hookd",
    async (_name, s) => {
      try {
        const { server, snippet, snippetUrl, forwarder, secret } = await rig(s);
        const out = snippet.output;

        // 1. A real delivery through hookd: delivered with a 2xx, processed once.
        const eventId = await publish(server, '{ "invoice_no": "INV-2025-1042", "amount": 1250.00, "currency": "EUR", "line_id": 12345678901234567890, "note": "Zahlung f\\u00fcr M\u00e4rz ✓" }');
        const delivered = await deliveryOf(server, eventId, (d) => d.status === "delivered" || d.attempts > 0, snippet, `${eventId} delivered`);
        expect(delivered.status, `${JSON.stringify(delivered)}\n${out()}`).toBe("delivered");
        expect(delivered.last_status_code).toBeGreaterThanOrEqual(200);
        expect(delivered.last_status_code).toBeLessThan(300);
        await waitFor(() => out().includes(eventId), 5000, `${where(s)} to print ${eventId}`);
        const recorded = forwarder.requests.filter((r) => r.headers["webhook-id"] === eventId);
        expect(recorded).toHaveLength(1);
        const original = recorded[0]!;
        // The premise of the raw-body check: what arrived is not what re-serializing would produce.
        const arrived = original.body;
        expect(arrived).toContain('"amount": 1250.00');
        expect(JSON.stringify(JSON.parse(arrived))).not.toBe(arrived);

        // 2. The same bytes again (a retry, a recover, a lost 2xx): 2xx, not processed again.
        const replay = await send(snippetUrl, original);
        expect(replay.status, replay.text).toBeGreaterThanOrEqual(200);
        expect(replay.status, replay.text).toBeLessThan(300);

        // 3. One body byte changed ("1250.00" → "9250.00", still valid JSON, same id): rejected before dedupe.
        const tampered = new TextEncoder().encode(original.body);
        const at = Buffer.from(tampered).indexOf("1250.00");
        expect(at).toBeGreaterThan(0);
        tampered[at] = "9".charCodeAt(0);
        const forged = await send(snippetUrl, original, original.headers, tampered);
        expect([400, 401], `tampered body answered ${forged.status} ${forged.text}`).toContain(forged.status);

        const text = original.body;
        let freshId = "";
        let staleId = "";
        if (s.attrs.scheme === "standard-webhooks") {
          // Control: our own signature with a fresh id and the current time is accepted, so the next
          // rejection is the timestamp's doing and not a signing mistake here.
          freshId = `msg_fresh_${crypto.randomUUID()}`;
          const now = Math.floor(Date.now() / 1000);
          const fresh = await send(snippetUrl, original, {
            ...original.headers,
            "webhook-id": freshId,
            "webhook-timestamp": String(now),
            "webhook-signature": standardSignature(secret, freshId, now, text),
          });
          expect(fresh.status, fresh.text).toBeGreaterThanOrEqual(200);
          expect(fresh.status, fresh.text).toBeLessThan(300);

          // 4. Correctly signed but 10 minutes old, with an id never seen: outside the replay window.
          staleId = `msg_stale_${crypto.randomUUID()}`;
          const then = now - 600;
          const stale = await send(snippetUrl, original, {
            ...original.headers,
            "webhook-id": staleId,
            "webhook-timestamp": String(then),
            "webhook-signature": standardSignature(secret, staleId, then, text),
          });
          expect([400, 401], `10-minute-old timestamp answered ${stale.status} ${stale.text}`).toContain(stale.status);
        }

        // Barrier: a second event through hookd is processed after anything the requests above queued
        // (one worker, first in first out), so counting now sees every processing they caused.
        const second = await publish(server, '{"invoice_no": "INV-2025-1043", "amount": 99.90}');
        await deliveryOf(server, second, (d) => d.status === "delivered", snippet, `${second} delivered`);
        await waitFor(() => out().includes(second), 5000, `${where(s)} to print ${second}`);

        expect(occurrences(out(), eventId), out()).toBe(1);
        expect(occurrences(out(), second), out()).toBe(1);
        if (freshId) expect(occurrences(out(), freshId), out()).toBe(1);
        if (staleId) expect(out()).not.toContain(staleId);
      } finally {
        await cleanUp();
      }
    },
    20_000,
  );

  // The checks above can fail: a receiver holding another secret answers 401, hookd records the
  // attempt as failed with that status and the receiver's reason, and nothing is processed.
  test.each(SCHEMES.map((scheme) => [scheme, receivers.find((s) => s.attrs.scheme === scheme && s.lang === "python")] as const))(
    "a %s receiver with the wrong secret makes hookd record a failed attempt",
    async (_scheme, s) => {
      expect(s).toBeDefined();
      try {
        const { server, snippet } = await rig(s!, () => newSecret());
        const eventId = await publish(server, '{"invoice_no": "INV-2025-1044"}');
        const failed = await deliveryOf(server, eventId, (d) => d.attempts > 0, snippet, `${eventId} attempted`);
        expect(failed.status).toBe("failed");
        expect([400, 401]).toContain(failed.last_status_code!);
        expect(failed.last_response).toContain("invalid");
        expect(snippet.output()).not.toContain(eventId);
      } finally {
        await cleanUp();
      }
    },
    20_000,
  );
});
