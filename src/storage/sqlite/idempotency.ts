import type { Database } from "bun:sqlite";
import type { IdempotencyBegin } from "../types";

interface KeyRow {
  request_hash: string;
  state: "running" | "done";
  status: number | null;
  response_body: string | null;
  content_type: string | null;
  locked_until: number;
  expires_at: number;
}

/**
 * idempotencyWrites claims keys atomically (in the write transaction, so two requests cannot both
 * start); a claim left by a crashed process lapses after its lock. `complete` runs in the
 * transaction of the change it answers.
 */
export function idempotencyWrites(db: Database) {
  const find = db.query<KeyRow, [string, string]>(
    `SELECT request_hash, state, status, response_body, content_type, locked_until, expires_at
     FROM idempotency_keys WHERE scope = ? AND idem_key = ?`,
  );
  const claim = db.query(
    `INSERT OR REPLACE INTO idempotency_keys
       (scope, idem_key, request_hash, state, status, response_body, content_type, locked_until, created_at, expires_at)
     VALUES (?, ?, ?, 'running', NULL, NULL, NULL, ?, ?, ?)`,
  );
  const finish = db.query(
    "UPDATE idempotency_keys SET state = 'done', status = ?, response_body = ?, content_type = ? WHERE scope = ? AND idem_key = ?",
  );
  const forget = db.query("DELETE FROM idempotency_keys WHERE scope = ? AND idem_key = ?");
  const unlockRunning = db.query("UPDATE idempotency_keys SET locked_until = 0 WHERE state = 'running'");
  return {
    begin(scope: string, key: string, hash: string, now: number, ttlMs: number, lockMs: number): IdempotencyBegin {
      const row = find.get(scope, key);
      if (row && row.expires_at > now) {
        if (row.request_hash !== hash) return { kind: "mismatch" };
        if (row.state === "done") {
          return { kind: "replay", status: row.status ?? 200, body: row.response_body ?? "", contentType: row.content_type ?? "application/json" };
        }
        if (row.locked_until > now) return { kind: "in_progress" };
      }
      claim.run(scope, key, hash, now + lockMs, now, now + ttlMs);
      return { kind: "started" };
    },
    complete(scope: string, key: string, status: number, body: string, contentType: string): void {
      finish.run(status, body, contentType, scope, key);
    },
    release(scope: string, key: string): void {
      forget.run(scope, key);
    },
    releaseAbandoned: (): number => unlockRunning.run().changes,
  };
}
