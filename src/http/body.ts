import { ApiError } from "./errors";

/** readBodyLimited reads the whole body, refusing more than `max` bytes without buffering the excess. */
export async function readBodyLimited(request: Request, max: number): Promise<Uint8Array> {
  const length = request.headers.get("content-length");
  const declared = Number(length ?? "0");
  if (declared > max) throw tooLarge(max);
  if (!request.body) return new Uint8Array(0);
  // A declared length within the limit: one read is cheaper than the stream, and Bun holds the
  // body to that length. Chunked bodies (no length) are counted while streaming below.
  if (length !== null && /^\d+$/.test(length)) {
    const bytes = await request.bytes();
    if (bytes.byteLength > max) throw tooLarge(max);
    return bytes;
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of request.body) {
    total += chunk.byteLength;
    if (total > max) throw tooLarge(max);
    chunks.push(chunk);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

function tooLarge(max: number): ApiError {
  return new ApiError("payload_too_large", `request body is larger than ${max} bytes ([server] max_body)`);
}
