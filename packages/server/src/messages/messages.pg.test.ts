import { applyEvent, fetchConversationState } from '@parley/sdk';
import { describe, expect, it } from 'vitest';
import { messageId, startTestServer } from '../test/harness.js';

// The other message suites run on SQLite; this one walks the same paths on PostgreSQL, where
// counts come back as bigints and concurrent writers really are concurrent.
describe('messages on PostgreSQL', () => {
  it('send (idempotent under concurrency) with an attachment, reply, edit, react, page and delete', async () => {
    await using server = await startTestServer({ database: 'postgres' });
    const ann = await server.user();
    const bob = await server.user();
    const group = await ann.client.api.createConversation({ body: { kind: 'group', usernames: [bob.user.username] } });
    const conversationId = group.conversation.id;
    const start = await fetchConversationState(bob.client, conversationId);
    const bobStream = await server.connect(bob.client, { [conversationId]: start.conversation.lastSeq });

    const file = await ann.client.api.uploadAttachment({ query: { filename: 'notes.md' }, upload: { data: Buffer.from('# notes'), contentType: 'text/markdown' } });
    const id = messageId();
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => ann.client.api.sendMessage({ params: { conversationId }, body: { id, text: 'see notes', attachmentIds: [file.id] } })),
    );
    for (const answer of answers) expect(answer).toEqual(answers[0]);
    expect(Buffer.from(await bob.client.api.getAttachment({ params: { attachmentId: file.id } })).toString()).toBe('# notes');

    const reply = await bob.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text: 'thanks', replyToId: id } });
    await bob.client.api.editMessage({ params: { conversationId, messageId: reply.id }, body: { text: `thanks @${ann.user.username}` } });
    await ann.client.api.addReaction({ params: { conversationId, messageId: reply.id, emoji: '👍' } });
    await bob.client.api.addReaction({ params: { conversationId, messageId: reply.id, emoji: '👍' } });
    await ann.client.api.removeReaction({ params: { conversationId, messageId: reply.id, emoji: '👍' } });
    await ann.client.api.removeReaction({ params: { conversationId, messageId: reply.id, emoji: '👍' } });
    await ann.client.api.deleteMessage({ params: { conversationId, messageId: id } });
    await ann.client.api.deleteMessage({ params: { conversationId, messageId: id } });

    const page = await bob.client.api.listMessages({ params: { conversationId }, query: { limit: 1 } });
    expect(page.messages).toMatchObject([{ id: reply.id, text: `thanks @${ann.user.username}`, mentions: [ann.user.id], reactions: [{ emoji: '👍', userIds: [bob.user.id] }] }]);
    const older = await bob.client.api.listMessages({ params: { conversationId }, query: { limit: 1, before: page.nextBefore ?? 0 } });
    expect(older).toMatchObject({ messages: [{ id, text: '', attachments: [] }], nextBefore: null });
    await expect(bob.client.api.getAttachment({ params: { attachmentId: file.id } })).rejects.toMatchObject({ code: 'NOT_FOUND' });

    const log = await bob.client.api.listEvents({ params: { conversationId } });
    expect(log.events.map((event) => event.type)).toEqual([
      'conversation-created',
      'message-created',
      'message-created',
      'message-edited',
      'reaction-added',
      'reaction-added',
      'reaction-removed',
      'message-deleted',
    ]);
    await bobStream.until((events) => events.some((event) => event.seq === log.lastSeq));
    expect(bobStream.events.reduce(applyEvent, start)).toEqual(await fetchConversationState(bob.client, conversationId));
  });
});
