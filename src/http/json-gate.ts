import { ApiError } from "./errors";

const utf8 = new TextDecoder("utf-8", { fatal: true });
// Deeper documents are refused before parsing: validators recurse, and no admin payload needs more.
/** MAX_JSON_DEPTH is the deepest nesting a request body may have, admin API and inbound alike (SPEC §13). */
export const MAX_JSON_DEPTH = 128;

/**
 * jsonGate refuses an admin body that is not one JSON object of bounded depth, then makes the
 * headers say JSON: the admin API reads JSON whatever the Content-Type says (curl recipes send
 * form types), and an empty body must not be handed to a JSON parser.
 */
export function jsonGate(rawBody: Uint8Array, headers: Headers): void {
  assertJson(rawBody);
  if (rawBody.byteLength > 0) headers.set("content-type", "application/json");
  else headers.delete("content-type");
}

/** assertJson throws invalid_json for bytes that are not UTF-8 JSON, invalid_request for a non-object or too deep a document. */
export function assertJson(raw: Uint8Array): void {
  if (raw.byteLength === 0) return;
  let text: string;
  let parsed: unknown;
  try {
    text = utf8.decode(raw);
    parsed = JSON.parse(text);
  } catch (error) {
    const why = (error as Error).message;
    throw new ApiError("invalid_json", `request body is not valid JSON: ${why}`, [{ field: "body", code: "invalid_json", message: why }]);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ApiError("invalid_request", "request body must be a JSON object", [
      { field: "body", code: "invalid", message: "must be a JSON object" },
    ]);
  }
  if (jsonDepth(text) > MAX_JSON_DEPTH) {
    throw new ApiError("invalid_request", `request body nests deeper than ${MAX_JSON_DEPTH} levels`, [
      { field: "body", code: "too_deep", message: `JSON nesting is limited to ${MAX_JSON_DEPTH} levels` },
    ]);
  }
}

/** jsonDepth scans valid JSON text iteratively (no recursion, so no stack to exhaust). */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) max = Math.max(max, ++depth);
    else if (c === 125 || c === 93) depth--;
  }
  return max;
}
