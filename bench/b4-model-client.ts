/**
 * B4, where the time goes: what reading one streamed answer costs the reader, per token, with
 * three readers of the same scripted provider (b4/provider.ts, its own process):
 * - raw: fetch, split the SSE events, JSON.parse each (b4/sse.ts), the least a reader does;
 * - provider: the AI SDK provider alone (`@ai-sdk/openai-compatible` chatModel.doStream), the
 *   layer streamText is built on;
 * - chat-model: the assistant's own model client (`loadModels(...).models.fast.stream`, AI SDK
 *   streamText), what the runtime reads answers with.
 * Each reads BENCH_STREAMS concurrent streams of BENCH_TOKENS tokens BENCH_INTERVAL_MS apart, the
 * provider stamping each token's write on the shared monotonic clock. Reported: CPU per token
 * (process CPU over the rounds / tokens read) and provider write → text in hand, p50/p99. The
 * modes take turns within each of BENCH_RUNS runs (after one warm-up run); median (min–max).
 *
 * Run: node --conditions=parley-source --import tsx bench/b4-model-client.ts
 */
import { execFileSync, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { loadModels } from '@parley/assistant';
import { PROMPT, readRaw } from './b4/sse.js';
import { formatSpread, machine, printTable, summarize, tokenTimes } from './b4/statistics.js';
import { monotonicMs, type ProviderReply, type ProviderRequest, TOKEN_PATTERN } from './b4/wire.js';

const STREAMS = Number(process.env.BENCH_STREAMS ?? 50);
const TOKENS = Number(process.env.BENCH_TOKENS ?? 50);
const INTERVAL_MS = Number(process.env.BENCH_INTERVAL_MS ?? 20);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

const MODES = ['raw', 'provider', 'chat-model'] as const;
type Mode = (typeof MODES)[number];

const child = fork(fileURLToPath(new URL('./b4/provider.ts', import.meta.url)), [], {
  execArgv: ['--conditions=parley-source', '--import', 'tsx'],
  serialization: 'advanced',
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const unclaimed: ProviderReply[] = [];
let waiter: ((reply: ProviderReply) => void) | undefined;
child.on('message', (reply: ProviderReply) => {
  const resolve = waiter;
  waiter = undefined;
  if (resolve) resolve(reply);
  else unclaimed.push(reply);
});
const next = () => new Promise<ProviderReply>((resolve) => {
  const ready = unclaimed.shift();
  if (ready) resolve(ready);
  else waiter = resolve;
});
const ask = (request: ProviderRequest) => {
  const reply = next();
  child.send(request);
  return reply;
};

// Before pinning, so that the table names the machine's cores, not this process's share.
const about = machine();
const ready = await next();
if (ready.type !== 'ready') throw new Error('the provider did not start');
const providerUrl = ready.url;
const cores = Number(about.machine.split(' ')[0]);
if (cores >= 2 && child.pid) {
  // The reader gets core 0 to itself; the provider, which only writes on a timer, core 1.
  execFileSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
  execFileSync('taskset', ['-a', '-p', '-c', '1', String(child.pid)], { stdio: 'ignore' });
}

const models = loadModels({
  PARLEY_MODEL_PROVIDER: 'openai-compatible',
  PARLEY_MODEL: 'scripted',
  PARLEY_MODEL_BASE_URL: providerUrl,
  PARLEY_MODEL_API_KEY: 'bench-key',
  PARLEY_MODEL_MAX_RETRIES: '0',
});
if (models.status !== 'configured') throw new Error('the model client is not configured');
const languageModel = createOpenAICompatible({ name: 'scripted', baseURL: providerUrl, apiKey: 'bench-key' }).chatModel('scripted');

async function readOne(mode: Mode, onText: (text: string, at: number) => void): Promise<void> {
  if (mode === 'raw') return readRaw(providerUrl, onText);
  if (mode === 'provider') {
    const { stream } = await languageModel.doStream({ prompt: [{ role: 'user', content: [{ type: 'text', text: PROMPT }] }] });
    const reader = stream.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      if (value.type === 'text-delta') onText(value.delta, monotonicMs());
    }
  }
  if (models.status !== 'configured') return;
  for await (const part of models.models.fast.stream({ system: 'Benchmark.', messages: [{ role: 'user', content: PROMPT }] })) {
    if (part.type === 'text') onText(part.text, monotonicMs());
  }
}

interface Measure {
  cpuPerToken: number;
  p50: number;
  p99: number;
}

let nextKey = 0;
async function measure(mode: Mode): Promise<Measure> {
  const receiver: number[] = [];
  const keys: number[] = [];
  const indexes: number[] = [];
  const times: number[] = [];
  const cpu = process.cpuUsage();
  for (let round = 0; round < ROUNDS; round += 1) {
    const queued = await ask({ type: 'queue', keys: Array.from({ length: STREAMS }, () => nextKey++), tokens: TOKENS, intervalMs: INTERVAL_MS });
    if (queued.type !== 'queued') throw new Error('the provider did not queue');
    await Promise.all(
      Array.from({ length: STREAMS }, (_, stream) =>
        readOne(mode, (text, at) => {
          for (const match of text.matchAll(TOKEN_PATTERN)) {
            receiver.push(stream);
            keys.push(Number(match[1]));
            indexes.push(Number(match[2]));
            times.push(at);
          }
        }),
      ),
    );
  }
  const used = process.cpuUsage(cpu);
  const stamps = await ask({ type: 'stamps' });
  if (stamps.type !== 'stamps') throw new Error('no stamps');
  const sent = new Map(stamps.keys.map((key, row) => [key, stamps.sent.subarray(row * stamps.tokens, (row + 1) * stamps.tokens)] as const));
  const latency = summarize(
    tokenTimes(sent, { receiver: Int32Array.from(receiver), key: Int32Array.from(keys), index: Int32Array.from(indexes), at: Float64Array.from(times) }).all,
  );
  return { cpuPerToken: (used.user + used.system) / Math.max(1, times.length), p50: latency.p50, p99: latency.p99 };
}

for (const mode of MODES) await measure(mode);
const results = new Map<Mode, Measure[]>(MODES.map((mode) => [mode, []]));
for (let run = 0; run < RUNS; run += 1) for (const mode of MODES) results.get(mode)?.push(await measure(mode));
child.send({ type: 'close' } satisfies ProviderRequest);

console.log(`B4, model client cost: ${STREAMS} concurrent streams × ${TOKENS} tokens ${INTERVAL_MS} ms apart (${Math.round((STREAMS * 1000) / INTERVAL_MS)} tokens/s offered)`);
console.log(`date ${about.date} · machine ${about.machine} · Node ${about.node}`);
console.log(`settings: scripted OpenAI server in its own process${cores >= 2 ? ' (core 1; the reader on core 0)' : ''}; ${ROUNDS} rounds per measure, 1 warm-up run, then ${RUNS} runs with the modes taking turns; median (min–max)`);
console.log('');
printTable(
  ['reader', 'CPU µs per token', 'write → text p50 ms', 'write → text p99 ms'],
  MODES.map((mode) => {
    const values = results.get(mode) ?? [];
    return [mode, formatSpread(values.map((value) => value.cpuPerToken), 0), formatSpread(values.map((value) => value.p50)), formatSpread(values.map((value) => value.p99))];
  }),
);
