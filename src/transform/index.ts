// SPEC §10 transforms: checking an expression (API), running it off the main loop (pool) and turning its
// result into the bytes an endpoint is sent (dispatcher and preview).
export { MAX_TRANSFORM_BYTES, checkTransform } from "./check";
export { DEFAULT_TRANSFORM_CONTENT_TYPE, type Applied, applyTransform } from "./apply";
export { DEFAULT_TRANSFORM_TIMEOUT_MS, type TransformPoolOptions, createTransformPool } from "./pool";
export type { TransformOutcome, TransformRunner } from "./runner";
