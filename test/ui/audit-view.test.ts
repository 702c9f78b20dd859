// The dashboard's Audit log page (SPEC §14) in real headless Chromium: entries with their before → after
// tables, masked values, the filters kept in the URL, and no CSP violation.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { auditFilterFrom, auditListPath, changeRows, shown } from "../../src/ui/audit-view";
import { startTestServer, type TestServer } from "../support/test-server";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = join(import.meta.dir, "..", "..", "test-artifacts");
const haveChromium = existsSync(CHROMIUM);
const TOKEN = "Bearer ui-audit-canary-0123456789";

describe("audit view helpers", () => {
  test("the filter round-trips through the hash query; empty fields are left out of the API path", () => {
    const f = auditFilterFrom(new URLSearchParams("key=ops&since=2026-01-01T00%3A00%3A00.000Z"));
    expect(f).toEqual({ key: "ops", target_id: "", since: "2026-01-01T00:00:00.000Z" });
    expect(auditListPath(f)).toBe("/v1/audit?key=ops&since=2026-01-01T00%3A00%3A00.000Z&limit=50");
  });

  test.each([
    [null, "—"],
    ["text", "text"],
    [3, "3"],
    [{ a: ["b"] }, '{"a":["b"]}'],
  ])("shown(%p) is %p", (value, expected) => {
    expect(shown(value)).toBe(expected);
  });

  test("changeRows lists field, before, after", () => {
    expect(changeRows({ url: { before: "a", after: "b" }, secret: { before: null, after: "********" } })).toEqual([
      ["url", "a", "b"],
      ["secret", "—", "********"],
    ]);
  });
});

describe.skipIf(!haveChromium)("audit log page in headless Chromium", () => {
  let server: TestServer;
  let context: import("playwright-core").BrowserContext;
  let page: import("playwright-core").Page;
  let profile: string;
  const problems: string[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    server = await startTestServer({ delivery: 'require_https = false\nallow_targets = ["127.0.0.0/8"]' });
    const { chromium } = await import("playwright-core");
    profile = mkdtempSync(join(tmpdir(), "hookd-ui-audit-"));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      viewport: { width: 1366, height: 900 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    // The browser asks for /favicon.ico on its own; every other failed load or error is a problem.
    page.on("response", (r) => {
      if (r.status() >= 400 && !r.url().endsWith("/favicon.ico")) problems.push(`${r.status()} ${r.url()}`);
    });
    page.on("console", (m) => {
      if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) problems.push(m.text());
    });
    page.on("pageerror", (e) => problems.push(e.message));
  }, 20_000);

  afterAll(async () => {
    await context?.close();
    await server?.stop();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  test("lists changes newest first with before → after, masked, and filters by target through the URL", async () => {
    const a = (await server.api("POST", "/v1/webhooks", { url: "http://127.0.0.1:9/a", events: ["*"] })).body.data.id;
    await server.api("PATCH", `/v1/webhooks/${a}`, { url: "http://127.0.0.1:9/b", headers: { Authorization: TOKEN } });
    const b = (await server.api("POST", "/v1/webhooks", { url: "http://127.0.0.1:9/other", events: ["*"] })).body.data.id;

    await page.goto(`${server.url}/ui`);
    await page.getByLabel("API key").fill(server.key);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Overview" }).waitFor();
    await page.getByRole("link", { name: "Audit log" }).click();
    await page.getByRole("heading", { name: "Audit log" }).waitFor();
    const rows = page.locator("table.audit-table > tbody > tr");
    expect(await rows.count()).toBe(3);
    expect(await rows.nth(0).textContent()).toContain(b);
    const patched = rows.nth(1);
    expect(await patched.textContent()).toContain(`PATCH /v1/webhooks/${a}`);
    const urlRow = patched.locator("table.audit-changes tr", { hasText: "url" });
    expect(await urlRow.locator("td").allTextContents()).toEqual(["http://127.0.0.1:9/a", "http://127.0.0.1:9/b"]);
    expect(await patched.locator("table.audit-changes").textContent()).toContain('{"Authorization":"********"}');
    expect(await page.content()).not.toContain(TOKEN);

    await page.getByLabel("Target").fill(a);
    await page.getByRole("button", { name: "Show" }).click();
    await page.waitForURL(/#\/audit\?target_id=/);
    await page.waitForFunction(() => document.querySelectorAll("table.audit-table > tbody > tr").length === 2);
    expect(await page.getByLabel("Target").inputValue()).toBe(a);
    await page.screenshot({ path: join(ARTIFACTS, "audit-log.png"), fullPage: true });
    expect(problems).toEqual([]);
  });
});
