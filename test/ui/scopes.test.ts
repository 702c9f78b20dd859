// The dashboard hides what the signed-in key cannot do (SPEC §14), in real headless Chromium.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningApp, startApp } from "../../src/app";
import { loadConfig } from "../../src/config/load";
import { silentLogger } from "../../src/log";
import { hashApiKey } from "../../src/security/api-keys";
import { call } from "../support/test-server";

const CHROMIUM = "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
const KEYS = { admin: ["admin"], read: ["read"], publish: ["publish"] } as const;
const secret = (name: string) => `ui-scopes-key-${name}-0123456789`;

let dir: string;
let profile: string;
let app: RunningApp;
let context: import("playwright-core").BrowserContext;
let webhookId: string;

/** signIn opens a fresh tab (its own sessionStorage) and signs in with the named key. */
async function signIn(name: keyof typeof KEYS): Promise<import("playwright-core").Page> {
  const page = await context.newPage();
  page.on("dialog", (d) => void d.accept());
  await page.goto(`${app.url}/ui`);
  await page.getByLabel("API key").fill(secret(name));
  await page.getByRole("button", { name: "Sign in" }).click();
  return page;
}

describe.skipIf(!haveChromium)("dashboard and key scopes", () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "hookd-ui-scopes-"));
    const keys = Object.entries(KEYS).map(([n, s]) => `  { name = "${n}", hash = "${hashApiKey(secret(n))}", scopes = ${JSON.stringify(s)} },`);
    const toml = `[storage]\npath = ${JSON.stringify(join(dir, "hookd.db"))}\n[api]\nkeys = [\n${keys.join("\n")}\n]\n[delivery]\nrequire_https = false\nallow_targets = ["127.0.0.0/8"]\nretry_schedule = ["1h"]\n`;
    app = await startApp({ config: loadConfig(toml, {}), log: silentLogger, listen: { host: "127.0.0.1", port: 0 } });
    const admin = { authorization: `Bearer ${secret("admin")}` };
    // An endpoint nobody listens on, with one delivery that fails: the pages have rows and actions to offer.
    webhookId = (await call(`${app.url}/v1/webhooks`, "POST", { url: "http://127.0.0.1:9/hook", events: ["*"] }, admin)).body.data.id;
    expect((await call(`${app.url}/v1/webhooks/${webhookId}/test`, "POST", undefined, admin)).status).toBeLessThan(300);
    const { chromium } = await import("playwright-core");
    profile = mkdtempSync(join(tmpdir(), "hookd-ui-scopes-chromium-"));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      viewport: { width: 1366, height: 900 },
    });
  }, 20_000);

  afterAll(async () => {
    await context?.close();
    await app?.stop();
    if (profile) rmSync(profile, { recursive: true, force: true });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("an admin key sees every action", async () => {
    const page = await signIn("admin");
    await page.getByRole("heading", { name: "Overview" }).waitFor();
    expect(await page.getByText("read-only key").count()).toBe(0);
    await page.getByRole("link", { name: "Audit log" }).waitFor();
    await page.getByRole("link", { name: "Endpoints" }).click();
    await page.getByRole("button", { name: "Create endpoint" }).waitFor();
    for (const action of [/^Edit /, /^Disable /, /^Send test event/, /^Rotate secret/, /^Delete /]) {
      expect(await page.getByRole("button", { name: action }).count()).toBe(1);
    }
    await page.close();
  });

  test("a read key sees the lists but no create, edit, delete, rotate, test, retry, replay, recover or preview, and no audit log", async () => {
    const page = await signIn("read");
    await page.getByRole("heading", { name: "Overview" }).waitFor();
    await page.getByText("read-only key").waitFor();
    expect(await page.getByRole("link", { name: "Audit log" }).count()).toBe(0);

    await page.getByRole("link", { name: "Endpoints" }).click();
    await page.getByRole("link", { name: "Deliveries" }).waitFor();
    expect(await page.locator("form").count()).toBe(0);
    expect(await page.locator("#endpoint-list tbody button").count()).toBe(0);
    expect(await page.getByRole("button", { name: /^(Edit|Disable|Enable|Send test event|Rotate secret|Delete) / }).count()).toBe(0);

    await page.getByRole("link", { name: "Deliveries" }).click();
    await page.getByRole("heading", { name: "Filter and transform" }).waitFor();
    expect(await page.getByRole("button", { name: "Recover since" }).count()).toBe(0);
    expect(await page.getByRole("button", { name: "Save routing" }).count()).toBe(0);
    expect(await page.getByRole("button", { name: "Preview" }).count()).toBe(0);
    expect(await page.getByRole("button", { name: /^Retry / }).count()).toBe(0);
    await page.locator("tbody a[href^='#/deliveries/']").first().click();
    await page.getByRole("heading", { name: "Attempts" }).waitFor();
    expect(await page.getByRole("button", { name: /^Retry / }).count()).toBe(0);

    await page.getByRole("link", { name: "Undelivered" }).click();
    await page.getByRole("heading", { name: "Deliveries" }).waitFor();
    expect(await page.getByRole("button", { name: /Replay matching|Count matching/ }).count()).toBe(0);

    // The audit page by its address goes back to the overview.
    await page.evaluate(() => (location.hash = "#/audit"));
    await page.getByRole("heading", { name: "Overview" }).waitFor();
    await page.close();
  });

  test("a publish key signs in (its 403 still names its scopes) and sees only a note that it can publish", async () => {
    const page = await signIn("publish");
    await page.getByRole("heading", { name: "Publish-only key" }).waitFor();
    await page.getByText(/can only publish/).waitFor();
    expect(await page.locator("nav a").count()).toBe(0);
    expect(await page.locator("table").count()).toBe(0);
    await page.evaluate(() => (location.hash = "#/endpoints"));
    await page.getByRole("heading", { name: "Publish-only key" }).waitFor();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("API key").waitFor();
    await page.close();
  });
});
