import { expect } from "bun:test";
import type { TestServer } from "../support/test-server";
import { docSnippets, fillPlaceholders, runSnippet, type Snippet, where } from "./snippets";

// Shared by test/docs/operations-alerts.test.ts and operations-replay.test.ts: the `ops by=alerts` and
// `ops by=replay` blocks of docs/operations.md (operations.test.ts leaves those to them, since each needs a
// hookd of its own) and how an operator runs them (curl with the guide's placeholders).

/** guide is docs/operations.md's blocks. */
export const guide = docSnippets("operations.md");

/** The placeholders every operator block of the guide uses. */
export const HOST = "https://hookd.example.com";
export const API_KEY = "YOUR_API_KEY";

/** opsBlock is the one `<lang> test ops by=<by>` block with these attributes; it fails unless there is exactly one. */
export function opsBlock(by: string, attrs: Record<string, string>, lang = "sh"): Snippet {
  const found = guide.filter(
    (s) => s.runnable && s.role === "ops" && s.attrs.by === by && s.lang === lang && Object.entries(attrs).every(([k, v]) => s.attrs[k] === v),
  );
  expect(found.map(where), `exactly one ${lang} ops block with by=${by} ${JSON.stringify(attrs)}`).toHaveLength(1);
  return found[0]!;
}

/** blockAfter is the first block in `lang` after `s`: what the guide prints for it. */
export function blockAfter(s: Snippet, lang: string): Snippet {
  const next = guide.find((b) => b.line > s.line && b.lang === lang);
  expect(next, `a ${lang} block after ${where(s)}`).toBeDefined();
  return next!;
}

/** runOps runs an operator block against `server` (host and key filled in, plus `values`) and returns the JSON it printed. */
export async function runOps(server: TestServer, s: Snippet, values: Record<string, string> = {}): Promise<any> {
  const run = await runSnippet(s, fillPlaceholders(s, { [HOST]: server.url, [API_KEY]: server.key, ...values }));
  expect({ exit: run.code, stderr: run.stderr }, where(s)).toEqual({ exit: 0, stderr: "" });
  try {
    return JSON.parse(run.stdout);
  } catch {
    throw new Error(`${where(s)} printed no JSON:\n${run.stdout}`);
  }
}
