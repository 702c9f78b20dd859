/**
 * BodyCache keeps the bodies of recently stored events so a claim usually finds its body in
 * memory instead of a query per delivery. Bounded by bytes, not entries (bodies go up to
 * max_body); the oldest insertion goes first. A miss just falls back to the database.
 */
export class BodyCache {
  private readonly map = new Map<string, string>();
  private bytes = 0;

  constructor(private readonly maxBytes = 16 * 1024 * 1024) {}

  set(id: string, body: string): void {
    if (body.length > this.maxBytes / 16) return;
    this.map.set(id, body);
    this.bytes += body.length;
    for (const [oldest, value] of this.map) {
      if (this.bytes <= this.maxBytes) break;
      this.map.delete(oldest);
      this.bytes -= value.length;
    }
  }

  get(id: string): string | undefined {
    return this.map.get(id);
  }
}
