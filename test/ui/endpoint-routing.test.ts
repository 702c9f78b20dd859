// The dashboard's filter and transform editors in headless Chromium: save with PATCH, a refused filter, and a preview against a recent event.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestServer, type TestServer } from "../support/test-server";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = join(import.meta.dir, "..", "..", "test-artifacts");
const haveChromium = existsSync(CHROMIUM);

let server: TestServer;
let context: import("playwright-core").BrowserContext;
let page: import("playwright-core").Page;
let profile: string;

describe.skipIf(!haveChromium)("endpoint filter and transform in the dashboard", () => {
  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    server = await startTestServer({ delivery: "retry_schedule = []" });
    const { chromium } = await import("playwright-core");
    profile = mkdtempSync(join(tmpdir(), "hookd-ui-routing-"));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      viewport: { width: 1366, height: 900 },
    });
    page = context.pages()[0] ?? (await context.newPage());
  }, 20_000);

  afterAll(async () => {
    await context?.close();
    await server?.stop();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  test("edit the filter and transform, see a refusal, and preview a recent event", async () => {
    // Disabled: nothing is delivered; the event is there to preview against.
    const w = (await server.api("POST", "/v1/webhooks", { url: "https://erp.example/hook", events: ["erp.*"] })).body.data;
    await server.api("PATCH", `/v1/webhooks/${w.id}`, { status: "disabled" });
    const event = (await server.api("POST", "/v1/events", { type: "erp.job.failed", data: { severity: "error", message: "disk full" } })).body.data;

    await page.goto(`${server.url}/ui#/endpoints/${w.id}`);
    await page.getByLabel("API key").fill(server.key);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator("#endpoint-routing").waitFor();

    // A filter the API refuses shows its message naming the field; nothing is stored.
    await page.locator("#routing-filter").fill('{"$where": "1"}');
    await page.getByRole("button", { name: "Save routing" }).click();
    await page.getByText(/filter: .*\$where/).waitFor();
    expect((await server.api("GET", `/v1/webhooks/${w.id}`)).body.data.filter).toBeNull();

    await page.locator("#routing-filter").fill('{"data.severity": {"$in": ["error", "critical"]}}');
    await page.locator("#routing-transform").fill('"<alert>" & data.message & "</alert>"');
    await page.locator("#routing-content-type").fill("application/xml");
    await page.getByRole("button", { name: "Save routing" }).click();
    await page.getByText(`Routing of ${w.id} saved.`).waitFor();
    expect((await server.api("GET", `/v1/webhooks/${w.id}`)).body.data).toMatchObject({
      filter: { "data.severity": { $in: ["error", "critical"] } }, transform: '"<alert>" & data.message & "</alert>"', content_type: "application/xml",
    });
    // The page reloaded with the saved values in the editors.
    expect(JSON.parse(await page.locator("#routing-filter").inputValue())).toEqual({ "data.severity": { $in: ["error", "critical"] } });

    await page.locator("#preview-event option").first().waitFor({ state: "attached" });
    await page.locator("#preview-event").selectOption(event.id);
    await page.getByRole("button", { name: "Preview" }).click();
    await page.locator("#preview-result").waitFor();
    expect(await page.locator("#preview-verdict").textContent()).toStartWith("matches");
    expect(await page.locator("#preview-content-type").textContent()).toBe("application/xml");
    expect(await page.locator("#preview-body").textContent()).toBe("<alert>disk full</alert>");
    await page.screenshot({ path: join(ARTIFACTS, "endpoint-routing.png"), fullPage: true });

    // Clearing the editors clears the fields.
    await page.locator("#routing-filter").fill("");
    await page.locator("#routing-transform").fill("");
    await page.locator("#routing-content-type").fill("");
    await page.getByRole("button", { name: "Save routing" }).click();
    await page.getByText(`Routing of ${w.id} saved.`).waitFor();
    expect((await server.api("GET", `/v1/webhooks/${w.id}`)).body.data).toMatchObject({ filter: null, transform: null, content_type: null });
  }, 30_000);
});
