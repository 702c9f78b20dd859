import { afterAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { freePort, waitFor } from "../support/process";
import { startTestServer } from "../support/test-server";
import { admin, API_KEY, Cleanups, DELIVERY, ENDPOINT_SECRET, ENDPOINT_URL, HOST, jsonBlockAfter, optionBlock, publish, serve, settle, WEBHOOK_ID } from "./option-rig";

// docs/receivers.md, "Extra headers": the operator's curl calls run as printed against a real hookd, and the
// Python receiver behind it accepts hookd's deliveries only with the key those calls gave hookd.

const GATEWAY_KEY = "YOUR_GATEWAY_API_KEY";
const NEW_URL = "https://erp-bridge-new.example/hook";
const OPTION_FIELDS = ["headers", "timeout", "rate_limit", "ordering", "ordering_key", "client_tls", "oauth2"];

const cleanups = new Cleanups();
afterAll(() => cleanups.run());

describe("docs/receivers.md: extra headers", () => {
  test("the create, keep and move calls do what the guide says, and the receiver checks the key", async () => {
    const server = await startTestServer({ delivery: DELIVERY });
    cleanups.add(() => server.stop());
    const key = `gw_${randomBytes(16).toString("hex")}`;
    const port = freePort();
    const url = `http://127.0.0.1:${port}/hook`;

    // Create: the answer masks the key and shows every option, as the printed answer does.
    const createBlock = optionBlock("headers", "sh", "create");
    const created = await admin(server, createBlock, { [HOST]: server.url, [API_KEY]: server.key, [ENDPOINT_URL]: url, [GATEWAY_KEY]: key });
    expect(created.data?.headers, JSON.stringify(created)).toEqual({ "X-Api-Key": "********", "X-Tenant": "acme-de" });
    const printed = jsonBlockAfter(createBlock).data;
    expect(Object.keys(created.data).sort()).toEqual(Object.keys(printed).sort());
    // Every value but the ones that differ per endpoint (and the URL, filled in) is the printed one.
    const VARYING = ["id", "url", "secret", "created_at", "updated_at"];
    for (const [field, value] of Object.entries(printed).filter(([f]) => !VARYING.includes(f))) {
      expect({ field, value: created.data[field] }).toEqual({ field, value });
    }
    for (const field of OPTION_FIELDS) expect(Object.keys(printed)).toContain(field);
    const id: string = created.data.id;
    const secret: string = created.data.secret;
    const read = await server.api("GET", `/v1/webhooks/${id}`);
    expect(read.body.data.headers).toEqual({ "X-Api-Key": "********", "X-Tenant": "acme-de" });
    expect(read.text).not.toContain(key);

    const receiverBlock = optionBlock("headers", "python");
    const { snippet } = await serve(cleanups, receiverBlock, { [GATEWAY_KEY]: key, [ENDPOINT_SECRET]: secret }, { port });
    const out = snippet.output;

    const first = await publish(server, { invoice_no: "INV-2025-1042" });
    const delivered = await settle(server, first, (d) => d.attempts > 0, `${first} attempted`, out);
    expect(delivered.status, JSON.stringify(delivered)).toBe("delivered");
    await waitFor(() => out().includes(`accepted ${first} for tenant acme-de`), 5000, "the receiver to accept it");

    // The receiver refuses a request without the key, and one with the key but a forged body.
    const unsigned = await fetch(url, { method: "POST", body: "{}" });
    expect(unsigned.status).toBe(401);
    const forged = await fetch(url, { method: "POST", body: "{}", headers: { "X-Api-Key": key, "X-Hookd-Signature": "00" } });
    expect(forged.status).toBe(401);

    // Keep: "********" keeps the stored key while X-Tenant changes.
    const kept = await admin(server, optionBlock("headers", "sh", "keep"), { [WEBHOOK_ID]: id });
    expect(kept.data.headers).toEqual({ "X-Api-Key": "********", "X-Tenant": "acme-at" });
    const second = await publish(server, { invoice_no: "INV-2025-1043" });
    expect((await settle(server, second, (d) => d.attempts > 0, `${second} attempted`, out)).status).toBe("delivered");
    await waitFor(() => out().includes(`accepted ${second} for tenant acme-at`), 5000, "the receiver to accept the second event");

    // Move without the key: 422 naming headers, as printed, and nothing changes.
    const newPort = freePort();
    const newUrl = `http://127.0.0.1:${newPort}/hook`;
    const refusedBlock = optionBlock("headers", "sh", "move-refused");
    const refused = await admin(server, refusedBlock, { [WEBHOOK_ID]: id, [NEW_URL]: newUrl });
    const printedError = jsonBlockAfter(refusedBlock).error;
    expect(refused.error.code).toBe(printedError.code);
    expect(refused.error.details).toEqual(printedError.details);
    expect((await server.api("GET", `/v1/webhooks/${id}`)).body.data.url).toBe(url);

    // Move with the key again: accepted, and the key reaches the new receiver.
    const { snippet: moved } = await serve(cleanups, receiverBlock, { [GATEWAY_KEY]: key, [ENDPOINT_SECRET]: secret }, { port: newPort });
    const movedAnswer = await admin(server, optionBlock("headers", "sh", "move"), { [WEBHOOK_ID]: id, [NEW_URL]: newUrl, [GATEWAY_KEY]: key });
    expect(movedAnswer.data).toMatchObject({ url: newUrl, headers: { "X-Api-Key": "********", "X-Tenant": "acme-at" } });
    const third = await publish(server, { invoice_no: "INV-2025-1044" });
    expect((await settle(server, third, (d) => d.attempts > 0, `${third} attempted`, moved.output)).status).toBe("delivered");
    await waitFor(() => moved.output().includes(`accepted ${third} for tenant acme-at`), 5000, "the moved receiver to accept it");

    // A wrong key: the receiver's 401 and reason are on the attempt, and nothing is accepted.
    const wrong = await server.api("PATCH", `/v1/webhooks/${id}`, { headers: { "X-Api-Key": "not-the-key", "X-Tenant": "acme-at" } });
    expect(wrong.status, wrong.text).toBe(200);
    const fourth = await publish(server, { invoice_no: "INV-2025-1045" });
    const failed = await settle(server, fourth, (d) => d.attempts > 0, `${fourth} attempted`, moved.output);
    expect(failed).toMatchObject({ status: "failed", last_status_code: 401, last_response: "missing or wrong X-Api-Key" });
    expect(moved.output()).not.toContain(fourth);
  }, 30_000);
});
