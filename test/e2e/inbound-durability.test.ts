import { afterEach, describe, expect, test } from "bun:test";
import { type HookdProcess, hookdSite } from "../support/hookd-process";
import { waitFor } from "../support/process";
import { startReceiver } from "../support/receiver";

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

type Outcome = { i: number; status: number | null; id?: string };

async function allEvents(h: HookdProcess): Promise<{ id: string; data: { message: string } }[]> {
  const out: { id: string; data: { message: string } }[] = [];
  let cursor = "";
  for (;;) {
    const page = await h.api("GET", `/v1/events?limit=500${cursor ? `&cursor=${cursor}` : ""}`);
    out.push(...page.body.data);
    if (!page.body.next_cursor) return out;
    cursor = page.body.next_cursor;
  }
}

describe("inbound durability under kill -9", () => {
  test("1000 concurrent requests, SIGKILL mid-stream: every 200 is stored and delivered, no 4xx is stored", async () => {
    const receiver = startReceiver();
    cleanup.push(() => receiver.stop());
    const site = hookdSite({
      delivery: 'require_https = false\nallow_targets = ["127.0.0.0/8"]\nretry_schedule = ["100ms", "200ms", "500ms", "1s", "1s", "1s"]',
      "[[sources]]": 'id = "erp"\nauth = "token"\nsecret = "erp-token-123"',
    } as Record<string, string>);
    let h = await site.start();
    cleanup.push(() => h.proc.kill("SIGKILL"));
    await h.api("POST", "/v1/webhooks", { url: `${receiver.url}/in`, events: ["*"] });

    const outcomes: Outcome[] = [];
    let answered = 0;
    const send = async (i: number): Promise<void> => {
      // Every 7th request has a wrong token (401), every 11th broken JSON (422): those must never be stored.
      const token = i % 7 === 3 ? "wrong-token" : "erp-token-123";
      const body = i % 11 === 5 ? `{"connector_id":"erp","message":"m-${i}"` : JSON.stringify({
        connector_id: "erp", event_type: "batch.done", timestamp: "2026-11-23T10:00:00Z", message: `m-${i}`,
      });
      try {
        const r = await fetch(`${h.url}/in/erp`, { method: "POST", headers: { "x-auth-token": token }, body });
        const json = (await r.json()) as { id?: string };
        outcomes.push({ i, status: r.status, id: json.id });
      } catch {
        outcomes.push({ i, status: null });
      }
      answered++;
    };
    const all = Promise.all(Array.from({ length: 1000 }, (_, i) => send(i)));
    await waitFor(() => answered >= 250, 20_000, "a quarter of the requests answered");
    h.proc.kill("SIGKILL");
    await all;
    await h.proc.exited;

    const ok = outcomes.filter((o) => o.status === 200);
    const refused = outcomes.filter((o) => o.status !== null && o.status !== 200);
    const unanswered = outcomes.filter((o) => o.status === null);
    console.log(`before the kill: ${ok.length} accepted, ${refused.length} refused, ${unanswered.length} got no answer`);
    expect(ok.length).toBeGreaterThan(100);
    expect(refused.every((o) => o.status === 401 || o.status === 422)).toBe(true);

    h = await site.start();
    const stored = await allEvents(h);
    const storedIds = new Set(stored.map((e) => e.id));
    for (const o of ok) expect(storedIds.has(o.id!)).toBe(true);
    const storedMessages = new Set(stored.map((e) => e.data.message));
    for (const o of refused) expect(storedMessages.has(`m-${o.i}`)).toBe(false);
    await waitFor(() => ok.every((o) => receiver.requests.some((r) => r.headers["webhook-id"] === o.id)), 20_000, "every accepted event delivered");
    h.proc.kill("SIGTERM");
    expect(await h.proc.exited).toBe(0);
  }, 60_000);
});
