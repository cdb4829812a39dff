/**
 * B5 durable writes: acknowledged messages per second and commit latency with the durable
 * setting, through the real WriteQueue (group commit) vs one transaction per message.
 * See /work/shared/BENCHMARKS.md and bench/README in the report.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EventLog, MemoryBus, openStorage, type Storage, WriteQueue } from '@parley/server';
import { createPostgresDatabase } from '@parley/server/test';
import { CompiledQuery } from 'kysely';
import { fixedRate, format, formatSpread, machine, maxThroughput, printSettings, printTable, summarize } from './measure.js';

const RATE = Number(process.env.B5_RATE ?? 5000);
const SECONDS = Number(process.env.B5_SECONDS ?? 3);
const RUNS = Number(process.env.B5_RUNS ?? 3);
const CONCURRENCY = Number(process.env.B5_CONCURRENCY ?? 512);
const CONVERSATIONS = 100;
const BACKENDS = (process.env.B5_BACKENDS ?? 'sqlite,postgres').split(',');
const STRATEGIES = (process.env.B5_STRATEGIES ?? 'batched,per-message').split(',') as Strategy[];
const TEXT = 'A message of ordinary length, about as long as people write in a group chat. 🙂';

type Backend = 'sqlite' | 'postgres';
type Strategy = 'batched' | 'per-message';

interface Fixture {
  storage: Storage;
  authorId: string;
  conversations: string[];
  dispose(): Promise<void>;
}

async function openBackend(backend: Backend): Promise<{ storage: Storage; settings: string; dispose(): Promise<void> }> {
  if (backend === 'sqlite') {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-b5-'));
    const storage = await openStorage({ kind: 'sqlite', file: path.join(directory, 'parley.sqlite'), durability: 'full' });
    return {
      storage,
      settings: `SQLite (better-sqlite3), WAL, synchronous=FULL (durability 'full'), file on ${directory}`,
      async dispose() {
        await storage.close();
        fs.rmSync(directory, { recursive: true, force: true });
      },
    };
  }
  const database = await createPostgresDatabase();
  const storage = await openStorage({ kind: 'postgres', url: database.url });
  const show = async (name: string) => {
    const result = await storage.reader.executeQuery<Record<string, string>>(CompiledQuery.raw(`show ${name}`));
    return result.rows[0]?.[name] ?? '?';
  };
  const settings = `PostgreSQL ${await show('server_version')} on 127.0.0.1, fsync=${await show('fsync')}, synchronous_commit=${await show('synchronous_commit')}, wal_sync_method=${await show('wal_sync_method')}, pool of 10`;
  return {
    storage,
    settings,
    async dispose() {
      await storage.close();
      await database.drop();
    },
  };
}

async function seed(storage: Storage): Promise<{ authorId: string; conversations: string[] }> {
  const now = new Date().toISOString();
  const authorId = crypto.randomUUID();
  await storage.writer
    .insertInto('users')
    .values({
      id: authorId,
      username: `bench_${authorId.slice(0, 8)}`,
      display_name: 'Bench',
      password_hash: 'not a hash',
      age_band: 'adult',
      kind: 'human',
      avatar_id: null,
      profile_complete: 1,
      group_chats_allowed: 1,
      created_at: now,
    })
    .execute();
  const conversations = Array.from({ length: CONVERSATIONS }, () => crypto.randomUUID());
  await storage.writer
    .insertInto('conversations')
    .values(
      conversations.map((id) => ({
        id,
        kind: 'group' as const,
        title: 'Bench',
        created_by: authorId,
        created_at: now,
        updated_at: now,
        last_seq: 0,
        member_limit: 20,
        assistant_name: null,
        assistant_personality: null,
        assistant_mode: null,
        assistant_talkativeness: null,
        forked_from_id: null,
        forked_from_seq: null,
        direct_key: null,
      })),
    )
    .execute();
  return { authorId, conversations };
}

/**
 * Client-chosen ids as random as the SDK's, made cheaply: generating them is the client's work,
 * not the storage's, and crypto.randomBytes per message would weigh on the figures.
 */
const ID_PREFIX = crypto.randomBytes(6).toString('base64url');
let idCounter = 0;
function messageId(): string {
  idCounter += 1;
  return `${Math.random().toString(36).slice(2, 10)}${ID_PREFIX}${idCounter.toString(36)}`;
}

function messageRow(conversationId: string, authorId: string, seq: number, now: string) {
  return {
    id: messageId(),
    conversation_id: conversationId,
    seq,
    author_id: authorId,
    text: TEXT,
    mentions: '[]',
    reply_to_id: null,
    created_at: now,
    edited_at: null,
    deleted_at: null,
  };
}

function toMessage(row: ReturnType<typeof messageRow>) {
  return {
    id: row.id,
    conversationId: row.conversation_id,
    seq: row.seq,
    authorId: row.author_id,
    text: row.text,
    mentions: [],
    replyToId: null,
    attachments: [],
    reactions: [],
    createdAt: row.created_at,
    editedAt: null,
    deletedAt: null,
  };
}

/** The storage half of sending a message, as messages/routes.ts does it: the same rows and statements. */
function writers(fixture: Fixture, backend: Backend) {
  const { storage, authorId, conversations } = fixture;
  const commits: number[] = [];
  const commitTimes: number[] = [];
  const queue = new WriteQueue(storage.writer, {
    backend,
    onCommit: (size, milliseconds) => {
      commits.push(size);
      commitTimes.push(milliseconds);
    },
  });
  const log = new EventLog({ queue, reader: storage.reader, bus: new MemoryBus(), backend });
  const pick = (index: number) => conversations[index % conversations.length] ?? '';

  const batched = (index: number) =>
    log.write(async (write) => {
      const conversationId = pick(index);
      await write.lock(conversationId);
      const conversation = await write.db.selectFrom('conversations').select('last_seq').where('id', '=', conversationId).executeTakeFirstOrThrow();
      const row = messageRow(conversationId, authorId, conversation.last_seq + 1, write.now);
      await write.db.insertInto('messages').values(row).execute();
      const event = await write.append(conversationId, { type: 'message-created', actorId: authorId, message: toMessage(row) });
      if (event.seq !== row.seq) throw new Error('seq mismatch');
    });

  // The baseline: one transaction, hence one commit (one fsync), per message.
  const perMessage = (index: number) =>
    storage.writer.transaction().execute(async (trx) => {
      const conversationId = pick(index);
      const now = new Date().toISOString();
      let read = trx.selectFrom('conversations').select('last_seq').where('id', '=', conversationId);
      if (backend === 'postgres') read = read.forNoKeyUpdate();
      const conversation = await read.executeTakeFirstOrThrow();
      const row = messageRow(conversationId, authorId, conversation.last_seq + 1, now);
      await trx.insertInto('messages').values(row).execute();
      const updated = await trx
        .updateTable('conversations')
        .set((eb) => ({ last_seq: eb('last_seq', '+', 1), updated_at: now }))
        .where('id', '=', conversationId)
        .returning('last_seq')
        .executeTakeFirstOrThrow();
      const event = { type: 'message-created', actorId: authorId, message: toMessage(row), conversationId, seq: updated.last_seq, at: now };
      await trx
        .insertInto('events')
        .values({ conversation_id: conversationId, seq: updated.last_seq, type: event.type, payload: JSON.stringify(event), created_at: now })
        .execute();
    });

  return { batched, perMessage, commits, commitTimes, close: () => queue.close() };
}

interface RunFigures {
  maxRate: number;
  maxP99: number;
  fixedAchieved: number;
  fixedP50: number;
  fixedP99: number;
  fixedP999: number;
  failures: number;
  meanBatch: number;
}

/** A pause between runs, so one run's background work (checkpoints, GC) stays out of the next. */
async function settle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 1000));
}

async function measure(operation: (index: number) => Promise<unknown>, commits: number[], commitTimes: number[]): Promise<RunFigures> {
  // The fixed-rate run goes first, on a settled database: a max-throughput run leaves a long
  // write-ahead log behind, whose checkpoint would land in the next run's figures.
  await settle();
  commits.length = 0;
  const fixed = await fixedRate({ rate: RATE, seconds: SECONDS, operation });
  const batchesBefore = 0;
  const fixedBatches = commits.length;
  await settle();
  const max = await maxThroughput({ concurrency: CONCURRENCY, seconds: SECONDS, operation });
  if (process.env.B5_DEBUG) {
    const sizes = summarize(commits.slice(batchesBefore, fixedBatches));
    const times = summarize(commitTimes.slice(-commits.length, -commits.length + fixedBatches));
    console.error(`  fixed-rate commits: ${fixedBatches}, size p50 ${sizes.p50} p99 ${sizes.p99} max ${sizes.max}; ms p50 ${format(times.p50, 2)} p99 ${format(times.p99, 2)} max ${format(times.max, 2)}`);
  }
  const maxLatency = summarize(max.latencies);
  const fixedLatency = summarize(fixed.latencies);
  return {
    maxRate: max.completed / max.seconds,
    maxP99: maxLatency.p99,
    fixedAchieved: fixed.latencies.length / fixed.seconds,
    fixedP50: fixedLatency.p50,
    fixedP99: fixedLatency.p99,
    fixedP999: fixedLatency.p999,
    failures: max.failures + fixed.failures,
    meanBatch: commits.length > 0 ? commits.reduce((sum, size) => sum + size, 0) / commits.length : 1,
  };
}

async function main(): Promise<void> {
  console.log('# B5 durable writes: batched (WriteQueue group commit) vs one commit per message\n');
  const settings: Record<string, string> = {
    ...machine(),
    'offered rate (fixed-rate run)': `${RATE.toLocaleString('en-US')} msg/s for ${SECONDS} s, latency from the scheduled send time (coordinated-omission-correct)`,
    'max-throughput run': `${CONCURRENCY} writes kept in flight for ${SECONDS} s`,
    workload: `message row + message-created event, spread over ${CONVERSATIONS} conversations, ${TEXT.length}-character text`,
    runs: `${RUNS}, after a warm-up; each figure is median (min–max)`,
    generator: 'in the same process as the write queue (the queue is an in-process API)',
  };
  const rows: string[][] = [];
  for (const backend of BACKENDS as Backend[]) {
    const opened = await openBackend(backend);
    settings[backend] = opened.settings;
    const fixture: Fixture = { storage: opened.storage, ...(await seed(opened.storage)), dispose: opened.dispose };
    const write = writers(fixture, backend);
    const strategies: Record<Strategy, (index: number) => Promise<unknown>> = { batched: write.batched, 'per-message': write.perMessage };
    // Warm-up: both paths, so statements, caches and the JIT are warm.
    for (const strategy of STRATEGIES) await maxThroughput({ concurrency: 64, seconds: 0.5, operation: strategies[strategy] });
    const figures: Record<Strategy, RunFigures[]> = { batched: [], 'per-message': [] };
    for (let run = 1; run <= RUNS; run += 1) {
      for (const strategy of STRATEGIES) {
        const result = await measure(strategies[strategy], write.commits, write.commitTimes);
        figures[strategy].push(result);
        console.error(`${backend} ${strategy} run ${run}: ${JSON.stringify(result, (_key, value: unknown) => (typeof value === 'number' ? Number(value.toFixed(2)) : value))}`);
      }
    }
    await write.close();
    for (const strategy of STRATEGIES) {
      const runs = figures[strategy];
      rows.push([
        backend,
        strategy,
        formatSpread(runs.map((run) => run.maxRate), 0),
        formatSpread(runs.map((run) => run.maxP99)),
        formatSpread(runs.map((run) => run.fixedAchieved), 0),
        formatSpread(runs.map((run) => run.fixedP50)),
        formatSpread(runs.map((run) => run.fixedP99)),
        formatSpread(runs.map((run) => run.fixedP999)),
        format(runs.reduce((sum, run) => sum + run.meanBatch, 0) / runs.length),
        String(runs.reduce((sum, run) => sum + run.failures, 0)),
      ]);
    }
    const batched = figures.batched.map((run) => run.maxRate);
    const baseline = figures['per-message'].map((run) => run.maxRate);
    rows.push([backend, 'ratio', `${formatSpread(batched.map((value, index) => value / (baseline[index] ?? Number.NaN)))}×`, '', '', '', '', '', '', '']);
    await fixture.dispose();
  }
  printSettings(settings);
  console.log('');
  printTable(
    ['backend', 'writes', 'max msg/s', 'max-run p99 ms', `msg/s at ${RATE}/s offered`, 'p50 ms', 'commit p99 ms', 'p99.9 ms', 'msgs/commit', 'errors'],
    rows,
  );
  console.log(`\nTargets: ≥ 5,000 msg/s and commit p99 ≤ 10 ms with the durable setting (batched). "commit p99" is the`);
  console.log(`acknowledgement latency at the fixed offered rate, measured from each message's scheduled send time.`);
}

await main();
