import { expect } from "bun:test";
import { freePort, waitFor } from "../support/process";
import type { TestServer } from "../support/test-server";
import { docSnippets, fillPlaceholders, runSnippet, startSnippet, where, type RunningSnippet, type Snippet } from "./snippets";

// Shared by the test/docs/option-*.test.ts files: the runnable blocks of docs/receivers.md's "Endpoint
// delivery options" (`<lang> test receiver option=<name> [step=<step>]`) and how to run them.

/** The placeholders the option blocks use; each test fills in the ones a block must contain. */
export const HOST = "https://hookd.example.com";
export const API_KEY = "your-admin-api-key";
export const WEBHOOK_ID = "wh_01m84at9wke10bhas65jxr220g";
export const ENDPOINT_SECRET = "whsec_YOUR_ENDPOINT_SECRET";
export const ENDPOINT_URL = "https://erp-bridge.example/hook";

/** DELIVERY lets hookd deliver to the 127.0.0.1 receivers of the tests. */
export const DELIVERY = 'require_https = false\nallow_targets = ["127.0.0.0/8"]';

/** OPTIONS are the options the guide must show, one section each. */
export const OPTIONS = ["headers", "timeout", "rate_limit", "ordering", "client_tls", "oauth2"] as const;

export const guide = docSnippets("receivers.md");

/** optionBlock is the one runnable block of `option` in `lang` (and `step`, when given); it fails unless there is exactly one. */
export function optionBlock(option: string, lang: string, step?: string): Snippet {
  const found = guide.filter((s) => s.runnable && s.attrs.option === option && s.lang === lang && s.attrs.step === step);
  expect(found.map(where), `exactly one ${lang} block with option=${option}${step ? ` step=${step}` : ""}`).toHaveLength(1);
  return found[0]!;
}

/** Cleanups stops what a test started, in reverse order, even when an assertion fails half-way. */
export class Cleanups {
  private readonly stops: (() => Promise<unknown> | unknown)[] = [];

  add(stop: () => Promise<unknown> | unknown): void {
    this.stops.push(stop);
  }

  async run(): Promise<void> {
    for (const stop of this.stops.splice(0).reverse()) {
      try {
        await stop();
      } catch {
        // already stopped
      }
    }
  }
}

/**
 * admin runs an operator's `sh` block (curl against the admin API) with HOOKD and HOOKD_API_KEY in its
 * environment, as the guide's readers have them from "Register an endpoint", and returns the JSON it printed.
 */
export async function admin(server: TestServer, s: Snippet, values: Record<string, string>): Promise<any> {
  const run = await runSnippet(s, fillPlaceholders(s, values), { HOOKD: server.url, HOOKD_API_KEY: server.key });
  expect({ exit: run.code, stderr: run.stderr }, where(s)).toEqual({ exit: 0, stderr: "" });
  try {
    return JSON.parse(run.stdout);
  } catch {
    throw new Error(`${where(s)} printed no JSON:\n${run.stdout}`);
  }
}

/**
 * serve starts a receiver block (filled with `values`) on `port` (default: a free one) and waits until it says
 * it listens; `prefix` is code run before the block's own (e.g. changing into the directory of its files).
 */
export async function serve(
  cleanups: Cleanups,
  s: Snippet,
  values: Record<string, string>,
  options: { port?: number; prefix?: string } = {},
): Promise<{ snippet: RunningSnippet; port: number; url: string }> {
  const port = options.port ?? freePort();
  const snippet = startSnippet(s, (options.prefix ?? "") + fillPlaceholders(s, values), { PORT: String(port) });
  cleanups.add(() => snippet.stop());
  try {
    await waitFor(() => snippet.output().includes(`listening on :${port}`), 10_000, `${where(s)} to listen on ${port}`);
  } catch (error) {
    throw new Error(`${(error as Error).message}\nsnippet output:\n${snippet.output()}`);
  }
  return { snippet, port, url: `http://127.0.0.1:${port}` };
}

/** DeliveryView is the part of the API's delivery object these tests read. */
export interface DeliveryView {
  id: string;
  status: string;
  attempts: number;
  last_status_code: number | null;
  last_response: string | null;
  last_error: string | null;
  attempt_history?: { attempted_at: string; status_code: number | null; error: string | null; duration_ms: number; response: string | null }[];
}

/** publish stores one event and returns its id; `deliveries` is how many endpoints must get it. */
export async function publish(server: TestServer, data: unknown, deliveries = 1, type = "invoice.paid"): Promise<string> {
  const published = await server.api("POST", "/v1/events", { type, data });
  expect(published.status, published.text).toBe(202);
  expect(published.body.data.deliveries).toBe(deliveries);
  return published.body.data.id;
}

/** deliveriesOf reads an event's deliveries (with their attempt history). */
export async function deliveriesOf(server: TestServer, eventId: string): Promise<DeliveryView[]> {
  const event = await server.api("GET", `/v1/events/${eventId}`);
  const out: DeliveryView[] = [];
  for (const d of (event.body?.data?.deliveries ?? []) as DeliveryView[]) {
    const full = await server.api("GET", `/v1/deliveries/${d.id}`);
    out.push(full.body.data);
  }
  return out;
}

/** settle polls an event's one delivery until `done`; the failure names the delivery and the receiver's output. */
export async function settle(server: TestServer, eventId: string, done: (d: DeliveryView) => boolean, what: string, output = () => "", timeoutMs = 8000): Promise<DeliveryView> {
  let last: DeliveryView | undefined;
  try {
    await waitFor(async () => {
      last = (await deliveriesOf(server, eventId))[0];
      return last !== undefined && done(last);
    }, timeoutMs, what);
  } catch (error) {
    throw new Error(`${(error as Error).message}\ndelivery: ${JSON.stringify(last)}\nreceiver output:\n${output()}`);
  }
  return last!;
}

/** jsonBlockAfter is the first `json` block after `s` in the guide: the answer the guide prints for it. */
export function jsonBlockAfter(s: Snippet): any {
  const next = guide.find((b) => b.line > s.line && b.lang === "json");
  expect(next, `a json answer after ${where(s)}`).toBeDefined();
  return JSON.parse(next!.code);
}
