import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type ConversationEvent, type Me, type Member, ParleyError, type ServerFrameOf } from '@parley/protocol';
import { EventStream, ParleyClient } from '@parley/sdk';
import pg from 'pg';
import { pino } from 'pino';
import type { ServerConfig } from '../config.js';
import type { Clock } from '../events/event-log.js';
import { type Logger, silentLogger } from '../logger.js';
import { type RunningServer, startServer } from '../server.js';

export { startTcpProxy, type TcpProxy } from './tcp-proxy.js';
export const POSTGRES_ADMIN_URL = process.env.PARLEY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export type TestDatabase = 'sqlite' | 'postgres';

export { silentLogger };

/** One line a recording logger was given, as pino wrote it (`level` as its label). */
export interface LogEntry {
  level: string;
  msg: string;
  err?: { message: string; type: string };
  [key: string]: unknown;
}

/** A logger that keeps every line (debug and up) in `entries`, for a test to look at. */
export function recordingLogger(): { logger: Logger; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const logger = pino(
    { level: 'debug', formatters: { level: (label) => ({ level: label }) } },
    { write: (line: string) => void entries.push(JSON.parse(line) as LogEntry) },
  );
  return { logger, entries };
}

let defaultDatabase: TestDatabase = process.env.PARLEY_TEST_DATABASE === 'postgres' ? 'postgres' : 'sqlite';

/**
 * The database of test servers started without one named. A `name.pg.test.ts` file sets it to
 * PostgreSQL and then imports `name.test.ts`, so one suite proves the same behaviour on both.
 * (PARLEY_TEST_DATABASE=postgres does the same for a whole run.)
 */
export function setDefaultTestDatabase(database: TestDatabase): void {
  defaultDatabase = database;
}

/** A fresh, empty PostgreSQL database, dropped on dispose. */
export async function createPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `parley_test_${crypto.randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}

export interface TestUser {
  client: ParleyClient;
  user: Me;
}

/** A live stream that records everything it receives, for assertions. */
export interface RecordingStream {
  stream: EventStream;
  events: ConversationEvent[];
  typing: ServerFrameOf<'member-typing'>[];
  settings: ServerFrameOf<'my-settings-updated'>[];
  blocks: ServerFrameOf<'my-blocks-updated'>[];
  /** The frames of assistant answers being streamed: start, deltas, end. */
  turns: ServerFrameOf<'assistant-turn-start' | 'assistant-text-delta' | 'assistant-turn-end'>[];
  welcomes: ServerFrameOf<'welcome'>[];
  errors: Error[];
  /** Resolves when `predicate` holds for the recorded events (checked on every event). */
  until(predicate: (events: ConversationEvent[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): void;
}

export interface TestServer {
  readonly url: string;
  readonly server: RunningServer;
  readonly dataDir: string;
  /** The assistant's bot account, with a client holding its token: a bot member of every assistant and group conversation. */
  readonly assistant: { userId: string; token: string; client: ParleyClient };
  /** Creates an account with a completed profile and returns a client holding its token. */
  user(username?: string, options?: { ageBand?: 'adult' | 'teen'; displayName?: string | null }): Promise<TestUser>;
  /** Opens an event stream for a client and waits until it has caught up. */
  connect(client: ParleyClient, positions?: Record<string, number>): Promise<RecordingStream>;
  /** Stops the server, keeping the data, and starts it again on the same storage. */
  restart(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

let counter = 0;
export function uniqueName(prefix = 'user'): string {
  counter += 1;
  return `${prefix}_${process.pid % 10000}_${counter}`;
}

/** Starts a real server on a loopback port, on a fresh SQLite file or PostgreSQL database. */
export async function startTestServer(options: { database?: TestDatabase; config?: Partial<ServerConfig>; logger?: Logger; clock?: Clock } = {}): Promise<TestServer> {
  const logger = options.logger ?? silentLogger();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-test-'));
  const postgres = (options.database ?? defaultDatabase) === 'postgres' ? await createPostgresDatabase() : undefined;
  const config: Partial<ServerConfig> = {
    port: 0,
    host: '127.0.0.1',
    dataDir,
    databaseUrl: postgres?.url,
    durability: 'process',
    // The same name across restart(), as a node started again under the same name [AT8].
    nodeId: `test-${crypto.randomBytes(6).toString('hex')}`,
    ...options.config,
  };
  const clock = options.clock ? { clock: options.clock } : {};
  let server = await startServer({ config, logger, ...clock });
  const streams = new Set<RecordingStream>();
  const harness: TestServer = {
    get url() {
      return server.url;
    },
    get server() {
      return server;
    },
    dataDir,
    get assistant() {
      const { userId, token } = server.assistant;
      return { userId, token, client: new ParleyClient({ baseUrl: server.url, token }) };
    },
    async user(username = uniqueName(), userOptions = {}) {
      const displayName = userOptions.displayName === undefined ? `User ${username}` : userOptions.displayName;
      const { client, user } = await ParleyClient.signUp(server.url, {
        username,
        password: 'correct horse battery staple',
        ...(displayName !== null ? { displayName } : {}),
        ...(userOptions.ageBand ? { ageBand: userOptions.ageBand } : {}),
      });
      return { client, user };
    },
    async connect(client, positions) {
      const events: ConversationEvent[] = [];
      const typing: ServerFrameOf<'member-typing'>[] = [];
      const settings: ServerFrameOf<'my-settings-updated'>[] = [];
      const blocks: ServerFrameOf<'my-blocks-updated'>[] = [];
      const turns: RecordingStream['turns'] = [];
      const welcomes: ServerFrameOf<'welcome'>[] = [];
      const errors: Error[] = [];
      const waiters = new Set<() => void>();
      const stream = new EventStream(
        client,
        {
          event: (event) => {
            events.push(event);
            for (const check of [...waiters]) check();
          },
          typing: (event) => {
            typing.push(event);
            for (const check of [...waiters]) check();
          },
          settings: (event) => {
            settings.push(event);
            for (const check of [...waiters]) check();
          },
          blocks: (event) => {
            blocks.push(event);
            for (const check of [...waiters]) check();
          },
          turn: (event) => {
            turns.push(event);
            for (const check of [...waiters]) check();
          },
          welcome: (frame) => welcomes.push(frame),
          error: (error) => errors.push(error),
        },
        { ...(positions ? { positions } : {}), maxBackoffMs: 200 },
      );
      const recording: RecordingStream = {
        stream,
        events,
        typing,
        settings,
        blocks,
        turns,
        welcomes,
        errors,
        until(predicate, timeoutMs = 5000) {
          return new Promise((resolve, reject) => {
            const check = () => {
              if (predicate(events)) {
                waiters.delete(check);
                clearTimeout(timer);
                resolve();
              }
            };
            const timer = setTimeout(() => {
              waiters.delete(check);
              reject(new Error(`timed out waiting; received ${events.length} events: ${events.map((event) => `${event.type}#${event.seq}`).join(', ')}`));
            }, timeoutMs);
            waiters.add(check);
            check();
          });
        },
        close() {
          streams.delete(recording);
          stream.close();
        },
      };
      streams.add(recording);
      await stream.synced();
      return recording;
    },
    async restart() {
      await server.close();
      // Let pooled keep-alive connections see the old server's close, so no request is written onto one.
      await new Promise((resolve) => setTimeout(resolve, 20));
      server = await startServer({ config: { ...config, port: Number(new URL(server.url).port) }, logger, ...clock });
      // The old server closed the clients' idle keep-alive sockets, but a restart can run without
      // the event loop once polling for I/O: give fetch a few turns to read those closes, so the
      // caller's next request does not go out on a dead socket.
      for (let turn = 0; turn < 3; turn += 1) await new Promise((resolve) => setTimeout(resolve, 1));
    },
    async [Symbol.asyncDispose]() {
      for (const recording of [...streams]) recording.close();
      await server.close();
      await postgres?.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return harness;
}

/** A random client message id. */
export function messageId(): string {
  return crypto.randomBytes(12).toString('base64url');
}

/** The ParleyError a request fails with; fails the test if it succeeds. */
export async function failure(promise: Promise<unknown>): Promise<ParleyError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ParleyError) return error;
    throw error;
  }
  throw new Error('expected the request to fail');
}

/** The people among members: the assistant is a member of every group but takes no seat. */
export function people(members: Member[]): Member[] {
  return members.filter((member) => member.role !== 'assistant');
}
