import { RE2JS } from "re2js";
import {
  $all, $and, $elemMatch, $eq, $exists, $gt, $gte, $in, $lt, $lte, $ne, $nin, $nor, $not, $options, $or, $size,
  createEqualsOperation, createQueryTester,
} from "sift";
import type { EventRecord } from "../storage/types";

/** FilterContext is what a filter sees (SPEC §10): the envelope plus the inbound source id. */
export interface FilterContext {
  id: string;
  type: string;
  created_at: string;
  data: unknown;
  source: string | null;
}

/** MAX_FILTER_BYTES bounds a filter as compact JSON (SPEC §10). */
export const MAX_FILTER_BYTES = 8 * 1024;
/** MAX_REGEX_CHARS bounds one `$regex` pattern (SPEC §10). */
export const MAX_REGEX_CHARS = 256;
// Far deeper than any real filter; keeps the checker and sift's recursion shallow.
const MAX_DEPTH = 32;
// Distinct filter texts kept compiled; endpoints share texts, so this is rarely reached.
const CACHE_SIZE = 1024;

type SiftOptions = Parameters<typeof createEqualsOperation>[2];

/** REGEX_FLAGS are the `$options` letters RE2 honours, as re2js flags. */
const REGEX_FLAGS: Record<string, number> = { i: RE2JS.CASE_INSENSITIVE, m: RE2JS.MULTILINE, s: RE2JS.DOTALL };

/** compileRegex builds the linear-time matcher for `$regex` + `$options`; throws on a pattern RE2 refuses. */
function compileRegex(pattern: string, options: string): RE2JS {
  let flags = 0;
  for (const letter of options) flags |= REGEX_FLAGS[letter] ?? 0;
  return RE2JS.compile(pattern, flags);
}

/**
 * $re2regex replaces sift's `$regex` (a JavaScript RegExp, which backtracks: `^(a+)+$` on 28 characters
 * took 584 ms) with re2js, whose matching time is linear in the input whatever the pattern.
 */
function $re2regex(pattern: string, ownerQuery: Record<string, unknown>, options: SiftOptions) {
  const re = compileRegex(pattern, typeof ownerQuery.$options === "string" ? ownerQuery.$options : "");
  // createTester calls a function parameter as the test itself.
  return createEqualsOperation((value: unknown) => typeof value === "string" && re.test(value), ownerQuery, options);
}

/**
 * OPERATIONS is the allowlist handed to sift. Passing it explicitly is what keeps `$where` (which plain
 * `sift()` runs as code) and every other operator out, at any depth: sift refuses names it was not given.
 */
const OPERATIONS: SiftOptions["operations"] = {
  $eq, $ne, $gt, $gte, $lt, $lte, $in, $nin, $exists, $regex: $re2regex, $options,
  $and, $or, $nor, $not, $all, $size, $elemMatch,
};

/** ALLOWED_OPERATORS lists the operators SPEC §10 allows, in its order. */
export const ALLOWED_OPERATORS: readonly string[] = Object.keys(OPERATIONS);

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const kindOf = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "an array" : `a ${typeof v}`);
const at = (path: string) => (path === "" ? "the filter" : path);

/** operandProblem checks the value one allowed operator takes; null when it is fine. */
function operandProblem(op: string, operand: unknown, owner: Record<string, unknown>, path: string): string | null {
  switch (op) {
    case "$and":
    case "$or":
    case "$nor":
      if (!Array.isArray(operand) || operand.length === 0 || !operand.every(isPlainObject)) {
        return `${path}: ${op} takes a non-empty array of query objects, not ${kindOf(operand)}`;
      }
      return null;
    case "$in":
    case "$nin":
    case "$all":
      return Array.isArray(operand) ? null : `${path}: ${op} takes an array, not ${kindOf(operand)}`;
    case "$exists":
      return typeof operand === "boolean" ? null : `${path}: $exists takes true or false, not ${kindOf(operand)}`;
    case "$size":
      return Number.isSafeInteger(operand) && (operand as number) >= 0 ? null : `${path}: $size takes a whole number ≥ 0`;
    case "$elemMatch":
    case "$not":
      return isPlainObject(operand) ? null : `${path}: ${op} takes a query object, not ${kindOf(operand)}`;
    case "$options":
      if (typeof operand !== "string" || !/^[ims]*$/.test(operand)) {
        return `${path}: $options takes the letters i, m and s (the flags RE2 supports), not ${JSON.stringify(operand)}`;
      }
      return "$regex" in owner ? null : `${path}: $options needs a $regex beside it`;
    case "$regex":
      return regexProblem(operand, owner, path);
    default:
      return null;
  }
}

function regexProblem(pattern: unknown, owner: Record<string, unknown>, path: string): string | null {
  if (typeof pattern !== "string") return `${path}: $regex takes a string pattern, not ${kindOf(pattern)}`;
  if (pattern.length > MAX_REGEX_CHARS) return `${path}: $regex is ${pattern.length} characters; the limit is ${MAX_REGEX_CHARS}`;
  const options = typeof owner.$options === "string" && /^[ims]*$/.test(owner.$options) ? owner.$options : "";
  try {
    compileRegex(pattern, options);
    return null;
  } catch (error) {
    return `${path}: $regex ${JSON.stringify(pattern)} is not an RE2 pattern (no backreferences or lookarounds): ${(error as Error).message}`;
  }
}

/** walk collects a problem for every operator outside the allowlist and every bad operand, at any depth. */
function walk(value: unknown, path: string, depth: number, problems: string[]): void {
  if (depth > MAX_DEPTH) {
    problems.push(`${at(path)}: nests deeper than ${MAX_DEPTH} levels`);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, i) => walk(item, `${path}[${i}]`, depth + 1, problems));
    return;
  }
  if (!isPlainObject(value)) return;
  for (const [key, inner] of Object.entries(value)) {
    const here = path === "" ? key : `${path}.${key}`;
    if (key.startsWith("$")) {
      if (!Object.hasOwn(OPERATIONS, key)) {
        problems.push(`${here}: operator ${key} is not allowed (allowed: ${ALLOWED_OPERATORS.join(" ")})`);
        continue;
      }
      const problem = operandProblem(key, inner, value, here);
      if (problem !== null) {
        problems.push(problem);
        continue;
      }
    } else if (key.split(".").includes("__proto__")) {
      problems.push(`${here}: __proto__ cannot be part of a field path`);
      continue;
    }
    walk(inner, here, depth + 1, problems);
  }
}

/**
 * checkFilter validates a filter as the API receives it (SPEC §10): a JSON object of at most 8 KiB,
 * only allowed operators anywhere, RE2 patterns of at most 256 characters. Problems name the path and
 * operator; on success `text` is the compact JSON that is stored.
 */
export function checkFilter(value: unknown): { ok: true; text: string } | { ok: false; problems: string[] } {
  if (!isPlainObject(value)) return { ok: false, problems: [`the filter must be a JSON object like {"data.severity": "error"}, not ${kindOf(value)}`] };
  const text = JSON.stringify(value);
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_FILTER_BYTES) return { ok: false, problems: [`the filter is ${bytes} bytes as compact JSON; the limit is ${MAX_FILTER_BYTES}`] };
  const problems: string[] = [];
  walk(value, "", 0, problems);
  if (problems.length > 0) return { ok: false, problems };
  try {
    // What sift itself refuses: operators where they cannot go, fields mixed with operators.
    createQueryTester(value, { operations: OPERATIONS });
  } catch (error) {
    return { ok: false, problems: [`the filter is not a valid query: ${(error as Error).message}`] };
  }
  return { ok: true, text };
}

const compiled = new Map<string, (ctx: FilterContext) => boolean>();

/**
 * compileFilter turns stored filter text into a matcher, once per distinct text (a bounded cache, so an
 * endpoint change compiles again, an event never does). Throws if the text is not a valid filter.
 */
export function compileFilter(text: string): (ctx: FilterContext) => boolean {
  const cached = compiled.get(text);
  if (cached !== undefined) return cached;
  const checked = checkFilter(JSON.parse(text));
  if (!checked.ok) throw new Error(`invalid filter: ${checked.problems.join("; ")}`);
  const tester = createQueryTester(JSON.parse(text), { operations: OPERATIONS });
  const matcher = (ctx: FilterContext): boolean => {
    try {
      return tester(ctx);
    } catch {
      // A document sift cannot walk (e.g. an own "hasOwnProperty" field) does not match rather than failing the event.
      return false;
    }
  };
  if (compiled.size >= CACHE_SIZE) compiled.delete(compiled.keys().next().value as string);
  compiled.set(text, matcher);
  return matcher;
}

/** filterContext parses a stored envelope once into what filters see; an unparsable body gives an empty context. */
export function filterContext(event: EventRecord): FilterContext {
  let envelope: { created_at?: unknown; data?: unknown } = {};
  try {
    const parsed: unknown = JSON.parse(event.body);
    if (isPlainObject(parsed)) envelope = parsed;
  } catch {
    // Kept: the event still routes; only its data is unknown to filters.
  }
  const createdAt = typeof envelope.created_at === "string" ? envelope.created_at : new Date(event.created_at).toISOString();
  return { id: event.id, type: event.type, created_at: createdAt, data: envelope.data, source: event.source };
}

const matchesNothing = (): boolean => false;

/**
 * storedFilterMatcher is compileFilter for stored text, and never throws: a stored filter that no longer
 * compiles matches nothing. It was valid when stored, and failing closed beats failing the whole event
 * inside the storing transaction.
 */
export function storedFilterMatcher(text: string): (ctx: FilterContext) => boolean {
  try {
    return compileFilter(text);
  } catch {
    return matchesNothing;
  }
}

/** filterMatches evaluates stored filter text against an event (or a context already parsed); see storedFilterMatcher. */
export function filterMatches(text: string, event: EventRecord | FilterContext): boolean {
  return storedFilterMatcher(text)("body" in event ? filterContext(event) : event);
}
