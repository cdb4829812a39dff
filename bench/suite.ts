/**
 * The whole benchmark suite in one command (`npm run bench` at the root): every benchmark of
 * ../shared/BENCHMARKS.md, one after the other, each in its own process with the settings below
 * (shortened where the full run takes long: they are printed), each one's own tables kept in a log,
 * then one table of the headline figures beside the same run's baselines and the targets.
 *
 * B3 runs at 50% and 80% of the maximum Parley sustained in B2 just before, as BENCHMARKS.md asks.
 * BENCH_ONLY=B1,B3 runs some of them (B3 without B2 falls back to BENCH_B3_RATES or 200,500 msg/s);
 * a variable set in the environment (BENCH_GROUPS=50, say) wins over the settings below.
 * The suite is meant for a quiet machine: the load average at the start of each step is printed.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { machine, printSettings, printTable } from './measure.js';
import { type Headline, readReport } from './report.js';

const here = path.dirname(fileURLToPath(import.meta.url));

interface Step {
  name: string;
  script: string;
  /** What differs from the benchmark's own defaults, and why, in a few words. */
  note: string;
  env: (previous: Headline[]) => Record<string, string>;
}

/** B3's two rates: half and four fifths of Parley's B2 maximum (durable default). */
function b3Rates(previous: Headline[]): string {
  const maximum = previous.find((headline) => headline.bench === 'B2' && !headline.measure.includes('process'))?.value;
  if (maximum === undefined || !(maximum > 0)) return process.env.BENCH_B3_RATES ?? '200,500';
  return [0.5, 0.8].map((share) => Math.max(10, Math.round((maximum * share) / 10) * 10)).join(',');
}

const STEPS: Step[] = [
  {
    name: 'B1',
    script: 'b3-fan-out.ts',
    note: '10,000 sockets (500 groups × 20), one run per server',
    env: () => ({ BENCH_MODE: 'idle', BENCH_GROUPS: '500', BENCH_MEMBERS: '20', BENCH_RUNS: '1', BENCH_TARGETS: 'ceiling,socketio,parley' }),
  },
  {
    name: 'B2',
    script: 'b3-fan-out.ts',
    note: '500 groups × 20; steps of 5 s after 2 s of warm-up, one run per server',
    env: () => ({
      BENCH_MODE: 'saturation',
      BENCH_GROUPS: '500',
      BENCH_SECONDS: '5',
      BENCH_WARMUP: '2',
      BENCH_RUNS: '1',
      BENCH_SATURATION_RATES: '250,500,750,1000,1500,2000,3000,4000,6000,8000',
    }),
  },
  {
    name: 'B3',
    script: 'b3-fan-out.ts',
    note: '500 groups × 20 at 50% and 80% of Parley\'s B2 maximum, 10 s after 3 s, one run per server and rate',
    env: (previous) => ({ BENCH_MODE: 'latency', BENCH_GROUPS: '500', BENCH_RATES: b3Rates(previous), BENCH_SECONDS: '10', BENCH_WARMUP: '3', BENCH_RUNS: '1' }),
  },
  { name: 'B4', script: 'b4-assistant-relay.ts', note: '50 answers × 20 members, 2 rounds, a warm-up and one run', env: () => ({ BENCH_RUNS: '1', BENCH_ROUNDS: '2' }) },
  { name: 'B5', script: 'b5-durable-writes.ts', note: 'SQLite and PostgreSQL, one run', env: () => ({ B5_RUNS: '1' }) },
  { name: 'B6', script: 'b6-drops.ts', note: '2,000 clients for 45 s (three rounds of drops) instead of 160 s', env: () => ({ BENCH_SECONDS: '45' }) },
  { name: 'B7', script: 'b7-restart.ts', note: '2,000 clients, one kill -9 per server', env: () => ({}) },
  { name: 'B8', script: 'b8-history.ts', note: '1,000,000 messages, SQLite and PostgreSQL, one run of 5 s', env: () => ({ B8_RUNS: '1', B8_SECONDS: '5' }) },
  { name: 'B8 context', script: 'assistant-context.ts', note: '1,000,000 messages', env: () => ({}) },
  { name: 'B9', script: 'b9-two-nodes.ts', note: '2,000 sockets at 200 msg/s, one run per setup', env: () => ({ BENCH_RUNS: '1' }) },
  { name: 'B10', script: 'b10-web.ts', note: '100 and 100,000 messages, one run after a warm-up', env: () => ({ BENCH_RUNS: '1' }) },
];

function runStep(step: Step, reportFile: string, logFile: string, previous: Headline[]): Promise<number | null> {
  const log = fs.openSync(logFile, 'w');
  const child = spawn(process.execPath, ['--max-old-space-size=4096', '--conditions=parley-source', '--import', 'tsx', path.join(here, step.script)], {
    cwd: here,
    // A variable set by whoever runs the suite wins over the suite's own settings.
    env: { ...step.env(previous), ...process.env, BENCH_REPORT: reportFile },
    stdio: ['ignore', log, log],
  });
  return new Promise((resolve) => {
    child.once('exit', (code) => {
      fs.closeSync(log);
      resolve(code);
    });
  });
}

async function main(): Promise<void> {
  const only = process.env.BENCH_ONLY?.split(',').map((name) => name.trim());
  const steps = only ? STEPS.filter((step) => only.includes(step.name)) : STEPS;
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), `parley-bench-${stamp}-`));
  const reportFile = path.join(folder, 'headlines.jsonl');
  const started = performance.now();
  const about = machine();
  console.log(`# Parley benchmark suite: ${steps.map((step) => step.name).join(', ')}\n`);
  printSettings({ ...about, logs: folder });
  console.log('');
  const headlines: Headline[] = [];
  /** Headlines read from the file so far (the table also holds a line for each step that did not finish). */
  let reported = 0;
  const timings: string[][] = [];
  for (const step of steps) {
    const load = os.loadavg()[0]?.toFixed(2) ?? '?';
    const began = performance.now();
    const logFile = path.join(folder, `${step.name.replace(/\s+/g, '-')}.log`);
    process.stderr.write(`${step.name} (${step.script}) … `);
    const code = await runStep(step, reportFile, logFile, headlines);
    const seconds = (performance.now() - began) / 1000;
    const found = readReport(reportFile).slice(reported);
    reported += found.length;
    headlines.push(...found);
    process.stderr.write(`${seconds.toFixed(0)} s${code === 0 ? '' : ` (exit ${code})`}\n`);
    if (found.length === 0) {
      headlines.push({ bench: step.name, measure: 'did not finish', parley: `exit ${code}, see ${logFile}`, baseline: '—', target: '—', met: false });
    }
    timings.push([step.name, step.note, `${seconds.toFixed(0)} s`, load]);
  }
  printTable(
    ['bench', 'figure', 'Parley', 'baseline, same run', 'target', 'met'],
    headlines.map((headline) => [headline.bench, headline.measure, headline.parley, headline.baseline, headline.target, headline.met === null ? '—' : headline.met ? 'yes' : 'no']),
  );
  console.log('');
  printTable(['bench', 'settings', 'took', 'load average at its start'], timings);
  console.log(`\nWhole suite: ${((performance.now() - started) / 60_000).toFixed(1)} min. Each benchmark's own tables: ${folder}`);
}

await main();
