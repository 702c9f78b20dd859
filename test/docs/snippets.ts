import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** DOCS_DIR is where the guides live; every runnable block in them is a test. */
export const DOCS_DIR = join(import.meta.dir, "../../docs");
const SNIPPET_DIR = join(import.meta.dir, "../../test-artifacts/doc-snippets");

/**
 * Snippet is one fenced code block of a guide. A block is runnable when its info string reads
 * `<lang> test <role> [key=value …]`, e.g. "sh test sender auth=hmac": GitHub shows only the language,
 * the test harness reads the rest.
 */
export interface Snippet {
  file: string;
  line: number;
  lang: string;
  /** true when the info string says `test`. */
  runnable: boolean;
  role: string;
  attrs: Record<string, string>;
  code: string;
}

/** where names a snippet in test titles and failures: docs/senders.md:42 (sh sender auth=hmac). */
export function where(s: Snippet): string {
  const attrs = Object.entries(s.attrs).map(([k, v]) => ` ${k}=${v}`).join("");
  return `docs/${s.file}:${s.line} (${s.lang} ${s.role}${attrs})`;
}

/** extractSnippets reads every fenced block (``` or ~~~, CommonMark rules for the closing fence) of one markdown text. */
export function extractSnippets(markdown: string, file: string): Snippet[] {
  const lines = markdown.split("\n");
  const out: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^ {0,3}(`{3,}|~{3,})\s*(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const fence = open[1]!;
    const words = open[2]!.trim().split(/\s+/).filter(Boolean);
    const body: string[] = [];
    let j = i + 1;
    const closing = new RegExp(`^ {0,3}${fence[0] === "`" ? "`" : "~"}{${fence.length},}\\s*$`);
    while (j < lines.length && !closing.test(lines[j]!)) body.push(lines[j++]!);
    const runnable = words[1] === "test";
    const attrs: Record<string, string> = {};
    for (const word of words.slice(3)) {
      const eq = word.indexOf("=");
      attrs[eq < 0 ? word : word.slice(0, eq)] = eq < 0 ? "true" : word.slice(eq + 1);
    }
    out.push({ file, line: i + 1, lang: words[0] ?? "", runnable, role: runnable ? (words[2] ?? "") : "", attrs, code: body.join("\n") + "\n" });
    i = j;
  }
  return out;
}

/** docSnippets reads docs/<file> and returns its blocks. */
export function docSnippets(file: string): Snippet[] {
  return extractSnippets(readFileSync(join(DOCS_DIR, file), "utf8"), file);
}

/**
 * fillPlaceholders replaces each placeholder with its value, after checking the snippet uses every one
 * it is given: a placeholder that silently stopped appearing would make the test prove nothing.
 */
export function fillPlaceholders(s: Snippet, values: Record<string, string>): string {
  let code = s.code;
  for (const [placeholder, value] of Object.entries(values)) {
    if (!code.includes(placeholder)) throw new Error(`${where(s)} does not use the placeholder ${placeholder}`);
    code = code.split(placeholder).join(value);
  }
  return code;
}

const RUNNERS: Record<string, { ext: string; argv: (path: string) => string[] }> = {
  sh: { ext: "sh", argv: (p) => ["bash", "-eo", "pipefail", p] },
  bash: { ext: "sh", argv: (p) => ["bash", "-eo", "pipefail", p] },
  js: { ext: "mjs", argv: (p) => ["node", p] },
  javascript: { ext: "mjs", argv: (p) => ["node", p] },
  python: { ext: "py", argv: (p) => ["python3", "-u", p] },
};

/**
 * snippetCommand writes code to a file under test-artifacts/ (inside the repository, so Node resolves
 * `standardwebhooks` from node_modules as a user's project would) and returns the argv that runs it the
 * way a reader would: bash, node, python3.
 */
export function snippetCommand(s: Snippet, code: string): string[] {
  const runner = RUNNERS[s.lang];
  if (!runner) throw new Error(`${where(s)}: no runner for language "${s.lang}"`);
  mkdirSync(SNIPPET_DIR, { recursive: true });
  const path = join(SNIPPET_DIR, `${s.file.replace(/\W/g, "_")}-${s.line}.${runner.ext}`);
  writeFileSync(path, code);
  return runner.argv(path);
}

/** RunResult is how a snippet ended. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** runSnippet runs a snippet to completion (with a deadline) and returns its exit code and output. */
export async function runSnippet(s: Snippet, code: string, env: Record<string, string> = {}, timeoutMs = 15_000): Promise<RunResult> {
  const proc = Bun.spawn(snippetCommand(s, code), {
    env: { ...process.env, ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    timeout: timeoutMs,
  });
  const [stdout, stderr, exit] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code: exit, stdout, stderr };
}

/** RunningSnippet is a long-lived snippet (a receiver's server) with its output so far. */
export interface RunningSnippet {
  readonly output: () => string;
  stop(): Promise<void>;
}

/** startSnippet starts a snippet that keeps running (a server) and collects its stdout and stderr. */
export function startSnippet(s: Snippet, code: string, env: Record<string, string> = {}): RunningSnippet {
  const proc = Bun.spawn(snippetCommand(s, code), { env: { ...process.env, ...env }, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let output = "";
  const decoder = new TextDecoder();
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) output += decoder.decode(chunk, { stream: true });
  };
  const drained = Promise.all([drain(proc.stdout), drain(proc.stderr)]);
  return {
    output: () => output,
    async stop() {
      proc.kill("SIGKILL");
      await proc.exited;
      await drained;
    },
  };
}

/** envNames collects the variable names of every `*_env` key in a parsed TOML document. */
function envNames(value: unknown, out = new Map<string, string>()): Map<string, string> {
  if (Array.isArray(value)) for (const v of value) envNames(v, out);
  else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (k.endsWith("_env") && typeof v === "string" && v !== "") out.set(v, k);
      else envNames(v, out);
    }
  }
  return out;
}

/**
 * configEnv gives every `*_env` key of a config example a value, as /etc/hookd/hookd.env would; a
 * whsec_ value is a valid secret for every auth kind and a valid API key, and `[storage] url_env`
 * gets a PostgreSQL URL with a password.
 */
export function configEnv(toml: string): Record<string, string> {
  const value = (key: string) =>
    key === "url_env" ? `postgres://hookd:${randomBytes(16).toString("hex")}@db.internal:5432/hookd` : `whsec_${randomBytes(32).toString("base64")}`;
  return Object.fromEntries([...envNames(Bun.TOML.parse(toml))].map(([name, key]) => [name, value(key)]));
}
