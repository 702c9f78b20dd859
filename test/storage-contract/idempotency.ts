import { describe, expect, test } from "bun:test";
import type { IdempotencyBegin } from "../../src/storage/types";
import { HOUR, MIN, type Fixture } from "./harness";

const TTL = 24 * HOUR;
const LOCK = MIN;
const SCOPE = "key-1 POST /v1/webhooks";

/** idempotencyContract: Idempotency-Key claims, stored answers, their lock and their expiry. */
export function idempotencyContract(f: Fixture): void {
  const begin = (hash = "h1", key = "k", scope = SCOPE): Promise<IdempotencyBegin> =>
    f.s.idempotency.begin(scope, key, hash, f.clock.now(), TTL, LOCK);
  const answer = (status = 201, body = `{"id":"wh_1"}`) =>
    f.s.idempotency.complete(SCOPE, "k", status, body, "application/json", f.clock.now());

  describe("idempotency", () => {
    test("the first begin starts; another while it runs is in_progress", async () => {
      expect(await begin()).toEqual({ kind: "started" });
      expect(await begin()).toEqual({ kind: "in_progress" });
    });

    test("once completed, begin replays the stored status, body and content type", async () => {
      await begin();
      await answer(201, `{"id":"wh_1"}`);
      expect(await begin()).toEqual({ kind: "replay", status: 201, body: `{"id":"wh_1"}`, contentType: "application/json" });
    });

    test.each([
      ["while it runs", false],
      ["once answered", true],
    ])("another request under the same key is a mismatch %s", async (_when, answered) => {
      await begin("h1");
      if (answered) await answer();
      expect(await begin("h2")).toEqual({ kind: "mismatch" });
    });

    test("keys are per scope", async () => {
      await begin("h1", "k", SCOPE);
      expect(await begin("h2", "k", "key-2 POST /v1/webhooks")).toEqual({ kind: "started" });
      expect(await begin("h1", "other")).toEqual({ kind: "started" });
    });

    test("release forgets a claim, so the same request starts again", async () => {
      await begin();
      await f.s.idempotency.release(SCOPE, "k");
      expect(await begin()).toEqual({ kind: "started" });
    });

    test("a running claim whose lock lapsed can be started again", async () => {
      await begin();
      f.clock.advance(LOCK - 1);
      expect(await begin()).toEqual({ kind: "in_progress" });
      f.clock.advance(1);
      expect(await begin()).toEqual({ kind: "started" });
    });

    test("a claim left running by a process that died is startable at once after a restart", async () => {
      expect(await begin()).toEqual({ kind: "started" });
      const s = await f.backend.reopen();
      expect(await s.idempotency.releaseAbandoned()).toBe(1);
      expect(await begin()).toEqual({ kind: "started" });
    });

    test("releaseAbandoned keeps stored answers", async () => {
      await begin();
      await answer();
      const s = await f.backend.reopen();
      expect(await s.idempotency.releaseAbandoned()).toBe(0);
      expect((await begin()).kind).toBe("replay");
    });

    test("a stored answer expires after ttl and the key starts afresh, even with another body", async () => {
      await begin("h1");
      await answer();
      f.clock.advance(TTL - 1);
      expect((await begin("h1")).kind).toBe("replay");
      f.clock.advance(1);
      expect(await begin("h2")).toEqual({ kind: "started" });
    });

    test("of concurrent begins under one key exactly one starts", async () => {
      const outs = await Promise.all(Array.from({ length: 10 }, () => begin()));
      expect(outs.filter((o) => o.kind === "started")).toHaveLength(1);
      expect(outs.filter((o) => o.kind === "in_progress")).toHaveLength(9);
    });
  });
}
