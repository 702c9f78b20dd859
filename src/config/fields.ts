import * as v from "valibot";
import { IpSet, parseCidr } from "../net/cidr";
import { parseDuration, parseSize } from "./duration";

// Building blocks for the TOML schema. Every message is written for an
// operator reading `config error: <path>: <message>`, so none of valibot's
// default "Invalid type: Expected …" texts reach them.

/** describe names a TOML value in a message: strings quoted, tables and lists by kind. */
export function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (value === undefined) return "nothing";
  if (Array.isArray(value)) return "a list";
  return isTable(value) ? "a table" : "a date/time";
}

/** isTable is true for a TOML table (a plain object), false for lists, dates and scalars. */
export function isTable(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

const got = (what: string) => (issue: v.BaseIssue<unknown>) => `must be ${what}, got ${describe(issue.input)}`;

/** text is a string key with a default. */
export function text(def: string) {
  return v.optional(v.string(got("a string")), def);
}

/** required is a string key that must be present and, when `problem` is given, accepted by it. */
export function required(problem: (value: string) => string | null = () => null) {
  return v.pipe(
    v.string(got("a string")),
    v.rawCheck<string>(({ dataset, addIssue }) => {
      const message = dataset.typed ? problem(dataset.value) : null;
      if (message !== null) addIssue({ message });
    }),
  );
}

/** checkedText is a string key with a default whose value `problem` accepts (null) or explains (a message). */
export function checkedText(def: string, problem: (value: string) => string | null) {
  return v.optional(required(problem), def);
}

/** whole is an integer key with a default and a lower bound. */
export function whole(def: number, min: number) {
  return v.optional(
    v.pipe(v.number(got("a whole number")), v.integer(got("a whole number")), v.minValue(min, got(`at least ${min}`))),
    def,
  );
}

/** flag is a boolean key with a default. */
export function flag(def: boolean) {
  return v.optional(v.boolean(got("true or false")), def);
}

/** oneOf is a required string key limited to `options`. */
export function oneOf<const T extends readonly [string, ...string[]]>(options: T) {
  return v.picklist(options, got(`one of ${options.map((o) => JSON.stringify(o)).join(", ")}`));
}

/** choice is a string key limited to `options`, with a default. */
export function choice<const T extends readonly [string, ...string[]]>(options: T, def: T[number]) {
  return v.optional(oneOf(options), def);
}

/** list is an array key (a TOML list) whose default is a fresh copy of `def`. */
export function list<T extends v.GenericSchema>(item: T, def: readonly v.InferInput<T>[]) {
  return v.optional(v.array(item, got("a list")), () => [...def]);
}

/** uniqueList is a list whose items (or their string `field`) must not repeat; `what` points at the first occurrence. */
export function uniqueList<T extends v.GenericSchema>(
  item: T,
  def: readonly v.InferInput<T>[],
  field: string | null,
  what: (first: number) => string,
) {
  return v.optional(v.pipe(v.array(item, got("a list")), uniqueBy<v.InferOutput<T>>(field, what)), () => [...def]);
}

/** converted reads a string (or, with `integers`, a non-negative integer) through `parse`, whose string result is an error message. */
export function converted<T>(what: string, parse: (text: string) => T | string, integers = false) {
  return v.pipe(
    v.unknown(),
    v.rawTransform<unknown, T>(({ dataset, addIssue, NEVER }) => {
      let input = dataset.value;
      if (integers && typeof input === "number" && Number.isSafeInteger(input) && input >= 0) input = String(input);
      if (typeof input !== "string") {
        addIssue({ message: `must be ${what}, got ${describe(input)}` });
        return NEVER;
      }
      const out = parse(input);
      if (typeof out === "string") {
        addIssue({ message: out });
        return NEVER;
      }
      return out;
    }),
  );
}

/** cidrList is a list of CIDRs compiled into an IpSet; empty by default. */
export function cidrList() {
  return v.optional(v.pipe(v.array(converted('a CIDR like "10.0.0.0/8"', parseCidr), got("a list")), v.transform((cidrs) => new IpSet(cidrs))), () => []);
}

/** duration is a duration string converted to milliseconds; `positive` rules out "0". */
export function duration(positive = false) {
  const ms = converted('a duration like "10s"', parseDuration);
  return positive ? v.pipe(ms, v.check((n: number) => n > 0, "must be more than 0")) : ms;
}

/** size is a size string ("1MiB") or integer bytes, converted to bytes; must be more than 0. */
export function size() {
  return v.pipe(converted('a size like "1MiB"', parseSize, true), v.check((n: number) => n > 0, "must be more than 0"));
}

/** TableOf is what a table's keys hold once validated and converted (before `build`). */
export type TableOf<E extends v.ObjectEntries> = v.InferOutput<v.ObjectSchema<E, undefined>>;

/** Report files a problem under a key (or a key path) of the table a rule is checking. */
export type Report = (at: string | readonly (string | number)[], message: string) => void;

/** Rule is a cross-key check on one table; it runs only when every key in `needs` is valid, and sees only those keys. */
export interface Rule<O> {
  readonly needs: readonly (keyof O & string)[];
  readonly check: (value: O, report: Report) => void;
}

/** table is a TOML table: unknown keys are errors (typos must not pass silently), `rules` cross-check its keys, `build` shapes the result. */
export function table<const E extends v.ObjectEntries, C>(
  entries: E,
  rules: readonly Rule<TableOf<E>>[],
  build: (value: TableOf<E>) => C,
) {
  const names = Object.keys(entries);
  return v.pipe(
    v.looseObject(entries, (issue) => (issue.expected === "Object" ? got("a table")(issue) : "is required")),
    v.rawCheck<TableOf<E>>(({ dataset, addIssue }) => {
      const value: unknown = dataset.value;
      if (!isTable(value)) return;
      for (const key of Object.keys(value)) {
        if (!names.includes(key)) addIssue({ message: unknownKey(key, names), path: pathTo(value, [key]) });
      }
      const broken = new Set((dataset.issues ?? []).map((issue) => issue.path?.[0]?.key));
      for (const rule of rules) {
        if (rule.needs.some((key) => broken.has(key))) continue;
        const view = Object.fromEntries(rule.needs.map((key) => [key, value[key]])) as TableOf<E>;
        rule.check(view, (at, message) => addIssue({ message, path: pathTo(value, typeof at === "string" ? [at] : at) }));
      }
    }),
    v.transform(build),
  );
}

/** uniqueBy flags list items whose string (or string `field`) repeats an earlier item's, filed under the repeat. */
export function uniqueBy<T>(field: string | null, what: (first: number) => string) {
  return v.rawCheck<T[]>(({ dataset, addIssue }) => {
    if (!Array.isArray(dataset.value)) return;
    const items: unknown[] = dataset.value;
    // An item whose compared value is itself invalid is left out, not reported twice.
    const broken = new Set(
      (dataset.issues ?? []).filter((i) => field === null || i.path?.[1]?.key === field).map((i) => i.path?.[0]?.key),
    );
    const seen = new Map<string, number>();
    items.forEach((item, index) => {
      const k = field === null ? item : isTable(item) ? item[field] : undefined;
      if (broken.has(index) || typeof k !== "string") return;
      const first = seen.get(k);
      if (first === undefined) return void seen.set(k, index);
      const path = pathTo(items, field === null ? [index] : [index, field]);
      addIssue({ message: `duplicate ${JSON.stringify(k)} (${what(first)})`, path });
    });
  });
}

function pathTo(root: unknown, keys: readonly (string | number)[]): [v.IssuePathItem, ...v.IssuePathItem[]] {
  let input = root;
  const items = keys.map((key): v.IssuePathItem => {
    const value: unknown = (input as Record<string | number, unknown> | undefined)?.[key];
    const item: v.IssuePathItem = { type: "unknown", origin: "value", input, key, value };
    input = value;
    return item;
  });
  return items as [v.IssuePathItem, ...v.IssuePathItem[]];
}

function unknownKey(key: string, names: readonly string[]): string {
  const near = names.find((name) => editDistance(key, name) <= 2);
  return near === undefined ? "unknown key" : `unknown key (did you mean ${JSON.stringify(near)}?)`;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}
