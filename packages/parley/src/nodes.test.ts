import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ConversationEvent } from '@parley/protocol';
import { EventStream, ParleyClient } from '@parley/sdk';
import { createPostgresDatabase } from '@parley/server/test';
import { describe, expect, it } from 'vitest';
import { type Child, freePort, launch, startParley } from './test/processes.js';

/**
 * Three `parley` processes on one PostgreSQL database and one Redis, behind the round-robin
 * balancer of README's example (scripts/round-robin.mjs), as people would run them; one is
 * killed with -9 in the middle of the traffic ([MN4] in packages/server/src/events/SPEC.md).
 */
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
        children.push(await startParley(shared, port));
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
