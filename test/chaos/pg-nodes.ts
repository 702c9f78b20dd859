import type { Subprocess } from "bun";
import { SQL } from "bun";
import { join } from "node:path";
import { hashApiKey } from "../../src/security/api-keys";
import type { PgCluster } from "../support/postgres";
import { CLI, freePort, tempConfig, waitFor } from "../support/process";

/** INBOUND_TOKEN is the token of the `erp` source every node config carries (auth token, schema json, fixed type). */
export const INBOUND_TOKEN = "nodes-token-123";

/** NODE_AGENT + node id is each node's `[delivery] user_agent`, so a receiver can tell which node sent an attempt. */
export const NODE_AGENT = "hookd-test/";

/** PgNode is one `hookd serve` process with a fixed port and node_id on the shared database; start/kill/restart keep both. */
export interface PgNode {
  readonly id: string;
  readonly url: string;
  readonly key: string;
  /** Lines the node logged at level error/fatal, and anything on stderr. */
  readonly errors: string[];
  /** Leases released at each start, from "released deliveries leased by a previous process". */
  readonly released: number[];
  proc: Subprocess<"ignore", "pipe", "pipe"> | null;
  start(): Promise<void>;
  /** kill sends the signal and waits for the exit. */
  kill(signal: "SIGKILL" | "SIGTERM"): Promise<number | null>;
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** inbound posts a JSON body to /in/erp; `webhookId` becomes the dedupe key. */
  inbound(body: unknown, webhookId?: string, timeoutMs?: number): Promise<{ status: number | null; id: string | null; error: string | null }>;
}

/** pgNodes writes one config per node (same database, API key and `[delivery]` lines) with its own port and node_id. */
export function pgNodes(dbUrl: string, count: number, delivery: string[], prefix = "node"): PgNode[] {
  const key = `key-${crypto.randomUUID()}`;
  return Array.from({ length: count }, (_, i) => {
    const id = `${prefix}-${String.fromCharCode(97 + i)}`;
    const port = freePort();
    const toml = [
      `[server]\nlisten = "127.0.0.1:${port}"\nnode_id = "${id}"`,
      `[storage]\nurl = "${dbUrl}"`,
      `[api]\nkeys = [{ name = "test", hash = "${hashApiKey(key)}" }]`,
      `[delivery]\nrequire_https = false\nallow_targets = ["127.0.0.0/8"]\nuser_agent = "${NODE_AGENT}${id}"\n${delivery.join("\n")}`,
      `[log]\nlevel = "warn"`,
      `[[sources]]\nid = "erp"\nauth = "token"\nsecret = "${INBOUND_TOKEN}"\nschema = "json"\nevent_type = "order.created"`,
    ].join("\n\n");
    const { path } = tempConfig(toml);
    const url = `http://127.0.0.1:${port}`;
    const node: PgNode = {
      id,
      url,
      key,
      errors: [],
      released: [],
      proc: null,
      async start() {
        const proc = Bun.spawn([...CLI, "serve", "--config", path], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
        node.proc = proc;
        const index = node.released.push(0) - 1;
        void pumpLines(proc.stdout, (line) => {
          let entry: { level?: string; msg?: string; count?: number } | null = null;
          try {
            entry = JSON.parse(line);
          } catch {
            node.errors.push(`(not JSON) ${line.slice(0, 300)}`);
            return;
          }
          if (entry?.msg === "released deliveries leased by a previous process") node.released[index]! += entry.count ?? 0;
          if (entry?.level === "error" || entry?.level === "fatal") node.errors.push(line.slice(0, 500));
        });
        void pumpLines(proc.stderr, (line) => node.errors.push(`(stderr) ${line.slice(0, 300)}`));
        try {
          await waitFor(async () => proc.exitCode === null && (await fetch(`${url}/readyz`)).status === 200, 15_000, `${id} ready`);
        } catch (error) {
          proc.kill("SIGKILL");
          throw new Error(`${(error as Error).message}; errors: ${node.errors.slice(-5).join(" | ")}`);
        }
      },
      async kill(signal) {
        const proc = node.proc;
        if (!proc || proc.exitCode !== null || proc.signalCode !== null) return proc?.exitCode ?? null;
        proc.kill(signal);
        return await proc.exited;
      },
      async api(method, p, body) {
        const response = await fetch(`${url}${p}`, {
          method,
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(15_000),
        });
        const text = await response.text();
        return { status: response.status, body: text ? JSON.parse(text) : null };
      },
      async inbound(body, webhookId, timeoutMs = 15_000) {
        const headers: Record<string, string> = { "content-type": "application/json", "x-auth-token": INBOUND_TOKEN };
        if (webhookId) headers["webhook-id"] = webhookId;
        try {
          const response = await fetch(`${url}/in/erp`, { method: "POST", headers, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
          const text = await response.text();
          let id: string | null = null;
          try {
            id = (JSON.parse(text) as { id?: string }).id ?? null;
          } catch {
            // not JSON: no id
          }
          return { status: response.status, id, error: null };
        } catch (error) {
          const e = error as { code?: string; name?: string };
          return { status: null, id: null, error: e.code ?? e.name ?? String(error) };
        }
      },
    };
    return node;
  });
}

/** pumpLines calls onLine for every non-empty line of a child's stream until it closes. */
export async function pumpLines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  let buf = "";
  try {
    for await (const chunk of stream) {
      buf += decoder.decode(chunk, { stream: true });
      for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
        if (buf.slice(0, i).trim()) onLine(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    }
  } catch {
    // the process died; what was read is what there is
  }
  if (buf.trim()) onLine(buf);
}

/**
 * restartPostgres runs `pg_ctl restart -m fast` on the test cluster (its data directory read from the
 * server itself), as the server's user when the tests run as root. Every node's connections drop.
 */
export async function restartPostgres(cluster: PgCluster): Promise<number> {
  const admin = new SQL({ url: cluster.url("postgres"), max: 1 });
  let data: string;
  try {
    data = ((await admin`SHOW data_directory`) as { data_directory: string }[])[0]!.data_directory;
  } finally {
    await admin.close();
  }
  const bin = Bun.spawnSync(["pg_config", "--bindir"], { stdout: "pipe" }).stdout.toString().trim();
  const pgCtl = bin && (await Bun.file(join(bin, "pg_ctl")).exists()) ? join(bin, "pg_ctl") : "pg_ctl";
  const argv = [pgCtl, "-D", data, "-l", join(data, "..", "server.log"), "-m", "fast", "-w", "-t", "60", "restart"];
  const began = performance.now();
  const out = Bun.spawnSync(process.getuid?.() === 0 ? ["runuser", "-u", "postgres", "--", ...argv] : argv, { stdout: "pipe", stderr: "pipe" });
  if (!out.success) throw new Error(`pg_ctl restart failed: ${out.stderr.toString()}${out.stdout.toString()}`);
  return performance.now() - began;
}
