/**
 * The durable send path alone, in one process: messages appended through the real EventLog and
 * WriteQueue on SQLite at a fixed offered rate, with reads on the reader connection beside them
 * (as the HTTP send route makes), `full` durability beside `process` in the same run.
 * Prints the acknowledgement latency from each message's scheduled time, and the event loop's
 * longest stall (a 5 ms timer's lateness), per run.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EventLog, MemoryBus, openStorage, WriteQueue, type Durability } from '@parley/server';
import { fixedRate, summarize } from './measure.js';

const RATE = Number(process.env.BENCH_RATE ?? 500);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const MODES = (process.env.BENCH_DURABILITY ?? 'full,process').split(',') as Durability[];
const CONVERSATIONS = 100;

async function once(durability: Durability) {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-durable-'));
  const storage = await openStorage({ kind: 'sqlite', file: path.join(directory, 'parley.sqlite'), durability });
  const now = new Date().toISOString();
  const authorId = crypto.randomUUID();
  await storage.writer.insertInto('users').values({ id: authorId, username: 'bench', display_name: 'Bench', password_hash: 'x', age_band: 'adult', kind: 'human', avatar_id: null, profile_complete: 1, group_chats_allowed: 1, created_at: now }).execute();
  const conversations = Array.from({ length: CONVERSATIONS }, () => crypto.randomUUID());
  await storage.writer
    .insertInto('conversations')
    .values(conversations.map((id) => ({ id, kind: 'group' as const, title: 'Bench', created_by: authorId, created_at: now, updated_at: now, last_seq: 0, member_limit: 20, assistant_name: null, assistant_personality: null, assistant_mode: null, assistant_talkativeness: null, forked_from_id: null, forked_from_seq: null, direct_key: null })))
    .execute();
  await storage.writer.insertInto('members').values(conversations.map((id) => ({ conversation_id: id, user_id: authorId, role: 'member' as const, joined_at: now, last_read_seq: 0, notifications: 'all' as const }))).execute();
  const queue = new WriteQueue(storage.writer, { backend: 'sqlite', ...(storage.sync ? { sync: storage.sync } : {}), ...(storage.beforeBatch ? { beforeBatch: storage.beforeBatch } : {}) });
  const log = new EventLog({ queue, reader: storage.reader, bus: new MemoryBus(), backend: 'sqlite' });
  // The longest lateness of a 5 ms timer, and how the main thread spent it (/proc schedstat:
  // on a core, waiting for one, or neither: blocked in a system call).
  let stall = { ms: 0, running: 0, waiting: 0 };
  let blockedTotal = 0;
  let waitingTotal = 0;
  const schedstat = () => fs.readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ').map((value) => Number(value) / 1e6);
  let last = performance.now();
  let [lastRunning = 0, lastWaiting = 0] = schedstat();
  const timer = setInterval(() => {
    const at = performance.now();
    const [running = 0, waiting = 0] = schedstat();
    const late = at - last - 5;
    if (late > 2) {
      waitingTotal += waiting - lastWaiting;
      blockedTotal += Math.max(0, at - last - (running - lastRunning) - (waiting - lastWaiting));
    }
    if (late > stall.ms) stall = { ms: late, running: running - lastRunning, waiting: waiting - lastWaiting };
    last = at;
    lastRunning = running;
    lastWaiting = waiting;
  }, 5);
  let counter = 0;
  const result = await fixedRate({
    rate: RATE,
    seconds: SECONDS,
    operation: async (index) => {
      const conversationId = conversations[index % CONVERSATIONS] ?? '';
      // What the route reads before it writes: the membership, and whether the id is taken.
      await storage.reader.selectFrom('members').select('role').where('conversation_id', '=', conversationId).where('user_id', '=', authorId).executeTakeFirst();
      const id = `m${(counter += 1)}x${crypto.randomBytes(4).toString('hex')}`;
      await storage.reader.selectFrom('messages').select('id').where('id', '=', id).executeTakeFirst();
      await log.writeTo(conversationId, async (write) => {
        const conversation = await write.db.selectFrom('conversations').select('last_seq').where('id', '=', conversationId).executeTakeFirstOrThrow();
        const row = { id, conversation_id: conversationId, seq: conversation.last_seq + 1, author_id: authorId, text: 'A message of ordinary length, about as long as people write in a group chat.', mentions: '[]', reply_to_id: null, created_at: write.now, edited_at: null, deleted_at: null };
        await write.db.insertInto('messages').values(row).execute();
        await write.append(conversationId, { type: 'message-created', actorId: authorId, message: { id, conversationId, seq: row.seq, authorId, text: row.text, mentions: [], replyToId: null, attachments: [], reactions: [], createdAt: row.created_at, editedAt: null, deletedAt: null, turn: null } });
      });
    },
  });
  clearInterval(timer);
  await queue.close();
  await storage.close();
  fs.rmSync(directory, { recursive: true, force: true });
  return { ...summarize(Array.from(result.latencies)), stall, blockedTotal, waitingTotal, failures: result.failures };
}

console.log(`durable path: ${RATE} msg/s for ${SECONDS} s, ${RUNS} runs, load ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}, ${new Date().toISOString()}`);
for (let run = 0; run < RUNS; run += 1) {
  for (const mode of MODES) {
    const r = await once(mode);
    console.log(`${mode.padEnd(8)} ack p50 ${r.p50.toFixed(2)} p99 ${r.p99.toFixed(2)} p999 ${r.p999.toFixed(2)} max ${r.max.toFixed(1)} ms; longest loop stall ${r.stall.ms.toFixed(1)} ms (on a core ${r.stall.running.toFixed(1)}, waiting for one ${r.stall.waiting.toFixed(1)}, blocked ${(r.stall.ms + 5 - r.stall.running - r.stall.waiting).toFixed(1)}); in all stalls: waiting for a core ${r.waitingTotal.toFixed(0)} ms, blocked ${r.blockedTotal.toFixed(0)} ms; failures ${r.failures}`);
  }
}
