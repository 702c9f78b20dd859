/**
 * postgres starts a throwaway PostgreSQL cluster for a bench, the way test/support/postgres.ts does for
 * the tests (initdb into a temp dir as the unprivileged `postgres` user when run as root, pg_ctl start
 * on a free loopback port with its socket dir under /tmp, dropped at the end), except that it keeps
 * PostgreSQL's durability settings as shipped: fsync, synchronous_commit and full_page_writes on. A
 * bench figure on a cluster with fsync off would not be a durable-accept figure. Benches never import
 * from test/, hence the copy.
 */
import { SQL } from "bun";
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./support.ts";

/** BenchPg is a throwaway PostgreSQL server started for one bench run. */
export interface BenchPg {
  readonly port: number;
  /** postmasterPid is the server's main process (first line of postmaster.pid); its backends are its children. */
  readonly postmasterPid: number;
  /** url of a database on it (no password: loopback is trust). */
  url(database: string): string;
  /** createDatabase makes a fresh, empty database and returns its url. */
  createDatabase(name: string): Promise<string>;
  /** settings reads the durability settings the server runs with, for the bench's header. */
  settings(): Promise<string>;
  stop(): Promise<void>;
}

/** pgBinDir finds initdb and pg_ctl: pg_config's bindir, else Debian's /usr/lib/postgresql/<n>/bin; null when absent. */
export function pgBinDir(): string | null {
  const fromConfig = Bun.spawnSync(["pg_config", "--bindir"], { stdout: "pipe", stderr: "ignore" });
  const candidates: string[] = [];
  if (fromConfig.success) candidates.push(fromConfig.stdout.toString().trim());
  const debian = "/usr/lib/postgresql";
  if (existsSync(debian)) for (const v of readdirSync(debian).sort((a, b) => Number(b) - Number(a))) candidates.push(join(debian, v, "bin"));
  return candidates.find((dir) => existsSync(join(dir, "initdb")) && existsSync(join(dir, "pg_ctl"))) ?? null;
}

// initdb refuses to run as root: run it (and the server) as Debian's `postgres` user then.
const asServerUser = (argv: string[]): string[] => (process.getuid?.() === 0 ? ["runuser", "-u", "postgres", "--", ...argv] : argv);

function run(argv: string[]): void {
  const out = Bun.spawnSync(asServerUser(argv), { stdout: "pipe", stderr: "pipe" });
  if (!out.success) throw new Error(`${argv.join(" ")} failed: ${out.stderr.toString()}${out.stdout.toString()}`);
}

/** startBenchPg initdb's and starts a cluster with fsync on; throws when no PostgreSQL binaries are installed. */
export async function startBenchPg(): Promise<BenchPg> {
  const bin = pgBinDir();
  if (!bin) throw new Error("no PostgreSQL binaries (pg_config --bindir, /usr/lib/postgresql/*/bin): apt-get install postgresql");
  const root = mkdtempSync(join(tmpdir(), "hookd-bench-pg-"));
  const data = join(root, "data");
  const socket = mkdtempSync("/tmp/hookd-bench-pgsock-");
  if (process.getuid?.() === 0) {
    const id = (flag: string) => Number(Bun.spawnSync(["id", flag, "postgres"], { stdout: "pipe" }).stdout.toString().trim());
    for (const dir of [root, socket]) chownSync(dir, id("-u"), id("-g"));
  }
  const port = freePort();
  try {
    // --no-sync only skips initdb's own flush of the template files; the server below runs with fsync on.
    run([join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"]);
    run([
      join(bin, "pg_ctl"), "-D", data, "-l", join(root, "server.log"), "-w", "-t", "60", "start",
      "-o", `-p ${port} -k ${socket} -c listen_addresses=127.0.0.1 -c max_connections=200`,
    ]);
  } catch (error) {
    rmSync(root, { recursive: true, force: true });
    rmSync(socket, { recursive: true, force: true });
    throw error;
  }
  const url = (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;
  const admin = new SQL({ url: url("postgres"), max: 2 });
  const postmasterPid = Number(readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0]);
  return {
    port,
    postmasterPid,
    url,
    async createDatabase(name) {
      await admin.unsafe(`CREATE DATABASE "${name}"`);
      return url(name);
    },
    async settings() {
      const rows = await admin.unsafe(
        "SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'wal_sync_method', 'server_version') ORDER BY name",
      );
      return (rows as { name: string; setting: string }[]).map((r) => `${r.name}=${r.setting}`).join(" ");
    },
    async stop() {
      await admin.close();
      try {
        run([join(bin, "pg_ctl"), "-D", data, "-m", "fast", "-w", "stop"]);
      } finally {
        rmSync(root, { recursive: true, force: true });
        rmSync(socket, { recursive: true, force: true });
      }
    },
  };
}
