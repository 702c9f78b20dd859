import { EnvelopeInput, type TransformOutcome, type TransformRunner } from "./runner";
import type { WorkerJob } from "./worker";

/** TransformPoolOptions: how many workers, and how long one run may take before its worker is stopped. */
export interface TransformPoolOptions {
  readonly size: number;
  readonly timeoutMs?: number;
  /** maxResultBytes: a larger result fails inside the worker, never copied out (`[server] max_body`). */
  readonly maxResultBytes?: number;
  /** onError hears of workers that could not start or died (the pool replaces them). */
  readonly onError?: (message: string) => void;
}

interface Job {
  readonly id: number;
  readonly expression: string;
  readonly input: unknown;
  resolve(outcome: TransformOutcome): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  job: Job | null;
  timer: ReturnType<typeof setTimeout> | null;
}

/** DEFAULT_TRANSFORM_TIMEOUT_MS: SPEC §10 stops a transform after 100 ms. */
export const DEFAULT_TRANSFORM_TIMEOUT_MS = 100;
// A worker that fails to start (its file missing from a build) is retried this much later, not in a spin.
const RESTART_BACKOFF_MS = 1000;

/**
 * workerUrl finds the worker entrypoint. From source it sits beside this file; in a standalone binary
 * (`bun build --compile src/cli.ts src/transform/worker.ts`) Bun embeds it under the entrypoints' common
 * root (src/) and resolves a relative Worker path against the embedded files first.
 */
function workerUrl(): string {
  const compiled = import.meta.url.includes("/$bunfs/") || import.meta.url.includes("~BUN");
  return compiled ? "./transform/worker.ts" : new URL("./worker.ts", import.meta.url).href;
}

/**
 * createTransformPool runs transforms in `size` Bun Workers, off the main event loop. Each run gets
 * `timeoutMs` of wall time (a CPU guard, so a real timer, not the app's Clock); past it the worker is
 * terminated — the only thing that stops a single runaway built-in call — and replaced. Runs queue
 * while every worker is busy or starting; a worker's start-up (the first run, a replacement) is not
 * charged to the run.
 */
export function createTransformPool(options: TransformPoolOptions): TransformRunner {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TRANSFORM_TIMEOUT_MS;
  const maxBytes = options.maxResultBytes ?? Number.POSITIVE_INFINITY;
  const url = workerUrl();
  const queue: Job[] = [];
  const slots: Slot[] = [];
  const restarts = new Set<ReturnType<typeof setTimeout>>();
  // Workers already given up on: their later "error"/"close" events are ignored.
  const retired = new WeakSet<Worker>();
  let nextId = 1;
  let closed = false;

  function spawn(slot?: Slot): Slot {
    const worker = new Worker(url);
    // Workers never hold the process open: a pending run holds its timer, which is enough.
    (worker as Worker & { unref(): void }).unref();
    const s: Slot = slot ?? { worker, ready: false, job: null, timer: null };
    Object.assign(s, { worker, ready: false, job: null, timer: null });
    worker.addEventListener("message", (event: MessageEvent) => onMessage(s, worker, event.data));
    worker.addEventListener("error", (event: ErrorEvent) => onDeath(s, worker, event.message));
    worker.addEventListener("close", () => onDeath(s, worker, "the worker exited"));
    return s;
  }

  function replace(slot: Slot): void {
    if (slot.timer !== null) clearTimeout(slot.timer);
    retired.add(slot.worker);
    slot.worker.terminate();
    spawn(slot);
  }

  function onMessage(slot: Slot, worker: Worker, message: { ready?: boolean; id?: number } & Partial<TransformOutcome>): void {
    if (slot.worker !== worker || closed) return;
    if (message.ready === true) {
      slot.ready = true;
      pump();
      return;
    }
    const job = slot.job;
    if (job === null || message.id !== job.id) return;
    if (slot.timer !== null) clearTimeout(slot.timer);
    slot.job = null;
    slot.timer = null;
    const { id: _id, ready: _ready, ...outcome } = message;
    job.resolve(outcome as TransformOutcome);
    pump();
  }

  function onDeath(slot: Slot, worker: Worker, reason: string): void {
    // Our own terminate() (a timeout, a replacement) also ends in "close": only the current worker counts.
    if (slot.worker !== worker || retired.has(worker) || closed) return;
    retired.add(worker);
    const job = slot.job;
    const started = slot.ready;
    options.onError?.(`transform worker ${started ? "died" : "could not start"}: ${reason}`);
    slot.worker.terminate();
    slot.ready = false;
    if (slot.timer !== null) clearTimeout(slot.timer);
    slot.timer = null;
    slot.job = null;
    // A crash in the middle of a run is that run's failure; a worker that never started fails the
    // queue loudly instead (no delivery is expired for a broken installation) and is retried later.
    if (job !== null) job.resolve({ kind: "failed", error: `the transform worker stopped: ${reason}` });
    if (started) {
      spawn(slot);
      return;
    }
    if (!slots.some((s) => s.ready)) for (const j of queue.splice(0)) j.reject(new Error(`transform worker could not start: ${reason}`));
    const timer = setTimeout(() => {
      restarts.delete(timer);
      if (!closed) spawn(slot);
    }, RESTART_BACKOFF_MS);
    timer.unref();
    restarts.add(timer);
  }

  function pump(): void {
    for (const slot of slots) {
      if (queue.length === 0) return;
      if (!slot.ready || slot.job !== null) continue;
      const job = queue.shift()!;
      slot.job = job;
      slot.timer = setTimeout(() => {
        if (slot.job !== job) return;
        replace(slot);
        job.resolve({ kind: "timeout" });
      }, timeoutMs);
      const base = { id: job.id, expression: job.expression, budgetMs: timeoutMs, maxBytes };
      const message: WorkerJob =
        job.input instanceof EnvelopeInput ? { ...base, envelope: job.input.envelope, source: job.input.source } : { ...base, input: job.input };
      try {
        slot.worker.postMessage(message);
      } catch (error) {
        // The input itself cannot be cloned (never so for a parsed envelope): that run's failure.
        clearTimeout(slot.timer);
        slot.job = null;
        slot.timer = null;
        job.resolve({ kind: "failed", error: `the input cannot be sent to the worker: ${(error as Error).message}` });
      }
    }
  }

  return {
    run(expression, input) {
      if (closed) return Promise.reject(new Error("the transform pool is closed"));
      // Workers start with the first transform: an install without transforms never runs one.
      if (slots.length === 0) for (let i = 0; i < Math.max(1, options.size); i++) slots.push(spawn());
      return new Promise<TransformOutcome>((resolve, reject) => {
        queue.push({ id: nextId++, expression, input, resolve, reject });
        pump();
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const timer of restarts) clearTimeout(timer);
      const stopped = new Error("the transform pool is closed");
      for (const job of queue.splice(0)) job.reject(stopped);
      for (const slot of slots) {
        if (slot.timer !== null) clearTimeout(slot.timer);
        slot.job?.reject(stopped);
        slot.job = null;
        slot.worker.terminate();
      }
    },
  };
}
