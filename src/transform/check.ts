import jsonata from "jsonata";

/** MAX_TRANSFORM_BYTES: the longest transform expression accepted, in UTF-8 bytes (SPEC §10). */
export const MAX_TRANSFORM_BYTES = 16 * 1024;

/**
 * checkTransform says why an expression cannot be an endpoint's transform, or null when it can: it is at
 * most 16 KiB and jsonata compiles it. Parsing only (nothing is evaluated), so it is safe on the main thread.
 */
export function checkTransform(expression: string): string | null {
  const bytes = Buffer.byteLength(expression, "utf8");
  if (bytes > MAX_TRANSFORM_BYTES) return `transform is ${bytes} bytes; at most ${MAX_TRANSFORM_BYTES} are allowed`;
  if (expression.trim() === "") return "transform is empty";
  try {
    jsonata(expression);
    return null;
  } catch (error) {
    return jsonataMessage(error);
  }
}

/** jsonataMessage renders what jsonata threw (a plain object with `message` and `position`, or an Error). */
export function jsonataMessage(error: unknown): string {
  if (typeof error === "object" && error !== null) {
    const e = error as { message?: unknown; position?: unknown; code?: unknown };
    const message = typeof e.message === "string" && e.message !== "" ? e.message : typeof e.code === "string" ? e.code : String(error);
    return typeof e.position === "number" && e.code !== undefined ? `${message} (at position ${e.position})` : message;
  }
  return String(error);
}
