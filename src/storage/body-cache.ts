/** CachedEvent is what a claim needs of an event: its stored body and its inbound source (transform input). */
export interface CachedEvent {
  body: string;
  source: string | null;
}

/**
 * BodyCache keeps the bodies (and sources) of recently stored events so a claim usually finds them in
 * memory instead of a query per delivery. Bounded by bytes, not entries (bodies go up to
 * max_body); the oldest insertion goes first. A miss just falls back to the database.
 */
export class BodyCache {
  private readonly map = new Map<string, CachedEvent>();
  private bytes = 0;

  constructor(private readonly maxBytes = 16 * 1024 * 1024) {}

  set(id: string, body: string, source: string | null = null): void {
    if (body.length > this.maxBytes / 16) return;
    this.map.set(id, { body, source });
    this.bytes += body.length;
    for (const [oldest, value] of this.map) {
      if (this.bytes <= this.maxBytes) break;
      this.map.delete(oldest);
      this.bytes -= value.body.length;
    }
  }

  get(id: string): CachedEvent | undefined {
    return this.map.get(id);
  }
}
