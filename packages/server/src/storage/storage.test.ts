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

  it('with `full`, acknowledges a commit only once the log is synced off the event loop, and fails the works when the sync fails', async () => {
    await using opened = await open('full');
    const { storage } = opened;
    expect(storage.sync).toBeTypeOf('function');
    await sql`create table durability_probe (id text primary key)`.execute(storage.writer);
    let release: () => void = () => {};
    let failSync = false;
    const queue = new WriteQueue(storage.writer, {
      backend: 'sqlite',
      sync: async () => {
        await storage.sync?.();
        await new Promise<void>((resolve) => (release = resolve));
        if (failSync) throw new Error('disk gone');
      },
    });
    let acknowledged = false;
    const write = queue.run(probe('durable_1')).then(() => (acknowledged = true));
    await expect.poll(() => committed(storage, 'durable_1')).toBe(true);
    // Committed (readers see it), not yet acknowledged: the sync has not finished.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(acknowledged).toBe(false);
    release();
    await write;
    expect(acknowledged).toBe(true);

    failSync = true;
    const failing = queue.run(probe('durable_2'));
    await expect.poll(() => committed(storage, 'durable_2')).toBe(true);
    release();
    await expect(failing).rejects.toThrow('disk gone');
    await queue.close();
  });

  it('with `process`, commits need no sync', async () => {
    await using opened = await open('process');
    expect(opened.storage.sync).toBeUndefined();
  });
});
