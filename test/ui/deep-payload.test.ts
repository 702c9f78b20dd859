// The dashboard survives whatever is stored (issue 14): an event whose body nests 32 000 levels (accepted
// before inbound bodies were limited to 128) broke the Events page — a stack overflow in JSON.parse's
// reviver, swallowed, left an empty table. Headless Chromium, as in dashboard.test.ts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildEvent } from "../../src/events/envelope";
import { newId } from "../../src/ids";
import { startTestServer, type TestServer } from "../support/test-server";

const CHROMIUM = "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
const DEPTH = 32_000;
const deepData = `{"kind":"deep","v":${"[".repeat(DEPTH - 1)}${"]".repeat(DEPTH - 1)}}`;

let server: TestServer;
let context: import("playwright-core").BrowserContext;
let page: import("playwright-core").Page;
let profile: string;
let deepId: string;
let shallowId: string;

describe.skipIf(!haveChromium)("a 32 000-level stored payload in the dashboard", () => {
  beforeAll(async () => {
    server = await startTestServer({ "[[sources]]": 'id = "legacy"\nauth = "token"\nsecret = "legacy-token"' });
    // Stored the way an older hookd stored it: an accepted inbound record and its event, written directly,
    // since today's receiver refuses such a body.
    const now = Date.now();
    const deep = buildEvent("legacy.deep", deepData, "inbound", now);
    const outcome = await server.app.storage.inbound.accept({
      record: {
        id: newId("in"), source: "legacy", status: "accepted", reason: null, event_id: deep.id, client_ip: "127.0.0.1",
        headers: { "content-type": "application/json" }, body: deepData, body_sha256: null, size: deepData.length, received_at: now,
      },
      event: deep, dedupeKey: null, bodyHash: "0".repeat(64), dedupeWindowMs: 86_400_000, rateLimit: null, now,
    });
    expect(outcome.kind).toBe("accepted");
    deepId = deep.id;
    const shallow = await server.api("POST", "/v1/events", '{"type":"ledger.posted","data":{"amount":12345678901234567890123}}');
    shallowId = shallow.body.data.id;
    const { chromium } = await import("playwright-core");
    profile = mkdtempSync(join(tmpdir(), "hookd-ui-deep-"));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`${server.url}/ui`);
    await page.getByLabel("API key").fill(server.key);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Overview" }).waitFor();
  }, 20_000);

  afterAll(async () => {
    await context?.close();
    await server?.stop();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  test("the Events page lists it beside the others and shows it as text with a note", async () => {
    await page.getByRole("link", { name: "Events" }).click();
    await page.getByRole("heading", { name: "Events" }).waitFor();
    await page.getByRole("cell", { name: deepId, exact: true }).waitFor({ timeout: 5000 });
    await page.getByRole("cell", { name: shallowId, exact: true }).waitFor();
    await page.getByRole("button", { name: `Show payload of ${deepId}` }).click();
    await page.locator("#event-detail pre").waitFor();
    expect(await page.locator("#event-detail .payload-note").textContent()).toContain("nest deeper than");
    const shown = (await page.locator("#event-detail pre").textContent())!;
    expect(shown).toContain('"type": "legacy.deep"');
    expect(shown).toContain('"kind": "deep"');
    // The deep part as stored: every bracket there, nothing lost or reformatted.
    expect(shown.replace(/\s/g, "")).toContain(`"v":${"[".repeat(DEPTH - 1)}${"]".repeat(DEPTH - 1)}`);

    // A normal payload on the same page is still formatted, large integers as sent, and has no note.
    await page.getByRole("button", { name: `Show payload of ${shallowId}` }).click();
    await page.getByRole("heading", { name: `Payload of ${shallowId}` }).waitFor();
    expect(await page.locator("#event-detail pre").textContent()).toContain('"amount": 12345678901234567890123');
    expect(await page.locator("#event-detail .payload-note").count()).toBe(0);
  }, 20_000);

  test("the Inbound page lists the accepted record", async () => {
    await page.getByRole("link", { name: "Inbound" }).click();
    await page.getByRole("heading", { name: "Inbound" }).waitFor();
    await page.getByRole("cell", { name: deepId, exact: true }).waitFor({ timeout: 5000 });
    expect(await page.getByText(`${deepData.length} bytes`).count()).toBe(1);
  }, 20_000);
});
