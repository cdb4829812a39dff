import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { newId } from '../ids/ids.js';
import { messageId, startTestServer } from '../test/harness.js';
import { appendMessages } from './write.js';

function sourceFiles(folder: string): string[] {
  return fs.readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(folder, entry.name);
    if (entry.isDirectory()) return entry.name === 'test' ? [] : sourceFiles(file);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [file] : [];
  });
}

describe('writing messages', () => {
  it('[MW1] only messages/write.ts inserts into messages', () => {
    const source = path.resolve(import.meta.dirname, '..');
    const writers = sourceFiles(source).filter((file) => /insertInto\(\s*['"]messages['"]\s*\)/.test(fs.readFileSync(file, 'utf8')));
    expect(writers.map((file) => path.relative(source, file))).toEqual([path.join('messages', 'write.ts')]);
  });

  it('[MW1] [MW2] [MW3] appends messages in order with their events; mentions are of members only, once each', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const bob = await server.user();
    const outsider = await server.user();
    const group = (await ann.client.api.createConversation({ body: { kind: 'group', usernames: [bob.user.username] } })).conversation.id;
    await ann.client.api.sendMessage({ params: { conversationId: group }, body: { id: messageId(), text: 'first' } });
    const stream = await server.connect(bob.client);
    const { log, storage } = server.server.context;
    const ids = [newId(), newId()];

    const written = await log.write(async (write) => {
      await write.lock(group);
      const { last_seq: lastSeq } = await write.db.selectFrom('conversations').select('last_seq').where('id', '=', group).executeTakeFirstOrThrow();
      return appendMessages(write, { id: group, lastSeq }, ann.user.id, [
        { id: ids[0] ?? '', authorId: ann.user.id, text: `@${bob.user.username} and @${outsider.user.username}, @${bob.user.username}`, replyToId: null, attachments: [] },
        { id: ids[1] ?? '', authorId: bob.user.id, text: 'second', replyToId: ids[0] ?? null, attachments: [], createdAt: '2026-01-01T00:00:00.000Z' },
      ]);
    });

    expect(written.map((message) => [message.seq, message.mentions, message.replyToId, message.createdAt])).toEqual([
      [written[0]?.seq, [bob.user.id], null, expect.any(String)],
      [(written[0]?.seq ?? 0) + 1, [], ids[0], '2026-01-01T00:00:00.000Z'],
    ]);
    const { messages } = await bob.client.api.listMessages({ params: { conversationId: group }, query: {} });
    expect(messages.slice(-2)).toEqual(written);
    const ours = (events: typeof stream.events) => events.flatMap((event) => (event.type === 'message-created' && ids.includes(event.message.id) ? [event] : []));
    await stream.until((events) => ours(events).length === 2);
    expect(ours(stream.events).map((event) => [event.seq, event.message])).toEqual(written.map((message) => [message.seq, message]));
    const stored = await storage.reader.selectFrom('messages').select('id').where('conversation_id', '=', group).execute();
    expect(stored).toHaveLength(3);
  });

  it('[MW3] a stale last_seq fails the write, and nothing of it is kept', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const group = (await ann.client.api.createConversation({ body: { kind: 'group', usernames: [] } })).conversation.id;
    await ann.client.api.sendMessage({ params: { conversationId: group }, body: { id: messageId(), text: 'first' } });
    const { log, storage } = server.server.context;
    const before = await storage.reader.selectFrom('conversations').select('last_seq').where('id', '=', group).executeTakeFirstOrThrow();

    const stale = log.write(async (write) =>
      appendMessages(write, { id: group, lastSeq: before.last_seq - 1 }, ann.user.id, [{ id: newId(), authorId: ann.user.id, text: 'late', replyToId: null, attachments: [] }]),
    );
    await expect(stale).rejects.toThrow(/does not match its event|UNIQUE|unique|duplicate/);
    const after = await storage.reader.selectFrom('conversations').select('last_seq').where('id', '=', group).executeTakeFirstOrThrow();
    expect(after.last_seq).toBe(before.last_seq);
    expect(await storage.reader.selectFrom('messages').select('id').where('conversation_id', '=', group).execute()).toHaveLength(1);
  });
});
