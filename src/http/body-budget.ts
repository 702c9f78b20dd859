/**
 * BodyBudget counts the request-body bytes being read at once (SPEC §13, `[server] max_inflight_body`):
 * at most `total` over all connections, and at most a quarter of it per client address, so one
 * sender's slow or stalled bodies cannot take the memory the others need. Pure bookkeeping: callers
 * reserve before they read (the declared Content-Length, or each chunk as it arrives) and release
 * what they reserved when the read ends, however it ends.
 */
export class BodyBudget {
  readonly perClient: number;
  #used = 0;
  readonly #byClient = new Map<string, number>();

  constructor(readonly total: number) {
    this.perClient = Math.floor(total / 4);
  }

  /** reserve takes `bytes` for `client` and says "ok", or takes nothing and names the bound it would pass. */
  reserve(client: string, bytes: number): "ok" | "client" | "total" {
    const held = this.#byClient.get(client) ?? 0;
    if (held + bytes > this.perClient) return "client";
    if (this.#used + bytes > this.total) return "total";
    this.#used += bytes;
    this.#byClient.set(client, held + bytes);
    return "ok";
  }

  /** release gives back bytes `client` reserved earlier. */
  release(client: string, bytes: number): void {
    if (bytes <= 0) return;
    this.#used -= bytes;
    const left = (this.#byClient.get(client) ?? 0) - bytes;
    if (left > 0) this.#byClient.set(client, left);
    else this.#byClient.delete(client);
  }

  /** used is the bytes reserved now, over all clients (and `of(client)` for one). */
  get used(): number {
    return this.#used;
  }

  of(client: string): number {
    return this.#byClient.get(client) ?? 0;
  }
}

/**
 * budgetHolder names who a client address's share is counted for: the address itself for IPv4, its
 * /64 for IPv6, since one IPv6 host usually owns a whole /64 and could otherwise take every share.
 */
export function budgetHolder(address: string): string {
  if (!address.includes(":")) return address;
  const bare = address.split("%")[0]!;
  const [head = "", tail] = bare.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  return `${groups.slice(0, 4).map((g) => (Number.parseInt(g, 16) || 0).toString(16)).join(":")}::/64`;
}
