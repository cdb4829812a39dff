import { describe, expect, it } from 'vitest';
import { failure, messageId, startTestServer, type TestServer, type TestUser } from '../test/harness.js';

/** A group of ann (creator), bob and cat, with a link ann made while all three were in. */
async function group(server: TestServer) {
  const ann = await server.user();
  const bob = await server.user();
  const cat = await server.user();
  const view = await ann.client.api.createConversation({
    body: { kind: 'group', title: 'Trip', usernames: [bob.user.username, cat.user.username] },
  });
  const conversationId = view.conversation.id;
  const invite = await ann.client.api.createInvite({ params: { conversationId }, body: {} });
  return { ann, bob, cat, conversationId, token: invite.token ?? '' };
}

async function say(from: TestUser, conversationId: string, text: string) {
  return from.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text } });
}

async function memberIds(viewer: TestUser, conversationId: string): Promise<string[]> {
  return (await viewer.client.api.listMembers({ params: { conversationId } })).members.map((member) => member.userId);
}

describe('removal from a group', () => {
  it('[MB1] [MB3] a removed member cannot come back through an invite link that was valid before the removal', async () => {
    await using server = await startTestServer();
    const { ann, bob, conversationId, token } = await group(server);
    await ann.client.api.removeMember({ params: { conversationId, userId: bob.user.id } });
    await say(ann, conversationId, 'written while bob is out');

    const refused = await failure(bob.client.api.joinInvite({ params: { token }, body: {} }));
    expect(refused).toMatchObject({ code: 'REMOVED_FROM_GROUP', status: 403 });
    // Acknowledging a warning changes nothing: the refusal comes first.
    expect(await failure(bob.client.api.joinInvite({ params: { token }, body: { acknowledgeBlocked: true } }))).toMatchObject({ code: 'REMOVED_FROM_GROUP' });
    expect(await memberIds(ann, conversationId)).not.toContain(bob.user.id);
    expect((await ann.client.api.listInvites({ params: { conversationId } })).invites[0]?.uses).toBe(0);
    await expect(bob.client.api.listMessages({ params: { conversationId }, query: {} })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(bob.client.api.listEvents({ params: { conversationId }, query: {} })).rejects.toMatchObject({ code: 'NOT_FOUND' });

    // The preview: a stranger with the link sees the group's name and size; the removed person, nothing.
    const stranger = await server.user();
    expect(await stranger.client.api.previewInvite({ params: { token } })).toMatchObject({ title: 'Trip', memberCount: 2 });
    const preview = await failure(bob.client.api.previewInvite({ params: { token } }));
    expect(preview).toMatchObject({ code: 'REMOVED_FROM_GROUP', status: 403 });
    expect(JSON.stringify(preview.details ?? {})).not.toContain('Trip');
    expect(preview.message).not.toContain('Trip');
  });

  it('[MB1] a removed member cannot come back through a link another member created after the removal, also after a restart', async () => {
    await using server = await startTestServer();
    const { ann, bob, cat, conversationId } = await group(server);
    await ann.client.api.removeMember({ params: { conversationId, userId: bob.user.id } });
    const fresh = await cat.client.api.createInvite({ params: { conversationId }, body: { maxUses: 5 } });
    expect(await failure(bob.client.api.joinInvite({ params: { token: fresh.token ?? '' }, body: {} }))).toMatchObject({ code: 'REMOVED_FROM_GROUP' });

    // The removal is stored, not held in memory.
    await server.restart();
    const later = await cat.client.api.createInvite({ params: { conversationId }, body: {} });
    expect(await failure(bob.client.api.joinInvite({ params: { token: later.token ?? '' }, body: {} }))).toMatchObject({ code: 'REMOVED_FROM_GROUP' });
    expect(await failure(bob.client.api.previewInvite({ params: { token: later.token ?? '' } }))).toMatchObject({ code: 'REMOVED_FROM_GROUP' });
    const other = await server.user();
    await other.client.api.joinInvite({ params: { token: later.token ?? '' }, body: {} });
    expect(await memberIds(ann, conversationId)).toEqual(expect.arrayContaining([other.user.id]));
    expect(await memberIds(ann, conversationId)).not.toContain(bob.user.id);
  });

  it('[MB4] re-added by username: the group sees member-added with who added them, and the link works for them again afterwards', async () => {
    await using server = await startTestServer();
    const { ann, bob, cat, conversationId, token } = await group(server);
    await ann.client.api.removeMember({ params: { conversationId, userId: bob.user.id } });
    const annStream = await server.connect(ann.client);
    const bobStream = await server.connect(bob.client);

    await cat.client.api.addMember({ params: { conversationId }, body: { username: bob.user.username } });
    await annStream.until((events) => events.some((event) => event.type === 'member-added'));
    expect(annStream.events.find((event) => event.type === 'member-added')).toMatchObject({
      conversationId,
      actorId: cat.user.id,
      via: 'username',
      member: { userId: bob.user.id },
    });
    // Their open stream starts with their own admission [EL8].
    await bobStream.until((events) => events.some((event) => event.type === 'member-added'));
    expect(await memberIds(ann, conversationId)).toContain(bob.user.id);

    // Back as a member like any other: leaving and returning by link works [MB2].
    await bob.client.api.leaveConversation({ params: { conversationId } });
    await bob.client.api.joinInvite({ params: { token }, body: {} });
    expect(await memberIds(ann, conversationId)).toContain(bob.user.id);
    // And removed again, the link refuses again.
    await ann.client.api.removeMember({ params: { conversationId, userId: bob.user.id } });
    expect(await failure(bob.client.api.joinInvite({ params: { token }, body: {} }))).toMatchObject({ code: 'REMOVED_FROM_GROUP' });
  });

  it('[MB2] a member who left by themselves rejoins by link and sees the group again', async () => {
    await using server = await startTestServer();
    const { ann, bob, conversationId, token } = await group(server);
    await bob.client.api.leaveConversation({ params: { conversationId } });
    await say(ann, conversationId, 'after bob left');
    expect((await bob.client.api.previewInvite({ params: { token } })).alreadyMember).toBe(false);
    const view = await bob.client.api.joinInvite({ params: { token }, body: {} });
    expect(view.conversation.id).toBe(conversationId);
    const events = await ann.client.api.listEvents({ params: { conversationId }, query: {} });
    expect(events.events.at(-1)).toMatchObject({ type: 'member-added', via: 'invite', actorId: bob.user.id });
  });

  it('[MB5] the links a removed member made stop working for everyone', async () => {
    await using server = await startTestServer();
    const { ann, bob, conversationId } = await group(server);
    const bobsLink = await bob.client.api.createInvite({ params: { conversationId }, body: {} });
    await ann.client.api.removeMember({ params: { conversationId, userId: bob.user.id } });
    const stranger = await server.user();
    expect(await failure(stranger.client.api.joinInvite({ params: { token: bobsLink.token ?? '' }, body: {} }))).toMatchObject({ code: 'INVITE_EXPIRED' });
  });
});
