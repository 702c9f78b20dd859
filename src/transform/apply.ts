import { overMaxBody } from "./evaluate";
import { EnvelopeInput, type TransformRunner } from "./runner";

/** DEFAULT_TRANSFORM_CONTENT_TYPE: the Content-Type of a string result when the endpoint names none (SPEC §10). */
export const DEFAULT_TRANSFORM_CONTENT_TYPE = "text/plain; charset=utf-8";

/** Applied is the body an endpoint receives for one event, or why there is none. */
export type Applied = { kind: "body"; body: string; contentType: string } | { kind: "failed"; error: string } | { kind: "timeout" };

const JSON_TYPE = "application/json";

function failed(reason: string): Applied {
  return { kind: "failed", error: `transform_failed: ${reason}` };
}

/**
 * applyTransform works out exactly the bytes and Content-Type an endpoint is sent for an envelope: the
 * envelope itself when the endpoint has no transform, else the transform's result over the envelope plus
 * `source` (the filter's input, SPEC §10). Both the dispatcher and the preview route call it, so a
 * preview shows what a delivery sends. Failures are values, with the `transform_failed:` error of an attempt.
 */
export async function applyTransform(
  runner: TransformRunner,
  endpoint: { transform: string | null; content_type: string | null },
  envelope: string,
  source: string | null,
  maxBody: number,
): Promise<Applied> {
  if (endpoint.transform === null) return { kind: "body", body: envelope, contentType: JSON_TYPE };
  // Parsed (and a non-string result serialised) in the worker: the main loop only moves strings.
  const outcome = await runner.run(endpoint.transform, new EnvelopeInput(envelope, source));
  if (outcome.kind === "timeout") return outcome;
  if (outcome.kind === "failed") return failed(outcome.error);
  if (outcome.kind === "json") {
    const bytes = Buffer.byteLength(outcome.text, "utf8");
    if (bytes > maxBody) return failed(overMaxBody(bytes, maxBody));
    return { kind: "body", body: outcome.text, contentType: JSON_TYPE };
  }
  const value = outcome.value;
  if (value === undefined) return failed("the expression returned nothing");
  let body: string | undefined;
  let contentType = JSON_TYPE;
  if (typeof value === "string") {
    body = value;
    contentType = endpoint.content_type ?? DEFAULT_TRANSFORM_CONTENT_TYPE;
  } else {
    // Objects and arrays are JSON by the SPEC; a number, boolean or null is sent as JSON too (it is a
    // valid JSON text, and a receiver of a JSON endpoint parses it), not as text with content_type.
    body = JSON.stringify(value);
  }
  if (body === undefined) return failed("the result is not a JSON value");
  const bytes = Buffer.byteLength(body, "utf8");
  if (bytes > maxBody) return failed(overMaxBody(bytes, maxBody));
  return { kind: "body", body, contentType };
}
