import { afterAll, describe, expect, test } from "bun:test";
import { createTransformPool } from "../../src/transform";

const pool = createTransformPool({ size: 2, maxResultBytes: 1024 * 1024 });
afterAll(() => pool.close());

async function timed<T>(work: Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const value = await work;
  return [value, performance.now() - started];
}

describe("createTransformPool", () => {
  test("evaluates an expression against its input in a worker", async () => {
    expect(await pool.run('{"who": name, "n": $count(items)}', { name: "a", items: [1, 2, 3] })).toEqual({ kind: "value", value: { who: "a", n: 3 } });
  });

  test("a result of nothing is a value of undefined (applyTransform decides what that means)", async () => {
    expect(await pool.run("missing", { name: "a" })).toEqual({ kind: "value", value: undefined });
  });

  test("a throw is a failure carrying jsonata's message", async () => {
    const r = await pool.run('$error("boom")', {});
    expect(r.kind).toBe("failed");
    expect(r.kind === "failed" && r.error).toStartWith("boom");
  });

  test("an expression that does not compile fails with the parser's message", async () => {
    const r = await pool.run("{", {});
    expect(r.kind === "failed" && r.error).toContain("Expected");
  });

  test("deep non-tail recursion stops at jsonata's stack limit as a failure", async () => {
    const r = await pool.run("($f := function($x) { 1 + $f($x) }; $f(1))", {});
    expect(r.kind).toBe("failed");
  });

  test.each([
    ["infinite tail recursion", "($f := function($x) { $f($x) }; $f(1))"],
    ["a catastrophic $match (one built-in call jsonata cannot interrupt)", '$match($pad("", 32, "a") & "b", /^(a+)+$/)'],
  ])("%s is stopped at ~100 ms and the next run still works", async (_name, expression) => {
    const [r, ms] = await timed(pool.run(expression, {}));
    expect(r).toEqual({ kind: "timeout" });
    expect(ms).toBeGreaterThanOrEqual(85);
    expect(ms).toBeLessThan(400);
    expect(await pool.run("1 + 1", {})).toEqual({ kind: "value", value: 2 });
  });

  test("runs beyond the pool size queue, and a stuck run does not hold the others", async () => {
    const [results, ms] = await timed(
      Promise.all([pool.run('$match($pad("", 32, "a") & "b", /^(a+)+$/)', {}), pool.run("a", { a: 1 }), pool.run("a", { a: 2 }), pool.run("a", { a: 3 })]),
    );
    expect(results).toEqual([{ kind: "timeout" }, { kind: "value", value: 1 }, { kind: "value", value: 2 }, { kind: "value", value: 3 }]);
    expect(ms).toBeLessThan(400);
  });

  test("the main event loop keeps turning while a worker is stuck", async () => {
    const gaps: number[] = [];
    let last = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      gaps.push(now - last);
      last = now;
    }, 1);
    await pool.run('$match($pad("", 32, "a") & "b", /^(a+)+$/)', {});
    clearInterval(ticker);
    // The worker spins ~100 ms; the main loop keeps ticking: 90 % of gaps well under 20 ms, none near 100.
    gaps.sort((a, b) => a - b);
    expect(gaps.length).toBeGreaterThan(10);
    expect(gaps[Math.floor(gaps.length * 0.9)]!).toBeLessThan(20);
    expect(gaps.at(-1)!).toBeLessThan(60);
  });

  test("a runaway $pad ends within ~100 ms: stopped, or refused in the worker as over max_body", async () => {
    const [r, ms] = await timed(pool.run('$pad("", 50000000)', {}));
    expect(r.kind === "timeout" || (r.kind === "failed" && r.error.startsWith("the result is 50000000 bytes, over max_body"))).toBe(true);
    expect(ms).toBeLessThan(400);
  });

  test("close rejects later runs", async () => {
    const own = createTransformPool({ size: 1 });
    expect(await own.run("1", {})).toEqual({ kind: "value", value: 1 });
    await own.close();
    expect(own.run("1", {})).rejects.toThrow("closed");
  });
});
