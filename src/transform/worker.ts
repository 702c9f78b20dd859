// The transform worker's entrypoint: it evaluates one expression at a time for the pool (pool.ts) and is
// terminated by it when a run takes too long. Listed as an entrypoint of `bun build --compile` (package.json).
import { evaluateTransform } from "./evaluate";
import type { TransformOutcome } from "./runner";

/** WorkerJob is the pool's request; the worker answers `{ id, ...TransformOutcome }`. */
export interface WorkerJob {
  id: number;
  expression: string;
  /** input, or `envelope` + `source` (an EnvelopeInput) to parse here and answer non-strings as JSON text. */
  input?: unknown;
  envelope?: string;
  source?: string | null;
  budgetMs: number;
  maxBytes: number;
}

const port = globalThis as unknown as {
  postMessage(message: unknown): void;
  addEventListener(type: "message", listener: (event: MessageEvent<WorkerJob>) => void): void;
};

port.addEventListener("message", async (event) => {
  const { id, expression, envelope, source, budgetMs, maxBytes } = event.data;
  let outcome: TransformOutcome;
  if (envelope === undefined) {
    outcome = await evaluateTransform(expression, event.data.input, budgetMs, maxBytes);
  } else {
    let input: Record<string, unknown> | null = null;
    try {
      input = { ...(JSON.parse(envelope) as Record<string, unknown>), source: source ?? null };
    } catch {
      // Only a stored event missing or damaged gets here; its deliveries could never be transformed.
    }
    outcome = input === null ? { kind: "failed", error: "the stored event is not JSON" } : await evaluateTransform(expression, input, budgetMs, maxBytes, true);
  }
  try {
    port.postMessage({ id, ...outcome });
  } catch (error) {
    // Something structured clone refuses (a function deep inside an object): not a JSON value.
    port.postMessage({ id, kind: "failed", error: `the result is not a JSON value: ${(error as Error).message}` });
  }
});

port.postMessage({ ready: true });
