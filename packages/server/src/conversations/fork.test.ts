import { describe, expect, it } from 'vitest';
import { newId } from '../ids/ids.js';
import { messageId, startTestServer, type TestServer, type TestUser } from '../test/harness.js';

async function send(from: TestUser, conversationId: string, text: string, extra: { replyToId?: string; attachmentIds?: string[] } = {}) {
  return from.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text, ...extra } });
}

/** An attachment row as an upload would leave it; the upload endpoint is not what is tested here. */
async function storeAttachment(server: TestServer, uploader: TestUser, filename: string): Promise<string> {
  const id = newId();
  await server.server.context.log.write(async ({ db, now }) => {
    await db
      .insertInto('attachments')
      .values({ id, uploader_id: uploader.user.id, filename, content_type: 'text/plain', size: 5, sha256: 'x', created_at: now })
      .execute();
  });
  return id;
}

describe('starting a group from a conversation', () => {
  it('copies the history with its authors into a new group and leaves the original untouched', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const bob = await server.user();
    const cat = await server.user();
    const direct = await ann.client.api.createConversation({ body: { kind: 'direct', username: bob.user.username } });
    const source = direct.conversation.id;
    const fileId = await storeAttachment(server, bob, 'notes.txt');

    const first = await send(ann, source, 'shall we plan the trip?');
    const second = await send(bob, source, `yes @${ann.user.username}, and ask @${cat.user.username}`, { replyToId: first.id, attachmentIds: [fileId] });
    const doomed = await send(bob, source, 'oops, wrong chat');
    const third = await send(ann, source, 'replying to the deleted one', { replyToId: doomed.id });
    await server.server.context.log.write(async ({ db, now }) => {
      await db.updateTable('messages').set({ deleted_at: now }).where('id', '=', doomed.id).execute();
      await db.insertInto('reactions').values({ message_id: first.id, user_id: bob.user.id, emoji: '👍', created_at: now, seq: 99 }).execute();
    });
    const originalMessages = await ann.client.api.listMessages({ params: { conversationId: source } });
    const originalEvents = await ann.client.api.listEvents({ params: { conversationId: source } });
    const catStream = await server.connect(cat.client);

    const fork = await ann.client.api.forkConversation({
      params: { conversationId: source },
      body: { title: 'Trip planning', usernames: [cat.user.username] },
    });
    const group = fork.conversation.id;
    expect(group).not.toBe(source);
    expect(fork.conversation).toMatchObject({
      kind: 'group',
      title: 'Trip planning',
      createdBy: ann.user.id,
      forkedFrom: { conversationId: source, seq: originalEvents.lastSeq },
      lastSeq: 4,
    });
    expect(fork.members.map((member) => [member.userId, member.role])).toEqual([
      [ann.user.id, 'creator'],
      [cat.user.id, 'member'],
      [server.assistant.userId, 'assistant'],
    ]);

    const { messages } = await cat.client.api.listMessages({ params: { conversationId: group } });
    expect(messages.map((message) => [message.seq, message.authorId, message.text])).toEqual([
      [2, ann.user.id, first.text],
      [3, bob.user.id, second.text],
      [4, ann.user.id, third.text],
    ]);
    const [copyOfFirst, copyOfSecond, copyOfThird] = messages;
    for (const [index, original] of [first, second, third].entries()) {
      const copy = messages[index];
      expect(copy?.id).not.toBe(original.id);
      expect(copy?.conversationId).toBe(group);
      expect(copy?.createdAt).toBe(original.createdAt);
    }
    // Replies point at the copies; a reply to a message not copied points nowhere.
    expect(copyOfSecond?.replyToId).toBe(copyOfFirst?.id);
    expect(copyOfThird?.replyToId).toBeNull();
    // Mentions are of the new group's members: ann and cat are in it, bob is not.
    expect(second.mentions).toEqual([ann.user.id]);
    expect(copyOfSecond?.mentions).toEqual([ann.user.id, cat.user.id]);
    expect(copyOfSecond?.attachments.map((attachment) => attachment.id)).toEqual([fileId]);
    expect(copyOfFirst?.reactions).toEqual([]);
    const links = await server.server.context.storage.writer
      .selectFrom('message_attachments')
      .selectAll()
      .where('attachment_id', '=', fileId)
      .orderBy('conversation_id')
      .execute();
    expect(links.map((link) => [link.conversation_id, link.message_id]).sort()).toEqual(
      [
        [source, second.id],
        [group, copyOfSecond?.id],
      ].sort(),
    );

    // Each copy has its own message-created event, after the group's creation.
    const { events } = await cat.client.api.listEvents({ params: { conversationId: group } });
    expect(events.map((event) => event.type)).toEqual(['conversation-created', 'message-created', 'message-created', 'message-created']);
    expect(events.slice(1).map((event) => (event.type === 'message-created' ? event.message : undefined))).toEqual(messages);
    // The new member's open stream received the whole group live.
    await catStream.until((received) => received.filter((event) => event.conversationId === group).length === 4);
    expect(catStream.events.filter((event) => event.conversationId === group)).toEqual(events);

    // The original never changes.
    expect(await ann.client.api.listMessages({ params: { conversationId: source } })).toEqual(originalMessages);
    expect(await bob.client.api.listEvents({ params: { conversationId: source } })).toEqual(originalEvents);
    expect((await bob.client.api.getConversation({ params: { conversationId: source } })).conversation.lastSeq).toBe(originalEvents.lastSeq);
    // Bob was not asked along: the new group is not his to see.
    await expect(bob.client.api.getConversation({ params: { conversationId: group } })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('copies a long history in order, oldest first, across chunks', async () => {
    await using server = await startTestServer({ config: { floodLimit: { burst: 10_000, perMinute: 100_000 } } });
    const ann = await server.user();
    const bob = await server.user();
    const group = await ann.client.api.createConversation({ body: { kind: 'group', title: 'Long', usernames: [bob.user.username] } });
    const source = group.conversation.id;
    const count = 450;
    for (let start = 0; start < count; start += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, count - start) }, (_, offset) => send(offset % 2 ? bob : ann, source, `message ${start + offset}`)),
      );
    }
    const before = await ann.client.api.getConversation({ params: { conversationId: source } });
    const fork = await bob.client.api.forkConversation({ params: { conversationId: source }, body: {} });
    // Without a title, a copied group keeps its name.
    expect(fork.conversation).toMatchObject({ title: 'Long', lastSeq: count + 1, forkedFrom: { seq: before.conversation.lastSeq } });
    expect(fork.members.map((member) => member.userId)).toEqual([bob.user.id, server.assistant.userId]);

    const copied: string[] = [];
    let beforeSeq: number | undefined;
    for (;;) {
      const page = await bob.client.api.listMessages({
        params: { conversationId: fork.conversation.id },
        query: { limit: 200, ...(beforeSeq !== undefined ? { before: beforeSeq } : {}) },
      });
      copied.unshift(...page.messages.map((message) => message.text));
      if (page.nextBefore === null) break;
      beforeSeq = page.nextBefore;
    }
    const originals: string[] = [];
    beforeSeq = undefined;
    for (;;) {
      const page = await ann.client.api.listMessages({
        params: { conversationId: source },
        query: { limit: 200, ...(beforeSeq !== undefined ? { before: beforeSeq } : {}) },
      });
      originals.unshift(...page.messages.map((message) => message.text));
      if (page.nextBefore === null) break;
      beforeSeq = page.nextBefore;
    }
    expect(copied).toHaveLength(count);
    expect(copied).toEqual(originals);
    const events = await bob.client.api.listEvents({ params: { conversationId: fork.conversation.id }, query: { limit: 1000 } });
    expect(events.events.map((event) => event.seq)).toEqual(Array.from({ length: count + 1 }, (_, index) => index + 1));
    expect((await ann.client.api.getConversation({ params: { conversationId: source } })).conversation.lastSeq).toBe(before.conversation.lastSeq);
  });

  it('works from an assistant chat with no messages yet', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const chat = await ann.client.api.createConversation({ body: { kind: 'assistant', title: 'Mine' } });
    const fork = await ann.client.api.forkConversation({ params: { conversationId: chat.conversation.id }, body: {} });
    expect(fork.conversation).toMatchObject({ kind: 'group', title: null, lastSeq: 1, forkedFrom: { conversationId: chat.conversation.id, seq: 1 } });
    expect(fork.lastMessage).toBeNull();
  });

  it('refuses non-members, bad ids, bad bodies and people who cannot be added, creating nothing', async () => {
    await using server = await startTestServer({ config: { groupMemberLimit: 2 } });
    const ann = await server.user();
    const bob = await server.user();
    const cat = await server.user();
    const stranger = await server.user();
    const noProfile = await server.user(undefined, { displayName: null });
    const direct = await ann.client.api.createConversation({ body: { kind: 'direct', username: bob.user.username } });
    await send(ann, direct.conversation.id, 'private');
    const params = { conversationId: direct.conversation.id };

    await expect(stranger.client.api.forkConversation({ params, body: {} })).rejects.toMatchObject({ code: 'NOT_FOUND', field: 'params.conversationId' });
    await expect(ann.client.api.forkConversation({ params: { conversationId: 'bad id' }, body: {} })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      field: 'params.conversationId',
    });
    await expect(ann.client.api.forkConversation({ params, body: { usernames: ['Not A Name!'] } })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      field: 'body.usernames.0',
    });
    await expect(ann.client.api.forkConversation({ params, body: { title: '   ' } })).rejects.toMatchObject({ code: 'INVALID_INPUT', field: 'body.title' });
    await expect(ann.client.api.forkConversation({ params, body: { usernames: 'bob' as never } })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      field: 'body.usernames',
    });
    await expect(ann.client.api.forkConversation({ params, body: { usernames: [bob.user.username, 'nobody_at_all'] } })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      field: 'body.usernames.1',
    });
    await expect(ann.client.api.forkConversation({ params, body: { usernames: [noProfile.user.username] } })).rejects.toMatchObject({
      code: 'PROFILE_INCOMPLETE',
      field: 'body.usernames.0',
    });
    await expect(ann.client.api.forkConversation({ params, body: { usernames: [bob.user.username, cat.user.username] } })).rejects.toMatchObject({
      code: 'GROUP_FULL',
    });

    for (const person of [ann, bob, cat, stranger]) {
      const { conversations } = await person.client.api.listConversations({ query: { kind: 'group' } });
      expect(conversations).toEqual([]);
    }
    const count = await server.server.context.storage.writer
      .selectFrom('messages')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .executeTakeFirstOrThrow();
    expect(Number(count.count)).toBe(1);
  });
});
