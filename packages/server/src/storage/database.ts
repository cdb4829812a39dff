import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, type SqliteDatabase } from 'kysely';
import { type Migration, type MigrationProvider, Migrator } from 'kysely/migration';
import { createLogger, type Logger } from '../logger.js';
import { startCheckpointer } from './checkpointer.js';
import { runsDirectly } from './prepared.js';
import * as initial from './migrations/001-initial.js';
import * as assistant from './migrations/002-assistant.js';
import * as unsentUploads from './migrations/003-unsent-uploads.js';
import * as removalsAndBlockedProfiles from './migrations/004-removals-and-blocked-profiles.js';
import * as assistantBacklog from './migrations/005-assistant-backlog.js';
import * as turnNodes from './migrations/006-turn-nodes.js';
import * as apps from './migrations/007-apps.js';
import * as appCallRuns from './migrations/008-app-call-runs.js';
import * as appOAuth from './migrations/009-app-oauth.js';
import * as widgetTickets from './migrations/010-widget-tickets.js';
import * as backlogByConversation from './migrations/013-backlog-by-conversation.js';
import type { Database } from './schema.js';

/**
 * `full` survives a crash of the machine (every commit is fsynced before it is acknowledged);
 * `process` survives a crash of the process only (SQLite WAL with synchronous=NORMAL, no fsync).
 * PostgreSQL follows its own settings.
 */
export type Durability = 'full' | 'process';

export type StorageOptions = (
  | { kind: 'sqlite'; file: string; durability?: Durability }
  | { kind: 'postgres'; url: string; poolSize?: number }
) & {
  /** Where storage reports what it recovers from; by default, warnings and errors on standard error. */
  logger?: Logger;
};

export type StorageKind = 'sqlite' | 'postgres';

export interface Storage {
  readonly kind: StorageKind;
  /** For writes, which go through the write queue, and reads that must see them. */
  readonly writer: Kysely<Database>;
  /** For plain reads; on SQLite a second connection, so reads do not wait behind a write batch. */
  readonly reader: Kysely<Database>;
  /**
   * Makes every commit so far durable, off the event loop; present when commits are not durable
   * by themselves. The write queue calls it after each commit and acknowledges nothing before.
   */
  readonly sync?: () => Promise<void>;
  /**
   * Called by the write queue between two batches: a promise when storage needs a pause in the
   * writes first (on SQLite, to start its write-ahead log over off the event loop [ST12]),
   * otherwise undefined.
   */
  readonly beforeBatch?: () => Promise<unknown> | undefined;
  close(): Promise<void>;
}

const migrations: Record<string, Migration> = {
  '001-initial': initial,
  '002-assistant': assistant,
  '003-unsent-uploads': unsentUploads,
  '004-removals-and-blocked-profiles': removalsAndBlockedProfiles,
  '005-assistant-backlog': assistantBacklog,
  '006-turn-nodes': turnNodes,
  '007-apps': apps,
  '008-app-call-runs': appCallRuns,
  '009-app-oauth': appOAuth,
  '010-widget-tickets': widgetTickets,
  '013-backlog-by-conversation': backlogByConversation,
};

class StaticMigrationProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations;
  }
}

export async function migrate(db: Kysely<Database>): Promise<void> {
  const migrator = new Migrator({ db, provider: new StaticMigrationProvider() });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((result) => result.status === 'Error');
  if (error || failed) {
    throw new Error(`migration ${failed?.migrationName ?? ''} failed: ${String(error)}`);
  }
}

export async function openStorage(options: StorageOptions): Promise<Storage> {
  const logger = options.logger ?? createLogger('warn');
  if (options.kind === 'postgres') {
    // Loaded only here: a node on SQLite never needs it, and a restarted node's clients wait on its start-up.
    const { default: pg } = await import('pg');
    // Integers stay numbers: COUNT(*) and bigint come back as strings otherwise.
    pg.types.setTypeParser(20, (value) => Number.parseInt(value, 10));
    const pool = new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 10 });
    // An idle pooled connection that the server drops (a restart, an administrator) emits an error
    // on the pool; unhandled, it would crash the process. The pool discards that connection and
    // opens a new one when next needed, so logging it is all there is to do.
    pool.on('error', (error) => {
      // Not the error itself: pg hangs the whole client (its buffers, its type parsers) on it.
      const { code } = error as { code?: unknown };
      logger.warn({ error: error.message, ...(typeof code === 'string' ? { code } : {}) }, 'PostgreSQL: an idle connection was closed');
    });
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    await migrate(db);
    return {
      kind: 'postgres',
      writer: db,
      reader: db,
      close: () => db.destroy(),
    };
  }

  fs.mkdirSync(path.dirname(path.resolve(options.file)), { recursive: true });
  const durable = options.durability !== 'process';
  // The writer never fsyncs in a commit (NORMAL): with synchronous=FULL the commit's fsync of the
  // write-ahead log would stall the event loop for its whole length, every batch. With `full`
  // durability the queue has the log fsynced on the thread pool after each commit instead, and
  // acknowledges the batch only then: the same guarantee as FULL, which differs from NORMAL in
  // WAL mode by exactly that fsync. (The checkpointer's own fsyncs are on its thread.)
  const open = (readonly: boolean) => {
    const database = new BetterSqlite3(options.file, { readonly });
    database.pragma('busy_timeout = 5000');
    if (!readonly) {
      database.pragma('journal_mode = WAL');
      database.pragma('synchronous = NORMAL');
      database.pragma('foreign_keys = ON');
      // The checkpointer below keeps the log short; this is the backstop (40 MB of 4 KB pages),
      // far enough past its restarts (at 4,000) that writes at any rate reach those first.
      database.pragma(`wal_autocheckpoint = ${WRITER_CHECKPOINT_PAGES}`);
    }
    return withStatementCache(database);
  };
  const writerConnection = open(false);
  const writer = new Kysely<Database>({ dialect: new SqliteDialect({ database: writerConnection }) });
  await migrate(writer);
  const readerConnection = open(true);
  const reader = new Kysely<Database>({ dialect: new SqliteDialect({ database: readerConnection }) });
  runsDirectly({ reader, readerConnection, writer, writerConnection });
  const checkpointer = startCheckpointer({ file: options.file, synchronous: durable ? 'FULL' : 'NORMAL', logger });
  // The log exists once the writer has written (the migrations did) and stays while it is open:
  // SQLite only truncates or rewrites it in place. Closed after the connections, never before.
  // A plain descriptor and the callback API: the cheapest call on the event loop's side.
  const log = durable ? fs.openSync(`${options.file}-wal`, 'r+') : undefined;
  const sync = (fd: number) => new Promise<void>((resolve, reject) => fs.fdatasync(fd, (error) => (error ? reject(error) : resolve())));
  return {
    kind: 'sqlite',
    writer,
    reader,
    ...(log === undefined ? {} : { sync: () => sync(log) }),
    beforeBatch: () => (checkpointer.due ? checkpointer.restart() : undefined),
    close: async () => {
      await checkpointer.stop();
      await reader.destroy();
      await writer.destroy();
      if (log !== undefined) fs.closeSync(log);
    },
  };
}

const WRITER_CHECKPOINT_PAGES = 10_000;

/** Distinct SQL texts kept compiled per connection; queries with `in (...)` lists make many. */
const STATEMENT_CACHE_SIZE = 1000;

/**
 * Kysely prepares every query it runs, and better-sqlite3 compiles the SQL on each prepare: for a
 * small write that is the largest single cost. Kysely's queries have stable SQL text (values are
 * parameters), so compiled statements are kept and reused by their text.
 */
function withStatementCache(database: BetterSqlite3.Database): SqliteDatabase {
  const statements = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => database.close(),
    prepare(sql) {
      const cached = statements.get(sql);
      // A statement still being iterated (a streamed query) cannot run again until it is done.
      if (cached && !cached.busy) return cached;
      const statement = database.prepare(sql);
      if (statements.size >= STATEMENT_CACHE_SIZE) statements.clear();
      statements.set(sql, statement);
      return statement;
    },
  };
}
