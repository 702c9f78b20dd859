// Issue 18 in headless Chromium: the overview's charts show a receiver outage, every list pages,
// the Undelivered view counts and replays, events link to their deliveries, GET / leads to /ui,
// the create form clears, rotate takes a given secret, the inbound table fits 1280 px.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHmac, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor } from "../support/process";
import { startTestServer, type TestServer } from "../support/test-server";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = join(import.meta.dir, "..", "..", "test-artifacts");
const haveChromium = existsSync(CHROMIUM);
const INBOUND_SECRET = "erp-secret-for-overview-test";
const EVENTS = 250;
const OUTAGE = 5;

let server: TestServer;
let receiverOk = true;
let receiver: ReturnType<typeof Bun.serve>;
let context: import("playwright-core").BrowserContext;
let page: import("playwright-core").Page;
let profile: string;
let webhookId: string;
let failedEventId: string;

const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
const stats = async () => (await server.api("GET", "/v1/stats")).body.data;
const sum = (column: readonly number[] | undefined) => (column ?? []).reduce((n, v) => n + (v ?? 0), 0);

/** chartData is what uPlot drew in the figure `id`: x values, then one column per series. */
function chartData(id: string): Promise<number[][] | null> {
  return page.evaluate((selector) => {
    const figure = document.querySelector(selector) as (Element & { chart?: { data: ArrayLike<number | null>[] } }) | null;
    return figure?.chart ? figure.chart.data.map((column) => Array.from(column, (v) => v ?? 0)) : null;
  }, `#${id}`);
}

function inbound(signature: (body: string) => string): Promise<Response> {
  const body = JSON.stringify({ connector_id: "erp", event_type: "invoice.paid", timestamp: new Date().toISOString() });
  return fetch(`${server.url}/in/erp`, { method: "POST", body, headers: { "x-hookd-signature": signature(body) } });
}

describe.skipIf(!haveChromium)("overview charts, paging and the Undelivered view in headless Chromium", () => {
  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    receiver = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response(receiverOk ? "ok" : "down", { status: receiverOk ? 200 : 503 }) });
    server = await startTestServer({
      delivery: 'require_https = false\nallow_targets = ["127.0.0.0/8"]\nretry_schedule = ["1h"]',
      "[[sources]]": `id = "erp"\nauth = "hmac"\nsecret = "${INBOUND_SECRET}"`,
    });
    webhookId = (await server.api("POST", "/v1/webhooks", { url: `http://127.0.0.1:${receiver.port}/hook`, events: ["*"] })).body.data.id;
    for (let i = 0; i < EVENTS; i++) expect((await server.api("POST", "/v1/events", { type: "order.created", data: { n: i } })).status).toBe(202);
    expect((await inbound((body) => `sha256=${createHmac("sha256", INBOUND_SECRET).update(body).digest("hex")}`)).status).toBeLessThan(300);
    expect((await inbound(() => `sha256=${"0".repeat(64)}`)).status).toBe(401);
    await waitFor(async () => (await stats()).deliveries.delivered === EVENTS + 1, 30_000, "the first events delivered");
    // The receiver goes down: these fail, with the retry an hour away.
    receiverOk = false;
    for (let i = 0; i < OUTAGE; i++) failedEventId = (await server.api("POST", "/v1/events", { type: "order.failed", data: { n: i } })).body.data.id;
    await waitFor(async () => (await stats()).deliveries.failed === OUTAGE, 15_000, "the outage's deliveries failed");

    const { chromium } = await import("playwright-core");
    profile = mkdtempSync(join(tmpdir(), "hookd-ui-overview-"));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      viewport: { width: 1280, height: 900 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on("dialog", (d) => void d.accept());
  }, 90_000);

  afterAll(async () => {
    await context?.close();
    await server?.stop();
    receiver?.stop(true);
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  test("GET / leads to the dashboard; sign in lands on the overview", async () => {
    await page.goto(`${server.url}/`);
    expect(new URL(page.url()).pathname).toBe("/ui");
    await page.getByLabel("API key").fill(server.key);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Overview" }).waitFor();
  }, 20_000);

  test("the overview charts the outage's failures from the API's series; oldest pending ignores failed ones", async () => {
    await page.locator("#chart-deliveries canvas").first().waitFor();
    await page.locator("#chart-inbound canvas").first().waitFor();
    await page.locator("#chart-endpoints canvas").first().waitFor();
    const drawn = await chartData("chart-deliveries");
    expect(drawn).toHaveLength(4);
    const series = (await server.api("GET", "/v1/stats?window=1h&step=1m")).body.data.series;
    expect(drawn![0]).toHaveLength(60);
    // The drawn columns are the API's: delivered, failed, expired per minute.
    for (const [i, key] of ["delivered", "failed", "expired"].entries()) {
      expect(sum(drawn![i + 1])).toBe(sum(series.deliveries.map((d: Record<string, number>) => d[key])));
    }
    expect(sum(drawn![1])).toBe(EVENTS + 1);
    expect(sum(drawn![2])).toBe(OUTAGE);
    const received = await chartData("chart-inbound");
    expect([sum(received![1]), sum(received![2])]).toEqual([1, 1]);
    const rates = await chartData("chart-endpoints");
    expect(series.endpoints).toHaveLength(1);
    expect(series.endpoints[0]).toMatchObject({ id: webhookId, attempts: EVENTS + 1 + OUTAGE, succeeded: EVENTS + 1 });
    expect(rates![1]).toEqual([Math.round(series.endpoints[0].success_rate * 1000) / 10]);
    expect(rates![1]![0]).toBeCloseTo(98, 0);
    expect(await page.locator("#chart-deliveries figcaption").textContent()).toBe(`Last hour: ${EVENTS + 1} delivered, ${OUTAGE} failed, 0 expired.`);
    expect(await page.locator("#chart-deliveries canvas").first().getAttribute("aria-label")).toContain(`${OUTAGE} failed`);
    expect(await page.locator("#stat-failed .value").textContent()).toBe(String(OUTAGE));
    expect(await page.locator("#stat-oldest .value").textContent()).toBe("0");
    await shot("overview-charts-outage");
  }, 20_000);

  test("an endpoint's 256 deliveries page with load more", async () => {
    await page.goto(`${server.url}/ui#/endpoints/${webhookId}`);
    await page.getByRole("heading", { name: "Deliveries" }).waitFor();
    const rows = page.locator(".paged tbody tr");
    await page.getByText("100 shown; more to load.").waitFor();
    expect(await rows.count()).toBe(100);
    await page.getByRole("button", { name: "Load more" }).click();
    await page.getByText("200 shown; more to load.").waitFor();
    await page.getByRole("button", { name: "Load more" }).click();
    await page.getByText(`${EVENTS + 1 + OUTAGE} shown, all loaded.`).waitFor();
    expect(await rows.count()).toBe(EVENTS + 1 + OUTAGE);
    expect(await page.getByRole("button", { name: "Load more" }).isVisible()).toBe(false);
    const ids = await rows.locator("td:first-child a").allTextContents();
    expect(new Set(ids).size).toBe(ids.length);
    await shot("deliveries-paged");
  }, 30_000);

  test("the events list pages too, and an event's page links to its deliveries", async () => {
    await page.getByRole("link", { name: "Events", exact: true }).click();
    await page.getByText("100 shown; more to load.").waitFor();
    await page.getByRole("button", { name: "Load more" }).click();
    await page.getByText("200 shown; more to load.").waitFor();
    await page.goto(`${server.url}/ui#/events/${failedEventId}`);
    await page.getByRole("heading", { name: "Deliveries (1)" }).waitFor();
    await page.locator("#main table").getByRole("link", { name: /^dlv_/ }).click();
    await page.getByRole("heading", { name: "Attempts" }).waitFor();
    expect(await page.locator("#delivery-fields").textContent()).toContain("order.failed");
  }, 20_000);

  test("the Undelivered view filters, counts with a dry run, and replays; the rows turn delivered", async () => {
    await page.getByRole("link", { name: "Undelivered", exact: true }).click();
    await page.getByRole("heading", { name: "Undelivered" }).waitFor();
    await page.getByText(`${OUTAGE} shown, all loaded.`).waitFor();
    await page.locator("#undelivered-endpoint").selectOption(webhookId);
    await page.locator("#undelivered-type").fill("order.failed");
    await page.getByRole("button", { name: "Show", exact: true }).click();
    await page.waitForURL(/event_type=order\.failed/);
    await page.getByText(`${OUTAGE} shown, all loaded.`).waitFor();
    expect(await page.locator(".undelivered-table .status-failed").count()).toBe(OUTAGE);
    await page.getByRole("button", { name: "Count matching (dry run)" }).click();
    await page.getByText(`${OUTAGE} deliveries would be replayed.`).waitFor();
    await shot("undelivered");
    expect((await stats()).deliveries.failed).toBe(OUTAGE);

    receiverOk = true;
    await page.getByRole("button", { name: "Replay matching" }).click();
    await page.getByText(`${OUTAGE} deliveries replayed.`).waitFor();
    await waitFor(async () => (await stats()).deliveries.delivered === EVENTS + 1 + OUTAGE, 15_000, "the replayed deliveries delivered");
    await page.getByRole("button", { name: "Show", exact: true }).click();
    await page.getByText("Nothing undelivered matches.").waitFor();
    const after = (await server.api("GET", `/v1/webhooks/${webhookId}/deliveries?status=delivered&limit=10`)).body.data;
    expect(after.filter((d: { event_type: string }) => d.event_type === "order.failed")).toHaveLength(OUTAGE);
    await shot("undelivered-replayed");
  }, 30_000);

  test("the create form clears after success, and rotate takes a given secret", async () => {
    await page.getByRole("link", { name: "Endpoints", exact: true }).click();
    const url = `http://127.0.0.1:${receiver.port}/second`;
    await page.locator("#new-url").fill(url);
    await page.locator("#new-events").fill("order.*");
    await page.locator("#new-description").fill("second one");
    await page.getByRole("button", { name: "Create endpoint" }).click();
    await page.locator("#secret-value").waitFor();
    expect(await page.locator("#new-url").inputValue()).toBe("");
    expect(await page.locator("#new-description").inputValue()).toBe("");
    expect(await page.locator("#new-events").inputValue()).toBe("*");
    await page.getByRole("button", { name: "I have stored it" }).click();

    const given = `whsec_${randomBytes(32).toString("base64")}`;
    await page.getByRole("button", { name: `Rotate secret of ${url} (second one)` }).click();
    await page.locator("#rotate-secret").fill(given);
    await page.getByRole("button", { name: "Rotate", exact: true }).click();
    await page.getByRole("heading", { name: /rotated/ }).waitFor();
    expect(await page.locator("#secret-value").textContent()).toBe(given);
  }, 20_000);

  test("the inbound table fits a 1280 px window", async () => {
    await page.getByRole("link", { name: "Inbound", exact: true }).click();
    await page.locator(".inbound-table").waitFor();
    const { scroll, right } = await page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth,
      right: (document.querySelector(".inbound-table") as HTMLElement).getBoundingClientRect().right,
    }));
    expect(scroll).toBeLessThanOrEqual(1280);
    expect(right).toBeLessThanOrEqual(1280);
    await shot("inbound-1280");
  }, 20_000);
});
