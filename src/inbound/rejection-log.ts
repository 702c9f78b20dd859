// At most this many rejections per source per minute are written, so a flood of bad requests
// cannot turn into a flood of writes; the rest are only counted in the logs and metrics.
const PER_MINUTE = 100;

/** RejectionBudget says whether one more rejection of a source may be stored this minute. */
export class RejectionBudget {
  private minute = -1;
  private used = new Map<string, number>();

  constructor(private readonly perMinute = PER_MINUTE) {}

  take(source: string, now: number): boolean {
    const minute = Math.floor(now / 60_000);
    if (minute !== this.minute) {
      this.minute = minute;
      this.used.clear();
    }
    const n = this.used.get(source) ?? 0;
    if (n >= this.perMinute) return false;
    this.used.set(source, n + 1);
    return true;
  }
}
