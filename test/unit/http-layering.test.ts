import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

// STYLE.md habit 1: features sit over plumbing; plumbing never imports a feature. These checks read
// the import lines of every file, so a new file cannot slip past them.

const ROOT = resolve(import.meta.dir, "../..");

/** importsOf lists the module specifiers a TypeScript file imports or re-exports, type-only ones included. */
function importsOf(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']/gm, // import … from, export … from (multi-line too)
    /^\s*import\s*["']([^"']+)["']/gm, // import "side-effect"
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g, // import("dynamic")
  ];
  for (const pattern of patterns) for (const m of source.matchAll(pattern)) found.push(m[1]!);
  return found;
}

/** crossings names each import of `file` that resolves into one of `forbidden` (folders under src/). */
function crossings(file: string, forbidden: readonly string[]): string[] {
  const source = readFileSync(join(ROOT, file), "utf8");
  return importsOf(source)
    .filter((spec) => spec.startsWith("."))
    .map((spec) => ({ spec, target: relative(ROOT, resolve(ROOT, dirname(file), spec)) }))
    .filter(({ target }) => forbidden.some((dir) => target === `src/${dir}` || target.startsWith(`src/${dir}/`)))
    .map(({ spec }) => `${file} imports ${spec}`);
}

function filesUnder(dir: string): string[] {
  return [...new Bun.Glob("**/*.{ts,tsx}").scanSync({ cwd: join(ROOT, dir) })].map((f) => `${dir}/${f}`).sort();
}

describe("importsOf", () => {
  test.each([
    ['import { a } from "../api/x";', ["../api/x"]],
    ['import type {\n  A,\n  B,\n} from "../../events/types";', ["../../events/types"]],
    ['export { x } from "./y";\nexport * from "../inbound/z";', ["./y", "../inbound/z"]],
    ['import "../ui/style.css";', ["../ui/style.css"]],
    ['const m = await import("../delivery/sender");', ["../delivery/sender"]],
    ['import css from "./style.css" with { type: "text" };', ["./style.css"]],
    ['// a comment that mentions from "../api/x" is not an import\nconst s = "from";', []],
  ])("%j → %j", (source, expected) => {
    expect(importsOf(source)).toEqual(expected);
  });
});

describe("src/http is plumbing", () => {
  const files = filesUnder("src/http");

  test("there are files to check", () => {
    expect(files).toContain("src/http/server.ts");
  });

  test("no file imports from src/api, src/inbound, src/ui, src/delivery or src/jobs", () => {
    const found = files.flatMap((f) => crossings(f, ["api", "inbound", "ui", "delivery", "jobs"]));
    expect(found).toEqual([]);
  });
});

describe("src/storage is plumbing", () => {
  // Storage is handed decisions (which endpoints an event goes to, what an attempt's outcome means)
  // instead of importing the features that make them, so a second backend does not copy them.
  const files = filesUnder("src/storage");

  test("there are files to check", () => {
    expect(files).toContain("src/storage/types.ts");
  });

  test("no file imports from src/events, src/api, src/inbound or src/delivery", () => {
    const found = files.flatMap((f) => crossings(f, ["events", "api", "inbound", "delivery"]));
    expect(found).toEqual([]);
  });
});

describe("the SQLite backend stays behind the storage contract", () => {
  // Only the backend-neutral opener (src/storage/open.ts) picks a backend; everything else sees
  // src/storage/types.ts, so a PostgreSQL backend is a sibling folder, not a change to callers.
  const outside = filesUnder("src").filter((f) => !f.startsWith("src/storage/sqlite/") && f !== "src/storage/open.ts");

  test("there are files to check", () => {
    expect(outside).toContain("src/app.ts");
  });

  test("no file outside src/storage/sqlite (but the opener) imports it", () => {
    const found = outside.flatMap((f) => crossings(f, ["storage/sqlite"]));
    expect(found).toEqual([]);
  });
});
