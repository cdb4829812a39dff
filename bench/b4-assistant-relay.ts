/**
 * B4 (../shared/BENCHMARKS.md): what Parley adds between the model provider and the members when
 * the assistant streams answers. Targets (revised in issue 11: two cores saturate at 50 answers × 20
 * members, so the bare relay of the same run is the yardstick): added time to first token and added
 * inter-token jitter, p50 and p99, each ≤ 1.5× what the bare relay adds + 1 ms; server CPU per
 * relayed token ≤ 1.5× the bare relay's; other groups' B3 p99 not worse than 1.5× the same traffic
 * without answers.
 *
 * Run: npm run -w bench bench:b4
 *  (node --conditions=parley-source --import tsx bench/b4-assistant-relay.ts)
 *
 * Three processes, on one monotonic clock (CLOCK_MONOTONIC, the same in every process):
 * - this one: a real Parley server (SQLite, durability `full` unless BENCH_DURABILITY says
 *   otherwise) and the assistant on its own thread of the same process, as Parley runs it by
 *   default (`startAssistantThread`, entry b4/assistant-thread.ts), its provider
 *   openai-compatible, pointed at
 * - b4/provider.ts: the assistant package's scripted OpenAI server, streaming BENCH_TOKENS tokens
 *   BENCH_INTERVAL_MS apart per answer, stamping the moment each token is written;
 * - b4/members.ts: the load generator, BENCH_ANSWERS groups of BENCH_MEMBERS members plus
 *   BENCH_OTHER_GROUPS groups for human traffic, one raw authenticated `ws` socket per member.
 * With two or more cores the server's process is pinned to core 0 and both children to core 1
 * (taskset); the assistant's thread may run on the cores in BENCH_ASSISTANT_CORE (default 0,1:
 * where the system puts it). BENCH_PIN_ALL=0 pins only the main thread (the one that serves people,
 * and the bare relay's), leaving the process's other threads (libuv's pool, which syncs the WAL;
 * SQLite's checkpointer; V8's helpers) where the system puts them.
 *
 * Each run: (1) baseline: BENCH_ROUNDS rounds of BENCH_ANSWERS streams read straight from the
 * provider by the generator, same schedule and concurrency (BENCH_BASELINE: `raw`, the least a
 * reader does: fetch, split the SSE events, JSON.parse each; or `sdk`, the assistant package's own
 * model client); (1b) ceiling: the same streams through a bare `ws` relay in this process (rooms in
 * memory, no auth, no storage, the raw reader) to the same members, what any relay on this machine
 * adds; (2) relay: BENCH_ROUNDS rounds in which one member of each answer group mentions
 * the assistant at the same moment, while the other groups exchange BENCH_RATE human messages/s;
 * (3) quiet: the same human traffic alone. (2) and (3) swap order every other run. A warm-up run
 * is discarded (BENCH_WARMUP=0 skips it), then BENCH_RUNS runs; the table shows the median with
 * min and max over them. Human messages are timed from their scheduled send (fixed rate, so a
 * late generator counts: no coordinated omission); tokens from the provider's write, which never
 * waits for its reader. Added = Parley's percentile − the baseline's, per run.
 * BENCH_PROFILE=<folder> writes a CPU profile of this process's main thread for each relay and quiet phase, and of the assistant's thread for each relay phase (`-assistant`).
 */
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { startAssistantThread } from '@parley/parley';
import { type WebSocket, WebSocketServer } from 'ws';
import { silentLogger, startTestServer } from '@parley/server/test';
import { readRaw } from './b4/sse.js';
import { formatSpread, machine, printTable, type SendTable, spread, summarize, tokenTimes } from './b4/statistics.js';
import { type Headline, report } from './report.js';
import type { AssistantThreadReply, AssistantThreadRequest } from './b4/assistant-thread.js';
import { Stage } from './b4/stage.js';
import { type MembersReply, type MembersRequest, type ProviderReply, type ProviderRequest, type Receipts, type RoundReply, type TrafficReply } from './b4/wire.js';

const ANSWERS = Number(process.env.BENCH_ANSWERS ?? 50);
const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 20);
const OTHER_GROUPS = Number(process.env.BENCH_OTHER_GROUPS ?? 50);
const TOKENS = Number(process.env.BENCH_TOKENS ?? 50);
const INTERVAL_MS = Number(process.env.BENCH_INTERVAL_MS ?? 20);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const RATE = Number(process.env.BENCH_RATE ?? 25);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
/**
 * The answers of a round start one after another over this many ms (0: all in the same moment,
 * the start burst). A round streams for TOKENS × INTERVAL_MS, so with a spread up to that long
 * the answers still overlap, and the streams in flight average ANSWERS × (1 − spread / (2 × length)).
 */
const SPREAD_MS = Number(process.env.BENCH_SPREAD_MS ?? 0);
const WARMUP = (process.env.BENCH_WARMUP ?? '1') === '1';
const DURABILITY = (process.env.BENCH_DURABILITY ?? 'full') as 'full' | 'process';
const PIN = (process.env.BENCH_PIN ?? '1') === '1';
/** Pin all of this process's threads to core 0 (but the assistant's, see ASSISTANT_CORE), not only the main thread. */
const PIN_ALL = (process.env.BENCH_PIN_ALL ?? '1') === '1';
/** The cores of the assistant's thread when pinned (a taskset list): `0,1` lets the system place it, `1` shares the provider's and generator's core, `0` the server's. */
const ASSISTANT_CORE = process.env.BENCH_ASSISTANT_CORE ?? '0,1';
/** The baseline client: `raw` (fetch and split the SSE events, the least a reader does) or `sdk` (the assistant's own model client). */
const BASELINE = (process.env.BENCH_BASELINE ?? 'raw') as 'raw' | 'sdk';
/** When set, a CPU profile of this process (server and assistant) during each relay and quiet phase is written into this folder. */
const PROFILE_DIR = process.env.BENCH_PROFILE;
/** Human traffic is left to settle this long before samples count. */
const SETTLE_MS = 500;

/** A child process spoken to over IPC: one request at a time, answered in order. */
class Child<Request, Reply extends { type: string }> {
  readonly process: ChildProcess;
  readonly #waiting: Array<{ resolve: (reply: Reply) => void; reject: (error: Error) => void }> = [];
  /** Replies that came before anyone waited for them. */
  readonly #unclaimed: Reply[] = [];
  #exited: Error | undefined;

  constructor(file: string) {
    this.process = fork(fileURLToPath(new URL(file, import.meta.url)), [], {
      execArgv: ['--conditions=parley-source', '--import', 'tsx'],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.process.on('message', (reply: Reply) => {
      if (reply.type === 'error') throw new Error(`${file}: ${(reply as unknown as { message: string }).message}`);
      const waiter = this.#waiting.shift();
      if (waiter) waiter.resolve(reply);
      else this.#unclaimed.push(reply);
    });
    this.process.on('exit', (code) => {
      this.#exited = new Error(`${file} exited with ${code}`);
      for (const waiter of this.#waiting.splice(0)) waiter.reject(this.#exited);
    });
  }

  /** The next reply, in order. */
  next(): Promise<Reply> {
    const ready = this.#unclaimed.shift();
    if (ready) return Promise.resolve(ready);
    if (this.#exited) return Promise.reject(this.#exited);
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  /** Sends and waits for the answer. */
  ask(request: Request): Promise<Reply> {
    const answer = this.next();
    this.tell(request);
    return answer;
  }

  /** Sends without an answer. */
  tell(request: Request): void {
    this.process.send(request as object);
  }
}

function expect<T extends { type: string }, K extends T['type']>(reply: T, type: K): Extract<T, { type: K }> {
  if (reply.type !== type) throw new Error(`expected ${type}, got ${reply.type}`);
  return reply as Extract<T, { type: K }>;
}

/** Pins every thread of a process (`all`), or only the thread whose id is `pid` (a process's main thread). */
function pin(pid: number, core: number, all = true): void {
  execFileSync('taskset', [...(all ? ['-a'] : []), '-p', '-c', String(core), String(pid)], { stdio: 'ignore' });
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Rounds {
  replies: RoundReply[];
  sent: SendTable;
  /** Per round, from the first token written to the last. */
  windows: Array<[number, number]>;
}

interface RunResult {
  relay: ReturnType<typeof tokenTimes>;
  direct: ReturnType<typeof tokenTimes>;
  /** The bare relay's tokens at the same members. */
  ceiling: ReturnType<typeof tokenTimes>;
  ceilingReceipts: number;
  ceilingServerCpu: number;
  ceilingGeneratorCpu: number;
  ceilingSeconds: number;
  /** Provider write → the runtime hands the token to its socket (provider TCP + the model client), in the assistant's thread. */
  handedOn: number[];
  /** Provider write → the server publishes the delta, before its fan-out (+ the bot's socket, frame parsing, Turns.append). */
  published: number[];
  /** The same two, for each answer's first token only. */
  handedOnFirst: number[];
  publishedFirst: number[];
  relayReceipts: number;
  relayExpected: number;
  directReceipts: number;
  ends: number;
  failedEnds: number;
  expectedEnds: number;
  /** Mention scheduled → first delta at each member (everything before the provider included). */
  mentionToFirst: number[];
  b3With: number[];
  b3Without: number[];
  trafficWith: TrafficReply;
  trafficWithout: TrafficReply;
  serverCpuRelay: number;
  serverCpuQuiet: number;
  serverLoopRelay: { p50: number; p99: number; max: number };
  serverLoopQuiet: { p50: number; p99: number; max: number };
  generatorCpuRelay: number;
  relaySeconds: number;
  quietSeconds: number;
}

async function main() {
  const about = machine();
  const cores = Number(about.machine.split(' ')[0]);
  await using server = await startTestServer({
    config: {
      durability: DURABILITY,
      // The generator's people send far faster than a person: the flood and answer limits are not what is measured.
      floodLimit: { burst: 1_000_000, perMinute: 60_000_000 },
      assistantRateLimit: { burst: 1_000_000, perHour: 60_000_000 },
      groupMemberLimit: Math.max(20, MEMBERS),
    },
  });
  const provider = new Child<ProviderRequest, ProviderReply>('./b4/provider.ts');
  const { url: providerUrl } = expect(await provider.next(), 'ready');
  // The assistant as Parley runs it by default: on its own thread of this process, reading the
  // models from the environment (a worker thread gets a copy of it when it starts).
  Object.assign(process.env, {
    PARLEY_MODEL_PROVIDER: 'openai-compatible',
    PARLEY_MODEL: 'scripted',
    PARLEY_MODEL_BASE_URL: providerUrl,
    PARLEY_MODEL_API_KEY: 'bench-key',
    PARLEY_MODEL_MAX_RETRIES: '0',
  });
  // Where the time goes: two stamps on the way, both in this process. The runtime hands each delta
  // to EventStream.sendTurnDelta (stamped in the assistant's thread, b4/assistant-thread.ts); the
  // server publishes it on its bus just before the hub fans it out.
  const published = new Stage();
  const bus = server.server.context.bus;
  const publish = bus.publish.bind(bus);
  bus.publish = (message) => {
    if (message.kind === 'assistant' && message.event.type === 'assistant-text-delta') published.add(message.event.delta);
    publish(message);
  };
  const threadsBefore = new Set(fs.readdirSync('/proc/self/task'));
  const assistant = await startAssistantThread({ baseUrl: server.url, token: server.assistant.token, logger: silentLogger(), entry: new URL('./b4/assistant-thread.ts', import.meta.url) });
  const assistantThreads = fs.readdirSync('/proc/self/task').filter((id) => !threadsBefore.has(id));
  const warnings: string[] = [];
  const askAssistant = async <T extends AssistantThreadReply['type']>(request: AssistantThreadRequest, type: T) => {
    const reply = new Promise<AssistantThreadReply>((resolve) => assistant.worker.once('message', resolve));
    assistant.worker.postMessage(request);
    return expect(await reply, type);
  };
  const takeHandedOn = async (): Promise<Receipts> => {
    const taken = await askAssistant({ type: 'take' }, 'taken');
    warnings.push(...taken.warnings.slice(0, Math.max(0, 20 - warnings.length)));
    return taken.receipts;
  };

  // The ceiling: a bare relay in this process, as BENCHMARKS.md defines it (rooms in memory, no
  // auth, no storage): it reads each stream with the raw SSE reader and sends every token to the
  // group's sockets. What any relay on this machine adds, whatever its code.
  const ceiling = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  await new Promise((resolve) => ceiling.once('listening', resolve));
  const rooms = new Map<number, Set<WebSocket>>();
  ceiling.on('connection', (socket, request) => {
    const group = Number(new URL(request.url ?? '/', 'http://ceiling').searchParams.get('group'));
    let room = rooms.get(group);
    if (!room) rooms.set(group, (room = new Set()));
    room.add(socket);
  });
  const ceilingUrl = `ws://127.0.0.1:${(ceiling.address() as { port: number }).port}`;

  const members = new Child<MembersRequest, MembersReply>('./b4/members.ts');
  const ready = expect(
    await members.ask({ type: 'setup', url: server.url, answerGroups: ANSWERS, otherGroups: OTHER_GROUPS, membersPerGroup: MEMBERS, ceilingUrl }),
    'ready',
  );
  console.error(`setup: ${ready.users} accounts and sockets in ${ready.seconds.toFixed(1)} s`);
  const pinned = PIN && cores >= 2;
  if (pinned) {
    pin(process.pid, 0, PIN_ALL);
    for (const child of [provider.process, members.process]) if (child.pid) pin(child.pid, 1);
    // The assistant's thread shares the second core: the server's thread keeps the first to itself.
    for (const thread of assistantThreads) execFileSync('taskset', ['-p', '-c', ASSISTANT_CORE, thread], { stdio: 'ignore' });
  }

  let nextKey = 0;
  const queue = async (count: number) => {
    const keys = Array.from({ length: count }, () => nextKey++);
    expect(await provider.ask({ type: 'queue', keys, tokens: TOKENS, intervalMs: INTERVAL_MS }), 'queued');
    return keys;
  };
  const collectStamps = async (): Promise<SendTable> => {
    const reply = expect(await provider.ask({ type: 'stamps' }), 'stamps');
    const table: SendTable = new Map();
    reply.keys.forEach((key, row) => table.set(key, reply.sent.subarray(row * reply.tokens, (row + 1) * reply.tokens)));
    return table;
  };
  const windowOf = (sent: SendTable, keys: number[]): [number, number] => {
    let first = Number.POSITIVE_INFINITY;
    let last = Number.NEGATIVE_INFINITY;
    for (const key of keys) {
      for (const at of sent.get(key) ?? []) {
        if (Number.isNaN(at)) continue;
        first = Math.min(first, at);
        last = Math.max(last, at);
      }
    }
    return [first, last];
  };

  const directRounds = async (): Promise<Rounds> => {
    const replies: RoundReply[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      await queue(ANSWERS);
      replies.push(expect(await members.ask({ type: 'direct-round', providerUrl, streams: ANSWERS, client: BASELINE, spreadMs: SPREAD_MS }), 'round'));
      await wait(100);
    }
    return { replies, sent: await collectStamps(), windows: [] };
  };

  const cpuMs = (since: NodeJS.CpuUsage) => {
    const used = process.cpuUsage(since);
    return (used.user + used.system) / 1000;
  };
  const bareStream = async (group: number, turnId: string) => {
    const room = [...(rooms.get(group) ?? [])];
    let offset = 0;
    await readRaw(providerUrl, (text) => {
      const data = JSON.stringify({ type: 'assistant-text-delta', conversationId: `ceiling-${group}`, turnId, offset, delta: text });
      offset += text.length;
      for (const socket of room) socket.send(data);
    });
    const end = JSON.stringify({ type: 'assistant-turn-end', conversationId: `ceiling-${group}`, turnId, status: 'completed', messageId: null, error: null });
    for (const socket of room) socket.send(end);
  };
  const ceilingRounds = async (): Promise<Rounds & { serverCpu: number; generatorCpu: number; seconds: number }> => {
    const replies: RoundReply[] = [];
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let round = 0; round < ROUNDS; round += 1) {
      await queue(ANSWERS);
      expect(await members.ask({ type: 'ceiling-round', round }), 'listening');
      await Promise.all(
        Array.from({ length: ANSWERS }, async (_, group) => {
          await wait((group * SPREAD_MS) / ANSWERS);
          await bareStream(group, `turn-${round}-${group}`);
        }),
      );
      replies.push(expect(await members.next(), 'round'));
      await wait(100);
    }
    const seconds = (performance.now() - started) / 1000;
    const serverCpu = cpuMs(cpu) / 1000 / seconds;
    const generatorCpu = replies.reduce((sum, reply) => sum + reply.cpuMs, 0) / 1000 / seconds;
    return { replies, sent: await collectStamps(), windows: [], serverCpu, generatorCpu, seconds };
  };

  const loop = monitorEventLoopDelay({ resolution: 1 });
  const loopSummary = () => ({ p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 });

  const profiler = PROFILE_DIR ? new Session() : undefined;
  if (profiler) {
    profiler.connect();
    await profiler.post('Profiler.enable');
    fs.mkdirSync(PROFILE_DIR ?? '.', { recursive: true });
  }
  let relayRoundNumber = 0;
  const relayPhase = async () => {
    members.tell({ type: 'traffic-start', perSecond: RATE });
    await wait(SETTLE_MS);
    await profiler?.post('Profiler.start');
    if (profiler) assistant.worker.postMessage({ type: 'profile-start' } satisfies AssistantThreadRequest);
    loop.reset();
    loop.enable();
    const cpu = process.cpuUsage();
    const started = performance.now();
    const keysByRound: number[][] = [];
    const replies: RoundReply[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      keysByRound.push(await queue(ANSWERS));
      replies.push(expect(await members.ask({ type: 'relay-round', round: relayRoundNumber++, spreadMs: SPREAD_MS }), 'round'));
      await wait(100);
    }
    const seconds = (performance.now() - started) / 1000;
    const serverCpu = cpuMs(cpu) / 1000 / seconds;
    if (profiler) {
      const { profile } = await profiler.post('Profiler.stop');
      fs.writeFileSync(path.join(PROFILE_DIR ?? '.', `b4-relay-${relayRoundNumber}.cpuprofile`), JSON.stringify(profile));
      await askAssistant({ type: 'profile-stop', file: path.join(PROFILE_DIR ?? '.', `b4-relay-${relayRoundNumber}-assistant.cpuprofile`) }, 'profiled');
    }
    loop.disable();
    const serverLoop = loopSummary();
    const traffic = expect(await members.ask({ type: 'traffic-stop' }), 'traffic');
    const sent = await collectStamps();
    const rounds: Rounds = { replies, sent, windows: keysByRound.map((keys) => windowOf(sent, keys)) };
    const handed = tokenTimes(sent, await takeHandedOn());
    const publishedTimes = tokenTimes(sent, published.take());
    const stages = { handedOn: handed.all, published: publishedTimes.all, handedOnFirst: handed.first, publishedFirst: publishedTimes.first };
    return { rounds, traffic, seconds, serverCpu, serverLoop, stages };
  };

  const quietPhase = async (seconds: number) => {
    members.tell({ type: 'traffic-start', perSecond: RATE });
    await wait(SETTLE_MS);
    loop.reset();
    loop.enable();
    await profiler?.post('Profiler.start');
    const cpu = process.cpuUsage();
    const from = performance.now();
    await wait(seconds * 1000);
    const serverCpu = cpuMs(cpu) / 1000 / ((performance.now() - from) / 1000);
    if (profiler) {
      const { profile } = await profiler.post('Profiler.stop');
      fs.writeFileSync(path.join(PROFILE_DIR ?? '.', `b4-quiet-${relayRoundNumber}.cpuprofile`), JSON.stringify(profile));
    }
    loop.disable();
    const serverLoop = loopSummary();
    const traffic = expect(await members.ask({ type: 'traffic-stop' }), 'traffic');
    return { traffic, serverCpu, serverLoop, seconds };
  };

  /** B3 samples (send scheduled → received): after the settle time, and within `windows` when given. */
  const b3Samples = (traffic: TrafficReply, windows?: Array<[number, number]>): number[] => {
    const from = (traffic.scheduledAt[0] ?? 0) + SETTLE_MS;
    const samples: number[] = [];
    for (let row = 0; row < traffic.scheduledAt.length; row += 1) {
      const at = traffic.scheduledAt[row] ?? 0;
      if (at < from) continue;
      if (windows && !windows.some(([first, last]) => at >= first && at <= last)) continue;
      samples.push((traffic.receivedAt[row] ?? 0) - at);
    }
    return samples;
  };

  const runOnce = async (index: number): Promise<RunResult> => {
    const direct = await directRounds();
    const bare = await ceilingRounds();
    let relay: Awaited<ReturnType<typeof relayPhase>>;
    let quiet: Awaited<ReturnType<typeof quietPhase>>;
    // The order of the two traffic phases swaps from run to run: neither always comes first.
    if (index % 2 === 0) {
      relay = await relayPhase();
      quiet = await quietPhase(relay.seconds);
    } else {
      quiet = await quietPhase(ROUNDS * ((TOKENS * INTERVAL_MS) / 1000 + 0.4));
      relay = await relayPhase();
    }
    const relayReceipts = relay.rounds.replies.reduce((sum, reply) => sum + reply.receipts.at.length, 0);
    const merge = (replies: RoundReply[]) => ({
      receiver: Int32Array.from(replies.flatMap((reply) => [...reply.receipts.receiver])),
      key: Int32Array.from(replies.flatMap((reply) => [...reply.receipts.key])),
      index: Int32Array.from(replies.flatMap((reply) => [...reply.receipts.index])),
      at: Float64Array.from(replies.flatMap((reply) => [...reply.receipts.at])),
    });
    const mentionToFirst = relay.rounds.replies.flatMap((reply) => [...reply.mentionToFirst].filter((ms) => !Number.isNaN(ms)));
    return {
      relay: tokenTimes(relay.rounds.sent, merge(relay.rounds.replies)),
      direct: tokenTimes(direct.sent, merge(direct.replies)),
      ceiling: tokenTimes(bare.sent, merge(bare.replies)),
      ceilingReceipts: bare.replies.reduce((sum, reply) => sum + reply.receipts.at.length, 0),
      ceilingServerCpu: bare.serverCpu,
      ceilingGeneratorCpu: bare.generatorCpu,
      ceilingSeconds: bare.seconds,
      handedOn: relay.stages.handedOn,
      published: relay.stages.published,
      handedOnFirst: relay.stages.handedOnFirst,
      publishedFirst: relay.stages.publishedFirst,
      relayReceipts,
      relayExpected: ROUNDS * ANSWERS * MEMBERS * TOKENS,
      directReceipts: direct.replies.reduce((sum, reply) => sum + reply.receipts.at.length, 0),
      ends: relay.rounds.replies.reduce((sum, reply) => sum + reply.ends, 0),
      failedEnds: relay.rounds.replies.reduce((sum, reply) => sum + reply.failedEnds, 0),
      expectedEnds: relay.rounds.replies.reduce((sum, reply) => sum + reply.expectedEnds, 0),
      mentionToFirst,
      b3With: b3Samples(relay.traffic, relay.rounds.windows),
      b3Without: b3Samples(quiet.traffic),
      trafficWith: relay.traffic,
      trafficWithout: quiet.traffic,
      serverCpuRelay: relay.serverCpu,
      serverCpuQuiet: quiet.serverCpu,
      serverLoopRelay: relay.serverLoop,
      serverLoopQuiet: quiet.serverLoop,
      generatorCpuRelay: relay.rounds.replies.reduce((sum, reply) => sum + reply.cpuMs, 0) / 1000 / relay.seconds,
      relaySeconds: relay.seconds,
      quietSeconds: quiet.seconds,
    };
  };

  if (WARMUP) {
    console.error('warm-up run');
    await runOnce(1);
  }
  const runs: RunResult[] = [];
  for (let index = 0; index < RUNS; index += 1) {
    console.error(`run ${index + 1} of ${RUNS}`);
    runs.push(await runOnce(index));
  }

  members.tell({ type: 'close' });
  provider.tell({ type: 'close' });
  await assistant.close();
  ceiling.close();

  // Per run: percentiles of each side, and the difference.
  const per = (pick: (run: RunResult) => number) => runs.map(pick);
  const stat = (samples: number[], which: 'p50' | 'p99' | 'p999') => summarize(samples)[which];
  const rows: string[][] = [];
  type Pick = (times: RunResult['relay']) => number[];
  const addRow = (label: string, pick: Pick, which: 'p50' | 'p99' | 'p999', target: boolean, digits = 2) => {
    const parley = per((run) => stat(pick(run.relay), which));
    const direct = per((run) => stat(pick(run.direct), which));
    const bare = per((run) => stat(pick(run.ceiling), which));
    const added = parley.map((value, index) => value - (direct[index] ?? Number.NaN));
    const bareAdded = bare.map((value, index) => value - (direct[index] ?? Number.NaN));
    const limit = 1.5 * Math.max(0, spread(bareAdded).median) + 1;
    rows.push([label, formatSpread(parley, digits), formatSpread(direct, digits), formatSpread(added, digits), target ? `≤ ${limit.toFixed(2)}` : '', formatSpread(bare, digits), formatSpread(bareAdded, digits)]);
    return { added: spread(added).median, bareAdded: spread(bareAdded).median, limit };
  };
  const first: Pick = (times) => times.first;
  const jitter: Pick = (times) => times.jitter;
  const every: Pick = (times) => times.all;
  const ttft50 = addRow('time to first token p50', first, 'p50', true);
  const ttft99 = addRow('time to first token p99', first, 'p99', true);
  const jitter50 = addRow('inter-token jitter p50', jitter, 'p50', true);
  const jitter99 = addRow('inter-token jitter p99', jitter, 'p99', true);
  addRow('every token p50', every, 'p50', false);
  addRow('every token p99', every, 'p99', false);
  addRow('every token p99.9', every, 'p999', false);

  const b3Rows: string[][] = [];
  const ratios: Record<string, number[]> = {};
  for (const which of ['p50', 'p99', 'p999'] as const) {
    const withAnswers = per((run) => stat(run.b3With, which));
    const without = per((run) => stat(run.b3Without, which));
    ratios[which] = withAnswers.map((value, index) => value / (without[index] ?? Number.NaN));
    b3Rows.push([`B3 send → receive ${which === 'p999' ? 'p99.9' : which}`, formatSpread(withAnswers), formatSpread(without), formatSpread(ratios[which] ?? [])]);
  }
  const b3Ratio = spread(ratios.p99 ?? []).median;

  console.log(`B4 (assistant relay): ${ANSWERS} concurrent answers × ${MEMBERS} members, against reading the provider directly`);
  console.log(`date ${about.date} · machine ${about.machine} · Node ${about.node}`);
  console.log(
    `settings: SQLite, durability ${DURABILITY}; assistant on its own thread of the server's process, provider openai-compatible → scripted OpenAI server (own process), ` +
      `${TOKENS} tokens ${INTERVAL_MS} ms apart per answer; load generator in its own process, ${ANSWERS + OTHER_GROUPS} groups × ${MEMBERS} raw ws member sockets; ` +
      `${pinned ? `server's ${PIN_ALL ? 'threads' : 'main thread'} pinned to core 0, provider and generator to core 1, the assistant's thread to core ${ASSISTANT_CORE}` : 'no pinning'}; per run ${ROUNDS} rounds of ${ANSWERS} ${SPREAD_MS > 0 ? `mentions spread over ${SPREAD_MS} ms` : 'simultaneous mentions'} (relay) and of ${ANSWERS} direct streams on the same schedule (baseline: ${BASELINE === 'raw' ? 'raw SSE reader, fetch + JSON.parse' : "the assistant's model client, AI SDK"}, in the generator's process); ` +
      `other groups: ${OTHER_GROUPS} groups, ${RATE} human messages/s at a fixed rate (timed from the scheduled send); ${WARMUP ? '1 warm-up run, then ' : 'no warm-up, '}${RUNS} runs; median (min–max) over runs; ms`,
  );
  console.log('');
  printTable(['ms', 'Parley (at members)', 'direct from provider', 'added by Parley', 'target (added: 1.5× the ceiling + 1)', 'bare ws relay (ceiling)', 'added by the ceiling'], rows);
  console.log('');
  const traffic = RATE > 0 && OTHER_GROUPS > 0;
  if (traffic) printTable(['other groups', `with ${ANSWERS} answers streaming`, 'without answers', 'ratio'], b3Rows);
  else console.log('(no human traffic in other groups: BENCH_RATE or BENCH_OTHER_GROUPS is 0)');
  console.log('');
  const info = (label: string, values: number[], digits = 2) => console.log(`- ${label}: ${formatSpread(values, digits)}`);
  console.log('Where a token spends its time: provider write → …, ms, p50 / p99 (every token; first tokens):');
  for (const [label, every, first] of [
    ['the runtime hands it to its socket (provider TCP, the model client, the worker)', (run: RunResult) => run.handedOn, (run: RunResult) => run.handedOnFirst],
    ['the server publishes it, before the fan-out (+ bot socket, frame parse, Turns.append)', (run: RunResult) => run.published, (run: RunResult) => run.publishedFirst],
    ['a member receives it (+ hub fan-out to every member, loopback, generator)', (run: RunResult) => run.relay.all, (run: RunResult) => run.relay.first],
  ] as const) {
    const spreadOf = (pick: (run: RunResult) => number[], which: 'p50' | 'p99') => formatSpread(runs.map((run) => stat(pick(run), which)));
    console.log(`- ${label}: ${spreadOf(every, 'p50')} / ${spreadOf(every, 'p99')}; first ${spreadOf(first, 'p50')} / ${spreadOf(first, 'p99')}`);
  }
  info('mention scheduled → first token at members, p50 ms (the assistant\'s work before the provider included)', runs.map((run) => stat(run.mentionToFirst, 'p50')));
  info('mention scheduled → first token at members, p99 ms', runs.map((run) => stat(run.mentionToFirst, 'p99')));
  info('tokens received at members / expected', runs.map((run) => run.relayReceipts / run.relayExpected), 4);
  info('answers ended at members / expected', runs.map((run) => run.ends / run.expectedEnds), 4);
  console.log(`- failed ends, tokens never stamped, tokens missing at a member (per run): ${runs.map((run) => `${run.failedEnds}, ${run.relay.unstamped}, ${run.relay.missing}`).join('; ')}`);
  info('samples per run: tokens at members', runs.map((run) => run.relay.all.length), 0);
  info('samples per run: first tokens at members', runs.map((run) => run.relay.first.length), 0);
  info('samples per run: tokens read directly', runs.map((run) => run.direct.all.length), 0);
  info('samples per run: tokens through the ceiling', runs.map((run) => run.ceiling.all.length), 0);
  info('samples per run: B3 deliveries with answers (scheduled within the rounds\' streaming windows)', runs.map((run) => run.b3With.length), 0);
  info('samples per run: B3 deliveries without answers', runs.map((run) => run.b3Without.length), 0);
  info('B3 deliveries received / expected (with answers)', runs.map((run) => run.trafficWith.receivedAt.length / Math.max(1, run.trafficWith.expectedDeliveries)), 4);
  info('B3 deliveries received / expected (without answers)', runs.map((run) => run.trafficWithout.receivedAt.length / Math.max(1, run.trafficWithout.expectedDeliveries)), 4);
  info('B3 sends failed (with + without answers)', runs.map((run) => run.trafficWith.failed + run.trafficWithout.failed), 0);
  info('server process CPU, cores, during relay (the server\'s thread saturates at 1)', runs.map((run) => run.serverCpuRelay));
  info('server process CPU, cores, during the same traffic without answers', runs.map((run) => run.serverCpuQuiet));
  const cpuPerToken = runs.map((run) => (((run.serverCpuRelay - run.serverCpuQuiet) * run.relaySeconds) / (run.relayExpected / MEMBERS)) * 1e6);
  const ceilingCpuPerToken = runs.map((run) => ((run.ceilingServerCpu * run.ceilingSeconds) / (run.relayExpected / MEMBERS)) * 1e6);
  info('server CPU µs per answer token (relay minus quiet, over the tokens; a floor when saturated)', cpuPerToken, 0);
  info('bare relay CPU µs per answer token (its process during its rounds, over the same tokens)', ceilingCpuPerToken, 0);
  info('relay phase length s (nominal streaming time per round: ' + ((TOKENS * INTERVAL_MS) / 1000).toFixed(1) + ' s)', runs.map((run) => run.relaySeconds));
  info('server event-loop delay p99 ms during relay', runs.map((run) => run.serverLoopRelay.p99));
  info('server event-loop delay max ms during relay', runs.map((run) => run.serverLoopRelay.max));
  info('server event-loop delay p99 ms without answers', runs.map((run) => run.serverLoopQuiet.p99));
  info('generator CPU, cores, during relay rounds', runs.map((run) => run.generatorCpuRelay));
  info('ceiling: relay process CPU, cores, during its rounds', runs.map((run) => run.ceilingServerCpu));
  info('ceiling: generator CPU, cores, during its rounds', runs.map((run) => run.ceilingGeneratorCpu));
  info('generator worst send lag ms (with / without answers, counted in B3 latency)', runs.map((run) => Math.max(run.trafficWith.worstSendLag, run.trafficWithout.worstSendLag)));
  for (const run of runs) if (run.relay.unstamped > 0) console.log(`- unstamped receipts, for example: ${run.relay.unstampedExamples.join(', ')}`);
  if (warnings.length > 0) console.log(`- assistant warnings: ${warnings.slice(0, 5).join(' | ')}`);
  console.log('');
  const cpu = spread(cpuPerToken).median;
  const ceilingCpu = spread(ceilingCpuPerToken).median;
  const added = (measure: string, figure: { added: number; bareAdded: number; limit: number }): Headline => ({
    bench: 'B4',
    measure: `added ${measure} ms`,
    parley: figure.added.toFixed(2),
    baseline: `bare relay adds ${figure.bareAdded.toFixed(2)}`,
    target: `≤ 1.5× + 1 = ${figure.limit.toFixed(2)}`,
    met: figure.added <= figure.limit,
    value: figure.added,
  });
  const headlines: Headline[] = [
    added('time to first token p50', ttft50),
    added('time to first token p99', ttft99),
    added('inter-token jitter p50', jitter50),
    added('inter-token jitter p99', jitter99),
    { bench: 'B4', measure: 'server CPU µs per relayed token', parley: cpu.toFixed(0), baseline: `bare relay ${ceilingCpu.toFixed(0)}`, target: `≤ 1.5× = ${(1.5 * ceilingCpu).toFixed(0)}`, met: cpu <= 1.5 * ceilingCpu, value: cpu },
    ...(traffic
      ? [{ bench: 'B4', measure: "other groups' B3 p99 with answers streaming, ratio", parley: b3Ratio.toFixed(2), baseline: 'the same traffic without answers', target: '≤ 1.5', met: b3Ratio <= 1.5, value: b3Ratio }]
      : []),
  ];
  report(headlines);
  process.exitCode = headlines.every((headline) => headline.met !== false) ? 0 : 1;
}

await main();
