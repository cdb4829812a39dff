import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ParleyClient } from '@parley/sdk';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { EventLog } from '../events/event-log.js';
import { newId } from '../ids/ids.js';
import { MemoryBus } from '../realtime/bus.js';
import { startServer } from '../server.js';
import { createPostgresDatabase, messageId, silentLogger, uniqueName } from '../test/harness.js';
import { openStorage, type Storage } from './database.js';
import { insertConversation, storageContract } from './storage-contract.js';
import { laneIndex, WriteQueue, type WriteTransaction } from './write-queue.js';

storageContract({
  database: 'postgres',
  async create() {
    const database = await createPostgresDatabase();
    return {
      options: { kind: 'postgres', url: database.url },
      [Symbol.asyncDispose]: () => database.drop(),
    };
  },
});

async function openPostgres() {
  const database = await createPostgresDatabase();
  const storage = await openStorage({ kind: 'postgres', url: database.url });
  return Object.assign(storage, {
    url: database.url,
    async [Symbol.asyncDispose]() {
      await storage.close();
      await database.drop();
    },
  });
}

/** A row to lock and count on: a user whose display name holds a number. */
async function counter(storage: Storage): Promise<string> {
  const id = newId();
  await storage.writer
    .insertInto('users')
    .values({
      id,
      username: uniqueName('counter'),
      display_name: '0',
      password_hash: 'not a hash',
      age_band: 'adult',
      kind: 'human',
      avatar_id: null,
      profile_complete: 1,
      group_chats_allowed: 1,
      created_at: new Date().toISOString(),
    })
    .execute();
  return id;
}

async function increment(trx: WriteTransaction, id: string): Promise<void> {
  await sql`update users set display_name = (display_name::integer + 1)::text where id = ${id}`.execute(trx);
}

async function count(storage: Storage, id: string): Promise<number> {
  const row = await storage.reader.selectFrom('users').select('display_name').where('id', '=', id).executeTakeFirstOrThrow();
  return Number(row.display_name);
}

function retryableError(code: string): Error {
  return Object.assign(new Error(`simulated ${code}`), { code });
}

describe('write queue on PostgreSQL', () => {
  it('runs a batch in one transaction', async () => {
    await using storage = await openPostgres();
    const commits: number[] = [];
    const queue = new WriteQueue(storage.writer, { backend: 'postgres', onCommit: (size) => commits.push(size) });
    const transactions = await Promise.all(
      Array.from({ length: 20 }, () =>
        queue.run(async (trx) => (await sql<{ id: string }>`select txid_current()::text as id`.execute(trx)).rows[0]?.id),
      ),
    );
    expect(commits).toEqual([20]);
    expect(new Set(transactions).size).toBe(1);
  });

  it('runs the whole batch again after a deadlock with another node, so no caller sees it', async () => {
    await using storage = await openPostgres();
    // A second node: its own pool on the same database.
    const other = await openStorage({ kind: 'postgres', url: storage.url });
    try {
      const [a, b] = [await counter(storage), await counter(storage)];
      const retries: unknown[] = [];
      const runs = { first: 0, second: 0 };
      const onRetry = (_attempt: number, error: unknown) => retries.push(error);
      const queues = [new WriteQueue(storage.writer, { backend: 'postgres', onRetry }), new WriteQueue(other.writer, { backend: 'postgres', onRetry })] as const;
      // Each node's batch locks one row, waits until the other has locked the other row, then
      // wants it: a deadlock, which PostgreSQL breaks by aborting one of the two.
      let arrived = 0;
      let release: () => void = () => undefined;
      const bothLocked = new Promise<void>((resolve) => (release = resolve));
      const meet = async () => {
        arrived += 1;
        if (arrived === 2) release();
        await bothLocked;
      };
      const batch = (queue: WriteQueue, first: string, second: string, name: keyof typeof runs) => [
        queue.run(async (trx) => {
          runs[name] += 1;
          await increment(trx, first);
          await meet();
        }),
        queue.run(async (trx) => {
          await increment(trx, second);
          return name;
        }),
      ];
      const results = await Promise.all([...batch(queues[0], a, b, 'first'), ...batch(queues[1], b, a, 'second')]);
      expect(results).toEqual([undefined, 'first', undefined, 'second']);
      expect(retries.length).toBeGreaterThanOrEqual(1);
      expect(retries).toContainEqual(expect.objectContaining({ code: '40P01' }));
      expect(runs.first + runs.second).toBe(2 + retries.length);
      // Each work counted once: what the aborted attempt did was rolled back.
      expect(await count(storage, a)).toBe(2);
      expect(await count(storage, b)).toBe(2);
    } finally {
      await other.close();
    }
  });

  it('runs a batch\'s works by key, so two nodes whose batches hold the same keys in opposite orders do not deadlock', async () => {
    await using storage = await openPostgres();
    const other = await openStorage({ kind: 'postgres', url: storage.url });
    try {
      const [a, b] = [await counter(storage), await counter(storage)];
      const retries: unknown[] = [];
      const onRetry = (_attempt: number, error: unknown) => retries.push(error);
      const queues = [new WriteQueue(storage.writer, { backend: 'postgres', onRetry }), new WriteQueue(other.writer, { backend: 'postgres', onRetry })] as const;
      const order: string[] = [];
      // Each work locks its key's row and holds it a while, so the two batches overlap: in arrival
      // order, one would lock a then want b while the other holds b and wants a.
      const batch = (queue: WriteQueue, node: string, keys: ReadonlyArray<readonly [string, string]>) =>
        keys.map(([key, row]) =>
          queue.run(
            async (trx) => {
              await increment(trx, row);
              order.push(`${node}:${key}`);
              await new Promise((resolve) => setTimeout(resolve, 100));
            },
            { lane: key },
          ),
        );
      await Promise.all([
        ...batch(queues[0], 'one', [['key-a', a], ['key-b', b]]),
        ...batch(queues[1], 'two', [['key-b', b], ['key-a', a]]),
      ]);
      expect(retries).toEqual([]);
      // Both nodes ran key-a first.
      expect(order.filter((entry) => entry.endsWith('key-a'))).toHaveLength(2);
      expect(order.indexOf('one:key-a')).toBeLessThan(order.indexOf('one:key-b'));
      expect(order.indexOf('two:key-a')).toBeLessThan(order.indexOf('two:key-b'));
      expect(await count(storage, a)).toBe(2);
      expect(await count(storage, b)).toBe(2);
    } finally {
      await other.close();
    }
  });

  it('gives up after the last attempt: that work fails alone and the rest of its batch commits once', async () => {
    await using storage = await openPostgres();
    const id = await counter(storage);
    const attempts: number[] = [];
    const commits: number[] = [];
    const queue = new WriteQueue(storage.writer, {
      backend: 'postgres',
      maxAttempts: 3,
      onRetry: (attempt) => attempts.push(attempt),
      onCommit: (size) => commits.push(size),
    });
    let tries = 0;
    const results = await Promise.allSettled([
      queue.run((trx) => increment(trx, id)),
      queue.run(async (trx) => {
        tries += 1;
        await increment(trx, id);
        throw retryableError('40001');
      }),
      queue.run((trx) => increment(trx, id)),
    ]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(results[1]).toMatchObject({ reason: { code: '40001' } });
    expect(tries).toBe(3);
    expect(attempts).toEqual([1, 2]);
    expect(commits).toEqual([3]);
    expect(await count(storage, id)).toBe(2);
  });

  it('does not retry a work\'s own failure, such as a unique violation', async () => {
    await using storage = await openPostgres();
    const retries: unknown[] = [];
    const queue = new WriteQueue(storage.writer, { backend: 'postgres', onRetry: (_attempt, error) => retries.push(error) });
    const id = await counter(storage);
    let tries = 0;
    const result = queue.run(async (trx) => {
      tries += 1;
      await sql`insert into users select * from users where id = ${id}`.execute(trx);
    });
    await expect(result).rejects.toMatchObject({ code: '23505' });
    expect(tries).toBe(1);
    expect(retries).toEqual([]);
  });

  it('runs a batch without savepoints, and again with them once a work fails: that work alone is rolled back, the rest commits once', async () => {
    await using storage = await openPostgres();
    const id = await counter(storage);
    const commits: number[] = [];
    const retries: unknown[] = [];
    const queue = new WriteQueue(storage.writer, { backend: 'postgres', onCommit: (size) => commits.push(size), onRetry: (_attempt, error) => retries.push(error) });
    const runs = [0, 0, 0];
    const results = await Promise.allSettled([
      queue.run(async (trx) => {
        runs[0]! += 1;
        await increment(trx, id);
      }),
      // A database error aborts a PostgreSQL transaction that holds no savepoint.
      queue.run(async (trx) => {
        runs[1]! += 1;
        await increment(trx, id);
        await sql`insert into users select * from users where id = ${id}`.execute(trx);
      }),
      queue.run(async (trx) => {
        runs[2]! += 1;
        await increment(trx, id);
      }),
    ]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(results[1]).toMatchObject({ reason: { code: '23505' } });
    // The first attempt stopped at the failure; the second ran every work, each in its savepoint.
    expect(runs).toEqual([2, 2, 1]);
    expect(retries).toEqual([]);
    expect(commits).toEqual([3]);
    expect(await count(storage, id)).toBe(2);

    // A work alone in its batch needs no savepoint at all: it fails once, and nothing is committed.
    let alone = 0;
    await expect(
      queue.run(async (trx) => {
        alone += 1;
        await increment(trx, id);
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(alone).toBe(1);
    expect(commits).toEqual([3]);
    expect(await count(storage, id)).toBe(2);
  });

  it('runs the batches of different lanes at once, each in its own transaction', async () => {
    await using storage = await openPostgres();
    const queue = new WriteQueue(storage.writer, { backend: 'postgres', lanes: 4 });
    const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    const first = keys[0]!;
    const other = keys.find((key) => laneIndex(key, 4) !== laneIndex(first, 4))!;
    // The first lane's work waits until the other lane's work has run: one batch at a time would never get there.
    let release: () => void = () => undefined;
    const otherRan = new Promise<void>((resolve) => (release = resolve));
    const txid = async (trx: WriteTransaction) => (await sql<{ id: string }>`select txid_current()::text as id`.execute(trx)).rows[0]?.id;
    const waiting = queue.run(
      async (trx) => {
        await otherRan;
        return txid(trx);
      },
      { lane: first },
    );
    const prompt = queue.run(
      async (trx) => {
        release();
        return txid(trx);
      },
      { lane: other },
    );
    const [a, b] = await Promise.all([waiting, prompt]);
    expect(a).not.toBe(b);
  });

  it('commits many conversations\' writes in parallel lanes with gapless sequence numbers and no deadlock', async () => {
    await using storage = await openPostgres();
    const retries: unknown[] = [];
    const queue = new WriteQueue(storage.writer, { backend: 'postgres', lanes: 4, onRetry: (_attempt, error) => retries.push(error) });
    const log = new EventLog({ queue, reader: storage.reader, bus: new MemoryBus(), backend: 'postgres' });
    const actor = await counter(storage);
    const conversations = await Promise.all(Array.from({ length: 12 }, () => insertConversation(storage, actor)));
    const writes = Array.from({ length: 600 }, (_, index) => {
      const conversationId = conversations[index % conversations.length]!;
      return log.writeTo(conversationId, async (write) => {
        await write.lock(conversationId);
        return write.append(conversationId, { type: 'conversation-updated', actorId: actor, title: `write ${index}` });
      });
    });
    const events = await Promise.all(writes);
    expect(retries).toEqual([]);
    for (const conversationId of conversations) {
      const seqs = events.filter((event) => event.conversationId === conversationId).map((event) => event.seq);
      expect(seqs.sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, index) => index + 1));
      const stored = await storage.reader.selectFrom('events').select('seq').where('conversation_id', '=', conversationId).orderBy('seq').execute();
      expect(stored.map((row) => row.seq)).toEqual(seqs);
    }
  });
});

describe('two server nodes on one PostgreSQL database', () => {
  it('number concurrent messages to the same conversations gaplessly, with no duplicate and no error', async () => {
    const database = await createPostgresDatabase();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-nodes-'));
    const config = {
      port: 0,
      host: '127.0.0.1',
      dataDir,
      databaseUrl: database.url,
      floodLimit: { burst: 1000, perMinute: 60_000 },
    };
    // Each node has its own MemoryBus: they share only the database, which is what is tested.
    const nodes = [await startServer({ config, logger: silentLogger() }), await startServer({ config, logger: silentLogger() })] as const;
    try {
      const people = await Promise.all(
        Array.from({ length: 4 }, (_, index) =>
          ParleyClient.signUp((index % 2 === 0 ? nodes[0] : nodes[1]).url, {
            username: uniqueName('node'),
            password: 'correct horse battery staple',
            displayName: `Person ${index}`,
          }),
        ),
      );
      const [ann, ...others] = people;
      if (!ann) throw new Error('four people');
      const usernames = others.map((person) => person.user.username);
      const groups = await Promise.all([
        ann.client.api.createConversation({ body: { kind: 'group', title: 'One', usernames } }),
        ann.client.api.createConversation({ body: { kind: 'group', title: 'Two', usernames } }),
      ]);
      // Every person talks to both nodes with the same session.
      const clients = people.map((person) =>
        nodes.map((node) => new ParleyClient({ baseUrl: node.url, ...(person.client.token ? { token: person.client.token } : {}) })),
      );
      const sends = Array.from({ length: 160 }, (_, index) => {
        const client = clients[index % people.length]?.[Math.floor(index / people.length) % 2];
        const conversationId = groups[Math.floor(index / 8) % 2]?.conversation.id ?? '';
        if (!client) throw new Error('a client per person and node');
        return client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text: `message ${index}` } });
      });
      // The same message sent to both nodes at once: one message, the same answer on both.
      const twice = messageId();
      const conversationId = groups[0]?.conversation.id ?? '';
      const duplicates = nodes.map((_, node) =>
        clients[1]?.[node]?.api.sendMessage({ params: { conversationId }, body: { id: twice, text: 'sent to both nodes' } }),
      );
      const sent = await Promise.all(sends);
      const [once, again] = await Promise.all(duplicates);
      expect(again).toEqual(once);

      for (const group of groups) {
        const id = group.conversation.id;
        const page = await ann.client.api.listEvents({ params: { conversationId: id }, query: { limit: 1000 } });
        expect(page.events.map((event) => event.seq)).toEqual(Array.from({ length: page.lastSeq }, (_, index) => index + 1));
        const created = page.events.flatMap((event) => (event.type === 'message-created' ? [event.message] : []));
        const expected = [...sent, ...(id === conversationId && once ? [once] : [])].filter((message) => message.conversationId === id);
        expect(created).toHaveLength(expected.length);
        // Each acknowledged message holds the seq of its event.
        const byId = new Map(created.map((message) => [message.id, message.seq]));
        for (const message of expected) expect(byId.get(message.id), message.text).toBe(message.seq);
        const history = await ann.client.api.listMessages({ params: { conversationId: id }, query: { limit: 100 } });
        expect(new Set(history.messages.map((message) => message.seq)).size).toBe(history.messages.length);
      }
    } finally {
      await Promise.all(nodes.map((node) => node.close()));
      await database.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
