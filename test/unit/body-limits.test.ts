import { describe, expect, test } from "bun:test";
import { ConfigError, loadConfig } from "../../src/config/load";
import { renderEffectiveConfig } from "../../src/config/render";
import { BodyBudget, budgetHolder } from "../../src/http/body-budget";

function issuesOf(toml: string) {
  try {
    loadConfig(toml, {});
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.issues;
  }
}

describe("[server] max_inflight_body and body_timeout", () => {
  test("default to 64 MiB and 30 s, and check-config shows them", () => {
    const config = loadConfig("", {});
    expect([config.server.max_inflight_body, config.server.body_timeout]).toEqual([64 * 1024 * 1024, 30_000]);
    const shown = renderEffectiveConfig(config);
    expect(shown).toContain('max_inflight_body = "64MiB"');
    expect(shown).toContain('body_timeout = "30s"');
  });

  test("take a size and a duration", () => {
    const config = loadConfig(`[server]\nmax_inflight_body = "8MiB"\nbody_timeout = "1m30s"`, {});
    expect([config.server.max_inflight_body, config.server.body_timeout]).toEqual([8 * 1024 * 1024, 90_000]);
    expect(renderEffectiveConfig(config)).toContain('body_timeout = "1m30s"');
  });

  test.each([
    ["not a size", `max_inflight_body = "lots"`, "server.max_inflight_body", expect.stringContaining('"lots" is not a size')],
    ["zero", `max_inflight_body = 0`, "server.max_inflight_body", "must be more than 0"],
    ["below 4 × max_body", `max_body = "1MiB"\nmax_inflight_body = "3MiB"`, "server.max_inflight_body", "must be at least 4 × server.max_body (4MiB)"],
    ["not a duration", `body_timeout = "soon"`, "server.body_timeout", expect.stringContaining('"soon" is not a duration')],
    ["zero timeout", `body_timeout = "0s"`, "server.body_timeout", "must be more than 0"],
  ])("refuse %s with the key's path", (_name, lines, path, message) => {
    expect(issuesOf(`[server]\n${lines}`)).toEqual([{ path, message }]);
  });
});

describe("BodyBudget", () => {
  test("gives one client at most a quarter, and all clients at most the total", () => {
    const budget = new BodyBudget(400);
    expect(budget.reserve("a", 100)).toBe("ok");
    expect(budget.reserve("a", 1)).toBe("client");
    expect(budget.reserve("b", 100)).toBe("ok");
    expect(budget.reserve("c", 100)).toBe("ok");
    expect(budget.reserve("d", 60)).toBe("ok");
    expect(budget.reserve("e", 41)).toBe("total");
    expect(budget.reserve("e", 40)).toBe("ok");
    expect(budget.used).toBe(400);
  });

  test("a refused reservation takes nothing, and released bytes can be reserved again", () => {
    const budget = new BodyBudget(400);
    expect(budget.reserve("a", 101)).toBe("client");
    expect([budget.used, budget.of("a")]).toEqual([0, 0]);
    budget.reserve("a", 70);
    budget.reserve("a", 30);
    budget.release("a", 70);
    expect([budget.used, budget.of("a")]).toEqual([30, 30]);
    expect(budget.reserve("a", 70)).toBe("ok");
    budget.release("a", 100);
    expect([budget.used, budget.of("a")]).toEqual([0, 0]);
  });
});

describe("budgetHolder", () => {
  // One IPv6 host usually owns a /64: counting per address would let it take every share.
  test.each([
    ["127.0.0.2", "127.0.0.2"],
    ["2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"],
    ["2001:db8:1:2:bbbb:cccc:dddd:eeee", "2001:db8:1:2::/64"],
    ["2001:db8::1", "2001:db8:0:0::/64"],
    ["::1", "0:0:0:0::/64"],
    ["fe80::1%eth0", "fe80:0:0:0::/64"],
  ])("%s → %s", (address, holder) => {
    expect(budgetHolder(address)).toBe(holder);
  });
});
