import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { openStorage, type Storage } from './database.js';
import { storageContract } from './storage-contract.js';
import { type WriteTransaction, WriteQueue } from './write-queue.js';

storageContract({
  database: 'sqlite',
  async create() {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-storage-'));
    return {
      // The durable setting: each commit is fsynced, as a production server runs.
      options: { kind: 'sqlite', file: path.join(directory, 'parley.sqlite'), durability: 'full' },
      async [Symbol.asyncDispose]() {
        fs.rmSync(directory, { recursive: true, force: true });
      },
    };
  },
});

describe('SQLite durability', () => {
  const open = async (durability: 'full' | 'process') => {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-durability-'));
    const storage = await openStorage({ kind: 'sqlite', file: path.join(directory, 'parley.sqlite'), durability });
    return {
      storage,
      async [Symbol.asyncDispose]() {
        await storage.close();
        fs.rmSync(directory, { recursive: true, force: true });
      },
    };
  };
  const probe = (id: string) => (trx: WriteTransaction) => sql`insert into durability_probe (id) values (${id})`.execute(trx);
  const committed = async (storage: Storage, id: string) =>
    (await sql<{ id: string }>`select id from durability_probe where id = ${id}`.execute(storage.reader)).rows.length === 1;

  it('with `full`, acknowledges a commit only once the log is synced off the event loop, in order, and fails the works when the sync fails', async () => {
    await using opened = await open('full');
    const { storage } = opened;
    expect(storage.sync).toBeTypeOf('function');
    await sql`create table durability_probe (id text primary key)`.execute(storage.writer);
    // Each sync really syncs, then waits to be released by the test.
    const held: Array<(failure?: Error) => void> = [];
    const queue = new WriteQueue(storage.writer, {
      backend: 'sqlite',
      sync: async () => {
        await storage.sync?.();
        const failure = await new Promise<Error | undefined>((resolve) => held.push(resolve));
        if (failure) throw failure;
      },
    });
    const acknowledged: string[] = [];
    const write = (id: string) => queue.run(probe(id)).then(() => void acknowledged.push(id));

    const first = write('durable_1');
    await expect.poll(() => committed(storage, 'durable_1')).toBe(true);
    await expect.poll(() => held.length).toBe(1);
    // The next batch commits while the first waits for its sync: the fsync is not on its path.
    const second = write('durable_2');
    await expect.poll(() => committed(storage, 'durable_2')).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(acknowledged).toEqual([]);
    // The sync in flight began before the second commit: it acknowledges the first only.
    held.shift()?.();
    await first;
    expect(acknowledged).toEqual(['durable_1']);
    await expect.poll(() => held.length).toBe(1);
    held.shift()?.();
    await second;
    expect(acknowledged).toEqual(['durable_1', 'durable_2']);

    const failing = queue.run(probe('durable_3'));
    await expect.poll(() => held.length).toBe(1);
    held.shift()?.(new Error('disk gone'));
    await expect(failing).rejects.toThrow('disk gone');
    await queue.close();
  });

  it('acknowledges a write that need not be durable without a sync, but never before the writes queued ahead of it', async () => {
    await using opened = await open('full');
    const { storage } = opened;
    await sql`create table durability_probe (id text primary key)`.execute(storage.writer);
    const held: Array<() => void> = [];
    let syncs = 0;
    const queue = new WriteQueue(storage.writer, {
      backend: 'sqlite',
      sync: async () => {
        syncs += 1;
        await storage.sync?.();
        await new Promise<void>((resolve) => held.push(resolve));
      },
    });
    const acknowledged: string[] = [];
    const write = (id: string, durable: boolean) => queue.run(probe(id), { durable }).then(() => void acknowledged.push(id));

    await write('snapshot_1', false);
    expect(syncs).toBe(0);
    const durable = write('message_1', true);
    await expect.poll(() => held.length).toBe(1);
    const snapshot = write('snapshot_2', false);
    await expect.poll(() => committed(storage, 'snapshot_2')).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(acknowledged).toEqual(['snapshot_1']);
    held.shift()?.();
    await Promise.all([durable, snapshot]);
    expect(acknowledged).toEqual(['snapshot_1', 'message_1', 'snapshot_2']);
    expect(syncs).toBe(1);
    await queue.close();
  });

  it('with `process`, commits need no sync', async () => {
    await using opened = await open('process');
    expect(opened.storage.sync).toBeUndefined();
  });
});

describe('SQLite write-ahead log', () => {
  /** The log header's checkpoint sequence number (bytes 12–15): each start over increments it. */
  const restarts = (file: string) => {
    const header = Buffer.alloc(4);
    const fd = fs.openSync(`${file}-wal`, 'r');
    try {
      fs.readSync(fd, header, 0, 4, 12);
    } finally {
      fs.closeSync(fd);
    }
    return header.readUInt32BE(0);
  };

  it('[ST12] under writes that never pause, the log is started over off the event loop and stays bounded; what was acknowledged survives a reopen', async () => {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-wal-'));
    const file = path.join(directory, 'parley.sqlite');
    try {
      const storage = await openStorage({ kind: 'sqlite', file, durability: 'full' });
      await sql`create table wal_probe (id integer primary key, body text not null)`.execute(storage.writer);
      // About 8 pages a write, with a write always queued.
      const body = 'x'.repeat(30_000);
      let written = 0;
      const writeUpTo = async (queue: WriteQueue, total: number) => {
        const writer = async () => {
          while (written < total) {
            written += 1;
            const id = written;
            await queue.run((trx) => sql`insert into wal_probe (id, body) values (${id}, ${body})`.execute(trx));
          }
        };
        await Promise.all([writer(), writer(), writer(), writer()]);
      };
      // Without the pauses the queue grants, the writer never starts the log over itself (it
      // would, on the event loop, with a sync of the new header), whatever the checkpointer copied.
      const plain = new WriteQueue(storage.writer, { backend: 'sqlite', ...(storage.sync ? { sync: storage.sync } : {}) });
      const first = restarts(file);
      await writeUpTo(plain, 250);
      expect(restarts(file)).toBe(first);
      await plain.close();
      const queue = new WriteQueue(storage.writer, {
        backend: 'sqlite',
        ...(storage.sync ? { sync: storage.sync } : {}),
        ...(storage.beforeBatch ? { beforeBatch: storage.beforeBatch } : {}),
      });
      const before = restarts(file);
      // Past 4,000 frames more than twice over.
      await writeUpTo(queue, 1700);
      // The writer's own checkpoint (at 10,000 frames, 40 MB) would have run on the event loop;
      // the log was started over before that, by the checkpointer, more than once.
      expect(restarts(file) - before).toBeGreaterThanOrEqual(2);
      expect(fs.statSync(`${file}-wal`).size).toBeLessThan(10_000 * 4096);
      await queue.close();
      await storage.close();
      const reopened = await openStorage({ kind: 'sqlite', file, durability: 'full' });
      const count = await sql<{ count: number }>`select count(*) as count from wal_probe`.execute(reopened.reader);
      expect(count.rows[0]?.count).toBe(1700);
      await reopened.close();
    } finally {
      fs.rmSync(directory, { recursive: true, force: true });
    }
  });
});
