/**
 * B1 idle sockets and B3 delivery latency (../shared/BENCHMARKS.md), Parley beside two baselines
 * in the same run: the ceiling (a bare `ws` broadcast server, bench/fanout/ceiling.ts) and the
 * peer (Socket.IO 4 rooms, bench/fanout/socketio-peer.ts), all driven by one generator
 * (bench/fanout/generator.ts) in its own process.
 *
 * B3: BENCH_GROUPS (500) groups of BENCH_MEMBERS (20), one socket per member; messages sent at
 * each rate of BENCH_RATES (200,500,1000 msg/s) to the groups in turn for BENCH_SECONDS (10)
 * after BENCH_WARMUP (3) seconds; every delivery to the 19 other members timed from the moment its
 * send was scheduled. Parley sends over HTTP (the acknowledged, durable path) and delivers over its
 * event socket, with `PARLEY_DURABILITY=full` (the default) and `process`.
 * B1 (BENCH_MODE=idle): the server's resident memory added per connected, authenticated, idle
 * socket at groups × members connections.
 * B2 (BENCH_MODE=saturation): the steps of BENCH_SATURATION_RATES (250,500,…,16000 msg/s),
 * BENCH_SECONDS each, searched by bisection for the highest one sustained: a step is not
 * sustained when less than 99.9% of the deliveries arrived, or the delivery p99 passed
 * BENCH_SATURATION_P99 (1000 ms), and a fresh server takes the next step after one that was not.
 * The highest sustained step is the server's maximum, with its persisted messages/s and
 * deliveries/s. The generator has one core too: past some rate it, not the server, is the limit.
 *
 * The server runs pinned to core 0, the generator to core 1 (taskset, when there are two cores).
 * BENCH_TARGETS (ceiling,socketio,parley,parley-process) and BENCH_RUNS (3) choose what runs;
 * BENCH_PROFILE=<dir> writes a CPU profile of each server's main thread there; BENCH_SERVER_NODE_OPTIONS
 * are added to each server's NODE_OPTIONS (e.g. `--trace-gc`, whose lines go to stderr here).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROTOCOL_VERSION } from '@parley/protocol';
import type { Job, Result, Target } from './fanout/generator.js';
import { collectGarbage } from './fanout/collect-garbage.js';
import { seedParley, sqliteIn } from './fanout/seed.js';
import { format, formatSpread, machine, printSettings, printTable, spread, summarize } from './measure.js';
import { type Headline, report } from './report.js';
import { startBaselineProcess, startServerProcess } from './server-process.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const env = (name: string, fallback: string) => process.env[name] ?? fallback;
const GROUPS = Number(env('BENCH_GROUPS', '500'));
const MEMBERS = Number(env('BENCH_MEMBERS', '20'));
const RATES = env('BENCH_RATES', '200,500,1000').split(',').map(Number);
const SECONDS = Number(env('BENCH_SECONDS', '10'));
const WARMUP = Number(env('BENCH_WARMUP', '3'));
const RUNS = Number(env('BENCH_RUNS', '3'));
const MODE = env('BENCH_MODE', 'latency') as 'latency' | 'idle' | 'saturation';
const SATURATION_RATES = env('BENCH_SATURATION_RATES', '250,500,1000,2000,4000,8000,16000')
  .split(',')
  .map(Number)
  .sort((a, b) => a - b);
const SATURATION_P99 = Number(env('BENCH_SATURATION_P99', '1000'));
const TARGETS = env('BENCH_TARGETS', 'ceiling,socketio,parley,parley-process').split(',') as Array<'ceiling' | 'socketio' | 'parley' | 'parley-process'>;
const PIN = os.availableParallelism() >= 2 && fs.existsSync('/usr/bin/taskset');

interface Running {
  url: string;
  pid: number;
  groups: { id: string; tokens: string[] }[];
  stop(): Promise<void>;
}

/** Every server's NODE_OPTIONS: BENCH_PROFILE's CPU profile (written when it stops) and BENCH_SERVER_NODE_OPTIONS. */
function serverNodeOptions(): string {
  return [
    process.env.NODE_OPTIONS,
    process.env.BENCH_PROFILE ? `--cpu-prof --cpu-prof-dir=${path.resolve(process.env.BENCH_PROFILE)}` : undefined,
    process.env.BENCH_SERVER_NODE_OPTIONS,
  ]
    .filter(Boolean)
    .join(' ');
}

/** A baseline server in its own process, pinned like Parley. */
async function startBaseline(script: string): Promise<Running> {
  const server = await startBaselineProcess(path.join(here, 'fanout', script), { ...(PIN ? { cpu: 0 } : {}), env: { NODE_OPTIONS: serverNodeOptions() } });
  const groups = Array.from({ length: GROUPS }, (_, index) => ({ id: `room${index}`, tokens: Array.from({ length: MEMBERS }, () => '') }));
  return { url: server.url, pid: server.pid, groups, stop: () => server.stop() };
}

async function startParley(durability: 'full' | 'process'): Promise<Running> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-b3-'));
  const groups = await seedParley(sqliteIn(dataDir), GROUPS, MEMBERS);
  const server = await startServerProcess({
    env: {
      PARLEY_DATA_DIR: dataDir,
      PARLEY_DURABILITY: durability,
      PARLEY_ASSISTANT: 'off',
      // The bench's senders are not flooding: each sends a few messages a second at most.
      PARLEY_FLOOD_BURST: '1000000',
      PARLEY_FLOOD_PER_MINUTE: '100000000',
      // BENCH_PROFILE=<dir>: a CPU profile of the server's main thread, written when it stops.
      NODE_OPTIONS: serverNodeOptions(),
    },
    ...(PIN ? { cpu: 0 } : {}),
  });
  return {
    url: server.url,
    pid: server.pid,
    groups,
    async stop() {
      await server.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function start(target: (typeof TARGETS)[number]): Promise<Running> {
  switch (target) {
    case 'ceiling':
      return startBaseline('ceiling.ts');
    case 'socketio':
      return startBaseline('socketio-peer.ts');
    case 'parley':
      return startParley('full');
    case 'parley-process':
      return startParley('process');
  }
}

interface Generator {
  result: Promise<string>;
  /** Resolves when the sends begin (latency mode), after every socket connected. */
  sending: Promise<void>;
  /** For idle mode: resolves once every socket is connected. */
  connected: Promise<number>;
  stop(): void;
}

function runGenerator(job: Job): Generator {
  // The job (10,000 tokens for Parley) goes in a file: too long for a command line.
  const jobFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'parley-b3-job-')), 'job.json');
  fs.writeFileSync(jobFile, JSON.stringify(job));
  const node = [process.execPath, '--import', 'tsx', path.join(here, 'fanout', 'generator.ts'), jobFile];
  const child = spawn(node[0] ?? process.execPath, node.slice(1), { cwd: here, stdio: ['pipe', 'pipe', 'inherit'] });
  let output = '';
  let onLine: ((line: string) => void) | undefined;
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    let newline = output.indexOf('\n');
    while (newline !== -1) {
      const line = output.slice(0, newline);
      output = output.slice(newline + 1);
      onLine?.(line);
      newline = output.indexOf('\n');
    }
  });
  let lines: string[] = [];
  const waiters: Array<(line: string) => void> = [];
  onLine = (line) => {
    const waiter = waiters.shift();
    if (waiter) waiter(line);
    else lines.push(line);
  };
  const nextLine = () =>
    new Promise<string>((resolve, reject) => {
      const line = lines.shift();
      if (line !== undefined) return resolve(line);
      waiters.push(resolve);
      child.once('exit', (code) => reject(new Error(`the generator exited (${code})`)));
    });
  lines = [];
  const first = nextLine();
  // In latency mode a first line says the sends begin; the result follows.
  const result = first.then((line) => ('sending' in (JSON.parse(line) as object) ? nextLine() : line));
  return {
    result,
    sending: first.then(() => undefined),
    connected: first.then((line) => (JSON.parse(line) as { connected: number }).connected),
    stop: () => child.stdin.write('stop\n'),
  };
}

/** CPU time a process (all its threads) has used, in seconds (Linux: utime + stime of /proc/pid/stat). */
function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Resident memory of a process, in bytes (Linux). */
function rss(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kilobytes = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return kilobytes * 1024;
}

const baseJob = (running: Running, target: Target): Job => ({
  target,
  url: running.url,
  groups: running.groups,
  mode: MODE === 'idle' ? 'idle' : 'latency',
  rate: 0,
  seconds: SECONDS,
  warmupSeconds: WARMUP,
  protocolVersion: PROTOCOL_VERSION,
  ...(PIN ? { cpu: 1 } : {}),
});

const generatorTarget = (target: (typeof TARGETS)[number]): Target => (target.startsWith('parley') ? 'parley' : (target as Target));

async function idle(): Promise<void> {
  console.log(`## B1 idle sockets: ${GROUPS * MEMBERS} connections\n`);
  const rows: string[][] = [];
  const medians = new Map<string, number>();
  const rawMedians = new Map<string, number>();
  for (const target of TARGETS) {
    const perSocket: number[] = [];
    const perSocketCollected: number[] = [];
    for (let run = 0; run < RUNS; run += 1) {
      const running = await start(target);
      try {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        await collectGarbage(running.pid);
        await new Promise((resolve) => setTimeout(resolve, 500));
        const before = rss(running.pid);
        const generator = runGenerator(baseJob(running, generatorTarget(target)));
        const connected = await generator.connected;
        await new Promise((resolve) => setTimeout(resolve, 3000));
        const after = rss(running.pid);
        perSocket.push((after - before) / connected / 1024);
        // The same after a full collection, which takes out what the handshakes left in the young generation.
        await collectGarbage(running.pid);
        await new Promise((resolve) => setTimeout(resolve, 500));
        perSocketCollected.push((rss(running.pid) - before) / connected / 1024);
        generator.stop();
      } finally {
        await running.stop();
      }
    }
    rows.push([target, formatSpread(perSocketCollected), formatSpread(perSocket)]);
    medians.set(target, spread(perSocketCollected).median);
    rawMedians.set(target, spread(perSocket).median);
  }
  printTable(['server', 'KB per idle socket after a full GC, median (min–max)', 'before it (resident memory as it stood)'], rows);
  const ceiling = medians.get('ceiling') ?? Number.NaN;
  const headlines: Headline[] = [];
  for (const target of ['parley', 'parley-process'] as const) {
    const parley = medians.get(target);
    if (parley === undefined) continue;
    headlines.push({
      bench: 'B1',
      measure: `KB per idle socket at ${format(GROUPS * MEMBERS, 0)}${target === 'parley' ? '' : ' (durability process)'}`,
      parley: format(parley),
      baseline: `ceiling ${format(ceiling)}${medians.has('socketio') ? `, Socket.IO ${format(medians.get('socketio') ?? Number.NaN)}` : ''}`,
      target: '≤ 30 and ≤ 1.3× the ceiling',
      met: Number.isFinite(ceiling) ? parley <= 30 && parley <= 1.3 * ceiling : null,
      value: parley,
    });
    // The figure as it was measured before 2026-12-04, for comparison (not a target of its own).
    const raw = rawMedians.get(target);
    const rawCeiling = rawMedians.get('ceiling') ?? Number.NaN;
    if (raw !== undefined) {
      headlines.push({
        bench: 'B1',
        measure: `KB per idle socket at ${format(GROUPS * MEMBERS, 0)}${target === 'parley' ? '' : ' (durability process)'}, before a GC`,
        parley: format(raw),
        baseline: `ceiling ${format(rawCeiling)}${rawMedians.has('socketio') ? `, Socket.IO ${format(rawMedians.get('socketio') ?? Number.NaN)}` : ''}`,
        target: '— (resident memory with the handshakes\' garbage)',
        met: null,
        value: raw,
      });
    }
  }
  report(headlines);
}

async function latency(): Promise<void> {
  console.log(`## B3 delivery latency: ${GROUPS} groups × ${MEMBERS} members, ${SECONDS} s measured after ${WARMUP} s\n`);
  const rows: string[][] = [];
  const headlines: Headline[] = [];
  for (const rate of RATES) {
    const medians = new Map<string, { p99: number; p999: number }>();
    for (const target of TARGETS) {
      const p50: number[] = [];
      const p99: number[] = [];
      const p999: number[] = [];
      const ack99: number[] = [];
      const deliveredShare: number[] = [];
      const cpuPerMessage: number[] = [];
      const generatorCpu: number[] = [];
      for (let run = 0; run < RUNS; run += 1) {
        const running = await start(target);
        try {
          const generator = runGenerator({ ...baseJob(running, generatorTarget(target)), rate });
          await generator.sending;
          const cpuBefore = cpuSeconds(running.pid);
          const result = JSON.parse(await generator.result) as Result;
          cpuPerMessage.push(((cpuSeconds(running.pid) - cpuBefore) * 1e6) / Math.max(1, result.sent));
          generatorCpu.push(result.cpuPerMessage);
          if (result.sendFailures > 0) console.error(`${target} at ${rate} msg/s: ${result.sendFailures} of ${result.sent} sends failed (${Object.entries(result.failureKinds ?? {}).map(([kind, count]) => `${count} ${kind}`).join('; ')})`);
          const summary = summarize(result.latencies);
          p50.push(summary.p50);
          p99.push(summary.p99);
          p999.push(summary.p999);
          ack99.push(summarize(result.acks).p99);
          deliveredShare.push((100 * result.delivered) / Math.max(1, result.expected));
        } finally {
          await running.stop();
        }
      }
      rows.push([`${rate}`, target, formatSpread(p50), formatSpread(p99), formatSpread(p999), formatSpread(ack99), `${format(Math.min(...deliveredShare), 2)}%`, formatSpread(cpuPerMessage, 0), formatSpread(generatorCpu, 0)]);
      medians.set(target, { p99: spread(p99).median, p999: spread(p999).median });
      if (Math.min(...deliveredShare) < 100) headlines.push({ bench: 'B3', measure: `${target} at ${rate} msg/s: deliveries arrived`, parley: `${format(Math.min(...deliveredShare), 2)}%`, baseline: '—', target: '100%', met: false });
    }
    const ceiling = medians.get('ceiling');
    const peer = medians.get('socketio');
    for (const target of ['parley', 'parley-process'] as const) {
      const parley = medians.get(target);
      if (!parley) continue;
      const label = `${target === 'parley' ? '' : ' (durability process)'} at ${rate} msg/s`;
      const baseline = (which: 'p99' | 'p999') => `ceiling ${ceiling ? format(ceiling[which]) : '—'}${peer ? `, Socket.IO ${format(peer[which])}` : ''}`;
      headlines.push(
        { bench: 'B3', measure: `delivery p99 ms${label}`, parley: format(parley.p99), baseline: baseline('p99'), target: 'ceiling + 5', met: ceiling ? parley.p99 <= ceiling.p99 + 5 : null, value: parley.p99 },
        { bench: 'B3', measure: `delivery p999 ms${label}`, parley: format(parley.p999), baseline: baseline('p999'), target: 'ceiling + 20', met: ceiling ? parley.p999 <= ceiling.p999 + 20 : null, value: parley.p999 },
      );
    }
  }
  printTable(['msg/s', 'server', 'p50 ms', 'p99 ms', 'p999 ms', 'send ack p99 ms', 'delivered (least run)', 'server CPU µs per message', 'generator CPU µs per message'], rows);
  report(headlines);
}

async function saturation(): Promise<void> {
  console.log(`## B2 saturation: ${GROUPS} groups × ${MEMBERS} members, ${SECONDS} s per step after ${WARMUP} s, sustained = ≥ 99.9% delivered and p99 ≤ ${SATURATION_P99} ms\n`);
  const rows: string[][] = [];
  const best = new Map<string, { rate: number; deliveries: number }>();
  for (const target of TARGETS) {
    const maxima: number[] = [];
    const deliveries: number[] = [];
    const stops: string[] = [];
    for (let run = 0; run < RUNS; run += 1) {
      let running = await start(target);
      let best = 0;
      let bestDeliveries = 0;
      let stop = 'every step sustained';
      // A bisection over the steps (sustaining a rate is taken to mean sustaining every lower
      // one): about half as many steps as walking up them, each step costing 10,000 handshakes.
      // A server that did not keep up is replaced before the next step, so that no backlog of
      // a step it failed weighs on the next one.
      let sustainedIndex = -1;
      let failedIndex = SATURATION_RATES.length;
      try {
        while (failedIndex - sustainedIndex > 1) {
          const index = (sustainedIndex + failedIndex) >> 1;
          const rate = SATURATION_RATES[index] ?? 0;
          const result = JSON.parse(await runGenerator({ ...baseJob(running, generatorTarget(target)), rate }).result) as Result;
          const share = result.delivered / Math.max(1, result.expected);
          const p99 = summarize(result.latencies).p99;
          console.error(`${target} run ${run + 1} at ${rate} msg/s: ${format(100 * share, 2)}% delivered, p99 ${format(p99)} ms, ${result.sendFailures} send failures`);
          if (share < 0.999 || !(p99 <= SATURATION_P99) || result.sendFailures > 0) {
            failedIndex = index;
            stop = `${rate}: ${format(100 * share, 1)}% delivered, p99 ${format(p99, 0)} ms`;
            if (failedIndex - sustainedIndex > 1) {
              await running.stop();
              running = await start(target);
            }
            continue;
          }
          sustainedIndex = index;
          best = rate;
          bestDeliveries = rate * (MEMBERS - 1) * share;
        }
      } finally {
        await running.stop();
      }
      maxima.push(best);
      deliveries.push(bestDeliveries);
      stops.push(stop);
    }
    rows.push([target, formatSpread(maxima, 0), formatSpread(deliveries, 0), stops.join('; ')]);
    best.set(target, { rate: spread(maxima).median, deliveries: spread(deliveries).median });
  }
  printTable(['server', 'max sustained msg/s (persisted, for Parley)', 'deliveries/s at it', 'lowest step not sustained'], rows);
  const ceiling = best.get('ceiling');
  const peer = best.get('socketio');
  const headlines: Headline[] = [];
  for (const target of ['parley', 'parley-process'] as const) {
    const parley = best.get(target);
    if (!parley) continue;
    headlines.push({
      bench: 'B2',
      measure: `deliveries/s at the most msg/s sustained${target === 'parley' ? '' : ' (durability process)'}`,
      parley: `${format(parley.deliveries, 0)} (${format(parley.rate, 0)} msg/s persisted)`,
      baseline: `ceiling ${ceiling ? `${format(ceiling.deliveries, 0)} (${format(ceiling.rate, 0)} msg/s)` : '—'}${peer ? `, Socket.IO ${format(peer.deliveries, 0)}` : ''}`,
      target: '≥ 0.5× the ceiling',
      met: ceiling ? parley.deliveries >= 0.5 * ceiling.deliveries : null,
      value: parley.rate,
    });
  }
  report(headlines);
}

printSettings({
  ...machine(),
  settings: `BENCH_GROUPS=${GROUPS} BENCH_MEMBERS=${MEMBERS} BENCH_RATES=${RATES.join(',')} BENCH_SECONDS=${SECONDS} BENCH_WARMUP=${WARMUP} BENCH_RUNS=${RUNS} pinned=${PIN}`,
});
console.log('');
if (MODE === 'idle') await idle();
else if (MODE === 'saturation') await saturation();
else await latency();
process.exit(0);
