/**
 * B8 history: the newest 50 messages of a conversation with 1,000,000 messages vs one with 100,
 * fetched over HTTP from a real server (the `parley` command in its own process). Cost must not
 * grow with history: target ratio ≤ 1.2. See /work/shared/BENCHMARKS.md.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ParleyClient } from '@parley/sdk';
import { openStorage } from '@parley/server';
import { createPostgresDatabase } from '@parley/server/test';
import { CompiledQuery } from 'kysely';
import { HISTORY_ENDS_AGO_MS, populate, ROWS_PER_INSERT, seedTwoGroups } from './history.js';
import { fixedRate, format, formatSpread, machine, printSettings, printTable, spread, summarize } from './measure.js';
import { type Headline, report } from './report.js';
import { pinSelf, type ServerProcess, startServerProcess } from './server-process.js';

const BIG = Number(process.env.B8_MESSAGES ?? 1_000_000);
const SMALL = 100;
const PAGE = 50;
const RATE = Number(process.env.B8_RATE ?? 50);
const SECONDS = Number(process.env.B8_SECONDS ?? 20);
const RUNS = Number(process.env.B8_RUNS ?? 3);
const BACKENDS = (process.env.B8_BACKENDS ?? 'sqlite,postgres').split(',') as Array<'sqlite' | 'postgres'>;

const headlines: Headline[] = [];

async function measureBackend(backend: 'sqlite' | 'postgres', settings: Record<string, string>, rows: string[][]): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-b8-'));
  const postgres = backend === 'postgres' ? await createPostgresDatabase() : undefined;
  const env: Record<string, string> = {
    PARLEY_DATA_DIR: dataDir,
    PARLEY_DURABILITY: 'full',
    // The 100 short-history messages are sent through the API in one go.
    PARLEY_FLOOD_BURST: '1000',
    PARLEY_FLOOD_PER_MINUTE: '100000',
    ...(postgres ? { DATABASE_URL: postgres.url } : {}),
  };
  let server: ServerProcess | undefined;
  try {
    // People and conversations through the API, as real ones are made.
    server = await startServerProcess({ env, cpu: 0 });
    const password = 'correct horse battery staple';
    const { people, ann, big, small } = await seedTwoGroups(server.url, { password, small: SMALL });
    await server.stop();
    server = undefined;

    // The long history in bulk, with the server stopped, then checked like any other.
    console.error(`${backend}: writing ${BIG.toLocaleString('en-US')} messages and events`);
    const storage = await openStorage(
      postgres ? { kind: 'postgres', url: postgres.url } : { kind: 'sqlite', file: path.join(dataDir, 'parley.sqlite'), durability: 'process' },
    );
    await populate(storage, big.conversation.id, people.map((person) => person.user.id), BIG);
    const counts = await storage.reader
      .selectFrom('messages')
      .select(['conversation_id', (eb) => eb.fn.countAll<number>().as('count')])
      .groupBy('conversation_id')
      .execute();
    await storage.close();
    if (postgres) {
      // Fresh statistics, as autovacuum would have them on a database that grew over time.
      const admin = await openStorage({ kind: 'postgres', url: postgres.url });
      await admin.writer.executeQuery(CompiledQuery.raw('analyze'));
      await admin.close();
    }

    server = await startServerProcess({ env, cpu: 0 });
    const client = new ParleyClient({ baseUrl: server.url, ...(ann.client.token ? { token: ann.client.token } : {}) });
    const conversations = { big: big.conversation.id, small: small.conversation.id };
    const newest = async (conversationId: string) => {
      const page = await client.api.listMessages({ params: { conversationId }, query: { limit: PAGE } });
      if (page.messages.length !== PAGE) throw new Error(`expected ${PAGE} messages, got ${page.messages.length}`);
      return page;
    };
    // Sanity: the big one really holds the long history, and pages look as they should.
    const bigPage = await newest(conversations.big);
    if (bigPage.messages.at(-1)?.seq !== BIG + 1) throw new Error(`newest seq ${bigPage.messages.at(-1)?.seq}, expected ${BIG + 1}`);
    for (let index = 0; index < 500; index += 1) await newest(index % 2 === 0 ? conversations.big : conversations.small);

    const latencies = { big: [] as number[][], small: [] as number[][] };
    const throughput = { big: [] as number[], small: [] as number[] };
    for (let run = 1; run <= RUNS; run += 1) {
      // One fixed-rate schedule alternating the two conversations, so both see the same noise.
      const targets: Array<'big' | 'small'> = [];
      const result = await fixedRate({
        rate: RATE,
        seconds: SECONDS,
        operation: (index) => {
          const target = index % 2 === 0 ? 'big' : 'small';
          targets[index] = target;
          return newest(conversations[target]);
        },
      });
      for (const target of ['big', 'small'] as const) {
        latencies[target].push(Array.from(result.latencies).filter((_, index) => targets[index] === target));
      }
      // One request at a time, alternating the two, for 4 s: requests/s from each one's mean time.
      const spent = { big: 0, small: 0 };
      const done = { big: 0, small: 0 };
      for (let index = 0, began = performance.now(); performance.now() - began < 4000; index += 1) {
        const target = index % 2 === 0 ? 'small' : 'big';
        const sent = performance.now();
        await newest(conversations[target]);
        spent[target] += performance.now() - sent;
        done[target] += 1;
      }
      for (const target of ['big', 'small'] as const) throughput[target].push(done[target] / (spent[target] / 1000));
      const last = (target: 'big' | 'small') => summarize(latencies[target].at(-1) ?? []);
      console.error(`${backend} run ${run}: big p50 ${format(last('big').p50, 2)} p99 ${format(last('big').p99, 2)}; small p50 ${format(last('small').p50, 2)} p99 ${format(last('small').p99, 2)} ms; failures ${result.failures}`);
    }
    await server.stop();
    server = undefined;

    const figure = (target: 'big' | 'small', pick: 'p50' | 'p99') => latencies[target].map((samples) => summarize(samples)[pick]);
    for (const target of ['big', 'small'] as const) {
      const count = counts.find((row) => row.conversation_id === conversations[target])?.count ?? 0;
      rows.push([backend, `${Number(count).toLocaleString('en-US')} messages`, formatSpread(figure(target, 'p50'), 2), formatSpread(figure(target, 'p99'), 2), formatSpread(throughput[target], 0)]);
    }
    const ratio = (pick: 'p50' | 'p99') => {
      const bigs = figure('big', pick);
      const smalls = figure('small', pick);
      return `${formatSpread(bigs.map((value, index) => value / (smalls[index] ?? Number.NaN)), 2)}×`;
    };
    const speed = `${formatSpread(throughput.small.map((value, index) => value / (throughput.big[index] ?? Number.NaN)), 2)}×`;
    rows.push([backend, `ratio ${BIG.toLocaleString('en-US')} / ${SMALL}`, ratio('p50'), ratio('p99'), `${speed} (time per request)`]);
    const bigP50 = spread(figure('big', 'p50')).median;
    const smallP50 = spread(figure('small', 'p50')).median;
    headlines.push({
      bench: 'B8',
      measure: `${backend}: newest-50 history p50 at ${BIG.toLocaleString('en-US')} vs ${SMALL} messages, ratio`,
      parley: `${(bigP50 / smallP50).toFixed(2)} (${format(bigP50, 2)} ms)`,
      baseline: `${format(smallP50, 2)} ms at ${SMALL}`,
      target: '≤ 1.2',
      met: bigP50 / smallP50 <= 1.2,
      value: bigP50 / smallP50,
    });
    settings[backend] = postgres
      ? 'PostgreSQL on 127.0.0.1 (DATABASE_URL), analyzed after the bulk load'
      : "SQLite, WAL, synchronous=FULL (PARLEY_DURABILITY=full)";
  } finally {
    await server?.stop();
    await postgres?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const described = machine();
  const pinned = pinSelf(1);
  console.log('# B8 history: newest 50 messages at 1,000,000 vs 100 messages\n');
  const settings: Record<string, string> = {
    ...described,
    server: `the parley command in its own process${pinned ? ', pinned to CPU 0 (taskset); this generator on CPU 1' : ''}`,
    request: `GET /api/conversations/:id/messages?limit=${PAGE} (listMessages) through the SDK over loopback HTTP, as a member`,
    load: `${RATE} requests/s for ${SECONDS} s, alternating the two conversations, latency from the scheduled send time; then one request at a time for 4 s, alternating`,
    data: `${BIG.toLocaleString('en-US')} messages + message-created events bulk-written in ${ROWS_PER_INSERT}-row inserts, one a second, the newest ${HISTORY_ENDS_AGO_MS / 3_600_000} h old (before the assistant's catch-up day); ${SMALL} sent through the API`,
    runs: `${RUNS}, after 500 warm-up requests; each figure is median (min–max)`,
  };
  const rows: string[][] = [];
  for (const backend of BACKENDS) await measureBackend(backend, settings, rows);
  printSettings(settings);
  console.log('');
  printTable(['backend', 'conversation', 'p50 ms', 'p99 ms', 'requests/s, one at a time'], rows);
  console.log('\nTarget: ratio ≤ 1.2 (cost must not grow with history).');
  console.log('The other half of B8, the assistant context build at 1,000,000 vs 100 messages,');
  console.log('is bench:context (assistant-context.ts).');
  report(headlines);
}

await main();
