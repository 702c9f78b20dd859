import { afterAll, describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { admin, Cleanups, settle, WEBHOOK_ID } from "./option-rig";
import { after, arrived, block, create, DELIVERY_ID, ERP_EVENT, erpEvent, EVENT_ID, guide, hookd, httpExample, post, receiver, runAll, sameExpression, text } from "./routing-rig";

// docs/routing.md, "Shaping the body with a transform" and "When a transform fails": each create call runs as
// printed against a real hookd, and the body a 127.0.0.1 receiver gets is the one the guide prints.

const cleanups = new Cleanups();
afterAll(() => cleanups.run());

describe("docs/routing.md: transforms", () => {
  test("the chat message arrives exactly as printed, and the ad-hoc preview answers as printed", async () => {
    const server = await hookd(cleanups);
    const chat = receiver(cleanups);
    const created = await create(server, block("chat", "create", "sh"), "https://hooks.slack.com", chat);
    await sameExpression(block("chat", "expression", "jsonata"), created.transform, ERP_EVENT);

    const eventId = await post(server, erpEvent());
    const got = await arrived(chat, eventId);
    const printed = httpExample(after(block("chat", "create", "sh"), "http"));
    expect(got.path).toBe(printed.path);
    expect(got.headers["content-type"]).toBe(printed.headers["content-type"]!);
    expect(got.body).toBe(printed.body);

    const previewBlock = block("preview", "adhoc", "sh");
    const preview = await admin(server, previewBlock, { [WEBHOOK_ID]: created.id });
    expect(preview).toEqual(JSON.parse(after(previewBlock, "json").code));

    // A preview of the stored event is the bytes its delivery carried.
    const stored = await server.api("POST", `/v1/webhooks/${created.id}/preview`, { event_id: eventId });
    expect(stored.body.data).toEqual({ matches: true, content_type: got.headers["content-type"], body: got.body, error: null });
  }, 30_000);

  test("the XML body arrives as printed, escaped and well-formed, with Content-Type application/xml", async () => {
    const server = await hookd(cleanups);
    const legacy = receiver(cleanups);
    const createBlock = block("xml", "create", "sh");
    const created = await create(server, createBlock, "https://alerts-legacy.example", legacy);
    expect(created.content_type).toBe("application/xml");
    const message = "Record 18441: gross < 0 & no cost center";
    expect(text).toContain(`whose \`message\` is \`${message}\``);
    await sameExpression(block("xml", "expression", "jsonata"), created.transform, { ...ERP_EVENT, message });

    const eventId = await post(server, erpEvent({ message }));
    const got = await arrived(legacy, eventId);
    const printed = httpExample(after(createBlock, "http"));
    expect(got.path).toBe(printed.path);
    expect(got.headers["content-type"]).toBe(printed.headers["content-type"]!);
    expect(got.body).toBe(printed.body.replace(EVENT_ID, eventId));

    const check = Bun.spawnSync(["python3", "-c", "import sys, xml.dom.minidom; xml.dom.minidom.parseString(sys.stdin.buffer.read())"], {
      stdin: new TextEncoder().encode(got.body),
    });
    expect({ exit: check.exitCode, stderr: check.stderr.toString() }).toEqual({ exit: 0, stderr: "" });
  }, 30_000);

  test("the ticket arrives as the printed JSON, and both signatures verify over the bytes sent", async () => {
    const server = await hookd(cleanups);
    const tickets = receiver(cleanups);
    const created = await create(server, block("ticket", "create", "sh"), "https://tickets.example", tickets);
    const secret: string = created.secret;
    await sameExpression(block("ticket", "expression", "jsonata"), created.transform, ERP_EVENT);

    const eventId = await post(server, erpEvent());
    const got = await arrived(tickets, eventId);
    const printed = after(block("ticket", "create", "sh"), "json").code.trim();
    expect(got.body).toBe(printed.replace(EVENT_ID, eventId));
    expect(got.path).toBe("/api/issues");
    expect(got.headers["content-type"]).toBe("application/json");
    expect(got.headers["x-hookd-event"]).toBe("integration.failed");

    // Standard Webhooks, with the library a receiver would use; it throws on a bad signature.
    expect(new Webhook(secret).verify(got.body, got.headers)).toEqual(JSON.parse(got.body));
    expect(got.headers["x-hookd-signature"]).toBe(createHmac("sha256", secret).update(got.body).digest("hex"));
    // Control: the untransformed envelope would not verify, so the check above is over the transformed bytes.
    const stored = await server.api("GET", `/v1/events/${eventId}`);
    expect(() => new Webhook(secret).verify(JSON.stringify({ id: eventId, type: "integration.failed", data: ERP_EVENT }), got.headers)).toThrow();
    expect(stored.body.data.data).toEqual(ERP_EVENT);
  }, 30_000);
});

describe("docs/routing.md: when a transform fails", () => {
  test("nothing to send expires the delivery after one attempt; the fix and retry deliver it", async () => {
    const server = await hookd(cleanups);
    const pager = receiver(cleanups);
    const created = await server.api("POST", "/v1/webhooks", { url: `${pager.url}/page`, events: ["integration.failed"], transform: "data.message" });
    expect(created.status, created.text).toBe(201);
    expect(text).toContain('with `"transform":\n"data.message"`');
    const id: string = created.body.data.id;
    const { message: _message, ...noMessage } = ERP_EVENT;
    const eventId = await post(server, JSON.stringify(noMessage));

    const expired = await settle(server, eventId, (d) => d.status === "expired", `${eventId} expired`);
    const full = (await server.api("GET", `/v1/deliveries/${expired.id}`)).body.data;
    const printed = JSON.parse(guide.find((s) => s.lang === "json" && s.code.includes('"status": "expired"'))!.code).data;
    const { id: _id, attempt_history: printedHistory, ...printedFields } = printed;
    expect(full).toMatchObject(printedFields);
    expect(full.attempt_history).toHaveLength(1);
    expect(full.attempt_history[0]).toMatchObject(printedHistory[0]);
    expect(pager.requests).toHaveLength(0);
    expect((await server.api("GET", `/v1/webhooks/${id}`)).body.data.failure_count).toBe(0);

    const [patched, retried] = await runAll(server, block("fix", undefined, "sh"), { [WEBHOOK_ID]: id, [DELIVERY_ID]: expired.id });
    expect(patched.data.transform).toBe("$exists(data.message) ? data.message : type & ' from ' & data.source");
    expect(retried.data?.id ?? retried.data?.delivery_id ?? expired.id, JSON.stringify(retried)).toBe(expired.id);
    const got = await arrived(pager, eventId);
    const promised = /The pager then gets `([^`]+)`/.exec(text)?.[1];
    expect(got.body).toBe(promised!);
    expect(got.headers["content-type"]).toBe("text/plain; charset=utf-8");
    expect((await settle(server, eventId, (d) => d.status === "delivered", `${eventId} delivered`)).attempts).toBe(2);
  }, 30_000);

  test("a transform stopped for time is a failed attempt that stays scheduled, not counted against the endpoint", async () => {
    const server = await hookd(cleanups);
    const r = receiver(cleanups);
    const row = text.split("\n").find((l) => l.startsWith("| `transform_timeout` |"));
    expect(row).toContain("endless recursion");
    const created = await server.api("POST", "/v1/webhooks", {
      url: `${r.url}/hook`, events: ["*"], transform: "($loop := function($x) { $loop($x) }; $loop(1))",
    });
    expect(created.status, created.text).toBe(201);
    const eventId = await post(server, erpEvent());
    const failed = await settle(server, eventId, (d) => d.attempts > 0, `${eventId} attempted`);
    expect(failed).toMatchObject({ status: "failed", attempts: 1, last_status_code: null, last_error: "transform_timeout" });
    expect((await server.api("GET", `/v1/deliveries/${failed.id}`)).body.data.next_attempt_at).not.toBeNull();
    expect((await server.api("GET", `/v1/webhooks/${created.body.data.id}`)).body.data.failure_count).toBe(0);
    expect(r.requests).toHaveLength(0);

    // Fixed and retried, it is delivered without waiting for the schedule.
    expect((await server.api("PATCH", `/v1/webhooks/${created.body.data.id}`, { transform: "data.message" })).status).toBe(200);
    const retried = await server.api("POST", `/v1/deliveries/${failed.id}/retry`);
    expect(retried.status, retried.text).toBe(202);
    expect((await arrived(r, eventId)).body).toBe(String(ERP_EVENT.message));
  }, 30_000);
});
