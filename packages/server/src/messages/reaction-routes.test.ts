import { describe, expect, it } from 'vitest';
import { failure, messageId, startTestServer, type TestServer } from '../test/harness.js';
import { MAX_REACTIONS_PER_MEMBER } from './reaction-routes.js';

async function groupWithMessage(server: TestServer) {
  const ann = await server.user();
  const bob = await server.user();
  const group = await ann.client.api.createConversation({ body: { kind: 'group', title: 'Reactions', usernames: [bob.user.username] } });
  const conversationId = group.conversation.id;
  const message = await ann.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text: 'lunch?' } });
  return { ann, bob, conversationId, message };
}

async function lastSeq(server: TestServer, conversationId: string): Promise<number> {
  const row = await server.server.context.storage.reader
    .selectFrom('conversations')
    .select('last_seq')
    .where('id', '=', conversationId)
    .executeTakeFirstOrThrow();
  return row.last_seq;
}

describe('reactions', () => {
  it('adds and removes reactions, grouped by emoji in the order they arrived, seen live by the others', async () => {
    await using server = await startTestServer();
    const { ann, bob, conversationId, message } = await groupWithMessage(server);
    const annStream = await server.connect(ann.client);
    const params = (emoji: string) => ({ conversationId, messageId: message.id, emoji });

    expect((await bob.client.api.addReaction({ params: params('👍') })).reactions).toEqual([{ emoji: '👍', userIds: [bob.user.id] }]);
    expect((await ann.client.api.addReaction({ params: params('👍') })).reactions).toEqual([
      { emoji: '👍', userIds: [bob.user.id, ann.user.id] },
    ]);
    expect((await bob.client.api.addReaction({ params: params('❤️') })).reactions).toEqual([
      { emoji: '👍', userIds: [bob.user.id, ann.user.id] },
      { emoji: '❤️', userIds: [bob.user.id] },
    ]);
    const removed = await bob.client.api.removeReaction({ params: params('👍') });
    expect(removed.reactions).toEqual([
      { emoji: '👍', userIds: [ann.user.id] },
      { emoji: '❤️', userIds: [bob.user.id] },
    ]);
    // Reacting again puts bob at the end of the group.
    const readded = await bob.client.api.addReaction({ params: params('👍') });
    expect(readded.reactions).toEqual([
      { emoji: '👍', userIds: [ann.user.id, bob.user.id] },
      { emoji: '❤️', userIds: [bob.user.id] },
    ]);
    expect((await ann.client.api.listMessages({ params: { conversationId } })).messages).toEqual([readded]);

    const seq = await lastSeq(server, conversationId);
    await annStream.until((events) => events.some((event) => event.seq === seq));
    const reactionEvents = annStream.events.filter((event) => event.type === 'reaction-added' || event.type === 'reaction-removed');
    expect(reactionEvents.map((event) => [event.type, event.userId, event.emoji, event.messageId])).toEqual([
      ['reaction-added', bob.user.id, '👍', message.id],
      ['reaction-added', ann.user.id, '👍', message.id],
      ['reaction-added', bob.user.id, '❤️', message.id],
      ['reaction-removed', bob.user.id, '👍', message.id],
      ['reaction-added', bob.user.id, '👍', message.id],
    ]);

    // Each stored reaction carries the seq of the event that added it.
    const rows = await server.server.context.storage.reader
      .selectFrom('reactions')
      .select(['user_id', 'emoji', 'seq'])
      .where('message_id', '=', message.id)
      .orderBy('seq')
      .execute();
    const added = annStream.events.filter((event) => event.type === 'reaction-added');
    expect(rows).toEqual([
      { user_id: ann.user.id, emoji: '👍', seq: added[1]?.seq },
      { user_id: bob.user.id, emoji: '❤️', seq: added[2]?.seq },
      { user_id: bob.user.id, emoji: '👍', seq: added[3]?.seq },
    ]);
  });

  it('adding a reaction one already has, or removing one one has not, answers the message and appends nothing', async () => {
    await using server = await startTestServer();
    const { ann, bob, conversationId, message } = await groupWithMessage(server);
    const params = { conversationId, messageId: message.id, emoji: '🎉' };
    const first = await bob.client.api.addReaction({ params });
    const seq = await lastSeq(server, conversationId);
    expect(await bob.client.api.addReaction({ params })).toEqual(first);
    const [parallelA, parallelB] = await Promise.all([bob.client.api.addReaction({ params }), bob.client.api.addReaction({ params })]);
    expect(parallelA).toEqual(first);
    expect(parallelB).toEqual(first);
    expect(await lastSeq(server, conversationId)).toBe(seq);

    // Ann never reacted with 🎉: taking it back changes nothing, bob's stays.
    expect(await ann.client.api.removeReaction({ params })).toEqual(first);
    expect(await lastSeq(server, conversationId)).toBe(seq);

    const gone = await bob.client.api.removeReaction({ params });
    expect(gone.reactions).toEqual([]);
    expect(await bob.client.api.removeReaction({ params })).toEqual(gone);
    expect(await lastSeq(server, conversationId)).toBe(seq + 1);
  });

  it('takes emoji with modifiers, joiners and flags URL-encoded in the path, and refuses what is not an emoji', async () => {
    await using server = await startTestServer();
    const { bob, conversationId, message } = await groupWithMessage(server);
    const emoji = ['👍🏽', '👨‍👩‍👧', '🇫🇷', '❤️', '1️⃣'];
    for (const one of emoji) await bob.client.api.addReaction({ params: { conversationId, messageId: message.id, emoji: one } });
    const [stored] = (await bob.client.api.listMessages({ params: { conversationId } })).messages;
    expect(stored?.reactions.map((reaction) => reaction.emoji)).toEqual(emoji);

    const seq = await lastSeq(server, conversationId);
    for (const bad of ['abc', '1', '<b>', 'a👍', ' ', '👍👍', '🇫🇷🇩🇪', '👍'.repeat(20)]) {
      const error = await failure(bob.client.api.addReaction({ params: { conversationId, messageId: message.id, emoji: bad } }));
      expect(error, bad).toMatchObject({ code: 'INVALID_INPUT', status: 400, field: 'params.emoji' });
    }
    expect(await lastSeq(server, conversationId)).toBe(seq);
  });

  it(`limits one member to ${MAX_REACTIONS_PER_MEMBER} different emoji on one message`, async () => {
    await using server = await startTestServer();
    const { ann, bob, conversationId, message } = await groupWithMessage(server);
    const emoji = [...'😀😃😄😁😆😅😂🤣😊😇🙂🙃😉😌😍🥰😘😗😙😚😋'];
    expect(emoji.length).toBe(MAX_REACTIONS_PER_MEMBER + 1);
    const params = (one: string) => ({ conversationId, messageId: message.id, emoji: one });
    for (const one of emoji.slice(0, MAX_REACTIONS_PER_MEMBER)) await bob.client.api.addReaction({ params: params(one) });
    const seq = await lastSeq(server, conversationId);

    const error = await failure(bob.client.api.addReaction({ params: params(emoji[MAX_REACTIONS_PER_MEMBER] ?? '') }));
    expect(error).toMatchObject({ code: 'CONFLICT', field: 'params.emoji' });
    expect(await lastSeq(server, conversationId)).toBe(seq);
    // Repeating one already there is still the no-op, and others are not limited by bob's count.
    await bob.client.api.addReaction({ params: params(emoji[0] ?? '') });
    const annAnswer = await ann.client.api.addReaction({ params: params(emoji[MAX_REACTIONS_PER_MEMBER] ?? '') });
    expect(annAnswer.reactions).toHaveLength(MAX_REACTIONS_PER_MEMBER + 1);
    // Taking one back makes room again.
    await bob.client.api.removeReaction({ params: params(emoji[0] ?? '') });
    await bob.client.api.addReaction({ params: params(emoji[MAX_REACTIONS_PER_MEMBER] ?? '') });
  });

  it('refuses reactions on deleted and unknown messages, and hides the conversation from non-members', async () => {
    await using server = await startTestServer();
    const { ann, bob, conversationId, message } = await groupWithMessage(server);
    const carol = await server.user();
    await bob.client.api.addReaction({ params: { conversationId, messageId: message.id, emoji: '👍' } });
    await ann.client.api.deleteMessage({ params: { conversationId, messageId: message.id } });
    const seq = await lastSeq(server, conversationId);

    const onDeleted = await failure(bob.client.api.addReaction({ params: { conversationId, messageId: message.id, emoji: '👍' } }));
    expect(onDeleted).toMatchObject({ code: 'CONFLICT', field: 'params.messageId' });
    // The delete swept the reaction away already: taking it back is the usual no-op.
    const tombstone = await bob.client.api.removeReaction({ params: { conversationId, messageId: message.id, emoji: '👍' } });
    expect(tombstone).toMatchObject({ id: message.id, reactions: [], text: '' });

    const unknown = await failure(bob.client.api.addReaction({ params: { conversationId, messageId: 'nope-nope', emoji: '👍' } }));
    expect(unknown).toMatchObject({ code: 'NOT_FOUND', field: 'params.messageId' });
    for (const call of [
      carol.client.api.addReaction({ params: { conversationId, messageId: message.id, emoji: '👍' } }),
      carol.client.api.removeReaction({ params: { conversationId, messageId: message.id, emoji: '👍' } }),
    ]) {
      expect(await failure(call)).toMatchObject({ code: 'NOT_FOUND', field: 'params.conversationId' });
    }
    expect(await lastSeq(server, conversationId)).toBe(seq);
  });
});
