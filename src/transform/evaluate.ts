import jsonata from "jsonata";
import { jsonataMessage } from "./check";
import type { TransformOutcome } from "./runner";

// Compiled expressions are kept per expression text, so an endpoint's transform is parsed once per
// change, not per attempt; bounded so endpoints edited many times cannot grow it without end.
const CACHE_LIMIT = 256;
const cache = new Map<string, jsonata.Expression>();

// jsonata's own guard rails, checked between evaluation steps: nesting depth and sequence length. Its
// time limit is set a little under the pool's, so an ordinary loop stops cooperatively and the worker
// is kept; the pool's terminate() is what stops a single runaway built-in call ($pad, a ReDoS $match).
const STACK_LIMIT = 500;
const SEQUENCE_LIMIT = 1_000_000;
const COOPERATIVE_MARGIN_MS = 10;
// jsonata's code for "expression has run for too long".
const TIMEOUT_CODE = "D1012";

function compiled(expression: string, budgetMs: number): jsonata.Expression {
  let expr = cache.get(expression);
  if (expr !== undefined) {
    // Re-inserted so the Map's order is least recently used first.
    cache.delete(expression);
    cache.set(expression, expr);
    return expr;
  }
  const timeout = Math.max(1, budgetMs - COOPERATIVE_MARGIN_MS);
  expr = jsonata(expression, { timeout, stack: STACK_LIMIT, sequence: SEQUENCE_LIMIT });
  if (cache.size >= CACHE_LIMIT) {
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
  cache.set(expression, expr);
  return expr;
}

// jsonata returns its lambdas and native functions as objects marked with these keys.
function isFunction(value: unknown): boolean {
  if (typeof value === "function") return true;
  return typeof value === "object" && value !== null && ("_jsonata_lambda" in value || "_jsonata_function" in value);
}

/** overMaxBody is the error of a result too large to send (the worker and applyTransform both check). */
export function overMaxBody(bytes: number, maxBody: number): string {
  return `the result is ${bytes} bytes, over max_body (${maxBody})`;
}

/**
 * evaluateTransform runs one expression against one input inside a transform worker. The pool's time
 * budget is the same for every run of a worker, so the cache may key on the expression alone.
 */
export async function evaluateTransform(
  expression: string,
  input: unknown,
  budgetMs: number,
  maxBytes: number,
  serialise = false,
): Promise<TransformOutcome> {
  try {
    const value: unknown = await compiled(expression, budgetMs).evaluate(input);
    // A function cannot be sent anywhere; say so rather than let the message channel refuse it.
    if (isFunction(value)) return { kind: "failed", error: "the expression returned a function, not a value" };
    // A huge result is refused here, so it is never copied to the main thread only to be refused there.
    if (!Number.isFinite(maxBytes) && !serialise) return { kind: "value", value };
    const json = value === undefined || typeof value === "string" ? undefined : JSON.stringify(value);
    const text = value === undefined ? "" : typeof value === "string" ? value : json ?? "";
    const bytes = Buffer.byteLength(text, "utf8");
    if (bytes > maxBytes) return { kind: "failed", error: overMaxBody(bytes, maxBytes) };
    if (serialise && json !== undefined) return { kind: "json", text: json };
    return { kind: "value", value };
  } catch (error) {
    if ((error as { code?: unknown } | null)?.code === TIMEOUT_CODE) return { kind: "timeout" };
    return { kind: "failed", error: jsonataMessage(error) };
  }
}
