import type { SQL } from "bun";

/** CHANNEL is the one LISTEN/NOTIFY channel every hookd node on a database shares. */
export const CHANNEL = "hookd";

type Kind = "work" | "endpoints";

/** NotifyHandlers: what a node does when another one announces a change (or when it may have missed some). */
export interface NotifyHandlers {
  /** work: new or retried deliveries may be due: wake the scheduler. */
  work(): void;
  /** endpoints: endpoints changed: drop cached endpoint data. */
  endpoints(): void;
}

/**
 * crossNodeNotices tells the other nodes of committed changes over LISTEN/NOTIFY and hears theirs.
 * Announcements are sent after COMMIT, at most one per kind per turn of the event loop; the payload
 * is "<kind> <sender>" and is not trusted: a notice this node did not send, whatever it says, runs
 * both handlers unless it names exactly one kind. Bun's listener reconnects on its own, and after
 * every (re)subscription both handlers run, since notices sent while it was away are lost (SPEC §12;
 * the scheduler's periodic rescan covers the rest). A server that refuses LISTEN (a transaction
 * pooler) leaves only that rescan.
 */
export async function crossNodeNotices(sql: SQL, on: NotifyHandlers) {
  const me = crypto.randomUUID().slice(0, 12);
  const pending = new Set<Kind>();
  let scheduled = false;
  let closed = false;
  const flush = () => {
    scheduled = false;
    for (const kind of pending) sql.notify(CHANNEL, `${kind} ${me}`).catch(() => {});
    pending.clear();
  };
  const heard = (payload: string) => {
    const [kind, sender] = payload.split(" ");
    if (sender === me) return;
    if (kind !== "endpoints") on.work();
    if (kind !== "work") on.endpoints();
  };
  const rescan = () => {
    on.endpoints();
    on.work();
  };
  const subscription = await sql.listen(CHANNEL, heard, rescan).catch(() => null);
  return {
    /** announce queues a notice of `kind` for the other nodes (call it once the change committed). */
    announce(kind: Kind) {
      if (closed) return;
      pending.add(kind);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    listening: subscription !== null,
    async close() {
      closed = true;
      await subscription?.unlisten().catch(() => {});
    },
  };
}
