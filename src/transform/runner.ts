/** TransformOutcome is what one run of an expression gave: a value (possibly undefined), an error, or out of time. */
export type TransformOutcome = { kind: "value"; value: unknown } | { kind: "failed"; error: string } | { kind: "timeout" };

/** TransformRunner evaluates JSONata expressions off the main event loop (a worker pool in production). */
export interface TransformRunner {
  run(expression: string, input: unknown): Promise<TransformOutcome>;
  close(): Promise<void>;
}
