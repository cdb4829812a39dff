import type { ConversationEvent } from '@parley/protocol';
import { applyEvent, fetchConversationState } from '@parley/sdk';
import { describe, expect, it } from 'vitest';
import { failure, messageId, startTestServer, type TestServer } from '../test/harness.js';

async function groupOfTwo(server: TestServer) {
  const ann = await server.user();
  const bob = await server.user();
  const group = await ann.client.api.createConversation({ body: { kind: 'group', title: 'Edits', usernames: [bob.user.username] } });
  return { ann, bob, conversationId: group.conversation.id };
}

function eventsOfType<T extends ConversationEvent['type']>(events: ConversationEvent[], type: T) {
  return events.filter((event): event is Extract<ConversationEvent, { type: T }> => event.type === type);
}

describe('editing messages', () => {
  it('the author edits; other members see message-edited live with mentions resolved again', async () => {
    await using server = await startTestServer();
    const { ann, bob, conversationId } = await groupOfTwo(server);
    const sent = await ann.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text: 'see you at 5' } });
    expect(sent.mentions).toEqual([]);
    const bobStream = await server.connect(bob.client);

    const edited = await ann.client.api.editMessage({
      params: { conversationId, messageId: sent.id },
      body: { text: `see you at 6, @${bob.user.username}` },
    });
    expect(edited).toMatchObject({ id: sent.id, seq: sent.seq, text: `see you at 6, @${bob.user.username}`, mentions: [bob.user.id] });
    expect(edited.editedAt).not.toBeNull();
    expect(edited.createdAt).toBe(sent.createdAt);

    await bobStream.until((events) => events.some((event) => event.type === 'message-edited'));
    const [event] = eventsOfType(bobStream.events, 'message-edited');
    expect(event).toMatchObject({
      actorId: ann.user.id,
      messageId: sent.id,
      text: edited.text,
      mentions: [bob.user.id],
      editedAt: edited.editedAt,
      seq: sent.seq + 1,
    });

    const page = await bob.client.api.listMessages({ params: { conversationId } });
    expect(page.messages).toEqual([edited]);
  });

  it('a retried edit with the same text appends no second event', async () => {
    await using server = await startTestServer();
    const { ann, conversationId } = await groupOfTwo(server);
    const sent = await ann.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text: 'draft' } });
    const first = await ann.client.api.editMessage({ params: { conversationId, messageId: sent.id }, body: { text: 'final' } });
    const again = await ann.client.api.editMessage({ params: { conversationId, messageId: sent.id }, body: { text: 'final' } });
    expect(again).toEqual(first);
    const log = await ann.client.api.listEvents({ params: { conversationId } });
    expect(log.events.map((event) => event.type)).toEqual(['conversation-created', 'message-created', 'message-edited']);
  });

  it('only the author may edit or delete; someone else gets FORBIDDEN and nothing changes', async () => {
    await using server = await startTestServer();
    const { ann, bob, conversationId } = await groupOfTwo(server);
    const sent = await ann.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text: 'mine' } });
    const params = { conversationId, messageId: sent.id };

    const edit = await failure(bob.client.api.editMessage({ params, body: { text: 'yours now' } }));
    expect(edit).toMatchObject({ code: 'FORBIDDEN', status: 403, field: 'params.messageId' });
    const remove = await failure(bob.client.api.deleteMessage({ params }));
    expect(remove).toMatchObject({ code: 'FORBIDDEN', status: 403, field: 'params.messageId' });

    const page = await ann.client.api.listMessages({ params: { conversationId } });
    expect(page.messages).toEqual([sent]);
    expect((await ann.client.api.listEvents({ params: { conversationId } })).lastSeq).toBe(sent.seq);
  });

  it('refuses bad edits with the field named: empty, too long, unknown or foreign message', async () => {
    await using server = await startTestServer();
    const { ann, conversationId } = await groupOfTwo(server);
    const other = await ann.client.api.createConversation({ body: { kind: 'assistant' } });
    const elsewhere = await ann.client.api.sendMessage({
      params: { conversationId: other.conversation.id },
      body: { id: messageId(), text: 'in another conversation' },
    });
    const sent = await ann.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text: 'original' } });
    const params = { conversationId, messageId: sent.id };

    expect(await failure(ann.client.api.editMessage({ params, body: { text: '   ' } }))).toMatchObject({ code: 'INVALID_INPUT', field: 'body.text' });
    expect(await failure(ann.client.api.editMessage({ params, body: { text: 'x'.repeat(10_001) } }))).toMatchObject({
      code: 'INVALID_INPUT',
      field: 'body.text',
    });
    expect(await failure(ann.client.api.editMessage({ params, body: { text: 42 as unknown as string } }))).toMatchObject({
      code: 'INVALID_INPUT',
      field: 'body.text',
    });
    expect(await failure(ann.client.api.editMessage({ params: { conversationId, messageId: 'no-such-message' }, body: { text: 'x' } }))).toMatchObject({
      code: 'NOT_FOUND',
      field: 'params.messageId',
    });
    // A message id from another conversation, even one of the caller's own, is not found here.
    expect(await failure(ann.client.api.editMessage({ params: { conversationId, messageId: elsewhere.id }, body: { text: 'x' } }))).toMatchObject({
      code: 'NOT_FOUND',
      field: 'params.messageId',
    });

    const page = await ann.client.api.listMessages({ params: { conversationId } });
    expect(page.messages).toEqual([sent]);
  });
});

describe('deleting messages', () => {
  it('leaves a tombstone without content, tells the members live, and deleting again is a no-op', async () => {
    await using server = await startTestServer();
    const { ann, bob, conversationId } = await groupOfTwo(server);
    const sent = await ann.client.api.sendMessage({
      params: { conversationId },
      body: { id: messageId(), text: `secret plan, @${bob.user.username}` },
    });
    await ann.client.api.editMessage({ params: { conversationId, messageId: sent.id }, body: { text: `revised secret plan, @${bob.user.username}` } });
    const after = await ann.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text: 'still here' } });
    await bob.client.api.addReaction({ params: { conversationId, messageId: sent.id, emoji: '👀' } });
    const bobStream = await server.connect(bob.client);

    await ann.client.api.deleteMessage({ params: { conversationId, messageId: sent.id } });
    await bobStream.until((events) => events.some((event) => event.type === 'message-deleted'));
    const [event] = eventsOfType(bobStream.events, 'message-deleted');
    expect(event).toMatchObject({ actorId: ann.user.id, messageId: sent.id });

    const page = await bob.client.api.listMessages({ params: { conversationId } });
    expect(page.messages.map((message) => message.id)).toEqual([sent.id, after.id]);
    expect(page.messages[0]).toEqual({
      ...sent,
      text: '',
      mentions: [],
      reactions: [],
      attachments: [],
      editedAt: expect.any(String),
      deletedAt: event?.deletedAt,
    });

    // Nor can it be read back from the event log, where its creation and edit were recorded;
    // replaying the whole log still ends in the state the server serves.
    const log = await bob.client.api.listEvents({ params: { conversationId } });
    expect(JSON.stringify(log)).not.toMatch(/secret plan/);
    const created = log.events.find((logged) => logged.type === 'message-created' && logged.message.id === sent.id);
    expect(created).toMatchObject({ seq: sent.seq, message: { text: '', mentions: [] } });
    const fresh = await fetchConversationState(bob.client, conversationId);
    expect(log.events.reduce(applyEvent, { ...fresh, messages: [] }).messages).toEqual(fresh.messages);

    // The content is gone from the table, not just hidden by the view.
    const { reader } = server.server.context.storage;
    const row = await reader.selectFrom('messages').selectAll().where('id', '=', sent.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ text: '', mentions: '[]', deleted_at: event?.deletedAt });
    expect(await reader.selectFrom('reactions').selectAll().where('message_id', '=', sent.id).execute()).toEqual([]);

    const lastSeq = (await ann.client.api.listEvents({ params: { conversationId } })).lastSeq;
    await ann.client.api.deleteMessage({ params: { conversationId, messageId: sent.id } });
    expect((await ann.client.api.listEvents({ params: { conversationId } })).lastSeq).toBe(lastSeq);
  });

  it('a deleted message can no longer be edited (CONFLICT)', async () => {
    await using server = await startTestServer();
    const { ann, conversationId } = await groupOfTwo(server);
    const sent = await ann.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text: 'gone soon' } });
    await ann.client.api.deleteMessage({ params: { conversationId, messageId: sent.id } });
    const error = await failure(ann.client.api.editMessage({ params: { conversationId, messageId: sent.id }, body: { text: 'back' } }));
    expect(error).toMatchObject({ code: 'CONFLICT', status: 409, field: 'params.messageId' });
    const [message] = (await ann.client.api.listMessages({ params: { conversationId } })).messages;
    expect(message).toMatchObject({ text: '', editedAt: null });
  });

  it('a member who applied the live events holds the same state as one who fetches it afresh', async () => {
    await using server = await startTestServer();
    const { ann, bob, conversationId } = await groupOfTwo(server);
    const start = await fetchConversationState(bob.client, conversationId);
    const bobStream = await server.connect(bob.client, { [conversationId]: start.conversation.lastSeq });

    const first = await ann.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text: 'one' } });
    const second = await bob.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text: 'two', replyToId: first.id } });
    await ann.client.api.editMessage({ params: { conversationId, messageId: first.id }, body: { text: `one, @${bob.user.username}` } });
    await bob.client.api.addReaction({ params: { conversationId, messageId: first.id, emoji: '👍' } });
    await ann.client.api.addReaction({ params: { conversationId, messageId: second.id, emoji: '🎉' } });
    await bob.client.api.deleteMessage({ params: { conversationId, messageId: second.id } });
    const lastSeq = (await ann.client.api.listEvents({ params: { conversationId } })).lastSeq;

    await bobStream.until((events) => events.some((event) => event.seq === lastSeq));
    const live = bobStream.events.reduce(applyEvent, start);
    expect(live).toEqual(await fetchConversationState(bob.client, conversationId));
  });
});

describe('editing in a direct conversation with a block', () => {
  it('is refused like sending once either person blocked the other; deleting is still allowed', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const bob = await server.user();
    const direct = await ann.client.api.createConversation({ body: { kind: 'direct', username: bob.user.username } });
    const conversationId = direct.conversation.id;
    const sent = await ann.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text: 'hi bob' } });

    // Blocking has its own endpoint elsewhere; the row it writes is all that matters here.
    await server.server.context.log.write(async (write) => {
      await write.db.insertInto('blocks').values({ blocker_id: bob.user.id, blocked_id: ann.user.id, created_at: write.now }).execute();
    });

    const edit = await failure(ann.client.api.editMessage({ params: { conversationId, messageId: sent.id }, body: { text: 'hi again' } }));
    expect(edit).toMatchObject({ code: 'BLOCKED', status: 403 });
    const send = await failure(ann.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text: 'hello?' } }));
    expect(send).toMatchObject({ code: 'BLOCKED' });
    const react = await failure(ann.client.api.addReaction({ params: { conversationId, messageId: sent.id, emoji: '👋' } }));
    expect(react).toMatchObject({ code: 'BLOCKED' });
    expect((await ann.client.api.listMessages({ params: { conversationId } })).messages).toEqual([sent]);

    await ann.client.api.deleteMessage({ params: { conversationId, messageId: sent.id } });
    const [message] = (await ann.client.api.listMessages({ params: { conversationId } })).messages;
    expect(message?.deletedAt).not.toBeNull();
  });
});
