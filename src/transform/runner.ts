/**
 * TransformOutcome is what one run of an expression gave: a value (possibly undefined), an error, or out
 * of time. For an EnvelopeInput a result that is not a string comes back already serialised ("json").
 */
export type TransformOutcome =
  | { kind: "value"; value: unknown }
  | { kind: "json"; text: string }
  | { kind: "failed"; error: string }
  | { kind: "timeout" };

/**
 * EnvelopeInput asks for a run on a stored envelope plus its source, parsed and, for a result that is
 * not a string, serialised in the worker: a delivery's JSON work stays off the main event loop, and a
 * string crosses to the worker instead of an object graph.
 */
export class EnvelopeInput {
  constructor(
    readonly envelope: string,
    readonly source: string | null,
  ) {}
}

/** TransformRunner evaluates JSONata expressions off the main event loop (a worker pool in production). */
export interface TransformRunner {
  run(expression: string, input: unknown): Promise<TransformOutcome>;
  close(): Promise<void>;
}
