import { type ChildProcess, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { ConversationEvent } from '@parley/protocol';
import { EventStream, ParleyClient } from '@parley/sdk';
import { createPostgresDatabase } from '@parley/server/test';
import { describe, expect, it } from 'vitest';

/**
 * Three `parley` processes on one PostgreSQL database and one Redis, behind the round-robin
 * balancer of README's example (scripts/round-robin.mjs), as people would run them; one is
 * killed with -9 in the middle of the traffic ([MN4] in packages/server/src/events/SPEC.md).
 */
const root = path.resolve(import.meta.dirname, '../../..');

interface Child {
  readonly pid: number;
  output(): string;
  kill(signal: NodeJS.Signals): Promise<void>;
}

function launch(args: string[], env: Record<string, string>, ready: RegExp): Promise<{ child: Child; match: RegExpExecArray }> {
  const process_: ChildProcess = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<void>((resolve) => process_.once('exit', () => resolve()));
  const child: Child = {
    pid: process_.pid ?? 0,
    output: () => output,
    kill: (signal) => {
      if (process_.exitCode === null && process_.signalCode === null) process_.kill(signal);
      return exited;
    },
  };
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = ready.exec(output);
      if (match) resolve({ child, match });
    };
    process_.stdout?.on('data', onData);
    process_.stderr?.on('data', onData);
    process_.once('exit', (code) => reject(new Error(`exited (${code}) before it was ready:\n${output}`)));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

function messageId(): string {
  return crypto.randomBytes(12).toString('base64url');
}

describe('three nodes behind a balancer', () => {
  it('[MN4] a node killed with -9 loses nothing acknowledged: its clients reconnect to another node and resume with exactly what they missed', async () => {
    const database = await createPostgresDatabase();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-nodes-'));
    const children: Child[] = [];
    const streams: EventStream[] = [];
    try {
      const shared = {
        DATABASE_URL: database.url,
        REDIS_URL: 'redis://127.0.0.1:6379',
        PARLEY_REDIS_CHANNEL: `parley:test:${crypto.randomBytes(6).toString('hex')}`,
        PARLEY_ASSISTANT: 'off',
        PARLEY_ASSISTANT_TOKEN: crypto.randomBytes(24).toString('base64url'),
        PARLEY_DATA_DIR: dataDir,
        PARLEY_DURABILITY: 'process',
        PARLEY_FLOOD_BURST: '10000',
        PARLEY_FLOOD_PER_MINUTE: '100000',
      };
      const ports: number[] = [];
      // One after the other: the first runs the migrations.
      for (let index = 0; index < 3; index += 1) {
        const port = await freePort();
        const { child } = await launch(
          ['--conditions=parley-source', '--import', 'tsx', 'packages/parley/src/main.ts'],
          { ...shared, PORT: String(port) },
          /Parley is running at/,
        );
        children.push(child);
        ports.push(port);
      }
      const { child: balancer, match } = await launch(
        ['scripts/round-robin.mjs', '0', ...ports.map((port) => `127.0.0.1:${port}`)],
        {},
        /balancing on (\d+)/,
      );
      children.push(balancer);
      const url = `http://127.0.0.1:${match[1]}`;

      const password = 'correct horse battery staple';
      const suffix = crypto.randomBytes(3).toString('hex');
      const ann = await ParleyClient.signUp(url, { username: `ann_${suffix}`, password, displayName: 'Ann' });
      const readers = await Promise.all(
        Array.from({ length: 6 }, (_, index) => ParleyClient.signUp(url, { username: `r${index}_${suffix}`, password, displayName: `Reader ${index}` })),
      );
      const group = (await ann.client.api.createConversation({ body: { kind: 'group', title: 'Nodes', usernames: readers.map((reader) => reader.user.username) } }))
        .conversation.id;

      // Six readers, spread over the three nodes by the balancer.
      const received = readers.map(() => [] as ConversationEvent[]);
      const welcomes = readers.map(() => 0);
      for (const [index, reader] of readers.entries()) {
        const stream = new EventStream(
          reader.client,
          { event: (event) => received[index]?.push(event), welcome: () => (welcomes[index] = (welcomes[index] ?? 0) + 1) },
          { maxBackoffMs: 300 },
        );
        streams.push(stream);
        await stream.synced();
      }

      // Ann sends 120 messages, four at a time; a send that fails (its node died under it) is sent
      // again with the same id until it is acknowledged: the id makes the retry idempotent.
      const acknowledged = new Map<string, number>();
      const ids = Array.from({ length: 120 }, () => messageId());
      let nextIndex = 0;
      const sender = async () => {
        while (nextIndex < ids.length) {
          const index = nextIndex;
          nextIndex += 1;
          const id = ids[index] ?? '';
          if (index === 40) await children[0]?.kill('SIGKILL');
          for (let attempt = 0; ; attempt += 1) {
            try {
              const message = await ann.client.api.sendMessage({ params: { conversationId: group }, body: { id, text: `message ${index}` } });
              acknowledged.set(id, message.seq);
              break;
            } catch (error) {
              if (attempt > 20) throw error;
              await new Promise((resolve) => setTimeout(resolve, 50));
            }
          }
        }
      };
      await Promise.all([sender(), sender(), sender(), sender()]);
      expect(acknowledged.size).toBe(120);

      const messagesOf = (events: ConversationEvent[]) =>
        events.flatMap((event) => (event.type === 'message-created' && event.conversationId === group ? [event.message.id] : []));
      await expect
        .poll(() => received.map((events) => messagesOf(events).filter((id) => acknowledged.has(id)).length), { timeout: 20_000, interval: 100 })
        .toEqual(readers.map(() => 120));
      for (const events of received) {
        // Exactly once each, in the one order of the log.
        const mine = events.filter((event) => event.conversationId === group);
        const seqs = mine.map((event) => event.seq);
        expect(new Set(seqs).size).toBe(seqs.length);
        expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
        expect(new Set(messagesOf(events))).toEqual(new Set(acknowledged.keys()));
      }
      // The readers that were on the killed node came back through another one.
      expect(welcomes.some((count) => count > 1)).toBe(true);
    } finally {
      for (const stream of streams) stream.close();
      for (const child of children) await child.kill('SIGTERM');
      await database.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 90_000);
});
