// `npm run chaos:pg` — the long chaos run across nodes: 3 nodes on one PostgreSQL under steady load,
// random nodes SIGKILLed and restarted (default 12 times), one `pg_ctl restart` in the middle.
// Options: --kills N, --seed S, --json. Exit 0 when nothing was lost and every check held, 1 otherwise, 2 for bad usage.
import { formatPgSummary, runPgChaos } from "./chaos-pg";

const args = process.argv.slice(2);
let kills = 12;
let seed: number | undefined;
let json = false;
for (let i = 0; i < args.length; i++) {
  const a = args[i]!;
  const num = () => Number(args[++i]);
  if (a === "--kills") kills = num();
  else if (a === "--seed") seed = num();
  else if (a === "--json") json = true;
  else {
    console.error(`chaos:pg: unknown argument ${a}\nusage: bun test/chaos/chaos-pg-main.ts [--kills N] [--seed S] [--json]`);
    process.exit(2);
  }
}
if (!Number.isInteger(kills) || kills < 1 || (seed !== undefined && !Number.isFinite(seed))) {
  console.error("chaos:pg: --kills needs a whole number ≥ 1, --seed a number");
  process.exit(2);
}
console.log(`chaos:pg: ${kills} kills, bun ${Bun.version}, ${navigator.hardwareConcurrency} cores, ${new Date().toISOString()}`);
const report = await runPgChaos({ kills, seed, log: (line) => console.log(line) });
if (typeof report === "string") {
  console.log(`chaos:pg: ${report}`);
  process.exit(1);
}
console.log(formatPgSummary(report));
if (json) console.log(JSON.stringify(report));
process.exit(report.ok ? 0 : 1);
