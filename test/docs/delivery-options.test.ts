import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { OPTION_FIELDS } from "../../src/api/webhook-options";
import { DOCS_DIR, where } from "./snippets";
import { guide, OPTIONS } from "./option-rig";

// docs/receivers.md, "Endpoint delivery options": the section's shape. Each block is run by one of the
// test/docs/option-*.test.ts files; this file makes sure none is left out and the prose agrees with the API.

const text = readFileSync(join(DOCS_DIR, "receivers.md"), "utf8");
const section = text.slice(text.indexOf("## Endpoint delivery options"), text.indexOf("## What hookd does with your answer"));

/** The blocks the option tests run, as `option lang step`; a new block must be added to a test and here. */
const RUN = [
  "headers sh create", "headers sh keep", "headers sh move-refused", "headers sh move", "headers python -", // option-headers.test.ts
  "timeout sh -", "timeout js -", "rate_limit sh -", // option-pace.test.ts
  "ordering sh create", "ordering js -", // option-ordering.test.ts
  "client_tls sh certs", "client_tls toml config", "client_tls sh create", "client_tls js -", // option-client-tls.test.ts
  "oauth2 toml config", "oauth2 sh create", "oauth2 js -", // option-oauth2.test.ts
];

/** slug is GitHub's heading anchor: lower case, punctuation dropped, spaces to dashes. */
function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
}

describe("docs/receivers.md: endpoint delivery options", () => {
  test("has the section after the complete receivers, with one heading per option", () => {
    expect(text.indexOf("## Endpoint delivery options")).toBeGreaterThan(text.indexOf("### Node, with `node:crypto`"));
    const headings = [...section.matchAll(/^### (.+)$/gm)].map((m) => m[1]!);
    expect(headings).toHaveLength(OPTIONS.length);
  });

  test("every runnable option block is one the option tests run, and each option has one", () => {
    const blocks = guide.filter((s) => s.runnable && s.attrs.option !== undefined);
    const found = blocks.map((s) => `${s.attrs.option} ${s.lang} ${s.attrs.step ?? "-"}`);
    expect(found.sort()).toEqual([...RUN].sort());
    for (const option of OPTIONS) expect(found.some((f) => f.startsWith(`${option} `)), option).toBe(true);
    for (const s of blocks) {
      expect(s.role, where(s)).toBe("receiver");
      const line = s.line;
      expect(line, where(s)).toBeGreaterThan(text.slice(0, text.indexOf("## Endpoint delivery options")).split("\n").length);
      expect(line, where(s)).toBeLessThan(text.slice(0, text.indexOf("## What hookd does with your answer")).split("\n").length);
    }
  });

  test("the field table lists exactly the option fields the API takes", () => {
    const table = section.slice(section.indexOf("| field |"), section.indexOf("\n\n", section.indexOf("| field |")));
    const fields = [...table.matchAll(/^\| ((?:`[a-z0-9_]+`(?:, )?)+) \|/gm)].flatMap((m) => [...m[1]!.matchAll(/`([a-z0-9_]+)`/g)].map((f) => f[1]!));
    expect(fields.sort()).toEqual([...OPTION_FIELDS].sort());
  });

  test("every JSON example of the section parses", () => {
    const json = guide.filter((s) => s.lang === "json" && section.includes(s.code));
    expect(json.length).toBeGreaterThanOrEqual(3);
    for (const s of json) expect(() => JSON.parse(s.code), where(s)).not.toThrow();
  });

  test("every link to a heading of the guide has its heading", () => {
    const anchors = new Set([...text.matchAll(/^#{2,3} (.+)$/gm)].map((m) => slug(m[1]!)));
    const links = [...text.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]!);
    expect(links.length).toBeGreaterThan(5);
    for (const link of links) expect(anchors, `#${link}`).toContain(link);
  });
});
