/**
 * B9 two nodes (../shared/BENCHMARKS.md): delivery latency with the members of each group spread
 * over two Parley nodes that share PostgreSQL and Redis, beside one node on the same PostgreSQL
 * at the same offered rate; then the same two nodes with the bus stopped for BENCH_PAUSE (5) s
 * mid-run: every message must still reach every member (the nodes catch up from the log).
 *
 * BENCH_GROUPS (100) groups of BENCH_MEMBERS (20), BENCH_RATE (200) msg/s for BENCH_SECONDS (10)
 * after BENCH_WARMUP (3) s, BENCH_RUNS (3). Sends go over HTTP to the sender's own node; member i
 * of a group is on node i % 2. Both nodes share core 0 (one node has it alone), the generator has
 * core 1; PostgreSQL and Redis float. For the bus stopped, each node reaches Redis through a TCP
 * proxy of this process, which stops the bus by dropping and refusing its connections. BENCH_PROFILE=<dir> writes
 * a CPU profile of each node's main thread under <dir>/1-nodes and <dir>/2-nodes.
 */
import crypto from 'node:crypto';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROTOCOL_VERSION } from '@parley/protocol';
import { createPostgresDatabase, startTcpProxy, type TcpProxy } from '@parley/server/test';
import type { Job, Result } from './fanout/generator.js';
import { type SeededGroup, seedParley } from './fanout/seed.js';
import { format, formatSpread, machine, printSettings, printTable, spread, summarize } from './measure.js';
import { report } from './report.js';
import { type ServerProcess, startServerProcess } from './server-process.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const env = (name: string, fallback: string) => process.env[name] ?? fallback;
const GROUPS = Number(env('BENCH_GROUPS', '100'));
const MEMBERS = Number(env('BENCH_MEMBERS', '20'));
const RATE = Number(env('BENCH_RATE', '200'));
const SECONDS = Number(env('BENCH_SECONDS', '10'));
const WARMUP = Number(env('BENCH_WARMUP', '3'));
const RUNS = Number(env('BENCH_RUNS', '3'));
const PAUSE = Number(env('BENCH_PAUSE', '5'));
const REDIS = { host: '127.0.0.1', port: Number(env('BENCH_REDIS_PORT', '6379')) };
const PIN = os.availableParallelism() >= 2 && fs.existsSync('/usr/bin/taskset');
/** The core of each node, in turn (BENCH_NODE_CORES, "0": every node on core 0; "0,1" puts the second beside the generator). */
const NODE_CORES = env('BENCH_NODE_CORES', '0').split(',').map(Number);

type Setup = 'one node' | 'two nodes' | 'two nodes, bus stopped';
const SETUPS: Setup[] = ['one node', 'two nodes', 'two nodes, bus stopped'];

interface Cluster {
  urls: string[];
  groups: SeededGroup[];
  links: TcpProxy[];
  stop(): Promise<void>;
}

/**
 * `nodes` nodes on one fresh database; with more than one, each reaches Redis directly, or, when
 * the bus is to be stopped (`cuttable`), through a TCP proxy of this process that can cut it (the
 * proxy is the bench's, not Parley's: it would add its own hops to the latency measured).
 */
async function startCluster(nodes: number, cuttable = false): Promise<Cluster> {
  const database = await createPostgresDatabase();
  const groups = await seedParley({ kind: 'postgres', url: database.url }, GROUPS, MEMBERS);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-b9-'));
  const links: TcpProxy[] = [];
  const servers: ServerProcess[] = [];
  const shared: Record<string, string> = {
    DATABASE_URL: database.url,
    PARLEY_DATA_DIR: dataDir,
    PARLEY_ASSISTANT: 'off',
    PARLEY_ASSISTANT_TOKEN: crypto.randomBytes(24).toString('base64url'),
    PARLEY_REDIS_CHANNEL: `parley:b9:${crypto.randomBytes(6).toString('hex')}`,
    PARLEY_FLOOD_BURST: '1000000',
    PARLEY_FLOOD_PER_MINUTE: '100000000',
  };
  try {
    for (let node = 0; node < nodes; node += 1) {
      const link = nodes > 1 && cuttable ? await startTcpProxy(REDIS) : undefined;
      if (link) links.push(link);
      const redis = link ? link.address : nodes > 1 ? `${REDIS.host}:${REDIS.port}` : undefined;
      servers.push(
        await startServerProcess({
          env: {
            ...shared,
            PARLEY_NODE_ID: `b9-node-${node}`,
            ...(redis ? { REDIS_URL: `redis://${redis}` } : {}),
            // BENCH_PROFILE=<dir>: a CPU profile of each node's main thread, written when it stops.
            ...(process.env.BENCH_PROFILE ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${path.resolve(process.env.BENCH_PROFILE, `${nodes}-nodes`)}` } : {}),
          },
          ...(PIN ? { cpu: NODE_CORES[node % NODE_CORES.length] ?? 0 } : {}),
        }),
      );
    }
  } catch (error) {
    await Promise.all(servers.map((server) => server.stop()));
    throw error;
  }
  return {
    urls: servers.map((server) => server.url),
    groups,
    links,
    async stop() {
      await Promise.all(servers.map((server) => server.stop()));
      await Promise.all(links.map((link) => link.close()));
      await database.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function runGenerator(job: Job): Promise<Result> {
  const jobFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'parley-b9-job-')), 'job.json');
  fs.writeFileSync(jobFile, JSON.stringify(job));
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'fanout', 'generator.ts'), jobFile], {
    cwd: here,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      for (let newline = output.indexOf('\n'); newline !== -1; newline = output.indexOf('\n')) {
        const line = JSON.parse(output.slice(0, newline)) as Result | { sending: number };
        output = output.slice(newline + 1);
        // The line that says the sends begin comes first; the result follows.
        if (!('sending' in line)) resolve(line);
      }
    });
    child.once('exit', (code) => reject(new Error(`the generator exited (${code}) without a result`)));
  });
}

interface Figures {
  p50: number;
  p99: number;
  p999: number;
  max: number;
  delivered: number;
  failures: number;
}

async function measure(setup: Setup): Promise<Figures> {
  const cluster = await startCluster(setup === 'one node' ? 1 : 2, setup === 'two nodes, bus stopped');
  try {
    const job: Job = {
      target: 'parley',
      url: cluster.urls[0] ?? '',
      urls: cluster.urls,
      groups: cluster.groups,
      mode: 'latency',
      rate: RATE,
      seconds: SECONDS,
      warmupSeconds: WARMUP,
      drainSeconds: 15,
      protocolVersion: PROTOCOL_VERSION,
      ...(PIN ? { cpu: 1 } : {}),
    };
    const result = runGenerator(job);
    if (setup === 'two nodes, bus stopped') {
      // Connecting 2,000 sockets takes a few seconds: the pause starts well inside the measured part.
      await new Promise((resolve) => setTimeout(resolve, (WARMUP + 4) * 1000 + connectAllowance()));
      for (const link of cluster.links) link.cut();
      await new Promise((resolve) => setTimeout(resolve, PAUSE * 1000));
      for (const link of cluster.links) link.restore();
    }
    const done = await result;
    const summary = summarize(done.latencies);
    return {
      p50: summary.p50,
      p99: summary.p99,
      p999: summary.p999,
      max: summary.max,
      delivered: (100 * done.delivered) / Math.max(1, done.expected),
      failures: done.sendFailures,
    };
  } finally {
    await cluster.stop();
  }
}

/** Rough time for the generator to connect every socket (200 at a time), before its clock starts. */
function connectAllowance(): number {
  return Math.ceil((GROUPS * MEMBERS) / 200) * 150;
}

printSettings({
  ...machine(),
  settings: `BENCH_GROUPS=${GROUPS} BENCH_MEMBERS=${MEMBERS} BENCH_RATE=${RATE} BENCH_SECONDS=${SECONDS} BENCH_WARMUP=${WARMUP} BENCH_RUNS=${RUNS} BENCH_PAUSE=${PAUSE} pinned=${PIN}`,
  storage: 'PostgreSQL on 127.0.0.1 (a fresh database per run), durability of PostgreSQL commits; Redis on 127.0.0.1 through a TCP proxy per node',
});
console.log(`\n## B9 two nodes: ${GROUPS} groups × ${MEMBERS} members at ${RATE} msg/s, ${SECONDS} s measured after ${WARMUP} s\n`);
const rows: string[][] = [];
const outcome = new Map<string, { p99: number; delivered: number }>();
for (const setup of SETUPS) {
  const runs: Figures[] = [];
  for (let run = 0; run < RUNS; run += 1) {
    runs.push(await measure(setup));
    console.error(`${setup} run ${run + 1}: ${JSON.stringify(runs.at(-1))}`);
  }
  rows.push([
    setup,
    formatSpread(runs.map((run) => run.p50)),
    formatSpread(runs.map((run) => run.p99)),
    formatSpread(runs.map((run) => run.p999)),
    formatSpread(runs.map((run) => run.max), 0),
    `${format(Math.min(...runs.map((run) => run.delivered)), 2)}%`,
    String(runs.reduce((sum, run) => sum + run.failures, 0)),
  ]);
  outcome.set(setup, { p99: spread(runs.map((run) => run.p99)).median, delivered: Math.min(...runs.map((run) => run.delivered)) });
}
printTable(['setup', 'p50 ms', 'p99 ms', 'p999 ms', 'max ms', 'delivered (least run)', 'send failures'], rows);
const one = outcome.get('one node');
const two = outcome.get('two nodes');
const stopped = outcome.get('two nodes, bus stopped');
report([
  ...(one && two
    ? [{ bench: 'B9', measure: `two nodes: delivery p99 ms at ${RATE} msg/s`, parley: format(two.p99), baseline: `one node ${format(one.p99)}`, target: `≤ one node + 5`, met: two.p99 <= one.p99 + 5, value: two.p99 }]
    : []),
  ...(stopped ? [{ bench: 'B9', measure: `two nodes, bus stopped ${PAUSE} s: delivered`, parley: `${format(stopped.delivered, 2)}%`, baseline: '—', target: '100%', met: stopped.delivered === 100, value: stopped.delivered }] : []),
]);
process.exit(0);
