import { describe, expect, test } from "bun:test";
import { hashKeyCommand } from "../../src/cli/hash-key";
import { loadConfig } from "../../src/config/load";
import { renderEffectiveConfig } from "../../src/config/render";
import { riskySettings } from "../../src/startup-report";

const HASH = `sha256:${"ab".repeat(32)}`;
const HASH2 = `sha256:${"cd".repeat(32)}`;

describe("hookd check-config and scoped keys", () => {
  const out = renderEffectiveConfig(
    loadConfig(`[api]\nkeys = [\n  { name = "ops", hash = "${HASH}" },\n  { name = "erp", hash = "${HASH2}", scopes = ["read", "publish"] },\n]`, {}),
  );

  test("lists every key with its scopes, the default admin too", () => {
    expect(out).toContain(`{ name = "ops", hash = "sha256:abababab…", scopes = ["admin"] },`);
    expect(out).toContain(`{ name = "erp", hash = "sha256:cdcdcdcd…", scopes = ["read", "publish"] },`);
  });

  test("what it prints loads again with the same scopes", () => {
    const section = out.slice(out.indexOf("[api]"), out.indexOf("[events]")).replace(/sha256:(ab|cd)+…/g, (m) => (m.startsWith("sha256:ab") ? HASH : HASH2));
    expect(loadConfig(section, {}).api.keys.map((k) => [k.name, k.scopes])).toEqual([
      ["ops", ["admin"]],
      ["erp", ["read", "publish"]],
    ]);
  });

  test("scoped keys are no risky setting", () => {
    expect(riskySettings(loadConfig(`[api]\nkeys = [{ name = "ro", hash = "${HASH}", scopes = ["read"] }]`, {}))).toEqual([]);
  });
});

describe("hookd hash-key", () => {
  test("prints the bare hash on stdout and the config line, with scopes, on stderr", async () => {
    let stdout = "";
    let stderr = "";
    const code = await hashKeyCommand(async () => "abcdefghijklmnopqrstuvwxyz\n", (s) => (stdout += s), (s) => (stderr += s));
    expect(code).toBe(0);
    expect(stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    expect(stderr).toContain(`{ name = "ops", hash = "${stdout.trim()}", scopes = ["admin"] }`);
    expect(stderr).toContain('"read"');
    expect(stderr).toContain('"publish"');
  });
});
