import type { ConversationEvent } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { messageId, people, type RecordingStream, startTestServer, type TestServer, type TestUser } from '../test/harness.js';

/** Blocking goes straight to storage: these tests are about membership, not the blocking endpoints. */
async function block(server: TestServer, blocker: TestUser, blocked: TestUser): Promise<void> {
  await server.server.context.log.write(async ({ db, now }) => {
    await db.insertInto('blocks').values({ blocker_id: blocker.user.id, blocked_id: blocked.user.id, created_at: now }).execute();
  });
}

function eventsOf(stream: RecordingStream, conversationId: string): ConversationEvent[] {
  return stream.events.filter((event) => event.conversationId === conversationId);
}

async function send(from: TestUser, conversationId: string, text: string) {
  return from.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text } });
}

/** A group of ann (creator), bob and cat. */
async function threePeople(server: TestServer) {
  const ann = await server.user();
  const bob = await server.user();
  const cat = await server.user();
  const view = await ann.client.api.createConversation({
    body: { kind: 'group', title: 'Trip', usernames: [bob.user.username, cat.user.username] },
  });
  return { ann, bob, cat, group: view.conversation.id };
}

describe('adding members', () => {
  it('adds a person by username; every member sees member-added live, and the newcomer’s open stream starts there', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const bob = await server.user();
    const cat = await server.user();
    const { conversation } = await ann.client.api.createConversation({ body: { kind: 'group', usernames: [bob.user.username] } });
    const bobStream = await server.connect(bob.client);
    const catStream = await server.connect(cat.client);

    const { members } = await ann.client.api.addMember({ params: { conversationId: conversation.id }, body: { username: cat.user.username } });
    expect(members.map((member) => member.userId)).toEqual([ann.user.id, bob.user.id, cat.user.id, server.assistant.userId]);
    expect(members.find((member) => member.userId === cat.user.id)).toMatchObject({ role: 'member', lastReadSeq: 0 });

    await bobStream.until((events) => events.some((event) => event.type === 'member-added'));
    expect(eventsOf(bobStream, conversation.id).at(-1)).toMatchObject({
      type: 'member-added',
      actorId: ann.user.id,
      via: 'username',
      member: { userId: cat.user.id, user: { username: cat.user.username } },
    });
    await catStream.until((events) => events.some((event) => event.type === 'member-added'));

    const sent = await send(bob, conversation.id, 'welcome cat');
    await catStream.until((events) => events.some((event) => event.type === 'message-created'));
    expect(eventsOf(catStream, conversation.id).map((event) => event.type)).toEqual(['member-added', 'message-created']);
    expect(eventsOf(catStream, conversation.id)[1]).toMatchObject({ seq: sent.seq, message: { text: 'welcome cat' } });

    const listed = await cat.client.api.listMembers({ params: { conversationId: conversation.id } });
    expect(listed.members.map((member) => member.userId)).toEqual([ann.user.id, bob.user.id, cat.user.id, server.assistant.userId]);
  });

  it('refuses someone already in, someone unknown, someone without a profile, with group chats off, or who blocked the adder', async () => {
    await using server = await startTestServer();
    const { ann, bob, group } = await threePeople(server);
    const noProfile = await server.user(undefined, { displayName: null });
    const teen = await server.user(undefined, { ageBand: 'teen' });
    const blocker = await server.user();
    await server.server.context.log.write(async ({ db }) => {
      await db.updateTable('users').set({ group_chats_allowed: 0 }).where('id', '=', teen.user.id).execute();
    });
    await block(server, blocker, bob);
    const params = { conversationId: group };
    const before = await ann.client.api.getConversation({ params });

    await expect(bob.client.api.addMember({ params, body: { username: ann.user.username } })).rejects.toMatchObject({
      code: 'ALREADY_MEMBER',
      field: 'body.username',
    });
    await expect(bob.client.api.addMember({ params, body: { username: 'nobody_here' } })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      field: 'body.username',
    });
    await expect(bob.client.api.addMember({ params, body: { username: noProfile.user.username } })).rejects.toMatchObject({
      code: 'PROFILE_INCOMPLETE',
      field: 'body.username',
    });
    await expect(bob.client.api.addMember({ params, body: { username: teen.user.username } })).rejects.toMatchObject({
      code: 'GROUP_CHATS_DISABLED',
      field: 'body.username',
    });
    await expect(bob.client.api.addMember({ params, body: { username: blocker.user.username } })).rejects.toMatchObject({
      code: 'BLOCKED',
      field: 'body.username',
    });
    // The blocker did not block ann: she may add them.
    await ann.client.api.addMember({ params, body: { username: blocker.user.username } });

    const after = await ann.client.api.getConversation({ params });
    expect(after.members.length).toBe(before.members.length + 1);
    expect(after.conversation.lastSeq).toBe(before.conversation.lastSeq + 1);
  });

  it('refuses the person past the group limit with GROUP_FULL, and writes nothing', async () => {
    await using server = await startTestServer({ config: { groupMemberLimit: 3 } });
    const { ann, group } = await threePeople(server);
    const dan = await server.user();
    await expect(ann.client.api.addMember({ params: { conversationId: group }, body: { username: dan.user.username } })).rejects.toMatchObject({
      code: 'GROUP_FULL',
    });
    const view = await ann.client.api.getConversation({ params: { conversationId: group } });
    // Three people fill it; the assistant is a member too but takes no seat.
    expect(people(view.members)).toHaveLength(3);
    expect(view.members.filter((member) => member.role === 'assistant').map((member) => member.userId)).toEqual([server.assistant.userId]);
    expect(view.conversation.memberLimit).toBe(3);
    expect(view.conversation.lastSeq).toBe(1);
  });

  it('adds only to groups', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const bob = await server.user();
    const cat = await server.user();
    const direct = await ann.client.api.createConversation({ body: { kind: 'direct', username: bob.user.username } });
    await expect(
      ann.client.api.addMember({ params: { conversationId: direct.conversation.id }, body: { username: cat.user.username } }),
    ).rejects.toMatchObject({ code: 'FORBIDDEN', field: 'params.conversationId' });
  });
});

describe('removing members', () => {
  it('any member removes another; all see member-removed live; the removed member’s open stream gets it and then nothing more', async () => {
    await using server = await startTestServer();
    const { ann, bob, cat, group } = await threePeople(server);
    // A second conversation with cat shows her stream is still alive after the removal.
    const direct = await ann.client.api.createConversation({ body: { kind: 'direct', username: cat.user.username } });
    const annStream = await server.connect(ann.client);
    const catStream = await server.connect(cat.client);
    await send(ann, group, 'before');
    await catStream.until((events) => events.some((event) => event.type === 'message-created'));

    await bob.client.api.removeMember({ params: { conversationId: group, userId: cat.user.id } });
    await annStream.until((events) => events.some((event) => event.type === 'member-removed'));
    await catStream.until((events) => events.some((event) => event.type === 'member-removed'));
    const removed = eventsOf(catStream, group).at(-1);
    expect(removed).toMatchObject({ type: 'member-removed', actorId: bob.user.id, userId: cat.user.id });
    expect(eventsOf(annStream, group).at(-1)).toEqual(removed);

    // More happens in the group: messages and typing. Cat's stream must see none of it.
    await send(ann, group, 'after 1');
    await ann.client.api.sendTyping({ params: { conversationId: group } });
    await send(bob, group, 'after 2');
    await send(ann, direct.conversation.id, 'still here?');
    await catStream.until((events) => events.some((event) => event.conversationId === direct.conversation.id && event.type === 'message-created'));
    await annStream.until(() => eventsOf(annStream, group).filter((event) => event.type === 'message-created').length === 3);
    expect(eventsOf(catStream, group).at(-1)).toEqual(removed);
    expect(catStream.typing.filter((event) => event.conversationId === group)).toEqual([]);

    // And the conversation is gone for her over HTTP.
    const params = { conversationId: group };
    await expect(cat.client.api.listMessages({ params })).rejects.toMatchObject({ code: 'NOT_FOUND', field: 'params.conversationId' });
    await expect(cat.client.api.listEvents({ params })).rejects.toMatchObject({ code: 'NOT_FOUND', field: 'params.conversationId' });
    await expect(cat.client.api.getConversation({ params })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(send(cat, group, 'let me in')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const listed = await cat.client.api.listConversations();
    expect(listed.conversations.map((view) => view.conversation.id)).toEqual([direct.conversation.id]);

    // On reconnect with the old position, the welcome says the conversation is revoked.
    const reconnected = await server.connect(cat.client, { [group]: removed?.seq ?? 0, [direct.conversation.id]: 0 });
    expect(reconnected.welcomes[0]?.revoked).toEqual([group]);
    expect(reconnected.welcomes[0]?.conversations.map((entry) => entry.conversationId)).toEqual([direct.conversation.id]);
    expect(eventsOf(reconnected, group)).toEqual([]);
  });

  it('the creator cannot be removed, by anyone', async () => {
    await using server = await startTestServer();
    const { ann, bob, cat, group } = await threePeople(server);
    for (const remover of [bob, cat]) {
      await expect(remover.client.api.removeMember({ params: { conversationId: group, userId: ann.user.id } })).rejects.toMatchObject({
        code: 'CREATOR_CANNOT_BE_REMOVED',
        field: 'params.userId',
      });
    }
    const view = await ann.client.api.getConversation({ params: { conversationId: group } });
    expect(view.members.map((member) => member.userId)).toContain(ann.user.id);
    expect(view.conversation.lastSeq).toBe(1);
  });

  it('the creator stays protected after leaving and coming back through an invite', async () => {
    await using server = await startTestServer();
    const { ann, bob, group } = await threePeople(server);
    const invite = await bob.client.api.createInvite({ params: { conversationId: group }, body: {} });
    await ann.client.api.leaveConversation({ params: { conversationId: group } });
    await ann.client.api.joinInvite({ params: { token: invite.token ?? '' }, body: {} });
    await expect(bob.client.api.removeMember({ params: { conversationId: group, userId: ann.user.id } })).rejects.toMatchObject({
      code: 'CREATOR_CANNOT_BE_REMOVED',
    });
  });

  it('removing yourself is refused (leave instead); removing a non-member is NOT_FOUND', async () => {
    await using server = await startTestServer();
    const { bob, group } = await threePeople(server);
    const stranger = await server.user();
    await expect(bob.client.api.removeMember({ params: { conversationId: group, userId: bob.user.id } })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      field: 'params.userId',
    });
    await expect(bob.client.api.removeMember({ params: { conversationId: group, userId: stranger.user.id } })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      field: 'params.userId',
    });
    const view = await bob.client.api.getConversation({ params: { conversationId: group } });
    expect(people(view.members)).toHaveLength(3);
    expect(view.conversation.lastSeq).toBe(1);
  });

  it('the invite links a removed member made stop working', async () => {
    await using server = await startTestServer();
    const { ann, cat, group } = await threePeople(server);
    const invite = await cat.client.api.createInvite({ params: { conversationId: group }, body: {} });
    await ann.client.api.removeMember({ params: { conversationId: group, userId: cat.user.id } });
    await expect(cat.client.api.joinInvite({ params: { token: invite.token ?? '' }, body: {} })).rejects.toMatchObject({
      code: 'INVITE_EXPIRED',
    });
    const { invites } = await ann.client.api.listInvites({ params: { conversationId: group } });
    expect(invites[0]?.revokedAt).not.toBeNull();
  });
});

describe('leaving', () => {
  it('anyone, the creator included, leaves; others see member-left live; the leaver’s stream stops and access ends', async () => {
    await using server = await startTestServer();
    const { ann, bob, cat, group } = await threePeople(server);
    const direct = await bob.client.api.createConversation({ body: { kind: 'direct', username: ann.user.username } });
    const bobStream = await server.connect(bob.client);
    const annStream = await server.connect(ann.client);
    const catStream = await server.connect(cat.client);

    await ann.client.api.leaveConversation({ params: { conversationId: group } });
    await bobStream.until((events) => events.some((event) => event.type === 'member-left'));
    await annStream.until((events) => events.some((event) => event.type === 'member-left'));
    expect(eventsOf(bobStream, group).at(-1)).toMatchObject({ type: 'member-left', actorId: ann.user.id, userId: ann.user.id });

    await send(bob, group, 'she left');
    await cat.client.api.leaveConversation({ params: { conversationId: group } });
    await catStream.until((events) => events.some((event) => event.type === 'member-left' && event.userId === cat.user.id));
    // A later message in another conversation: ann's socket would have carried the group's events before it.
    await send(bob, direct.conversation.id, 'still talking to you');
    await annStream.until((events) => events.some((event) => event.conversationId === direct.conversation.id && event.type === 'message-created'));
    expect(eventsOf(annStream, group).map((event) => event.type)).toEqual(['member-left']);
    expect(eventsOf(bobStream, group).map((event) => event.type)).toEqual(['member-left', 'message-created', 'member-left']);

    await expect(ann.client.api.listEvents({ params: { conversationId: group } })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(ann.client.api.leaveConversation({ params: { conversationId: group } })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const { members } = await bob.client.api.listMembers({ params: { conversationId: group } });
    expect(members.map((member) => member.userId)).toEqual([bob.user.id, server.assistant.userId]);
  });

  it('only groups can be left', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const chat = await ann.client.api.createConversation({ body: { kind: 'assistant' } });
    await expect(ann.client.api.leaveConversation({ params: { conversationId: chat.conversation.id } })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    await ann.client.api.getConversation({ params: { conversationId: chat.conversation.id } });
  });
});

describe('notification settings', () => {
  it('changes the member’s setting and tells their other devices', async () => {
    await using server = await startTestServer();
    const { ann, bob, group } = await threePeople(server);
    const phone = await server.connect(bob.client);
    const laptop = await server.connect(bob.client);
    const annStream = await server.connect(ann.client);

    const settings = await bob.client.api.updateMySettings({ params: { conversationId: group }, body: { notifications: 'mentions' } });
    expect(settings).toEqual({ notifications: 'mentions', unreadCount: 0 });
    await phone.until(() => phone.settings.length > 0);
    await laptop.until(() => laptop.settings.length > 0);
    expect(laptop.settings).toEqual([{ type: 'my-settings-updated', conversationId: group, notifications: 'mentions' }]);

    const view = await bob.client.api.getConversation({ params: { conversationId: group } });
    expect(view.me.notifications).toBe('mentions');
    // Private: not in the log, not on anyone else's socket.
    expect(view.conversation.lastSeq).toBe(1);
    await send(bob, group, 'ping');
    await annStream.until((events) => events.some((event) => event.type === 'message-created'));
    expect(annStream.settings).toEqual([]);
    const annView = await ann.client.api.getConversation({ params: { conversationId: group } });
    expect(annView.me.notifications).toBe('all');

    await bob.client.api.updateMySettings({ params: { conversationId: group }, body: { notifications: 'muted' } });
    await laptop.until(() => laptop.settings.length === 2);
    expect(laptop.settings[1]?.notifications).toBe('muted');
  });

  it('refuses an unknown level with the field, and a non-member with NOT_FOUND', async () => {
    await using server = await startTestServer();
    const { bob, group } = await threePeople(server);
    const stranger = await server.user();
    await expect(
      bob.client.api.updateMySettings({ params: { conversationId: group }, body: { notifications: 'loud' as never } }),
    ).rejects.toMatchObject({ code: 'INVALID_INPUT', field: 'body.notifications' });
    await expect(
      stranger.client.api.updateMySettings({ params: { conversationId: group }, body: { notifications: 'muted' } }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND', field: 'params.conversationId' });
    const view = await bob.client.api.getConversation({ params: { conversationId: group } });
    expect(view.me.notifications).toBe('all');
  });
});

describe('unread counts and read markers', () => {
  it('counts others’ messages, goes down with markRead, and others see read-marker-updated', async () => {
    await using server = await startTestServer();
    const { ann, bob, cat, group } = await threePeople(server);
    const params = { conversationId: group };
    const annStream = await server.connect(ann.client);
    const first = await send(ann, group, 'one');
    await send(cat, group, 'two');
    const third = await send(ann, group, 'three');
    await send(bob, group, 'mine does not count');
    expect((await bob.client.api.getConversation({ params })).me.unreadCount).toBe(3);
    expect((await ann.client.api.getConversation({ params })).me.unreadCount).toBe(2);

    const afterFirst = await bob.client.api.markRead({ params, body: { seq: first.seq } });
    expect(afterFirst).toEqual({ notifications: 'all', unreadCount: 2 });
    await annStream.until((events) => events.some((event) => event.type === 'read-marker-updated'));
    expect(eventsOf(annStream, group).at(-1)).toMatchObject({ type: 'read-marker-updated', actorId: bob.user.id, userId: bob.user.id, lastReadSeq: first.seq });

    const afterThird = await bob.client.api.markRead({ params, body: { seq: third.seq } });
    expect(afterThird.unreadCount).toBe(0);
    const view = await bob.client.api.getConversation({ params });
    expect(view.me.unreadCount).toBe(0);
    expect(view.members.find((member) => member.userId === bob.user.id)?.lastReadSeq).toBe(third.seq);
    await annStream.until((events) => events.filter((event) => event.type === 'read-marker-updated').length === 2);
  });

  it('never moves back, refuses a position past the end, and ignores a move that passes no message', async () => {
    await using server = await startTestServer();
    const { ann, bob, group } = await threePeople(server);
    const params = { conversationId: group };
    const first = await send(ann, group, 'one');
    const second = await send(ann, group, 'two');
    await bob.client.api.markRead({ params, body: { seq: second.seq } });
    const lastSeq = (await bob.client.api.getConversation({ params })).conversation.lastSeq;

    const back = await bob.client.api.markRead({ params, body: { seq: first.seq } });
    expect(back.unreadCount).toBe(0);
    await expect(bob.client.api.markRead({ params, body: { seq: lastSeq + 1 } })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      field: 'body.seq',
    });
    // lastSeq is bob's own read-marker event: no message lies past his marker, so nothing moves.
    await bob.client.api.markRead({ params, body: { seq: lastSeq } });
    await ann.client.api.markRead({ params, body: { seq: lastSeq } });
    const view = await bob.client.api.getConversation({ params });
    expect(view.conversation.lastSeq).toBe(lastSeq + 1);
    expect(view.members.find((member) => member.userId === bob.user.id)?.lastReadSeq).toBe(second.seq);
    expect(view.members.find((member) => member.userId === ann.user.id)?.lastReadSeq).toBe(lastSeq);

    await expect(bob.client.api.markRead({ params, body: { seq: -1 } })).rejects.toMatchObject({ code: 'INVALID_INPUT', field: 'body.seq' });
    await expect(bob.client.api.markRead({ params, body: { seq: 'x' as never } })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      field: 'body.seq',
    });
  });
});

describe('typing', () => {
  it('reaches the other members, at most once a second per person and conversation', async () => {
    await using server = await startTestServer();
    const { ann, bob, group } = await threePeople(server);
    const bobStream = await server.connect(bob.client);
    const annStream = await server.connect(ann.client);
    await ann.client.api.sendTyping({ params: { conversationId: group } });
    await ann.client.api.sendTyping({ params: { conversationId: group } });
    // A message after the signals: on the same socket, anything typed before it arrives first.
    await send(ann, group, 'done typing');
    await bobStream.until((events) => events.some((event) => event.type === 'message-created'));
    expect(bobStream.typing).toHaveLength(1);
    expect(bobStream.typing[0]).toMatchObject({ type: 'member-typing', conversationId: group, userId: ann.user.id });
    expect(Date.parse(bobStream.typing[0]?.until ?? '')).toBeGreaterThan(Date.now());
    await annStream.until((events) => events.some((event) => event.type === 'message-created'));
    expect(annStream.typing).toEqual([]);

    await new Promise((resolve) => setTimeout(resolve, 1100));
    await ann.client.api.sendTyping({ params: { conversationId: group } });
    await bobStream.until(() => bobStream.typing.length === 2);
  });

  it('a non-member cannot signal typing', async () => {
    await using server = await startTestServer();
    const { group } = await threePeople(server);
    const stranger = await server.user();
    await expect(stranger.client.api.sendTyping({ params: { conversationId: group } })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('malformed and unauthorised requests', () => {
  it('names the bad field and changes nothing', async () => {
    await using server = await startTestServer();
    const { ann, bob, group } = await threePeople(server);
    const before = await ann.client.api.getConversation({ params: { conversationId: group } });

    await expect(ann.client.api.listMembers({ params: { conversationId: 'not an id!' } })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      field: 'params.conversationId',
    });
    await expect(ann.client.api.removeMember({ params: { conversationId: group, userId: 'bad id' } })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      field: 'params.userId',
    });
    await expect(ann.client.api.addMember({ params: { conversationId: group }, body: { username: 'No Such!' } })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      field: 'body.username',
    });
    await expect(ann.client.api.addMember({ params: { conversationId: group }, body: {} as never })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      field: 'body.username',
    });
    await expect(ann.client.api.markRead({ params: { conversationId: group }, body: { seq: 1.5 } })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      field: 'body.seq',
    });

    const after = await ann.client.api.getConversation({ params: { conversationId: group } });
    expect(after.conversation.lastSeq).toBe(before.conversation.lastSeq);
    expect(after.members).toEqual(before.members);
    expect(people((await bob.client.api.getConversation({ params: { conversationId: group } })).members)).toHaveLength(3);
  });

  it('answers NOT_FOUND to non-members on every member endpoint, and UNAUTHENTICATED without a session', async () => {
    await using server = await startTestServer();
    const { ann, bob, group } = await threePeople(server);
    const stranger = await server.user();
    const params = { conversationId: group };
    const notFound = { code: 'NOT_FOUND', field: 'params.conversationId' };
    await expect(stranger.client.api.listMembers({ params })).rejects.toMatchObject(notFound);
    await expect(stranger.client.api.addMember({ params, body: { username: stranger.user.username } })).rejects.toMatchObject(notFound);
    await expect(stranger.client.api.removeMember({ params: { ...params, userId: bob.user.id } })).rejects.toMatchObject(notFound);
    await expect(stranger.client.api.leaveConversation({ params })).rejects.toMatchObject(notFound);
    await expect(stranger.client.api.markRead({ params, body: { seq: 1 } })).rejects.toMatchObject(notFound);
    // An id that names nothing looks the same as one the caller may not see.
    await expect(stranger.client.api.listMembers({ params: { conversationId: 'no-such-conversation' } })).rejects.toMatchObject(notFound);

    const response = await fetch(`${server.url}/api/conversations/${group}/members`);
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });

    const view = await ann.client.api.getConversation({ params });
    expect(people(view.members)).toHaveLength(3);
    expect(view.conversation.lastSeq).toBe(1);
  });
});
