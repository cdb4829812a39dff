import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { newId } from '../ids/ids.js';
import { createPostgresDatabase, uniqueName } from '../test/harness.js';
import { openStorage, type Storage } from './database.js';
import { onSqlite, PreparedQuery } from './prepared.js';
import { WriteQueue } from './write-queue.js';

/** One instance of each query serves both databases below, in this one process. */
const userById = new PreparedQuery((db, p: { id: string }) => db.selectFrom('users').select(['id', 'username', 'kind']).where('id', '=', p.id));
const usersNamedBy = new PreparedQuery((db, p: { kind: 'human' | 'bot'; a: string; b: string }) =>
  // A constant of the template stays a constant; the named values take their places.
  db.selectFrom('users').select('username').where('kind', '=', p.kind).where('age_band', '=', 'adult').where('username', 'in', [p.a, p.b]).orderBy('username'),
);
const insertUser = new PreparedQuery(
  (db, row: { id: string; username: string; password_hash: string; age_band: string; kind: string; created_at: string }) =>
    // The schema's unions are plain strings to the marker; the test writes valid values only.
    db.insertInto('users').values(row as never),
);

async function withStorages(run: (storage: Storage, name: string) => Promise<void>): Promise<void> {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-prepared-'));
  const database = await createPostgresDatabase();
  const sqlite = await openStorage({ kind: 'sqlite', file: path.join(directory, 'parley.sqlite'), durability: 'process' });
  const postgres = await openStorage({ kind: 'postgres', url: database.url });
  try {
    await run(sqlite, 'sqlite');
    await run(postgres, 'postgres');
  } finally {
    await sqlite.close();
    await postgres.close();
    await database.drop();
    fs.rmSync(directory, { recursive: true, force: true });
  }
}

function user() {
  return { id: newId(), username: uniqueName(), password_hash: 'not a hash', age_band: 'adult', kind: 'human', created_at: new Date().toISOString() };
}

describe('PreparedQuery', () => {
  it('compiles once per dialect and runs each time with the values given, on both databases', async () => {
    await withStorages(async (storage, name) => {
      expect(onSqlite(storage.writer)).toBe(name === 'sqlite');
      const [first, second] = [user(), user()];
      await insertUser.all(storage.writer, first);
      await insertUser.all(storage.writer, second);
      // Each call reads the row of its own value: the values are not frozen into the first compile.
      expect(await userById.first(storage.reader, { id: first.id })).toEqual({ id: first.id, username: first.username, kind: 'human' });
      expect(await userById.first(storage.reader, { id: second.id })).toEqual({ id: second.id, username: second.username, kind: 'human' });
      expect(await userById.first(storage.reader, { id: newId() })).toBeUndefined();
      // The same as the query builder gives.
      const built = await storage.reader.selectFrom('users').select(['id', 'username', 'kind']).where('id', '=', second.id).executeTakeFirst();
      expect(await userById.first(storage.reader, { id: second.id })).toEqual(built);
      // A fixed list of plain values, and a constant of the template, inside a transaction too.
      const names = await storage.writer.transaction().execute((trx) => usersNamedBy.all(trx, { kind: 'human', a: second.username, b: first.username }));
      expect(names.map((row) => row.username)).toEqual([first.username, second.username].sort());
    });
  });

  it('runs inside the write queue\'s transactions: a work that fails takes its statements with it', async () => {
    await withStorages(async (storage, name) => {
      const queue = new WriteQueue(storage.writer, { backend: name === 'sqlite' ? 'sqlite' : 'postgres' });
      const [kept, undone] = [user(), user()];
      await queue.run((trx) => insertUser.all(trx, kept));
      const failed = queue.run(async (trx) => {
        await insertUser.all(trx, undone);
        // Seen inside the work's own transaction before it fails...
        expect(await userById.first(trx, { id: undone.id })).toMatchObject({ id: undone.id });
        throw new Error('the work fails');
      });
      await expect(failed).rejects.toThrow('the work fails');
      await queue.close();
      // ...and gone with it; the other work's row stays.
      expect(await userById.first(storage.reader, { id: kept.id })).toMatchObject({ id: kept.id });
      expect(await userById.first(storage.reader, { id: undone.id })).toBeUndefined();
    });
  });

  it('refuses a value that the compiled SQL does not carry as a plain parameter', async () => {
    await withStorages(async (storage) => {
      const spliced = new PreparedQuery((db, p: { name: string }) => db.selectFrom('users').select('id').where('username', '=', `${p.name}!`));
      await expect(spliced.first(storage.reader, { name: 'x' })).rejects.toThrow(/name must be plain parameters/);
    });
  });
});
