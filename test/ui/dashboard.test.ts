// End-to-end: the dashboard in real headless Chromium (Debian's `chromium`, driven by playwright-core).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor } from "../support/process";
import { startTestServer, type TestServer } from "../support/test-server";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = join(import.meta.dir, "..", "..", "test-artifacts");
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  console.warn(`test/ui: SKIPPED — ${CHROMIUM} not found. Install Debian's chromium (apt-get install -y chromium; .ci/run does) to run the dashboard tests.`);
}

const INBOUND_SECRET = "erp-secret-for-ui-test";
let server: TestServer;
let receiverOk = true;
let received = 0;
let receiver: ReturnType<typeof Bun.serve>;
let context: import("playwright-core").BrowserContext;
let page: import("playwright-core").Page;
let profile: string;

const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

/** settledStatuses waits (polling the API, not sleeping) until no delivery of the endpoint is in flight and `done` holds for their statuses. */
async function settledStatuses(webhookId: string, done: (statuses: string[]) => boolean, what: string): Promise<void> {
  await waitFor(async () => {
    const list: { status: string; in_flight: boolean }[] = (await server.api("GET", `/v1/webhooks/${webhookId}/deliveries`)).body.data;
    return list.every((d) => !d.in_flight) && done(list.map((d) => d.status));
  }, 10_000, what);
}

describe.skipIf(!haveChromium)("dashboard in headless Chromium", () => {
  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    receiver = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: () => {
        received++;
        return receiverOk ? new Response("thanks", { status: 200 }) : new Response("<b>receiver broken</b>", { status: 500 });
      },
    });
    server = await startTestServer({
      delivery: 'require_https = false\nallow_targets = ["127.0.0.0/8"]\nretry_schedule = ["1h"]',
      "[[sources]]": `id = "erp"\nauth = "hmac"\nsecret = "${INBOUND_SECRET}"`,
    });
    const { chromium } = await import("playwright-core");
    profile = mkdtempSync(join(tmpdir(), "hookd-ui-chromium-"));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
      ],
      viewport: { width: 1366, height: 900 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on("dialog", (d) => void d.accept());
  }, 20_000);

  afterAll(async () => {
    await context?.close();
    await server?.stop();
    receiver?.stop(true);
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  test("without a key only the sign-in form shows, and /v1 answers 401", async () => {
    const res = await page.goto(`${server.url}/ui`);
    expect(res?.headers()["content-security-policy"]).toBe("default-src 'self'");
    expect(res?.headers()["x-content-type-options"]).toBe("nosniff");
    await page.getByLabel("API key").waitFor();
    expect(await page.locator("nav").count()).toBe(0);
    const api = await page.evaluate(async () => (await fetch("/v1/stats")).status);
    expect(api).toBe(401);
    await page.getByLabel("API key").fill("wrong-key");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByText("That API key was not accepted.").waitFor();
    expect(await page.locator("nav").count()).toBe(0);
    await shot("sign-in");
  });

  test("sign in, create an endpoint, deliver, fail, retry, inbound rejection", async () => {
    await page.getByLabel("API key").fill(server.key);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Overview" }).waitFor();
    await shot("overview");

    // Create an endpoint and read its secret once.
    await page.getByRole("link", { name: "Endpoints" }).click();
    await page.getByLabel("URL").fill(`http://127.0.0.1:${receiver.port}/hook`);
    await page.getByLabel("Description").fill("<img src=x onerror=alert(1)> ui test");
    await page.getByRole("button", { name: "Create endpoint" }).click();
    const secret = await page.locator("#secret-value").textContent();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    await page.getByText("won't be shown again").waitFor();
    // Stored text is rendered as text, not markup.
    await page.getByText("<img src=x onerror=alert(1)> ui test").first().waitFor();
    expect(await page.locator("#endpoint-list img").count()).toBe(0);
    await shot("endpoints");
    const list = (await server.api("GET", "/v1/webhooks")).body.data;
    expect(list).toHaveLength(1);
    const id: string = list[0].id;

    // A test event is delivered.
    await page.getByRole("button", { name: /^Send test event/ }).click();
    await page.getByText(/Test event evt_.* queued/).waitFor();
    await settledStatuses(id, (s) => s.includes("delivered"), "the test event delivered");
    await page.getByRole("link", { name: "Deliveries" }).click();
    await page.getByRole("heading", { name: "Deliveries" }).waitFor();
    await page.locator("td .status-delivered").first().waitFor();

    // The receiver breaks: the next test event fails.
    receiverOk = false;
    await page.getByRole("link", { name: "Endpoints" }).click();
    await page.getByRole("button", { name: /^Send test event/ }).click();
    await page.getByText(/Test event evt_.* queued/).waitFor();
    await settledStatuses(id, (s) => s.includes("failed"), "the second test event failed");
    await page.getByRole("link", { name: "Deliveries" }).click();
    await page.locator("td .status-failed").first().waitFor();
    await shot("deliveries");

    // Its detail shows the attempt with the stored response as text, and the payload.
    await page.locator("tr", { has: page.locator(".status-failed") }).getByRole("link", { name: /^dlv_/ }).click();
    await page.getByRole("heading", { name: "Attempts" }).waitFor();
    await page.getByText("<b>receiver broken</b>").waitFor();
    expect(await page.locator("main b").count()).toBe(0);
    expect(await page.locator("#event-payload").textContent()).toContain('"type": "webhook.test"');
    await shot("delivery-detail");

    // The receiver recovers; retry from the UI; the delivery turns delivered.
    receiverOk = true;
    await page.getByRole("button", { name: /^Retry dlv_/ }).click();
    await settledStatuses(id, (s) => s.length === 2 && s.every((x) => x === "delivered"), "the retried delivery delivered");
    await page.reload();
    await page.getByRole("heading", { name: "Attempts" }).waitFor();
    await page.locator("#delivery-fields .status-delivered").waitFor();
    expect(await page.locator("tbody tr").count()).toBe(2);
    const all = (await server.api("GET", `/v1/webhooks/${id}/deliveries`)).body.data;
    expect(all.map((d: { status: string }) => d.status)).toEqual(["delivered", "delivered"]);
    expect(received).toBe(3);

    // Events page; a large integer is shown as sent, not rounded.
    const big = await server.api("POST", "/v1/events", '{"type":"ledger.posted","data":{"amount":12345678901234567890123}}');
    expect(big.status).toBe(202);
    await page.getByRole("link", { name: "Events" }).click();
    await page.getByRole("heading", { name: "Events" }).waitFor();
    await page.getByRole("cell", { name: "webhook.test" }).first().waitFor();
    await page.getByRole("button", { name: /^Show payload of/ }).first().click();
    await page.locator("#event-detail pre").waitFor();
    expect(await page.locator("#event-detail pre").textContent()).toContain('"amount": 12345678901234567890123');
    await shot("events");

    // A sender with a wrong signature: rejected, with its reason and size (never a body or HMAC).
    const body = JSON.stringify({ connector_id: "erp", event_type: "invoice.paid", timestamp: new Date().toISOString() });
    const bad = await fetch(`${server.url}/in/erp`, { method: "POST", body, headers: { "x-hookd-signature": `sha256=${"0".repeat(64)}` } });
    expect(bad.status).toBe(401);
    await page.getByRole("link", { name: "Inbound" }).click();
    await page.getByRole("heading", { name: "Inbound" }).waitFor();
    const row = page.locator("tr", { has: page.locator(".status-rejected") });
    await row.waitFor();
    expect(await row.textContent()).toContain("invalid_signature");
    expect(await row.textContent()).toContain(`${Buffer.byteLength(body)} bytes`);
    await shot("inbound");

    // Overview reflects the traffic.
    await page.getByRole("link", { name: "Overview" }).click();
    await page.locator("#stat-delivered .value").waitFor();
    // (two test events, plus the ledger.posted event, which the "*" endpoint also receives, possibly still pending)
    expect(Number(await page.locator("#stat-delivered .value").textContent())).toBeGreaterThanOrEqual(2);
    await shot("overview-after");

    // Edit, disable/enable, rotate, recover since, delete.
    await page.getByRole("link", { name: "Endpoints" }).click();
    await page.getByRole("button", { name: /^Edit / }).click();
    await page.getByLabel("Description", { exact: true }).nth(1).fill("billing bus");
    await page.getByLabel("Events", { exact: true }).fill("webhook.test, ledger.*");
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByText(`Endpoint ${id} saved.`).waitFor();
    expect((await server.api("GET", `/v1/webhooks/${id}`)).body.data).toMatchObject({ description: "billing bus", events: ["webhook.test", "ledger.*"] });
    await page.getByRole("button", { name: /^Disable / }).click();
    await page.getByText(`Endpoint ${id} disabled.`).waitFor();
    expect((await server.api("GET", `/v1/webhooks/${id}`)).body.data.status).toBe("disabled");
    await page.getByRole("button", { name: /^Enable / }).click();
    await page.getByText(`Endpoint ${id} enabled.`).waitFor();
    await page.getByRole("button", { name: /^Rotate secret/ }).click();
    await page.getByRole("button", { name: "Rotate", exact: true }).click();
    await page.getByRole("heading", { name: /rotated/ }).waitFor();
    const rotated = await page.locator("#secret-value").textContent();
    expect(rotated).toMatch(/^whsec_/);
    expect(rotated).not.toBe(secret);
    await page.getByRole("link", { name: "Deliveries" }).click();
    await page.getByLabel(/created since/).fill("2000-01-01T00:00");
    await page.getByRole("button", { name: "Recover since" }).click();
    await page.getByText(/\d+ deliveries re-enqueued/).waitFor();
    await page.getByRole("link", { name: "Endpoints" }).click();
    await page.getByRole("button", { name: /^Delete / }).click();
    await page.getByText(`Endpoint ${id} deleted.`).waitFor();
    expect((await server.api("GET", `/v1/webhooks/${id}`)).status).toBe(404);

    // Signing out leaves only the sign-in form.
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("API key").waitFor();
    expect(await page.locator("nav").count()).toBe(0);
  }, 30_000);
});
