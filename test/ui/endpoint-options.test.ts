// The dashboard's delivery-options editor in headless Chromium: create with options, edit keeping a masked secret, the detail view.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestServer, type TestServer } from "../support/test-server";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = join(import.meta.dir, "..", "..", "test-artifacts");
const haveChromium = existsSync(CHROMIUM);
const KEY = "ui-secret-header-value-42";

let server: TestServer;
let context: import("playwright-core").BrowserContext;
let page: import("playwright-core").Page;
let profile: string;

describe.skipIf(!haveChromium)("endpoint delivery options in the dashboard", () => {
  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    // No receiver: nothing is delivered (the endpoint subscribes to a type nobody publishes).
    server = await startTestServer({ delivery: "retry_schedule = []" });
    const { chromium } = await import("playwright-core");
    profile = mkdtempSync(join(tmpdir(), "hookd-ui-options-"));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      viewport: { width: 1366, height: 900 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on("dialog", (d) => void d.accept());
  }, 20_000);

  afterAll(async () => {
    await context?.close();
    await server?.stop();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  test("create with options, edit keeping the masked secret, and see them on the endpoint's page", async () => {
    await page.goto(`${server.url}/ui`);
    await page.getByLabel("API key").fill(server.key);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Overview" }).waitFor();
    await page.getByRole("link", { name: "Endpoints" }).click();

    await page.getByLabel("URL").fill("https://erp.example/hook");
    await page.getByLabel("Events (comma-separated").fill("doc.changed");
    await page.getByText("Delivery options").first().click();
    await page.locator("#new-headers").fill(`X-Api-Key: ${KEY}\nX-Tenant: plant-7`);
    await page.locator("#new-timeout").fill("5s");
    await page.locator("#new-rate").fill("20");
    await page.locator("#new-ordering").selectOption("fifo");
    await page.locator("#new-ordering-key").fill("/document_no");
    await page.getByRole("button", { name: "Create endpoint" }).click();
    await page.locator("#secret-value").waitFor();
    const [w] = (await server.api("GET", "/v1/webhooks")).body.data;
    expect(w).toMatchObject({ headers: { "X-Api-Key": "********", "X-Tenant": "plant-7" }, timeout: "5s", rate_limit: 20, ordering: "fifo", ordering_key: "/document_no" });
    expect(await page.content()).not.toContain(KEY);

    // Edit: the masked value is sent back as "********", which keeps the stored one.
    await page.getByRole("button", { name: /^Edit / }).click();
    expect(await page.locator("#edit-headers").inputValue()).toBe("X-Api-Key: ********\nX-Tenant: plant-7");
    await page.locator("#edit-headers").fill("X-Api-Key: ********\nX-Tenant: plant-8");
    await page.locator("#edit-rate").fill("");
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByText(`Endpoint ${w.id} saved.`).waitFor();
    const after = (await server.api("GET", `/v1/webhooks/${w.id}`)).body.data;
    expect(after).toMatchObject({ headers: { "X-Api-Key": "********", "X-Tenant": "plant-8" }, rate_limit: null, timeout: "5s" });
    // The stored key is still the real one: moving the origin with it masked is refused, with it given is accepted.
    const moved = await server.api("PATCH", `/v1/webhooks/${w.id}`, { url: "https://other.example/hook" });
    expect(moved.status).toBe(422);

    // A refused edit shows the API's message naming the field.
    await page.getByRole("button", { name: /^Edit / }).click();
    await page.locator("#edit-timeout").fill("2m");
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByText(/timeout: must be between/).waitFor();

    await page.getByRole("link", { name: "Deliveries" }).click();
    await page.locator("#endpoint-options").waitFor();
    const view = await page.locator("#endpoint-options").textContent();
    expect(view).toContain("X-Tenant: plant-8");
    expect(view).toContain("fifo, one lane per /document_no");
    expect(view).not.toContain(KEY);
    await page.screenshot({ path: join(ARTIFACTS, "endpoint-options.png"), fullPage: true });
  }, 30_000);
});
