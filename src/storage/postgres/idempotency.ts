import type { IdempotencyBegin } from "../types";
import { type Db, one, run } from "./client";

interface KeyRow {
  request_hash: string;
  state: "running" | "done";
  status: number | null;
  response_body: string | null;
  content_type: string | null;
  locked_until: number;
  expires_at: number;
}

// One statement claims the key: a new row, or the existing one where it may be taken over (expired,
// or a running claim of the same request whose lock lapsed). Whichever node's insert comes second
// waits for the first to commit and then finds the row taken: never check-then-insert.
const CLAIM = `INSERT INTO idempotency_keys
    (scope, idem_key, request_hash, state, status, response_body, content_type, locked_until, created_at, expires_at)
  VALUES ($1, $2, $3, 'running', NULL, NULL, NULL, $4, $5, $6)
  ON CONFLICT (scope, idem_key) DO UPDATE SET request_hash = EXCLUDED.request_hash, state = 'running', status = NULL,
    response_body = NULL, content_type = NULL, locked_until = EXCLUDED.locked_until, created_at = EXCLUDED.created_at,
    expires_at = EXCLUDED.expires_at
  WHERE idempotency_keys.expires_at <= $5
     OR (idempotency_keys.state = 'running' AND idempotency_keys.locked_until <= $5 AND idempotency_keys.request_hash = $3)
  RETURNING 1 AS claimed`;

/** idempotencyWrites claims keys on their primary key (ON CONFLICT) inside a batch's transaction. */
export function idempotencyWrites() {
  return {
    async begin(db: Db, scope: string, key: string, hash: string, now: number, ttlMs: number, lockMs: number): Promise<IdempotencyBegin> {
      if (await one(db, CLAIM, [scope, key, hash, now + lockMs, now, now + ttlMs])) return { kind: "started" };
      const row = await one<KeyRow>(
        db,
        `SELECT request_hash, state, status, response_body, content_type, locked_until, expires_at
         FROM idempotency_keys WHERE scope = $1 AND idem_key = $2`,
        [scope, key],
      );
      // Gone between the two statements (released meanwhile): the client may simply retry.
      if (!row) return { kind: "in_progress" };
      if (row.request_hash !== hash) return { kind: "mismatch" };
      if (row.state === "done") {
        return { kind: "replay", status: row.status ?? 200, body: row.response_body ?? "", contentType: row.content_type ?? "application/json" };
      }
      return { kind: "in_progress" };
    },
    async complete(db: Db, scope: string, key: string, status: number, body: string, contentType: string): Promise<void> {
      await run(db, "UPDATE idempotency_keys SET state = 'done', status = $1, response_body = $2, content_type = $3 WHERE scope = $4 AND idem_key = $5", [
        status, body, contentType, scope, key,
      ]);
    },
    release: async (db: Db, scope: string, key: string) =>
      void (await run(db, "DELETE FROM idempotency_keys WHERE scope = $1 AND idem_key = $2", [scope, key])),
    releaseAbandoned: (db: Db) => run(db, "UPDATE idempotency_keys SET locked_until = 0 WHERE state = 'running' AND locked_until > 0"),
  };
}
