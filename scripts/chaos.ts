// `npm run chaos` — the long chaos run: mixed load while hookd is SIGKILLed and restarted ≥ 20 times.
// Options: --kills N (default 25), --seed S, --min-up MS, --max-up MS, --workers N (default 8),
//          --no-late-retry (skip the ~1 min wait to retry 409 idempotency_key_in_progress answers), --json
// Exit code: 0 when nothing was lost and every check held, 1 otherwise, 2 for bad usage.
import { formatSummary, runChaos } from "../test/chaos/chaos";

function usage(message: string): never {
  console.error(`chaos: ${message}\nusage: bun scripts/chaos.ts [--kills N] [--seed S] [--min-up MS] [--max-up MS] [--workers N] [--no-late-retry] [--json]`);
  process.exit(2);
}

const args = process.argv.slice(2);
const opts: { kills: number; seed?: number; minUpMs?: number; maxUpMs?: number; workers?: number; lateRetry: boolean } = { kills: 25, workers: 8, lateRetry: true };
let json = false;
for (let i = 0; i < args.length; i++) {
  const a = args[i]!;
  const num = () => {
    const v = Number(args[++i]);
    if (!Number.isFinite(v) || v < 0) usage(`${a} needs a non-negative number`);
    return v;
  };
  if (a === "--kills") opts.kills = num();
  else if (a === "--seed") opts.seed = num();
  else if (a === "--min-up") opts.minUpMs = num();
  else if (a === "--max-up") opts.maxUpMs = num();
  else if (a === "--workers") opts.workers = num();
  else if (a === "--no-late-retry") opts.lateRetry = false;
  else if (a === "--json") json = true;
  else usage(`unknown argument ${a}`);
}
if (opts.kills < 1) usage("--kills must be at least 1");

const cores = navigator.hardwareConcurrency;
console.log(`chaos: ${opts.kills} kills, bun ${Bun.version}, ${cores} cores, ${new Date().toISOString()}`);
const report = await runChaos({ ...opts, log: (line) => console.log(line) });
console.log(formatSummary(report));
if (json) console.log(JSON.stringify(report));
process.exit(report.ok ? 0 : 1);
