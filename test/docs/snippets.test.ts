import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { DOCS_DIR, docSnippets, extractSnippets, fillPlaceholders } from "./snippets";

describe("extractSnippets", () => {
  test.each([
    ["a runnable block with attributes", "```sh test sender auth=hmac\necho hi\n```\n", { lang: "sh", runnable: true, role: "sender", attrs: { auth: "hmac" }, code: "echo hi\n", line: 1 }],
    ["a plain block", "text\n\n```json\n{}\n```\n", { lang: "json", runnable: false, role: "", attrs: {}, code: "{}\n", line: 3 }],
    ["a tilde fence", "~~~python test receiver scheme=hookd\nprint(1)\n~~~\n", { lang: "python", runnable: true, role: "receiver", attrs: { scheme: "hookd" }, code: "print(1)\n", line: 1 }],
    ["a longer fence holding a shorter one", "````md\n```sh\nx\n```\n````\n", { lang: "md", runnable: false, role: "", attrs: {}, code: "```sh\nx\n```\n", line: 1 }],
    ["a bare attribute", "```yaml test prometheus-rules strict\ngroups: []\n```", { lang: "yaml", runnable: true, role: "prometheus-rules", attrs: { strict: "true" }, code: "groups: []\n", line: 1 }],
    ["\"test\" as a later word only", "```sh notes test\nx\n```", { lang: "sh", runnable: false, role: "", attrs: {}, code: "x\n", line: 1 }],
  ])("reads %s", (_name, markdown, expected) => {
    const [snippet, ...rest] = extractSnippets(markdown, "x.md");
    expect(rest).toEqual([]);
    expect(snippet).toEqual({ file: "x.md", ...expected });
  });

  test("an unclosed fence runs to the end of the file, like CommonMark", () => {
    expect(extractSnippets("```sh test ops\nline 1\nline 2", "x.md")[0]!.code).toBe("line 1\nline 2\n");
  });
});

describe("fillPlaceholders", () => {
  const snippet = extractSnippets("```sh test sender auth=hmac\ncurl https://hookd.example.com/in/psft-payroll\n```", "x.md")[0]!;

  test("replaces every occurrence", () => {
    expect(fillPlaceholders(snippet, { "https://hookd.example.com": "http://127.0.0.1:1", "psft-payroll": "s1" })).toBe("curl http://127.0.0.1:1/in/s1\n");
  });

  test("refuses a placeholder the snippet does not use, so a test cannot silently stop proving anything", () => {
    expect(() => fillPlaceholders(snippet, { YOUR_SOURCE_SECRET: "x" })).toThrow("does not use the placeholder YOUR_SOURCE_SECRET");
  });
});

// Each guide's runnable roles and the test file that runs them: a block whose role no test runs would pass
// silently forever, so it fails here instead.
const RUNNERS: Record<string, string[]> = {
  "senders.md": ["sender", "config"], // test/docs/senders.test.ts
  "receivers.md": ["receiver"], // test/docs/receivers.test.ts
  "operations.md": ["prometheus-rules", "config", "ops"], // test/docs/operations.test.ts
  "routing.md": ["routing", "config"], // test/docs/routing.test.ts, routing-transforms.test.ts
};

describe("docs/", () => {
  test("has exactly the guides whose snippets are tested", () => {
    expect(readdirSync(DOCS_DIR).filter((f) => f.endsWith(".md")).sort()).toEqual(Object.keys(RUNNERS).sort());
  });

  test.each(Object.entries(RUNNERS))("every runnable block of %s has a role its test runs", (file, roles) => {
    const runnable = docSnippets(file).filter((s) => s.runnable);
    expect(runnable.length).toBeGreaterThan(0);
    const unrun = runnable.filter((s) => !roles.includes(s.role)).map((s) => `line ${s.line}: role "${s.role}"`);
    expect(unrun).toEqual([]);
  });
});
