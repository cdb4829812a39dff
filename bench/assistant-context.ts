/**
 * B8, second half (../shared/BENCHMARKS.md): the cost of building the assistant's context for a
 * turn in a group with 1,000,000 messages against one with 100. Target: ratio ≤ 1.2.
 *
 * Run: npm run -w bench bench:context
 *  (node --conditions=parley-source --import tsx bench/assistant-context.ts)
 * Settings through the environment: BENCH_MESSAGES (size of the big group, default 1,000,000),
 * BENCH_BUDGET (prompt budget in tokens, default 3000), BENCH_ITERATIONS (builds per run, default 50).
 *
 * A real server (SQLite, durability `process`) on loopback. Both groups are filled by the same
 * generator with direct batched inserts of the rows the send path writes (messages, events with
 * the exact `message-created` payload, reactions, attachments, deletions), then timed through the
 * SDK over HTTP as the assistant's runtime does it for a turn: signed in as the server's own
 * assistant (the bot account, a member of every group), `loadContext` (`getAssistantContext` +
 * the newest page(s) of messages + former members) and `buildPrompt`. The budget is one that both
 * histories fill, so both builds do the same work when cost does not grow with history; the table
 * shows what each read and kept.
 */
import crypto from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { buildPrompt, loadContext } from '@parley/assistant';
import type { Attachment, Message } from '@parley/protocol';
import type { ParleyClient } from '@parley/sdk';
import { messageId, startTestServer, type TestServer, type TestUser } from '@parley/server/test';
import { report } from './report.js';

const BIG = Number(process.env.BENCH_MESSAGES ?? 1_000_000);
const SMALL = 100;
const BUDGET = Number(process.env.BENCH_BUDGET ?? 3000);
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 50);
const WARMUP = 20;
const RUNS = 3;

const SENTENCES = [
  'Are we still on for Saturday?',
  'I can pick up the tickets on my way home.',
  'Le train part à 8h12 de la gare de Lyon, on se retrouve sous l’horloge ?',
  'Does anyone know if the museum is open on Mondays?',
  'Honestly I would rather take the car, the train is twice the price for four people.',
  'Je ramène les sandwichs et une thermos de café.',
  'ok',
  'haha yes',
  '👍',
  'Can someone summarise what we decided about the hotel? I lost track after the discussion about parking.',
  'The forecast says rain in the afternoon, so maybe we start early and do the outdoor part first.',
  'Ich bringe die Karten mit.',
  'Mañana no puedo, ¿el domingo os va bien?',
  'Here is the budget so far: train 180, hotel 240, food maybe 150. That is around 140 each.',
  'Wait, did we book one room or two?',
  'I sent the confirmation email to everyone, check your spam folder if you cannot find it.',
  'Quelqu’un a le numéro du restaurant ? Il faut réserver avant jeudi.',
  'Let us vote: museum in the morning or the market?',
  'Market! The museum can wait until it rains.',
  'I will be 10 minutes late, start without me.',
];

/** Deterministic pseudo-random numbers: both groups get the same kind of history. */
function generator(seed: number) {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
}

interface Fill {
  conversationId: string;
  people: TestUser[];
  /** The bot account: it wrote every sixth message, as an assistant that answers often would. */
  assistantUserId: string;
  count: number;
}

/**
 * Writes `count` messages after the conversation's current events, as the send path would: the
 * message row and its `message-created` event with the next gapless seq; now and then a reply, a
 * mention, an attachment, a reaction (with its `reaction-added` event) or a deletion (with its
 * `message-deleted` event). Batched in transactions, straight into storage, because a million
 * sends through HTTP would take hours and time nothing this bench is about.
 */
async function fill(server: TestServer, { conversationId, people, assistantUserId, count }: Fill): Promise<void> {
  const db = server.server.context.storage.writer;
  const conversation = await db.selectFrom('conversations').select(['last_seq']).where('id', '=', conversationId).executeTakeFirstOrThrow();
  const random = generator(count);
  let seq = conversation.last_seq;
  const start = Date.now() - count * 30_000;
  let previousId: string | null = null;
  const batchSize = 2000;
  for (let offset = 0; offset < count; offset += batchSize) {
    const messages: Array<Record<string, unknown>> = [];
    const events: Array<{ conversation_id: string; seq: number; type: string; payload: string; created_at: string }> = [];
    const reactions: Array<Record<string, unknown>> = [];
    const attachments: Array<Record<string, unknown>> = [];
    const links: Array<Record<string, unknown>> = [];
    for (let index = offset; index < Math.min(count, offset + batchSize); index += 1) {
      const at = new Date(start + index * 30_000).toISOString();
      const authorId = index % 6 === 5 ? assistantUserId : (people[Math.floor(random() * people.length)]?.user.id ?? assistantUserId);
      const parts = 1 + Math.floor(random() * 3);
      let text = Array.from({ length: parts }, () => SENTENCES[Math.floor(random() * SENTENCES.length)] ?? '').join(' ');
      const mentioned = index % 9 === 0 ? people[(index / 9) % people.length] : undefined;
      if (mentioned) text = `@${mentioned.user.username} ${text}`;
      const id = messageId();
      seq += 1;
      const messageAttachments: Attachment[] = [];
      if (index % 200 === 7) {
        const attachmentId = crypto.randomBytes(12).toString('base64url');
        attachments.push({ id: attachmentId, uploader_id: authorId, filename: `photo-${index}.jpg`, content_type: 'image/jpeg', size: 184_223, sha256: crypto.createHash('sha256').update(attachmentId).digest('hex'), created_at: at });
        links.push({ message_id: id, attachment_id: attachmentId, conversation_id: conversationId, position: 0 });
        messageAttachments.push({ id: attachmentId, filename: `photo-${index}.jpg`, contentType: 'image/jpeg', size: 184_223, url: `/api/attachments/${attachmentId}`, createdAt: at });
      }
      const replyToId = index % 15 === 3 ? previousId : null;
      const row = {
        id,
        conversation_id: conversationId,
        seq,
        author_id: authorId,
        text,
        mentions: JSON.stringify(mentioned ? [mentioned.user.id] : []),
        reply_to_id: replyToId,
        created_at: at,
        edited_at: null,
        deleted_at: null as string | null,
      };
      const message: Message = {
        id,
        conversationId,
        seq,
        authorId: authorId,
        text,
        mentions: mentioned ? [mentioned.user.id] : [],
        replyToId,
        attachments: messageAttachments,
        reactions: [],
        createdAt: at,
        editedAt: null,
        deletedAt: null,
        turn: null,
      };
      const deleted = index % 500 === 11;
      // A deletion also redacts the logged `message-created` event, as the delete route does.
      const logged = deleted ? { ...message, text: '', mentions: [] } : message;
      events.push({ conversation_id: conversationId, seq, type: 'message-created', created_at: at, payload: JSON.stringify({ type: 'message-created', actorId: authorId, message: logged, conversationId, seq, at }) });
      if (index % 40 === 1) {
        const reactorId = people[index % people.length]?.user.id ?? assistantUserId;
        seq += 1;
        reactions.push({ message_id: id, user_id: reactorId, emoji: '👍', created_at: at, seq });
        events.push({ conversation_id: conversationId, seq, type: 'reaction-added', created_at: at, payload: JSON.stringify({ type: 'reaction-added', actorId: reactorId, messageId: id, userId: reactorId, emoji: '👍', conversationId, seq, at }) });
      }
      if (deleted) {
        seq += 1;
        row.text = '';
        row.mentions = '[]';
        row.deleted_at = at;
        events.push({ conversation_id: conversationId, seq, type: 'message-deleted', created_at: at, payload: JSON.stringify({ type: 'message-deleted', actorId: authorId, messageId: id, deletedAt: at, conversationId, seq, at }) });
      }
      messages.push(row);
      previousId = id;
    }
    await db.transaction().execute(async (transaction) => {
      const chunks = <T>(rows: T[], size: number) => Array.from({ length: Math.ceil(rows.length / size) }, (_, index) => rows.slice(index * size, (index + 1) * size));
      for (const chunk of chunks(messages, 500)) await transaction.insertInto('messages').values(chunk as never).execute();
      for (const chunk of chunks(events, 1000)) await transaction.insertInto('events').values(chunk).execute();
      if (attachments.length) await transaction.insertInto('attachments').values(attachments as never).execute();
      if (links.length) await transaction.insertInto('message_attachments').values(links as never).execute();
      if (reactions.length) await transaction.insertInto('reactions').values(reactions as never).execute();
    });
    if (process.stderr.isTTY && count >= 100_000 && (offset / batchSize) % 50 === 0) {
      process.stderr.write(`\r  filled ${offset.toLocaleString('en')} / ${count.toLocaleString('en')} messages`);
    }
  }
  if (process.stderr.isTTY && count >= 100_000) process.stderr.write('\r\x1b[K');
  await db.updateTable('conversations').set({ last_seq: seq, updated_at: new Date().toISOString() }).where('id', '=', conversationId).execute();
}

interface Case {
  label: string;
  conversationId: string;
  client: ParleyClient;
  read: number;
  kept: number;
}

async function buildOnce(subject: Case, assistantUserId: string): Promise<number> {
  const started = performance.now();
  const loaded = await loadContext(subject.client, subject.conversationId, { budget: BUDGET });
  const prompt = buildPrompt({ ...loaded, assistantUserId, budget: BUDGET });
  const elapsed = performance.now() - started;
  subject.read = loaded.messages.length;
  subject.kept = prompt.messages.length;
  return elapsed;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
};

async function main() {
  await using server = await startTestServer({ config: { floodLimit: { burst: 100_000, perMinute: 6_000_000 } } });
  // The server's own assistant: its bot account and token, as the in-process runtime gets them.
  const assistant = server.assistant;
  const me = await assistant.client.api.getMe();
  if (me.kind !== 'bot') throw new Error(`the assistant token belongs to @${me.username}, which is not a bot account`);
  const people = [await server.user(), await server.user(), await server.user(), await server.user()];
  const [creator, ...others] = people;
  if (!creator) throw new Error('no people');
  // The bot joins every group by itself: only people are named.
  const usernames = others.map((person) => person.user.username);
  const small = await creator.client.api.createConversation({ body: { kind: 'group', title: 'Small group', usernames } });
  const big = await creator.client.api.createConversation({ body: { kind: 'group', title: 'Big group', usernames } });
  for (const view of [small, big]) {
    if (!view.members.some((member) => member.userId === assistant.userId && member.role === 'assistant')) throw new Error('the assistant is not a member of the group');
  }

  const filling = performance.now();
  await fill(server, { conversationId: small.conversation.id, people, assistantUserId: assistant.userId, count: SMALL });
  await fill(server, { conversationId: big.conversation.id, people, assistantUserId: assistant.userId, count: BIG });
  const fillSeconds = (performance.now() - filling) / 1000;
  // The fill kept the event loop busy past the server's keep-alive timeout: let the client see
  // its idle sockets closed before reusing one, or the next request meets ECONNRESET.
  await new Promise((resolve) => setTimeout(resolve, 200));
  // A message sent through the API on top, so the newest page holds a real send as well.
  for (const conversation of [small, big]) {
    await creator.client.api.sendMessage({ params: { conversationId: conversation.conversation.id }, body: { id: messageId(), text: `@${me.username} what did we decide about the hotel?` } });
  }

  // The rows are realistic only if the server reads them back as valid: the newest 1,000 events
  // of each group go through the API, whose answers are checked against the protocol's schemas.
  for (const conversation of [small, big]) {
    const params = { conversationId: conversation.conversation.id };
    const view = await creator.client.api.getConversation({ params });
    const page = await creator.client.api.listEvents({ params, query: { after: Math.max(0, view.conversation.lastSeq - 1000), limit: 1000 } });
    if (page.events.at(-1)?.seq !== view.conversation.lastSeq) throw new Error('the filled log does not read back');
  }

  const cases: [Case, Case] = [
    { label: `${SMALL.toLocaleString('en')} messages`, conversationId: small.conversation.id, client: assistant.client, read: 0, kept: 0 },
    { label: `${BIG.toLocaleString('en')} messages`, conversationId: big.conversation.id, client: assistant.client, read: 0, kept: 0 },
  ];

  for (let index = 0; index < WARMUP; index += 1) for (const subject of cases) await buildOnce(subject, assistant.userId);
  const runs: Array<[number, number]> = [];
  for (let run = 0; run < RUNS; run += 1) {
    const times: [number[], number[]] = [[], []];
    // Alternating within a run: both sides see the same noise.
    for (let index = 0; index < ITERATIONS; index += 1) {
      times[0].push(await buildOnce(cases[0], assistant.userId));
      times[1].push(await buildOnce(cases[1], assistant.userId));
    }
    runs.push([median(times[0]), median(times[1])]);
  }

  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const row = (subject: Case, values: number[]) =>
    `| ${subject.label.padEnd(20)} | ${median(values).toFixed(2).padStart(8)} | ${Math.min(...values).toFixed(2).padStart(8)} | ${Math.max(...values).toFixed(2).padStart(8)} | ${String(subject.read).padStart(13)} | ${String(subject.kept).padStart(13)} |`;
  const smallTimes = runs.map(([value]) => value);
  const bigTimes = runs.map(([, value]) => value);
  const ratio = median(bigTimes) / median(smallTimes);
  console.log(`B8 (context build): assistant context for a group with ${BIG.toLocaleString('en')} messages vs ${SMALL}`);
  console.log(`date ${new Date().toISOString()} · machine ${cpu}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GB, ${os.platform()} ${os.release()} · Node ${process.version}`);
  console.log(`settings: SQLite, durability process, loopback HTTP through the SDK; budget ${BUDGET} tokens; ${WARMUP} warm-up builds, then ${RUNS} runs of ${ITERATIONS} builds per group (alternating), each run's median kept`);
  console.log(`fill: ${fillSeconds.toFixed(1)} s for ${(BIG + SMALL).toLocaleString('en')} messages`);
  console.log(`context source: getAssistantContext, signed in as the server's assistant @${me.username} (bot, token from the server), loadContext + buildPrompt as the runtime calls them`);
  console.log('');
  console.log('| group                | median ms |   min ms |   max ms | messages read | messages kept |');
  console.log('|----------------------|----------:|---------:|---------:|--------------:|--------------:|');
  console.log(row(cases[0], smallTimes));
  console.log(row(cases[1], bigTimes));
  console.log('');
  console.log(`ratio (median ${BIG.toLocaleString('en')} / median ${SMALL}): ${ratio.toFixed(3)} — target ≤ 1.2: ${ratio <= 1.2 ? 'PASS' : 'FAIL'}`);
  report([
    {
      bench: 'B8',
      measure: `assistant context build at ${BIG.toLocaleString('en-US')} vs ${SMALL} messages, ratio`,
      parley: `${ratio.toFixed(2)} (${median(bigTimes).toFixed(2)} ms)`,
      baseline: `${median(smallTimes).toFixed(2)} ms at ${SMALL}`,
      target: '≤ 1.2',
      met: ratio <= 1.2,
      value: ratio,
    },
  ]);
  process.exitCode = ratio <= 1.2 ? 0 : 1;
}

await main();
