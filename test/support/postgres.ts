import { SQL } from "bun";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./process";

/** PgCluster is a throwaway PostgreSQL server started for one test file. */
export interface PgCluster {
  readonly port: number;
  /** url of a database on it (no password: loopback is trust). */
  url(database: string): string;
  /** createDatabase makes a fresh, empty database and returns its url. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

/** pgBinDir finds initdb and pg_ctl: pg_config's bindir, else Debian's /usr/lib/postgresql/<n>/bin; null when absent. */
export function pgBinDir(): string | null {
  const fromConfig = Bun.spawnSync(["pg_config", "--bindir"], { stdout: "pipe", stderr: "ignore" });
  const candidates: string[] = [];
  if (fromConfig.success) candidates.push(fromConfig.stdout.toString().trim());
  const debian = "/usr/lib/postgresql";
  if (existsSync(debian)) {
    for (const v of readdirSync(debian).sort((a, b) => Number(b) - Number(a))) candidates.push(join(debian, v, "bin"));
  }
  return candidates.find((dir) => existsSync(join(dir, "initdb")) && existsSync(join(dir, "pg_ctl"))) ?? null;
}

// initdb refuses to run as root: run it (and the server) as Debian's `postgres` user then.
function asServerUser(argv: string[]): string[] {
  return process.getuid?.() === 0 ? ["runuser", "-u", "postgres", "--", ...argv] : argv;
}

function run(argv: string[]): void {
  const out = Bun.spawnSync(asServerUser(argv), { stdout: "pipe", stderr: "pipe" });
  if (!out.success) throw new Error(`${argv.join(" ")} failed: ${out.stderr.toString()}${out.stdout.toString()}`);
}

function serverUid(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const id = (flag: string) => Number(Bun.spawnSync(["id", flag, "postgres"], { stdout: "pipe" }).stdout.toString().trim());
  return { uid: id("-u"), gid: id("-g") };
}

/**
 * startPgCluster initdb's a cluster into a temp dir and starts it on a free loopback port with its
 * socket under /tmp and fsync off (a test cluster need not survive power loss). A string saying why instead
 * when no PostgreSQL binaries are installed.
 */
export async function startPgCluster(): Promise<PgCluster | string> {
  const bin = pgBinDir();
  if (!bin) return "no PostgreSQL binaries (pg_config --bindir, /usr/lib/postgresql/*/bin): PostgreSQL tests skipped";
  const root = mkdtempSync(join(tmpdir(), "hookd-pg-"));
  const data = join(root, "data");
  const socket = mkdtempSync("/tmp/hookd-pgsock-");
  const owner = serverUid();
  if (owner) {
    chownSync(root, owner.uid, owner.gid);
    chownSync(socket, owner.uid, owner.gid);
  }
  const port = freePort();
  try {
    run([join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"]);
    writeFileSync(join(root, "README"), "throwaway PostgreSQL cluster of hookd's tests\n");
    run([
      join(bin, "pg_ctl"), "-D", data, "-l", join(root, "server.log"), "-w", "-t", "60", "start",
      "-o", `-p ${port} -k ${socket} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c listen_addresses=127.0.0.1 -c max_connections=200`,
    ]);
  } catch (error) {
    rmSync(root, { recursive: true, force: true });
    rmSync(socket, { recursive: true, force: true });
    throw error;
  }
  const url = (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;
  const admin = new SQL({ url: url("postgres"), max: 2 });
  return {
    port,
    url,
    async createDatabase(name: string) {
      await admin.unsafe(`CREATE DATABASE "${name}"`);
      return url(name);
    },
    async stop() {
      await admin.close();
      try {
        run([join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"]);
      } finally {
        rmSync(root, { recursive: true, force: true });
        rmSync(socket, { recursive: true, force: true });
      }
    },
  };
}
