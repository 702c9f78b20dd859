import { expect } from "bun:test";
import { createHmac, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import jsonata from "jsonata";
import { waitFor } from "../support/process";
import { type Received, type Receiver, startReceiver } from "../support/receiver";
import { startTestServer, type TestServer } from "../support/test-server";
import { admin, type Cleanups, DELIVERY } from "./option-rig";
import { DOCS_DIR, docSnippets, fillPlaceholders, runSnippet, type Snippet, where } from "./snippets";

// Shared by test/docs/routing*.test.ts: the blocks of docs/routing.md (`<lang> test routing example=<name>
// [step=<step>]`), a real hookd with the guide's [[sources]] entry, and the events the guide shows, posted
// to it as its sender would.

/** text is docs/routing.md; guide its blocks. */
export const text = readFileSync(join(DOCS_DIR, "routing.md"), "utf8");
export const guide = docSnippets("routing.md");

/** The placeholders and names the guide's blocks use. */
export const DELIVERY_ID = "dlv_01m84at9wqeedbewa44wg8btp8";
export const EVENT_ID = "evt_01m84at9wpedw9xzmc0ga4yynt";
export const SOURCE = "psft-payroll";

/** block is the one runnable block of `example` (and `step`) in `lang`; it fails unless there is exactly one. */
export function block(example: string, step: string | undefined, lang: string): Snippet {
  const found = guide.filter((s) => s.runnable && s.role === "routing" && s.attrs.example === example && s.attrs.step === step && s.lang === lang);
  expect(found.map(where), `exactly one ${lang} block with example=${example}${step ? ` step=${step}` : ""}`).toHaveLength(1);
  return found[0]!;
}

/** after is the first block in `lang` after `s`: what the guide prints for it. */
export function after(s: Snippet, lang: string): Snippet {
  const next = guide.find((b) => b.line > s.line && b.lang === lang);
  expect(next, `a ${lang} block after ${where(s)}`).toBeDefined();
  return next!;
}

/** HttpExample is a printed request: its path, headers (lower-case names) and body. */
export function httpExample(s: Snippet): { path: string; headers: Record<string, string>; body: string } {
  const [head, ...rest] = s.code.replace(/\n$/, "").split("\n\n");
  const [requestLine, ...headerLines] = head!.split("\n");
  const path = /^POST (\S+) HTTP\/1\.1$/.exec(requestLine!)?.[1];
  expect(path, `${where(s)} starts with a POST request line`).toBeDefined();
  const headers = Object.fromEntries(headerLines.map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]));
  return { path: path!, headers, body: rest.join("\n\n") };
}

/** configBlock is the guide's [[sources]] entry; the tests run it as printed but for allow_ips (they post from 127.0.0.1) and a fresh secret. */
export const configBlock = guide.find((s) => s.runnable && s.role === "config" && s.lang === "toml")!;
const SECRET = `hmac secret ${randomBytes(8).toString("hex")}`;

/** sourcesSections is the test server's config: the guide's sources, so adjusted, and delivery to 127.0.0.1. */
export function sourcesSections(): { sections: Record<string, string>; env: Record<string, string> } {
  const parsed = Bun.TOML.parse(configBlock.code) as { sources: Record<string, unknown>[] };
  const sections: Record<string, string> = { delivery: DELIVERY };
  const env: Record<string, string> = {};
  parsed.sources.forEach((entry, i) => {
    sections[`[[sources]] # ${i}`] = Object.entries(entry)
      .map(([key, value]) => {
        if (key === "allow_ips") return 'allow_ips = ["127.0.0.1/32"]';
        if (key === "secret_env") env[String(value)] = SECRET;
        return `${key} = ${JSON.stringify(value)}`;
      })
      .join("\n");
  });
  return { sections, env };
}

/** hookd starts a real hookd with the guide's sources, stopped by `cleanups`. */
export async function hookd(cleanups: Cleanups): Promise<TestServer> {
  const { sections, env } = sourcesSections();
  const server = await startTestServer(sections, { env });
  cleanups.add(() => server.stop());
  return server;
}

/** receiver starts a 127.0.0.1 receiver answering 200, stopped by `cleanups`. */
export function receiver(cleanups: Cleanups): Receiver {
  const r = startReceiver();
  cleanups.add(() => r.stop());
  return r;
}

/** ERP_EVENT is the ERP event the guide prints; erpEvent is it (or a variant) as a sender posts it, on one line. */
export const ERP_EVENT: Record<string, unknown> = JSON.parse(guide.find((s) => s.lang === "json" && s.code.includes('"connector_id"'))!.code);
export const erpEvent = (changes: Record<string, unknown> = {}) => JSON.stringify({ ...ERP_EVENT, ...changes });

/** post sends one ERP event to the guide's source, signed as the source's auth asks, and returns its event id. */
export async function post(server: TestServer, body: string): Promise<string> {
  const signature = createHmac("sha256", SECRET).update(body).digest("hex");
  const answer = await fetch(`${server.url}/in/${SOURCE}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-hookd-signature": `sha256=${signature}` },
    body,
  });
  const text = await answer.text();
  expect(answer.status, text).toBe(200);
  return JSON.parse(text).id;
}

/** arrived waits until `r` got the delivery of `eventId` and returns it. */
export async function arrived(r: Receiver, eventId: string): Promise<Received> {
  await waitFor(() => r.requests.some((q) => q.headers["webhook-id"] === eventId), 8000, `the delivery of ${eventId} to ${r.url}`);
  const got = r.requests.filter((q) => q.headers["webhook-id"] === eventId);
  expect(got).toHaveLength(1);
  return got[0]!;
}

/** deliveryCount is how many deliveries hookd created for an event. */
export async function deliveryCount(server: TestServer, eventId: string): Promise<number> {
  const event = await server.api("GET", `/v1/events/${eventId}`);
  expect(event.status, event.text).toBe(200);
  return event.body.data.deliveries.length;
}

/** create runs a create block with its endpoint URL pointed at `r` and returns the answer's data. */
export async function create(server: TestServer, s: Snippet, url: string, r: Receiver, values: Record<string, string> = {}): Promise<any> {
  const answer = await admin(server, s, { [url]: r.url, ...values });
  expect(answer.data?.id, JSON.stringify(answer)).toMatch(/^wh_/);
  return answer.data;
}

/** transformInput is what filters and transforms see for an ERP event from the guide's source. */
const transformInput = (data: unknown) => ({ id: EVENT_ID, type: "integration.failed", created_at: "2026-11-23T13:51:35.318Z", data, source: SOURCE });

/** sameExpression checks that the expression the guide shows and the one its curl stored give the same result. */
export async function sameExpression(shown: Snippet, stored: string, data: unknown): Promise<void> {
  const input = transformInput(data);
  const expected = await jsonata(shown.code).evaluate(input);
  expect(expected, `${where(shown)} gives a result`).toBeDefined();
  expect(await jsonata(stored).evaluate(input)).toEqual(expected);
}

/** runAll runs a block that makes several calls and returns each JSON answer it printed. */
export async function runAll(server: TestServer, s: Snippet, values: Record<string, string>): Promise<any[]> {
  const run = await runSnippet(s, fillPlaceholders(s, values), { HOOKD: server.url, HOOKD_API_KEY: server.key });
  expect({ exit: run.code, stderr: run.stderr }, where(s)).toEqual({ exit: 0, stderr: "" });
  return JSON.parse(`[${run.stdout.trim().replace(/}\s*{/g, "},{")}]`);
}
