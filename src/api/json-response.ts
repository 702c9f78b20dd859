/** jsonText answers with JSON text built elsewhere (stored envelopes are spliced, not re-serialised). */
export function jsonText(text: string, status = 200): Response {
  return new Response(text, { status, headers: { "content-type": "application/json" } });
}
