import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import jsonata from "jsonata";
import { OPERATIONAL_TYPES } from "../../src/alerts";
import { waitFor } from "../support/process";
import { startReceiver } from "../support/receiver";
import { startTestServer } from "../support/test-server";
import { Cleanups, DELIVERY } from "./option-rig";
import { blockAfter, opsBlock, runOps } from "./operations-rig";
import { DOCS_DIR, where } from "./snippets";

// docs/operations.md "Alerts: hookd.* events": the type table names exactly SPEC §11's types, and the chat
// example runs as printed against a real hookd: an endpoint answering 410 is disabled, and the channel
// endpoint (subscribed to hookd.* only) gets the message the guide prints, while a "*" endpoint gets nothing.

const CHAT_URL = "https://hooks.slack.com/services/YOUR/CHANNEL/WEBHOOK";
const SHOWN_ORIGIN = "https://erp-bridge.example";
const SHOWN_WEBHOOK = "wh_01m84at9wke10bhas65jxr220g";

const cleanups = new Cleanups();
afterAll(() => cleanups.run());

/** section is the guide's text from `heading` to the next "## ". */
function section(heading: string): string {
  const all = readFileSync(join(DOCS_DIR, "operations.md"), "utf8");
  const start = all.indexOf(`\n## ${heading}\n`);
  expect(start, heading).toBeGreaterThan(0);
  const end = all.indexOf("\n## ", start + 1);
  return all.slice(start, end < 0 ? undefined : end);
}

/** transformInput is what a transform sees for a stored event (GET /v1/events/<id>). */
const transformInput = (e: { id: string; type: string; created_at: string; data: unknown }) => ({ id: e.id, type: e.type, created_at: e.created_at, data: e.data, source: null });

// SPEC §11's data for the types the guide's sample lines show, with the values those lines print.
const SAMPLES: Record<string, Record<string, unknown>> = {
  "hookd.endpoint.failing": { webhook_id: SHOWN_WEBHOOK, url: SHOWN_ORIGIN, failure_count: 10, failing_since: "2026-06-01T01:10:00.000Z", last_error: "HTTP 500" },
  "hookd.endpoint.recovered": { webhook_id: SHOWN_WEBHOOK, url: SHOWN_ORIGIN, failing_since: "2026-06-01T01:10:00.000Z", recovered_at: "2026-06-01T03:00:00.000Z" },
  "hookd.deliveries.expired": { webhook_id: SHOWN_WEBHOOK, url: SHOWN_ORIGIN, count: 50, delivery_ids: [], event_types: ["invoice.paid"], last_error: "HTTP 503" },
  "hookd.queue.backlog": { oldest_pending_at: "2026-06-01T02:00:00.000Z", pending: 5231 },
  "hookd.queue.backlog_cleared": { pending: 12 },
};

describe("docs/operations.md: Alerts", () => {
  test("the type table lists exactly SPEC §11's operational types", async () => {
    const body = section("Alerts: hookd.* events");
    const listed = [...body.matchAll(/^\| `(hookd\.[a-z_.]+)` \|/gm)].map((m) => m[1]!);
    expect(listed.sort()).toEqual([...OPERATIONAL_TYPES].sort());
  });

  test("the chat expression gives the printed line for every other type", async () => {
    const shown = opsBlock("alerts", { example: "chat", step: "expression" }, "jsonata");
    const printed = blockAfter(opsBlock("alerts", { example: "chat", step: "create" }), "text").code.trim().split("\n");
    const made: string[] = [];
    for (const [type, data] of Object.entries(SAMPLES)) {
      const result = await jsonata(shown.code).evaluate(transformInput({ id: "evt_x", type, created_at: "2026-06-01T03:00:00.000Z", data }));
      made.push(result.text);
    }
    expect(made).toEqual(printed);
  });

  test("a 410 disables an endpoint and the chat endpoint gets the printed message; a \"*\" endpoint gets no alert", async () => {
    const server = await startTestServer({ delivery: DELIVERY });
    cleanups.add(() => server.stop());
    const chat = startReceiver();
    const gone = startReceiver(() => new Response("gone", { status: 410 }));
    const everything = startReceiver();
    for (const r of [chat, gone, everything]) cleanups.add(() => r.stop());

    const create = opsBlock("alerts", { example: "chat", step: "create" });
    const created = await runOps(server, create, { [CHAT_URL]: `${chat.url}/services/YOUR/CHANNEL/WEBHOOK` });
    expect(created.data).toMatchObject({ events: ["hookd.*"], status: "active" });
    const shown = opsBlock("alerts", { example: "chat", step: "expression" }, "jsonata");

    // The receiver's path and query are a secret the alert must not carry.
    const goneEndpoint = await server.api("POST", "/v1/webhooks", { url: `${gone.url}/hook?token=s3cret`, events: ["*"] });
    expect(goneEndpoint.status, goneEndpoint.text).toBe(201);
    const all = await server.api("POST", "/v1/webhooks", { url: `${everything.url}/all`, events: ["*"] });
    expect(all.status, all.text).toBe(201);
    const published = await server.api("POST", "/v1/events", { type: "invoice.paid", data: { n: 1 } });
    expect(published.status, published.text).toBe(202);
    expect(published.body.data.deliveries).toBe(2);

    await waitFor(() => chat.requests.length >= 1, 8000, "the alert in the chat channel");
    expect(chat.requests).toHaveLength(1);
    const got = chat.requests[0]!;
    expect(got.path).toBe("/services/YOUR/CHANNEL/WEBHOOK");
    expect(got.headers["content-type"]).toBe("application/json");

    // What hookd stored: SPEC §11's data, the URL cut to the origin.
    const event = await server.api("GET", `/v1/events/${got.headers["webhook-id"]}`);
    expect(event.status, event.text).toBe(200);
    expect(event.body.data).toMatchObject({
      type: "hookd.endpoint.disabled",
      origin: "hookd",
      data: { webhook_id: goneEndpoint.body.data.id, url: gone.url, reason: "gone", expired: 1 },
    });
    expect(event.body.data.deliveries.map((d: { webhook_id: string }) => d.webhook_id)).toEqual([created.data.id]);

    // The message: the printed one with this run's origin and endpoint id, and what the shown expression makes.
    const printed = blockAfter(create, "http").code.split("\n\n").slice(1).join("\n\n").trim();
    expect(got.body).toBe(printed.replace(SHOWN_ORIGIN, gone.url).replace(SHOWN_WEBHOOK, goneEndpoint.body.data.id));
    expect(JSON.parse(got.body)).toEqual(await jsonata(shown.code).evaluate(transformInput(event.body.data)));
    expect(got.body).not.toContain("s3cret");

    // The "*" endpoint got the invoice and nothing of hookd's.
    await waitFor(() => everything.requests.length >= 1, 8000, "the invoice at the \"*\" endpoint");
    expect(everything.requests.map((r) => r.headers["x-hookd-event"] ?? JSON.parse(r.body).type)).toEqual(["invoice.paid"]);
  });

  test("the stored transform is the expression the guide shows", async () => {
    const create = opsBlock("alerts", { example: "chat", step: "create" });
    const shown = opsBlock("alerts", { example: "chat", step: "expression" }, "jsonata");
    const body = /-d '([\s\S]*)'\s*$/.exec(create.code)?.[1];
    expect(body, where(create)).toBeDefined();
    const stored: string = JSON.parse(body!).transform;
    const disabled = { webhook_id: SHOWN_WEBHOOK, url: SHOWN_ORIGIN, reason: "gone", expired: 1 };
    for (const [type, data] of Object.entries({ ...SAMPLES, "hookd.endpoint.disabled": disabled })) {
      const input = transformInput({ id: "evt_x", type, created_at: "2026-06-01T03:00:00.000Z", data });
      expect(await jsonata(stored).evaluate(input)).toEqual(await jsonata(shown.code).evaluate(input));
    }
  });

  test("publishing or receiving a hookd.* type is 422 reserved_event_type", async () => {
    const token = "monitor-token-0123456789abcdef";
    const server = await startTestServer({ "[[sources]]": `id = "monitor"\nauth = "token"\nsecret = "${token}"\nschema = "json"\nevent_type_field = "kind"` });
    cleanups.add(() => server.stop());
    const published = await server.api("POST", "/v1/events", { type: "hookd.endpoint.disabled", data: {} });
    const received = await fetch(`${server.url}/in/monitor`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-auth-token": token },
      body: JSON.stringify({ kind: "hookd.queue.backlog", pending: 1 }),
    });
    const inbound = { status: received.status, body: await received.json() };
    for (const answer of [published, inbound]) {
      expect(answer.status).toBe(422);
      expect(answer.body.error.details.map((d: { code: string }) => d.code)).toContain("reserved_event_type");
    }
  });
});
