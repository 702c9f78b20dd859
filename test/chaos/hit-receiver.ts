/** Hit is one request a HitReceiver got: which event (webhook-id) and delivery, when it arrived and was answered. */
export interface Hit {
  path: string;
  eventId: string;
  deliveryId: string;
  /** The sending node, from a User-Agent "hookd-test/<node id>" (see pg-nodes.ts); else the whole User-Agent. */
  node: string;
  arrived: number;
  answered: number | null;
  status: number | null;
}

/** HitReceiver is a local receiver on 127.0.0.1 that records every attempt and the most it ever had open per path. */
export interface HitReceiver {
  readonly url: string;
  readonly hits: Hit[];
  /** maxOpen is the largest number of requests a path had open at once. */
  readonly maxOpen: Map<string, number>;
  open(path?: string): number;
  /** answer decides each request's status and how long it is held first (ms). */
  setAnswer(answer: (path: string, hit: Hit) => { status: number; holdMs?: number }): void;
  /** count is how many requests for (path, event) arrived; with ok, only those answered 2xx. */
  count(path: string, eventId: string, ok?: boolean): number;
  stop(): Promise<void>;
}

/** startHitReceiver listens on a free loopback port and answers 200 at once unless told otherwise. */
export function startHitReceiver(now: () => number = () => performance.now()): HitReceiver {
  const hits: Hit[] = [];
  const openBy = new Map<string, number>();
  const maxOpen = new Map<string, number>();
  const byPair = new Map<string, Hit[]>();
  let answer: (path: string, hit: Hit) => { status: number; holdMs?: number } = () => ({ status: 200 });
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 120,
    async fetch(request) {
      const path = new URL(request.url).pathname;
      const hit: Hit = {
        path,
        eventId: request.headers.get("webhook-id") ?? "",
        deliveryId: request.headers.get("x-hookd-delivery") ?? "",
        node: (request.headers.get("user-agent") ?? "").replace(/^hookd-test\//, ""),
        arrived: now(),
        answered: null,
        status: null,
      };
      hits.push(hit);
      const key = `${path} ${hit.eventId}`;
      byPair.set(key, [...(byPair.get(key) ?? []), hit]);
      const open = (openBy.get(path) ?? 0) + 1;
      openBy.set(path, open);
      maxOpen.set(path, Math.max(maxOpen.get(path) ?? 0, open));
      try {
        await request.arrayBuffer();
        const a = answer(path, hit);
        if (a.holdMs) await Bun.sleep(a.holdMs);
        hit.status = a.status;
        return new Response(a.status < 300 ? "ok" : "no", { status: a.status });
      } finally {
        hit.answered = now();
        openBy.set(path, openBy.get(path)! - 1);
      }
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    hits,
    maxOpen,
    open(path) {
      if (path !== undefined) return openBy.get(path) ?? 0;
      let n = 0;
      for (const v of openBy.values()) n += v;
      return n;
    },
    setAnswer(a) {
      answer = a;
    },
    count(path, eventId, ok = false) {
      const list = byPair.get(`${path} ${eventId}`) ?? [];
      return ok ? list.filter((h) => h.status !== null && h.status < 300).length : list.length;
    },
    async stop() {
      await server.stop(true);
    },
  };
}
