import type { ConversationEvent } from '@parley/protocol';
import { ParleyError } from '@parley/protocol';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { EventLog } from '../events/event-log.js';
import { newId } from '../ids/ids.js';
import { type BusMessage, MemoryBus } from '../realtime/bus.js';
import { messageId, startTestServer, type TestDatabase, uniqueName } from '../test/harness.js';
import { migrate, openStorage, type Storage, type StorageOptions } from './database.js';
import type { Database } from './schema.js';
import { WriteQueue, type WriteQueueOptions, type WriteTransaction } from './write-queue.js';

/** A fresh, empty database. Its `options` open it as often as a test likes, until it is disposed. */
export interface ContractDatabase extends AsyncDisposable {
  readonly options: StorageOptions;
}

export interface StorageBackend {
  /** Names the backend in the titles, and is the database of the real servers the suite starts. */
  readonly database: TestDatabase;
  create(): Promise<ContractDatabase>;
}

const TABLES = [
  'users', 'sessions', 'blocks', 'guardian_links', 'conversations', 'members', 'messages',
  'reactions', 'attachments', 'message_attachments', 'invites', 'events', 'removals',
] as const satisfies ReadonlyArray<keyof Database>;

async function open(options: StorageOptions): Promise<Storage & AsyncDisposable> {
  const storage = await openStorage(options);
  return Object.assign(storage, { [Symbol.asyncDispose]: () => storage.close() });
}

function userRow(username = uniqueName()) {
  return {
    id: newId(),
    username,
    display_name: null,
    password_hash: 'not a hash',
    age_band: 'adult' as const,
    kind: 'human' as const,
    avatar_id: null,
    profile_complete: 1,
    group_chats_allowed: 1,
    created_at: new Date().toISOString(),
  };
}

async function insertUser(db: WriteTransaction | Storage['writer'], username?: string): Promise<string> {
  const row = userRow(username);
  await db.insertInto('users').values(row).execute();
  return row.id;
}

export async function insertConversation(storage: Storage, createdBy: string): Promise<string> {
  const now = new Date().toISOString();
  const id = newId();
  await storage.writer
    .insertInto('conversations')
    .values({
      id,
      kind: 'group',
      title: null,
      created_by: createdBy,
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
    })
    .execute();
  return id;
}

/** A queue that counts what it commits, and an event log on it with a recording bus. */
function logOn(storage: Storage, options: WriteQueueOptions = {}) {
  const commits: number[] = [];
  const queue = new WriteQueue(storage.writer, {
    backend: storage.kind,
    ...(storage.sync ? { sync: storage.sync } : {}),
    ...(storage.beforeBatch ? { beforeBatch: storage.beforeBatch } : {}),
    ...options,
    onCommit: (size, milliseconds) => {
      commits.push(size);
      options.onCommit?.(size, milliseconds);
    },
  });
  const bus = new MemoryBus();
  const log = new EventLog({ queue, reader: storage.reader, bus, backend: storage.kind });
  return { queue, bus, log, commits, committedWorks: () => commits.reduce((sum, size) => sum + size, 0) };
}

/** A marker event: `title` says which write appended it. */
function marker(actorId: string, title: string) {
  return { type: 'conversation-updated' as const, actorId, title };
}

function titleOf(event: ConversationEvent): string | null | undefined {
  return event.type === 'conversation-updated' ? event.title : undefined;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, index) => from + index);
}

async function eventSeqs(storage: Storage, conversationId: string): Promise<number[]> {
  const rows = await storage.reader.selectFrom('events').select('seq').where('conversation_id', '=', conversationId).orderBy('seq').execute();
  return rows.map((row) => row.seq);
}

async function lastSeq(storage: Storage, conversationId: string): Promise<number> {
  const row = await storage.reader.selectFrom('conversations').select('last_seq').where('id', '=', conversationId).executeTakeFirstOrThrow();
  return row.last_seq;
}

/**
 * The storage contract: what the server relies on from the database, proven on each backend.
 * The tests are numbered [ST1]–[ST11].
 */
export function storageContract(backend: StorageBackend): void {
  describe(`storage contract on ${backend.database}`, () => {
    it('[ST1] migrates a fresh database, and migrating again (twice, and on reopening) changes nothing', async () => {
      await using database = await backend.create();
      let userId: string;
      {
        await using storage = await open(database.options);
        for (const table of TABLES) {
          const row = await storage.reader.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('count')).executeTakeFirstOrThrow();
          expect(Number(row.count), table).toBe(0);
        }
        await migrate(storage.writer);
        await migrate(storage.writer);
        userId = await insertUser(storage.writer);
      }
      await using storage = await open(database.options);
      const applied = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(storage.reader);
      expect(applied.rows.map((row) => row.name)).toEqual(['001-initial', '002-assistant', '003-unsent-uploads', '004-removals-and-blocked-profiles', '005-assistant-backlog', '006-turn-nodes', '007-apps', '008-app-call-runs', '009-app-oauth', '010-widget-tickets', '013-backlog-by-conversation']);
      // The tables were not made again: what was written before survives.
      const user = await storage.reader.selectFrom('users').select('id').where('id', '=', userId).executeTakeFirst();
      expect(user?.id).toBe(userId);
    });

    it('[ST2] commits works that arrive together in one batch, and settles each only after its commit', async () => {
      await using database = await backend.create();
      await using storage = await open(database.options);
      const { queue, commits, committedWorks } = logOn(storage);
      const seenBeforeCommit: boolean[] = [];
      const settledAfter: number[] = [];
      const slowId = newId();
      const slow = queue
        .run(async (trx) => {
          await trx.insertInto('users').values({ ...userRow(), id: slowId }).execute();
          // Readers must not see a write before its commit.
          const early = await storage.reader.selectFrom('users').select('id').where('id', '=', slowId).executeTakeFirst();
          seenBeforeCommit.push(early !== undefined);
          await new Promise((resolve) => setTimeout(resolve, 50));
        })
        .then(() => settledAfter.push(committedWorks()));
      // Let the first batch start with the slow work alone; the next works queue up behind it.
      await new Promise((resolve) => setImmediate(resolve));
      const ids = range(1, 100).map(() => newId());
      const rest = ids.map((id) =>
        queue.run(async (trx) => {
          await trx.insertInto('users').values({ ...userRow(), id }).execute();
          return id;
        }).then((value) => {
          settledAfter.push(committedWorks());
          return value;
        }),
      );
      await slow;
      expect(await Promise.all(rest)).toEqual(ids);
      expect(commits).toEqual([1, 100]);
      expect(seenBeforeCommit).toEqual([false]);
      // Each promise settled once the commit that carried it had happened: 1 work, then 101.
      expect(settledAfter).toEqual([1, ...ids.map(() => 101)]);
      const stored = await storage.reader.selectFrom('users').select('id').where('id', 'in', [slowId, ...ids]).execute();
      expect(stored).toHaveLength(101);
    });

    it('[ST3] rolls back a work that throws, alone: the others in its batch commit', async () => {
      await using database = await backend.create();
      await using storage = await open(database.options);
      const { queue, commits } = logOn(storage);
      const taken = uniqueName();
      const [first, thrown, third, clash, fifth] = [uniqueName(), uniqueName(), uniqueName(), uniqueName(), uniqueName()];
      const results = await Promise.allSettled([
        queue.run((trx) => insertUser(trx, first)),
        queue.run(async (trx) => {
          await insertUser(trx, thrown);
          throw new ParleyError('FORBIDDEN', 'changed my mind');
        }),
        queue.run(async (trx) => {
          await insertUser(trx, third);
          return insertUser(trx, taken);
        }),
        // A database error (a unique violation) after a write of its own: on PostgreSQL this
        // aborts the transaction unless only the savepoint is rolled back.
        queue.run(async (trx) => {
          await insertUser(trx, clash);
          return insertUser(trx, taken);
        }),
        queue.run((trx) => insertUser(trx, fifth)),
      ]);
      expect(commits).toEqual([5]);
      expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
      expect(results[1]).toMatchObject({ status: 'rejected', reason: { code: 'FORBIDDEN' } });
      const rows = await storage.reader.selectFrom('users').select('username').orderBy('username').execute();
      expect(rows.map((row) => row.username)).toEqual([first, third, taken, fifth].sort());
    });

    it('[ST4] appends gapless sequence numbers per conversation under heavy concurrency', async () => {
      await using database = await backend.create();
      await using storage = await open(database.options);
      const { log, commits } = logOn(storage);
      const actor = await insertUser(storage.writer);
      const conversations = await Promise.all(range(1, 5).map(() => insertConversation(storage, actor)));
      const writes = range(0, 499).map(async (index) => {
        const conversationId = conversations[index % conversations.length] ?? '';
        return log.write(async (write) => {
          const first = await write.append(conversationId, marker(actor, `write ${index}`));
          // Some writes append twice: their events take consecutive numbers.
          const second = index % 7 === 0 ? await write.append(conversationId, marker(actor, `write ${index} again`)) : undefined;
          // Some fail after appending: their numbers are given back, leaving no gap.
          if (index % 10 === 3) throw new Error(`write ${index} fails`);
          return second ? [first, second] : [first];
        });
      });
      const results = await Promise.allSettled(writes);
      expect(results.filter((result) => result.status === 'rejected')).toHaveLength(50);
      expect(commits.length).toBeLessThan(500);
      expect(commits.reduce((sum, size) => sum + size, 0)).toBe(500);
      for (const pair of results.flatMap((result) => (result.status === 'fulfilled' && result.value.length === 2 ? [result.value] : []))) {
        expect(pair[1]?.seq).toBe((pair[0]?.seq ?? 0) + 1);
      }
      const failed = new Set(range(0, 499).filter((index) => index % 10 === 3).flatMap((index) => [`write ${index}`, `write ${index} again`]));
      for (const [position, conversationId] of conversations.entries()) {
        const appended = results
          .filter((_, index) => index % conversations.length === position)
          .flatMap((result) => (result.status === 'fulfilled' ? result.value : []));
        for (const event of appended) expect(event.conversationId).toBe(conversationId);
        const seqs = appended.map((event) => event.seq).sort((a, b) => a - b);
        expect(seqs).toEqual(range(1, appended.length));
        // The table agrees: the same numbers, and last_seq at the newest.
        expect(await eventSeqs(storage, conversationId)).toEqual(seqs);
        expect(await lastSeq(storage, conversationId)).toBe(appended.length);
        const stored = await log.read(conversationId, 0, 1000);
        expect(stored.filter((event) => failed.has(titleOf(event) ?? ''))).toEqual([]);
      }
    });

    it('[ST5] publishes events only after their commit, in sequence order; a failed write publishes nothing', async () => {
      await using database = await backend.create();
      await using storage = await open(database.options);
      const running = new Set<string>();
      const committed = new Set<string>();
      const { log, bus } = logOn(storage, {
        // Whatever ran in a batch is committed once onCommit is called.
        onCommit: () => {
          for (const title of running) committed.add(title);
          running.clear();
        },
      });
      const published: Array<{ event: ConversationEvent; committedWhenPublished: boolean }> = [];
      bus.subscribe((message: BusMessage) => {
        if (message.kind !== 'event') return;
        published.push({ event: message.event, committedWhenPublished: committed.has(titleOf(message.event) ?? '') });
      });
      const actor = await insertUser(storage.writer);
      const conversations = await Promise.all(range(1, 3).map(() => insertConversation(storage, actor)));
      const effects: string[] = [];
      const results = await Promise.allSettled(
        range(0, 299).map((index) =>
          log.write(async (write) => {
            const title = `write ${index}`;
            running.add(title);
            await write.append(conversations[index % 3] ?? '', marker(actor, title));
            write.afterCommit(() => effects.push(title));
            if (index % 4 === 1) throw new Error(`${title} fails`);
          }),
        ),
      );
      const succeeded = range(0, 299).filter((index) => results[index]?.status === 'fulfilled').map((index) => `write ${index}`);
      expect(succeeded).toHaveLength(225);
      expect(published.map(({ event }) => titleOf(event)).sort()).toEqual([...succeeded].sort());
      expect(published.every(({ committedWhenPublished }) => committedWhenPublished)).toBe(true);
      for (const conversationId of conversations) {
        const seqs = published.filter(({ event }) => event.conversationId === conversationId).map(({ event }) => event.seq);
        expect(seqs).toEqual(range(1, seqs.length));
      }
      expect([...effects].sort()).toEqual([...succeeded].sort());
    });

    it('[ST6] reads a conversation\'s events in pages, in order', async () => {
      await using database = await backend.create();
      await using storage = await open(database.options);
      const { log } = logOn(storage);
      const actor = await insertUser(storage.writer);
      const [mine, other] = [await insertConversation(storage, actor), await insertConversation(storage, actor)];
      const appended: ConversationEvent[] = [];
      for (const index of range(1, 25)) {
        appended.push(await log.write((write) => write.append(mine, marker(actor, `mine ${index}`))));
        if (index % 2 === 0) await log.write((write) => write.append(other, marker(actor, `other ${index}`)));
      }
      const pages: number[][] = [];
      for (let after = 0; ; ) {
        const page = await log.read(mine, after, 10);
        if (page.length === 0) break;
        pages.push(page.map((event) => event.seq));
        after = page.at(-1)?.seq ?? after;
      }
      expect(pages).toEqual([range(1, 10), range(11, 20), range(21, 25)]);
      expect(await log.read(mine, 0, 100)).toEqual(appended);
      expect((await log.read(mine, 0, 100, 5)).map((event) => event.seq)).toEqual(range(1, 5));
      expect((await log.read(mine, 7, 3, 20)).map((event) => event.seq)).toEqual([8, 9, 10]);
      expect((await log.read(other, 0, 100)).map((event) => titleOf(event))).toEqual(range(1, 12).map((index) => `other ${index * 2}`));
    });

    it('[ST7] keeps the message idempotency record in the database: a retry after a restart finds the message', async () => {
      await using server = await startTestServer({ database: backend.database });
      const ann = await server.user();
      const chat = await ann.client.api.createConversation({ body: { kind: 'assistant' } });
      const other = await ann.client.api.createConversation({ body: { kind: 'assistant' } });
      const id = messageId();
      const first = await ann.client.api.sendMessage({ params: { conversationId: chat.conversation.id }, body: { id, text: 'before the restart' } });
      await server.restart();
      const again = await ann.client.api.sendMessage({ params: { conversationId: chat.conversation.id }, body: { id, text: 'before the restart' } });
      expect(again).toEqual(first);
      await expect(
        ann.client.api.sendMessage({ params: { conversationId: other.conversation.id }, body: { id, text: 'elsewhere' } }),
      ).rejects.toMatchObject({ code: 'ID_CONFLICT', field: 'body.id' });
      const page = await ann.client.api.listMessages({ params: { conversationId: chat.conversation.id } });
      expect(page.messages.map((message) => message.id)).toEqual([id]);
      const elsewhere = await ann.client.api.listMessages({ params: { conversationId: other.conversation.id } });
      expect(elsewhere.messages).toEqual([]);
    });

    it('[ST8] keeps every acknowledged message across a restart, even one that lands while the server stops', async () => {
      await using server = await startTestServer({
        database: backend.database,
        config: { floodLimit: { burst: 1000, perMinute: 60_000 } },
      });
      const people = await Promise.all(range(1, 3).map(() => server.user()));
      const [ann, ...others] = people;
      if (!ann) throw new Error('three people');
      const group = await ann.client.api.createConversation({
        body: { kind: 'group', title: 'Durable', usernames: others.map((person) => person.user.username) },
      });
      const conversationId = group.conversation.id;
      const send = (index: number) => {
        const person = people[index % people.length] ?? ann;
        return person.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text: `message ${index}` } });
      };
      /** Settled as soon as it is answered, so a refusal is never left unhandled. */
      const attempt = (index: number) => send(index).then((message) => ({ message }), (error: unknown) => ({ error }));
      const before = await Promise.all(range(1, 60).map(send));
      // A second wave races the restart: in flight when the server starts stopping, they are
      // finished and acknowledged by it; then a third is sent while it stops and starts again,
      // and is refused or taken by the new server. Whatever was acknowledged must be there.
      const wave = range(61, 120).map(attempt);
      await Promise.race(wave);
      const restarting = server.restart();
      const late = range(121, 150).map(attempt);
      await restarting;
      const during = (await Promise.all([...wave, ...late])).flatMap((result) => ('message' in result ? [result.message] : []));
      const acknowledged = [...before, ...during];
      expect(during.length).toBeGreaterThan(0);

      const stored = [];
      for (let before: number | undefined; ; ) {
        const page = await ann.client.api.listMessages({ params: { conversationId }, query: { limit: 100, ...(before !== undefined ? { before } : {}) } });
        stored.unshift(...page.messages);
        if (page.nextBefore === null) break;
        before = page.nextBefore;
      }
      const byId = new Map(stored.map((message) => [message.id, message]));
      for (const message of acknowledged) expect(byId.get(message.id), message.text).toEqual(message);
      expect(new Set(stored.map((message) => message.seq)).size).toBe(stored.length);
      const events = await ann.client.api.listEvents({ params: { conversationId }, query: { limit: 1000 } });
      expect(events.events.map((event) => event.seq)).toEqual(range(1, events.lastSeq));
      const created = new Map(events.events.flatMap((event) => (event.type === 'message-created' ? [[event.message.id, event.seq]] : [])));
      for (const message of stored) expect(created.get(message.id)).toBe(message.seq);
    });

    it('[ST9] regression: text with U+0000 or a lone surrogate is refused with 400 naming the field, not 500 on PostgreSQL, and nothing is written', async () => {
      await using server = await startTestServer({ database: backend.database });
      const ann = await server.user();
      const group = (await ann.client.api.createConversation({ body: { kind: 'group', title: 'Text' } })).conversation.id;
      const memory = await ann.client.api.createMemory({ body: { text: 'likes tea' } });
      const conversations = `/api/conversations/${group}`;
      const calls: Array<[method: string, path: string, body: (text: string) => unknown, field: string, token?: string]> = [
        ['POST', `${conversations}/messages`, (text) => ({ id: messageId(), text }), 'body.text'],
        ['POST', '/api/conversations', (text) => ({ kind: 'group', title: text }), 'body.title'],
        ['PATCH', conversations, (text) => ({ title: text }), 'body.title'],
        ['PATCH', conversations, (text) => ({ assistant: { personality: text } }), 'body.assistant.personality'],
        ['PATCH', '/api/me', (text) => ({ displayName: text }), 'body.displayName'],
        ['POST', '/api/me/memories', (text) => ({ text }), 'body.text'],
        ['PATCH', `/api/me/memories/${memory.id}`, (text) => ({ text }), 'body.text'],
        ['PUT', '/api/me/instructions', (text) => ({ text }), 'body.text'],
        ['POST', '/api/auth/sign-up', (text) => ({ username: uniqueName(), password: `long enough ${text}` }), 'body.password'],
        ['PUT', `${conversations}/assistant/summary`, (text) => ({ text, uptoSeq: 0 }), 'body.text', server.assistant.token],
        ['POST', `${conversations}/assistant/decisions`, (text) => ({ messageId: 'nomessage', action: 'silent', reason: text }), 'body.reason', server.assistant.token],
      ];
      const state = async () => {
        const rows = await sql<Record<string, unknown>>`select
          (select count(*) from users) as users, (select count(*) from messages) as messages,
          (select count(*) from conversations) as conversations, (select count(*) from events) as events,
          (select count(*) from memories) as memories, (select count(*) from user_instructions) as instructions,
          (select count(*) from conversation_summaries) as summaries, (select count(*) from assistant_decisions) as decisions,
          (select max(updated_at) from conversations) as conversation_updated, (select max(updated_at) from memories) as memory_updated,
          (select max(display_name) from users) as display_name`.execute(server.server.context.storage.reader);
        return rows.rows[0];
      };
      const before = await state();
      for (const [method, path, body, field, token] of calls) {
        for (const text of ['a\u0000b', 'lone \ud800 high', 'lone \udc00 low', 'reversed \udc00\ud800']) {
          const response = await fetch(server.url + path, {
            method,
            headers: { authorization: `Bearer ${token ?? ann.client.token}`, 'content-type': 'application/json' },
            body: JSON.stringify(body(text)),
          });
          const answer = (await response.json()) as { error?: { code: string; field?: string } };
          expect({ status: response.status, ...answer.error }, `${method} ${path} ${JSON.stringify(text)}`).toMatchObject({
            status: 400,
            code: 'INVALID_INPUT',
            field,
          });
        }
      }
      expect(await state()).toEqual(before);
      // The same text without the bad character is stored and read back alike on both databases.
      const sent = await ann.client.api.sendMessage({ params: { conversationId: group }, body: { id: messageId(), text: 'a\u0001b \ud83d\ude00 \u200f' } });
      const page = await ann.client.api.listMessages({ params: { conversationId: group } });
      expect(page.messages.at(-1)?.text).toBe(sent.text);
      expect(sent.text).toBe('a\u0001b 😀 \u200f');
    });

    it('[ST11] regression: a talkativeness too small for PostgreSQL\'s real is stored as 0, not a 500; both databases keep 4 decimals', async () => {
      await using server = await startTestServer({ database: backend.database });
      const ann = await server.user();
      const group = (await ann.client.api.createConversation({ body: { kind: 'group', title: 'Tiny' } })).conversation.id;
      const update = (talkativeness: number) => ann.client.api.updateConversation({ params: { conversationId: group }, body: { assistant: { talkativeness } } });
      expect((await update(8.4e-323)).conversation.assistant?.talkativeness).toBe(0);
      expect((await update(0.123456)).conversation.assistant?.talkativeness).toBeCloseTo(0.1235, 6);
      const { conversation } = await ann.client.api.getConversation({ params: { conversationId: group } });
      expect(conversation.assistant?.talkativeness).toBeCloseTo(0.1235, 6);
    });

    it('[ST10] regression: a sequence number past the 32-bit columns is refused with 400 naming the field, not 500 on PostgreSQL', async () => {
      await using server = await startTestServer({ database: backend.database });
      const ann = await server.user();
      const group = (await ann.client.api.createConversation({ body: { kind: 'group', title: 'Numbers' } })).conversation.id;
      const headers = { authorization: `Bearer ${ann.client.token}`, 'content-type': 'application/json' };
      for (const [method, path, body, field] of [
        ['GET', `/api/conversations/${group}/events?after=3000000000`, undefined, 'query.after'],
        ['GET', `/api/conversations/${group}/messages?before=2147483648`, undefined, 'query.before'],
        ['POST', `/api/conversations/${group}/read`, JSON.stringify({ seq: 2 ** 32 }), 'body.seq'],
      ] as const) {
        const response = await fetch(server.url + path, { method, headers, ...(body ? { body } : {}) });
        const answer = (await response.json()) as { error?: { code: string; field?: string } };
        expect({ status: response.status, ...answer.error }, path).toMatchObject({ status: 400, code: 'INVALID_INPUT', field });
      }
      const page = await ann.client.api.listEvents({ params: { conversationId: group }, query: { after: 2_147_483_647 } });
      expect(page.events).toEqual([]);
    });
  });
}
