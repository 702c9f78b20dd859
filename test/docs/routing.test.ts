import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROUTING_FIELDS } from "../../src/api/webhook-routing";
import { loadConfig } from "../../src/config/load";
import { ALLOWED_OPERATORS } from "../../src/routing/filter";
import { admin, API_KEY, Cleanups, HOST, WEBHOOK_ID } from "./option-rig";
import { after, arrived, block, configBlock, deliveryCount, ERP_EVENT, erpEvent, EVENT_ID, guide, hookd, post, receiver, SOURCE, sourcesSections, text } from "./routing-rig";
import { configEnv, DOCS_DIR, where } from "./snippets";

// docs/routing.md: its shape, the on-call example (filters), preview of a stored event, and what filters
// see. The transform examples are run by routing-transforms.test.ts. Every block is run as printed against
// a real hookd and what the 127.0.0.1 receivers get is compared with what the guide prints.

/** The blocks the routing tests run, as `example step lang`; a new runnable block must be added to a test and here. */
const RUN = [
  "oncall create sh", "oncall widen sh", // "on-call gets one source's errors"
  "chat expression jsonata", "chat create sh", // "a Teams or Slack channel message"
  "xml expression jsonata", "xml create sh", // "XML for a legacy listener"
  "ticket expression jsonata", "ticket create sh", // "field names for a ticketing API"
  "preview adhoc sh", "preview stored sh", // "Preview before you save"
  "fix - sh", // "When a transform fails"
];

const cleanups = new Cleanups();
afterAll(() => cleanups.run());

describe("docs/routing.md", () => {
  test("every runnable block is one the routing tests run", () => {
    const found = guide.filter((s) => s.runnable && s.role === "routing").map((s) => `${s.attrs.example} ${s.attrs.step ?? "-"} ${s.lang}`);
    expect(found.sort()).toEqual([...RUN].sort());
    expect(guide.filter((s) => s.runnable).every((s) => s.role === "routing" || s.role === "config")).toBe(true);
    // Code a reader might run is either tested or not code at all.
    for (const s of guide.filter((b) => ["sh", "js", "python", "jsonata"].includes(b.lang))) expect(s.runnable, where(s)).toBe(true);
  });

  test("its source configuration loads as printed", () => {
    expect(guide.filter((s) => s.runnable && s.role === "config")).toEqual([configBlock]);
    expect(() => loadConfig(configBlock.code, configEnv(configBlock.code))).not.toThrow();
    expect(sourcesSections().sections["[[sources]] # 0"]).toContain(`id = "${SOURCE}"`);
  });

  test("the field table names exactly the routing fields, and the operator table exactly the allowed operators", () => {
    const table = text.slice(text.indexOf("| field | what it does |"), text.indexOf("\n\n", text.indexOf("| field | what it does |")));
    expect([...table.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]).sort()).toEqual([...ROUTING_FIELDS].sort());
    const ops = text.slice(text.indexOf("| operators | meaning |"), text.indexOf("\n\n", text.indexOf("| operators | meaning |")));
    const listed = [...ops.matchAll(/^\| ((?:`\$[a-zA-Z]+`[ ,]*)+)\|/gm)].flatMap((m) => [...m[1]!.matchAll(/`(\$[a-zA-Z]+)`/g)].map((o) => o[1]!));
    expect(listed.sort()).toEqual([...ALLOWED_OPERATORS].sort());
  });

  test("every JSON example parses and every link to a heading of the guide has its heading", () => {
    for (const s of guide.filter((b) => b.lang === "json")) expect(() => JSON.parse(s.code), where(s)).not.toThrow();
    const slug = (h: string) => h.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
    const anchors = new Set([...text.matchAll(/^#{2,3} (.+)$/gm)].map((m) => slug(m[1]!)));
    const links = [...text.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]!);
    expect(links.length).toBeGreaterThan(1);
    for (const link of links) expect(anchors, `#${link}`).toContain(link);
    for (const m of text.matchAll(/\]\((receivers|senders)\.md#([^)]+)\)/g)) {
      const other = readFileSync(join(DOCS_DIR, `${m[1]}.md`), "utf8");
      expect(new Set([...other.matchAll(/^#{2,3} (.+)$/gm)].map((h) => slug(h[1]!))), `${m[1]}.md#${m[2]}`).toContain(m[2]!);
    }
  });
});

describe("docs/routing.md: on-call gets one source's errors", () => {
  test("a matching inbound event arrives; a warning and an API event do not; the widened filter applies to the next event", async () => {
    const server = await hookd(cleanups);
    const oncall = receiver(cleanups);
    const createBlock = block("oncall", "create", "sh");
    const created = await admin(server, createBlock, { [HOST]: server.url, [API_KEY]: server.key, "https://oncall.example": oncall.url });
    const printed = JSON.parse(after(createBlock, "json").code).data;
    expect(Object.keys(created.data).sort()).toEqual(Object.keys(printed).sort());
    for (const field of ["events", "description", "status", "filter", "transform", "content_type"]) {
      expect({ field, value: created.data[field] }).toEqual({ field, value: printed[field] });
    }
    const id: string = created.data.id;

    const error = await post(server, erpEvent());
    const got = await arrived(oncall, error);
    expect(JSON.parse(got.body).data).toEqual(ERP_EVENT);
    expect(got.path).toBe("/hooks/hookd");

    const warning = await post(server, erpEvent({ severity: "warn" }));
    expect(await deliveryCount(server, warning)).toBe(0);
    const api = await server.api("POST", "/v1/events", { type: "integration.failed", data: { ...ERP_EVENT, severity: "critical" } });
    expect(api.status, api.text).toBe(202);
    expect(api.body.data.deliveries).toBe(0);
    // Barrier: a later matching event has arrived, so the two above had their chance and were not sent.
    const critical = await post(server, erpEvent({ severity: "critical" }));
    await arrived(oncall, critical);
    expect(oncall.requests.map((r) => r.headers["webhook-id"])).toEqual([error, critical]);

    // The guide's stored-event preview: the warning, before the filter is widened.
    const previewBlock = block("preview", "stored", "sh");
    const preview = await admin(server, previewBlock, { [WEBHOOK_ID]: id, [EVENT_ID]: warning });
    const stored = (await server.api("GET", `/v1/events/${warning}`)).body.data;
    const printedPreview = JSON.parse(after(previewBlock, "json").code);
    const printedBody = JSON.parse(printedPreview.data.body);
    expect(preview).toEqual({ data: { ...printedPreview.data, body: expect.any(String) } });
    expect(JSON.parse(preview.data.body)).toEqual({ ...printedBody, id: warning, created_at: stored.created_at });
    expect(preview.data.body).toBe(printedPreview.data.body.replace(EVENT_ID, warning).replace(printedBody.created_at, stored.created_at));

    const widened = await admin(server, block("oncall", "widen", "sh"), { [WEBHOOK_ID]: id });
    expect(widened.data.filter["data.severity"].$in).toEqual(["warn", "error", "critical"]);
    expect(await deliveryCount(server, warning)).toBe(0);
    const nextWarning = await post(server, erpEvent({ severity: "warn" }));
    await arrived(oncall, nextWarning);
    expect(await deliveryCount(server, warning)).toBe(0);
  }, 30_000);

  test("each filter of the table is accepted, and the regex one matches the guide's event", async () => {
    const server = await hookd(cleanups);
    const table = text.slice(text.indexOf("| goal | filter |"), text.indexOf("\n\n", text.indexOf("| goal | filter |")));
    const filters = [...table.matchAll(/^\| [^|]+ \| `(\{.*\})` \|$/gm)].map((m) => JSON.parse(m[1]!));
    expect(filters.length).toBeGreaterThanOrEqual(5);
    for (const filter of filters) {
      const created = await server.api("POST", "/v1/webhooks", { url: "http://127.0.0.1:9/hook", events: ["*"], filter });
      expect(created.status, `${JSON.stringify(filter)}: ${created.text}`).toBe(201);
      const preview = await server.api("POST", `/v1/webhooks/${created.body.data.id}/preview`, {
        event: { type: "integration.failed", source: SOURCE, data: { ...ERP_EVENT, severity: "critical" } },
      });
      expect(preview.status, preview.text).toBe(200);
      // The guide's event, made critical, is one every example lets through.
      expect({ filter, matches: preview.body.data.matches }).toEqual({ filter, matches: true });
      await server.api("DELETE", `/v1/webhooks/${created.body.data.id}`);
    }
  }, 30_000);

  test("the 422s the guide names: $where, a backreference, a transform that does not compile, a bad content_type", async () => {
    const server = await hookd(cleanups);
    const cases: [Record<string, unknown>, string, string][] = [
      [{ filter: { $where: "true" } }, "filter", "operator $where is not allowed"],
      [{ filter: { "data.source": { $regex: "(a)\\1" } } }, "filter", "is not an RE2 pattern"],
      [{ transform: '{"text": data.message' }, "transform", ""],
      [{ content_type: "xml" }, "content_type", ""],
    ];
    for (const [fields, field, message] of cases) {
      const answer = await server.api("POST", "/v1/webhooks", { url: "http://127.0.0.1:9/hook", events: ["*"], ...fields });
      expect(answer.status, answer.text).toBe(422);
      const detail = answer.body.error.details.find((d: { field: string }) => d.field === field);
      expect(detail, answer.text).toBeDefined();
      expect(detail.message).toContain(message);
    }
  });
});

describe("docs/routing.md: trying a route on a disabled endpoint", () => {
  test("a disabled endpoint gets no delivery, previews its saved route, refuses a bad expression, and delivers once active", async () => {
    const server = await hookd(cleanups);
    const r = receiver(cleanups);
    expect(text).toContain('`{"status": "disabled"}`: a disabled endpoint gets no deliveries');
    const created = await server.api("POST", "/v1/webhooks", { url: `${r.url}/hook`, events: ["integration.failed"] });
    const id: string = created.body.data.id;
    expect((await server.api("PATCH", `/v1/webhooks/${id}`, { status: "disabled" })).status).toBe(200);
    const before = await post(server, erpEvent());
    expect(await deliveryCount(server, before)).toBe(0);

    const bad = await server.api("PATCH", `/v1/webhooks/${id}`, { transform: '{"text": data.message' });
    expect(bad.status, bad.text).toBe(422);
    expect(bad.body.error.details.map((d: { field: string }) => d.field)).toEqual(["transform"]);
    const route = { filter: { source: SOURCE }, transform: '{"text": data.message}' };
    expect((await server.api("PATCH", `/v1/webhooks/${id}`, route)).status).toBe(200);
    const preview = await server.api("POST", `/v1/webhooks/${id}/preview`, { event_id: before });
    expect(preview.body.data).toEqual({ matches: true, content_type: "application/json", body: JSON.stringify({ text: ERP_EVENT.message }), error: null });

    expect((await server.api("PATCH", `/v1/webhooks/${id}`, { status: "active" })).status).toBe(200);
    const next = await post(server, erpEvent());
    expect((await arrived(r, next)).body).toBe(preview.body.data.body);
    expect(r.requests).toHaveLength(1);
  }, 30_000);
});

describe("docs/routing.md: what filters and transforms see", () => {
  test("a missing field matches only negations, and a large integer is rounded in a transform but not in the envelope", async () => {
    const server = await hookd(cleanups);
    const previewWith = async (fields: Record<string, unknown>, body: string) => {
      const created = await server.api("POST", "/v1/webhooks", { url: "http://127.0.0.1:9/hook", events: ["*"], ...fields });
      expect(created.status, created.text).toBe(201);
      const preview = await server.api("POST", `/v1/webhooks/${created.body.data.id}/preview`, body);
      expect(preview.status, preview.text).toBe(200);
      await server.api("DELETE", `/v1/webhooks/${created.body.data.id}`);
      return preview.body.data;
    };
    const event = '{"event": {"type": "integration.failed", "data": {"severity": "error"}}}';
    for (const [filter, matches] of [
      [{ "data.Severity": "error" }, false],
      [{ "data.Severity": { $exists: false } }, true],
      [{ "data.Severity": { $ne: "info" } }, true],
      [{ "data.Severity": { $nin: ["info"] } }, true],
      [{ "data.Severity": { $not: { $eq: "info" } } }, true],
    ] as const) {
      expect({ filter, matches: (await previewWith({ filter }, event)).matches }).toEqual({ filter, matches });
    }

    const [sent, rounded] = /`(\d{20})` becomes `(\d{20})`/.exec(text)!.slice(1) as [string, string];
    const big = `{"event": {"type": "integration.failed", "data": {"n": ${sent}}}}`;
    expect((await previewWith({ transform: '{"n": data.n}' }, big)).body).toBe(`{"n":${rounded}}`);
    expect((await previewWith({}, big)).body).toContain(`"data":{"n": ${sent}}`);
  });
});
