import type { ConversationEvent } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { say } from '../test/assistant.js';
import { type RecordingStream, startTestServer, type TestServer, type TestUser } from '../test/harness.js';
import { rawSocket } from '../test/streams.js';

/** Ann, bob (whom ann will block) and cat; a DM of ann and bob and a group of all three. */
async function world(server: TestServer) {
  const ann = await server.user();
  const bob = await server.user();
  const cat = await server.user();
  const direct = (await ann.client.api.createConversation({ body: { kind: 'direct', username: bob.user.username } })).conversation.id;
  const group = (
    await ann.client.api.createConversation({ body: { kind: 'group', title: 'Trip', usernames: [bob.user.username, cat.user.username] } })
  ).conversation.id;
  return { ann, bob, cat, direct, group };
}

function of(stream: RecordingStream, conversationId: string): ConversationEvent[] {
  return stream.events.filter((event) => event.conversationId === conversationId);
}

/** Seqs of a conversation's events as received: gapless and in order. */
function expectGapless(events: ConversationEvent[]): void {
  const seqs = events.map((event) => event.seq);
  expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, index) => (seqs[0] ?? 0) + index));
}

async function block(blocker: TestUser, blocked: TestUser, stream?: RecordingStream): Promise<void> {
  const before = stream?.blocks.length ?? 0;
  await blocker.client.api.blockUser({ params: { userId: blocked.user.id } });
  // From the moment the blocker's sockets heard of it, the hub filters [EL18].
  await stream?.until(() => stream.blocks.length > before);
}

describe('what a blocker receives from the account they blocked', () => {
  it('[EL15] typing from a blocked account in a direct conversation is not delivered; typing from others still is', async () => {
    await using server = await startTestServer();
    const { ann, bob, cat, direct, group } = await world(server);
    const annStream = await server.connect(ann.client);
    await bob.client.api.sendTyping({ params: { conversationId: direct } });
    await annStream.until(() => annStream.typing.length === 1);

    await block(ann, bob, annStream);
    await new Promise((resolve) => setTimeout(resolve, 1100)); // past the one-a-second typing limit
    await bob.client.api.sendTyping({ params: { conversationId: direct } });
    await bob.client.api.sendTyping({ params: { conversationId: group } });
    // The socket's typing frame goes the same way.
    const bobSocket = await rawSocket(server.url, bob.client.token ?? '');
    const seen = bobSocket.frames.length;
    bobSocket.send({ type: 'typing', conversationId: direct });
    bobSocket.send({ type: 'ping' });
    await bobSocket.frame((frame) => frame.type === 'pong', seen);
    expect(bobSocket.since(seen).map((frame) => frame.type)).toEqual(['pong']);
    // One bus, in order: cat's signal arriving means bob's, sent before it, would have too.
    await cat.client.api.sendTyping({ params: { conversationId: group } });
    await annStream.until(() => annStream.typing.some((event) => event.userId === cat.user.id));
    expect(annStream.typing.map((event) => event.userId)).toEqual([bob.user.id, cat.user.id]);
    expect(annStream.blocks.at(-1)).toEqual({ type: 'my-blocks-updated', blocked: [bob.user.id] });
  });

  it('[EL14] [EL15] a reaction from a blocked account in a group is withheld with its seq kept: the sequence stays gapless and resume is exact', async () => {
    await using server = await startTestServer();
    const { ann, bob, cat, group } = await world(server);
    const message = await say(cat.client, group, 'dinner at eight?');
    const annStream = await server.connect(ann.client);
    const catStream = await server.connect(cat.client);
    await block(ann, bob, annStream);

    await bob.client.api.addReaction({ params: { conversationId: group, messageId: message.id, emoji: '👎' } });
    await cat.client.api.addReaction({ params: { conversationId: group, messageId: message.id, emoji: '👍' } });
    const after = await say(cat.client, group, 'booked');
    await annStream.until((events) => events.some((event) => event.seq === after.seq && event.conversationId === group));
    const live = of(annStream, group);
    expectGapless(live);
    expect(live.map((event) => event.type)).toEqual(['event-withheld', 'reaction-added', 'message-created']);
    // The placeholder says nothing of what it stands for, not even who.
    expect(live[0]).toEqual({ type: 'event-withheld', conversationId: group, seq: live[0]?.seq, at: expect.any(String) });
    // Cat, who blocked nobody, gets bob's reaction.
    await catStream.until((events) => events.some((event) => event.seq === after.seq));
    expect(of(catStream, group).find((event) => event.seq === live[0]?.seq)).toMatchObject({ type: 'reaction-added', userId: bob.user.id });

    // Away, and back from its position: exactly the events after it, the withheld one in its place.
    const position = live.at(-1)?.seq ?? 0;
    annStream.close();
    await bob.client.api.removeReaction({ params: { conversationId: group, messageId: message.id, emoji: '👎' } });
    await cat.client.api.removeReaction({ params: { conversationId: group, messageId: message.id, emoji: '👍' } });
    const last = await say(cat.client, group, 'see you');
    const resumed = await server.connect(ann.client, { [group]: position });
    await resumed.until((events) => events.some((event) => event.seq === last.seq));
    const replayed = of(resumed, group);
    expect(replayed.map((event) => event.seq)).toEqual([position + 1, position + 2, position + 3]);
    expect(replayed.map((event) => event.type)).toEqual(['event-withheld', 'reaction-removed', 'message-created']);

    // Over HTTP the same: the log read as the socket would send it.
    const page = await ann.client.api.listEvents({ params: { conversationId: group }, query: { after: position - 3 } });
    expect(page.events.map((event) => event.type)).toEqual(['event-withheld', 'reaction-added', 'message-created', 'event-withheld', 'reaction-removed', 'message-created']);
    expect(JSON.stringify(page.events)).not.toContain(bob.user.id);
    const catPage = await cat.client.api.listEvents({ params: { conversationId: group }, query: { after: position - 3 } });
    expect(catPage.events.map((event) => event.type)).not.toContain('event-withheld');
  });

  it('[EL15] a blocked account’s read marker is withheld from the blocker, and its member entry shows nothing read', async () => {
    await using server = await startTestServer();
    const { ann, bob, cat, group } = await world(server);
    const annStream = await server.connect(ann.client);
    await block(ann, bob, annStream);
    const message = await say(cat.client, group, 'who has read this?');
    await bob.client.api.markRead({ params: { conversationId: group }, body: { seq: message.seq } });
    await cat.client.api.markRead({ params: { conversationId: group }, body: { seq: message.seq } });
    const after = await say(cat.client, group, 'ok');
    await annStream.until((events) => events.some((event) => event.seq === after.seq && event.conversationId === group));
    const live = of(annStream, group).filter((event) => event.seq > message.seq && event.seq < after.seq);
    expect(live.map((event) => event.type)).toEqual(['event-withheld', 'read-marker-updated']);
    expect(live[1]).toMatchObject({ userId: cat.user.id });
    const view = await ann.client.api.getConversation({ params: { conversationId: group } });
    const members = new Map(view.members.map((member) => [member.userId, member.lastReadSeq]));
    expect(members.get(bob.user.id)).toBe(0);
    expect(members.get(cat.user.id)).toBe(message.seq);
  });

  it('[EL15] a blocked account’s reactions are left out of the messages the blocker fetches and of others’ reaction lists', async () => {
    await using server = await startTestServer();
    const { ann, bob, cat, group } = await world(server);
    const message = await say(ann.client, group, 'plan?');
    await bob.client.api.addReaction({ params: { conversationId: group, messageId: message.id, emoji: '👍' } });
    await cat.client.api.addReaction({ params: { conversationId: group, messageId: message.id, emoji: '👍' } });
    await cat.client.api.addReaction({ params: { conversationId: group, messageId: message.id, emoji: '🎉' } });
    const annStream = await server.connect(ann.client);
    await block(ann, bob, annStream);

    const seen = await ann.client.api.listMessages({ params: { conversationId: group }, query: {} });
    expect(seen.messages.find((item) => item.id === message.id)?.reactions).toEqual([{ emoji: '👍', userIds: [cat.user.id] }, { emoji: '🎉', userIds: [cat.user.id] }]);
    const catSees = await cat.client.api.listMessages({ params: { conversationId: group }, query: {} });
    expect(catSees.messages.find((item) => item.id === message.id)?.reactions[0]).toEqual({ emoji: '👍', userIds: [bob.user.id, cat.user.id] });

    await cat.client.api.removeReaction({ params: { conversationId: group, messageId: message.id, emoji: '🎉' } });
    await annStream.until((events) => events.some((event) => event.type === 'reaction-removed'));
    expect(annStream.events.find((event) => event.type === 'reaction-removed')).toMatchObject({ reactions: [{ emoji: '👍', userIds: [cat.user.id] }] });
  });

  it('[EL16] a profile change of a blocked account is not seen: the blocker keeps the profile as it was at the block', async () => {
    await using server = await startTestServer();
    const { ann, bob, cat, group } = await world(server);
    const annStream = await server.connect(ann.client);
    const catStream = await server.connect(cat.client);
    const before = bob.user.displayName;
    await block(ann, bob, annStream);

    await bob.client.api.updateMe({ body: { displayName: 'Someone else now' } });
    const marker = await say(cat.client, group, 'after the rename');
    await annStream.until((events) => events.some((event) => event.seq === marker.seq));
    expect(of(annStream, group).map((event) => event.type)).toEqual(['event-withheld', 'message-created']);
    expect(JSON.stringify(annStream.events)).not.toContain('Someone else now');

    const bobIn = async (viewer: TestUser) =>
      (await viewer.client.api.listMembers({ params: { conversationId: group } })).members.find((member) => member.userId === bob.user.id)?.user.displayName;
    expect(await bobIn(ann)).toBe(before);
    const view = await ann.client.api.getConversation({ params: { conversationId: group } });
    expect(view.members.find((member) => member.userId === bob.user.id)?.user.displayName).toBe(before);
    expect((await ann.client.api.listBlocks()).blocked[0]?.user.displayName).toBe(before);
    // Everyone else sees the new name, live and fetched.
    await catStream.until((events) => events.some((event) => event.type === 'member-updated'));
    expect(await bobIn(cat)).toBe('Someone else now');

    // Let in again, bob's entry in member-added carries his profile of now: ann gets the one of the block.
    await cat.client.api.removeMember({ params: { conversationId: group, userId: bob.user.id } });
    await cat.client.api.addMember({ params: { conversationId: group }, body: { username: bob.user.username } });
    await annStream.until((events) => events.some((event) => event.type === 'member-added'));
    expect(annStream.events.find((event) => event.type === 'member-added')).toMatchObject({ member: { userId: bob.user.id, user: { displayName: before } } });
    await catStream.until((events) => events.some((event) => event.type === 'member-added'));
    expect(catStream.events.find((event) => event.type === 'member-added')).toMatchObject({ member: { user: { displayName: 'Someone else now' } } });
    expect(JSON.stringify(await ann.client.api.listEvents({ params: { conversationId: group }, query: {} }))).not.toContain('Someone else now');
    expect(await bobIn(ann)).toBe(before);
  });

  it('[EL17] an assistant answer triggered by a blocked account is not streamed to the blocker; the message it ends as is', async () => {
    await using server = await startTestServer();
    const { ann, bob, cat, group } = await world(server);
    const bot = server.assistant;
    const annStream = await server.connect(ann.client);
    const catStream = await server.connect(cat.client);
    await block(ann, bob, annStream);

    const trigger = await say(bob.client, group, 'what is the capital of Portugal?');
    const turnId = crypto.randomUUID();
    await bot.client.api.startTurn({ params: { conversationId: group }, body: { id: turnId, triggerMessageId: trigger.id } });
    await bot.client.api.appendTurnDelta({ params: { conversationId: group, turnId }, body: { text: 'Lisbon' } });
    // Someone connecting mid-answer gets no answer so far either [AT6].
    const late = await server.connect(ann.client);
    const ended = await bot.client.api.endTurn({ params: { conversationId: group, turnId }, body: { status: 'completed', text: 'Lisbon.' } });
    await catStream.until(() => catStream.turns.some((frame) => frame.type === 'assistant-turn-end'));
    expect(catStream.turns[0]?.type).toBe('assistant-turn-start');
    expect(catStream.turns.some((frame) => frame.type === 'assistant-text-delta')).toBe(true);
    expect(catStream.turns.at(-1)?.type).toBe('assistant-turn-end');
    expect(catStream.turns[0]).toMatchObject({ triggeredBy: bob.user.id });
    await annStream.until((events) => events.some((event) => event.type === 'message-created' && event.message.id === ended.messageId));
    await late.until((events) => events.some((event) => event.type === 'message-created' && event.message.id === ended.messageId));
    expect(annStream.turns).toEqual([]);
    expect(late.turns).toEqual([]);

    // An answer to cat streams to ann as ever.
    const other = await say(cat.client, group, 'and of Spain?');
    const second = crypto.randomUUID();
    await bot.client.api.startTurn({ params: { conversationId: group }, body: { id: second, triggerMessageId: other.id } });
    await annStream.until(() => annStream.turns.some((frame) => frame.type === 'assistant-turn-start' && frame.turnId === second));
    await bot.client.api.endTurn({ params: { conversationId: group, turnId: second }, body: { status: 'completed', text: 'Madrid.' } });
  });

  it('[EL18] unblocking restores the live view: an event to the unblocker, then reactions, typing and the current profile again', async () => {
    await using server = await startTestServer();
    const { ann, bob, cat, group } = await world(server);
    const message = await say(cat.client, group, 'hello');
    const annStream = await server.connect(ann.client);
    await block(ann, bob, annStream);
    await bob.client.api.updateMe({ body: { displayName: 'Renamed while blocked' } });

    await ann.client.api.unblockUser({ params: { userId: bob.user.id } });
    await annStream.until(() => annStream.blocks.length === 2);
    expect(annStream.blocks.at(-1)).toEqual({ type: 'my-blocks-updated', blocked: [] });
    // The client reloads on it and sees the profile as it is now.
    const members = await ann.client.api.listMembers({ params: { conversationId: group } });
    expect(members.members.find((member) => member.userId === bob.user.id)?.user.displayName).toBe('Renamed while blocked');

    await bob.client.api.addReaction({ params: { conversationId: group, messageId: message.id, emoji: '👋' } });
    await bob.client.api.sendTyping({ params: { conversationId: group } });
    await annStream.until((events) => events.some((event) => event.type === 'reaction-added'));
    expect(annStream.events.find((event) => event.type === 'reaction-added')).toMatchObject({ userId: bob.user.id, emoji: '👋' });
    await annStream.until(() => annStream.typing.some((event) => event.userId === bob.user.id));
    const seen = await ann.client.api.listMessages({ params: { conversationId: group }, query: {} });
    expect(seen.messages[0]?.reactions).toEqual([{ emoji: '👋', userIds: [bob.user.id] }]);
    // Blocking again is idempotent on the wire too: no second event for a block already there.
    await block(ann, bob, annStream);
    await ann.client.api.blockUser({ params: { userId: bob.user.id } });
    await ann.client.api.unblockUser({ params: { userId: cat.user.id } });
    await say(cat.client, group, 'sentinel');
    await annStream.until((events) => events.some((event) => event.type === 'message-created' && event.message.text === 'sentinel'));
    expect(annStream.blocks).toHaveLength(3);
  });
});
