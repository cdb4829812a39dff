import { describe, expect, it } from 'vitest';
import { sha256 } from '../ids/ids.js';
import { messageId, people, startTestServer, type TestServer, type TestUser } from '../test/harness.js';

/** Blocking goes straight to storage: these tests are about invites, not the blocking endpoints. */
async function block(server: TestServer, blocker: TestUser, blocked: TestUser): Promise<void> {
  await server.server.context.log.write(async ({ db, now }) => {
    await db.insertInto('blocks').values({ blocker_id: blocker.user.id, blocked_id: blocked.user.id, created_at: now }).execute();
  });
}

async function storedInvite(server: TestServer, inviteId: string) {
  return server.server.context.storage.writer.selectFrom('invites').selectAll().where('id', '=', inviteId).executeTakeFirstOrThrow();
}

/** A group of ann (creator) and bob, titled "Book club". */
async function bookClub(server: TestServer) {
  const ann = await server.user();
  const bob = await server.user();
  const view = await ann.client.api.createConversation({ body: { kind: 'group', title: 'Book club', usernames: [bob.user.username] } });
  return { ann, bob, group: view.conversation.id };
}

function tokenOf(invite: { token?: string | undefined }): string {
  if (!invite.token) throw new Error('a new invite carries its token');
  return invite.token;
}

describe('invite links', () => {
  it('creates a link whose token is shown once and stored only as a hash', async () => {
    await using server = await startTestServer();
    const { ann, bob, group } = await bookClub(server);
    const invite = await bob.client.api.createInvite({ params: { conversationId: group }, body: { maxUses: 5, expiresInSeconds: 3600 } });
    const token = tokenOf(invite);
    expect(token.length).toBeGreaterThanOrEqual(43);
    expect(invite).toMatchObject({ conversationId: group, createdBy: bob.user.id, maxUses: 5, uses: 0, revokedAt: null });
    const expiresIn = Date.parse(invite.expiresAt ?? '') - Date.parse(invite.createdAt);
    expect(expiresIn).toBe(3600 * 1000);

    const row = await storedInvite(server, invite.id);
    expect(row.token_hash).toBe(sha256(token));
    expect(JSON.stringify(row)).not.toContain(token);

    const { invites } = await ann.client.api.listInvites({ params: { conversationId: group } });
    expect(invites).toHaveLength(1);
    expect(invites[0]).toMatchObject({ id: invite.id, uses: 0 });
    expect(invites[0]).not.toHaveProperty('token');

    // Two links are never the same.
    const other = await ann.client.api.createInvite({ params: { conversationId: group }, body: {} });
    expect(tokenOf(other)).not.toBe(token);
    expect(other).toMatchObject({ expiresAt: null, maxUses: null });
  });

  it('previews the group’s name and size, then joins; members see member-added via invite live', async () => {
    await using server = await startTestServer();
    const { ann, bob, group } = await bookClub(server);
    const cat = await server.user();
    const token = tokenOf(await ann.client.api.createInvite({ params: { conversationId: group }, body: {} }));
    const bobStream = await server.connect(bob.client);
    const catStream = await server.connect(cat.client);

    const preview = await cat.client.api.previewInvite({ params: { token } });
    expect(preview).toEqual({
      conversationId: group,
      title: 'Book club',
      memberCount: 2,
      memberLimit: 20,
      blockedMembers: [],
      alreadyMember: false,
    });

    const view = await cat.client.api.joinInvite({ params: { token }, body: {} });
    expect(view.conversation.id).toBe(group);
    expect(view.members.map((member) => member.userId)).toEqual([ann.user.id, bob.user.id, cat.user.id, server.assistant.userId]);
    await bobStream.until((events) => events.some((event) => event.type === 'member-added'));
    expect(bobStream.events.at(-1)).toMatchObject({ type: 'member-added', via: 'invite', actorId: cat.user.id, member: { userId: cat.user.id } });

    // The joiner's open stream follows the group from the event that let them in.
    await catStream.until((events) => events.some((event) => event.type === 'member-added'));
    await ann.client.api.sendMessage({ params: { conversationId: group }, body: { id: messageId(), text: 'welcome' } });
    await catStream.until((events) => events.some((event) => event.type === 'message-created'));

    expect(await cat.client.api.previewInvite({ params: { token } })).toMatchObject({ memberCount: 3, alreadyMember: true });
    const { invites } = await ann.client.api.listInvites({ params: { conversationId: group } });
    expect(invites[0]?.uses).toBe(1);
  });

  it('joining again as a member returns the group and spends no use', async () => {
    await using server = await startTestServer();
    const { ann, bob, group } = await bookClub(server);
    const invite = await ann.client.api.createInvite({ params: { conversationId: group }, body: { maxUses: 1 } });
    const view = await bob.client.api.joinInvite({ params: { token: tokenOf(invite) }, body: {} });
    expect(view.conversation.id).toBe(group);
    expect(people(view.members)).toHaveLength(2);
    expect((await storedInvite(server, invite.id)).uses).toBe(0);
    expect(view.conversation.lastSeq).toBe(1);
  });

  it('stops working once its uses are spent', async () => {
    await using server = await startTestServer();
    const { ann, group } = await bookClub(server);
    const cat = await server.user();
    const dan = await server.user();
    const invite = await ann.client.api.createInvite({ params: { conversationId: group }, body: { maxUses: 1 } });
    const token = tokenOf(invite);
    await cat.client.api.joinInvite({ params: { token }, body: {} });
    await expect(dan.client.api.previewInvite({ params: { token } })).rejects.toMatchObject({ code: 'INVITE_EXPIRED', field: 'params.token' });
    await expect(dan.client.api.joinInvite({ params: { token }, body: {} })).rejects.toMatchObject({ code: 'INVITE_EXPIRED' });
    expect((await storedInvite(server, invite.id)).uses).toBe(1);
    const { members } = await ann.client.api.listMembers({ params: { conversationId: group } });
    expect(members.map((member) => member.userId)).not.toContain(dan.user.id);
  });

  it('never lets more people in than its uses, even when they join at once', async () => {
    await using server = await startTestServer();
    const { ann, group } = await bookClub(server);
    const joiners = await Promise.all([1, 2, 3, 4, 5].map(() => server.user()));
    const token = tokenOf(await ann.client.api.createInvite({ params: { conversationId: group }, body: { maxUses: 2 } }));
    const results = await Promise.allSettled(joiners.map((joiner) => joiner.client.api.joinInvite({ params: { token }, body: {} })));
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(2);
    for (const result of results) {
      if (result.status === 'rejected') expect(result.reason).toMatchObject({ code: 'INVITE_EXPIRED' });
    }
    const { members } = await ann.client.api.listMembers({ params: { conversationId: group } });
    expect(people(members)).toHaveLength(4);
  });

  it('stops working after its expiry', async () => {
    await using server = await startTestServer();
    const { ann, group } = await bookClub(server);
    const cat = await server.user();
    const invite = await ann.client.api.createInvite({ params: { conversationId: group }, body: { expiresInSeconds: 60 } });
    const token = tokenOf(invite);
    expect((await cat.client.api.previewInvite({ params: { token } })).title).toBe('Book club');
    // The shortest expiry is a minute; move it into the past rather than wait.
    await server.server.context.log.write(async ({ db }) => {
      await db.updateTable('invites').set({ expires_at: new Date(Date.now() - 1000).toISOString() }).where('id', '=', invite.id).execute();
    });
    await expect(cat.client.api.previewInvite({ params: { token } })).rejects.toMatchObject({ code: 'INVITE_EXPIRED' });
    await expect(cat.client.api.joinInvite({ params: { token }, body: {} })).rejects.toMatchObject({ code: 'INVITE_EXPIRED' });
    expect((await storedInvite(server, invite.id)).uses).toBe(0);
  });

  it('stops working once revoked, by any member', async () => {
    await using server = await startTestServer();
    const { ann, bob, group } = await bookClub(server);
    const cat = await server.user();
    const invite = await ann.client.api.createInvite({ params: { conversationId: group }, body: {} });
    const token = tokenOf(invite);
    await bob.client.api.revokeInvite({ params: { conversationId: group, inviteId: invite.id } });
    await expect(cat.client.api.previewInvite({ params: { token } })).rejects.toMatchObject({ code: 'INVITE_EXPIRED' });
    await expect(cat.client.api.joinInvite({ params: { token }, body: {} })).rejects.toMatchObject({ code: 'INVITE_EXPIRED' });
    // A dead link is dead for members too.
    await expect(ann.client.api.previewInvite({ params: { token } })).rejects.toMatchObject({ code: 'INVITE_EXPIRED' });
    const { invites } = await ann.client.api.listInvites({ params: { conversationId: group } });
    const revokedAt = invites[0]?.revokedAt;
    expect(revokedAt).not.toBeNull();
    // Revoking twice keeps the first time.
    await ann.client.api.revokeInvite({ params: { conversationId: group, inviteId: invite.id } });
    expect((await ann.client.api.listInvites({ params: { conversationId: group } })).invites[0]?.revokedAt).toBe(revokedAt);
  });

  it('warns before joining a group with someone the joiner blocked, and joins once acknowledged', async () => {
    await using server = await startTestServer();
    const { ann, bob, group } = await bookClub(server);
    const cat = await server.user();
    await block(server, cat, bob);
    const invite = await ann.client.api.createInvite({ params: { conversationId: group }, body: { maxUses: 1 } });
    const token = tokenOf(invite);

    const preview = await cat.client.api.previewInvite({ params: { token } });
    expect(preview.blockedMembers.map((member) => member.id)).toEqual([bob.user.id]);
    const warning = await cat.client.api.joinInvite({ params: { token }, body: {} }).catch((error: unknown) => error);
    expect(warning).toMatchObject({ code: 'BLOCKED_MEMBER_WARNING', status: 409, field: 'body.acknowledgeBlocked' });
    expect((warning as { details?: { blockedMembers?: Array<{ id: string }> } }).details?.blockedMembers?.map((member) => member.id)).toEqual([
      bob.user.id,
    ]);
    expect((await storedInvite(server, invite.id)).uses).toBe(0);
    expect(people((await ann.client.api.listMembers({ params: { conversationId: group } })).members)).toHaveLength(2);

    const view = await cat.client.api.joinInvite({ params: { token }, body: { acknowledgeBlocked: true } });
    expect(view.members.map((member) => member.userId)).toContain(cat.user.id);
    expect((await storedInvite(server, invite.id)).uses).toBe(1);
  });

  it('a group at its limit refuses the joiner with GROUP_FULL and the use is not spent', async () => {
    await using server = await startTestServer({ config: { groupMemberLimit: 3 } });
    const { ann, group } = await bookClub(server);
    const cat = await server.user();
    const dan = await server.user();
    const invite = await ann.client.api.createInvite({ params: { conversationId: group }, body: {} });
    const token = tokenOf(invite);
    await cat.client.api.joinInvite({ params: { token }, body: {} });
    expect(await dan.client.api.previewInvite({ params: { token } })).toMatchObject({ memberCount: 3, memberLimit: 3 });
    await expect(dan.client.api.joinInvite({ params: { token }, body: {} })).rejects.toMatchObject({ code: 'GROUP_FULL' });
    expect((await storedInvite(server, invite.id)).uses).toBe(1);
    expect(people((await ann.client.api.listMembers({ params: { conversationId: group } })).members)).toHaveLength(3);
  });

  it('refuses a joiner without a profile or with group chats switched off', async () => {
    await using server = await startTestServer();
    const { ann, group } = await bookClub(server);
    const noProfile = await server.user(undefined, { displayName: null });
    const token = tokenOf(await ann.client.api.createInvite({ params: { conversationId: group }, body: {} }));
    await expect(noProfile.client.api.joinInvite({ params: { token }, body: {} })).rejects.toMatchObject({ code: 'PROFILE_INCOMPLETE' });
    await server.server.context.log.write(async ({ db }) => {
      await db.updateTable('users').set({ group_chats_allowed: 0, display_name: 'Now named', profile_complete: 1 }).where('id', '=', noProfile.user.id).execute();
    });
    await expect(noProfile.client.api.joinInvite({ params: { token }, body: {} })).rejects.toMatchObject({ code: 'GROUP_CHATS_DISABLED' });
    expect(people((await ann.client.api.listMembers({ params: { conversationId: group } })).members)).toHaveLength(2);
  });
});

describe('invite links: bad and unauthorised requests', () => {
  it('an unknown token is NOT_FOUND, a malformed one INVALID_INPUT', async () => {
    await using server = await startTestServer();
    const cat = await server.user();
    const unknown = 'A'.repeat(43);
    await expect(cat.client.api.previewInvite({ params: { token: unknown } })).rejects.toMatchObject({ code: 'NOT_FOUND', field: 'params.token' });
    await expect(cat.client.api.joinInvite({ params: { token: unknown }, body: {} })).rejects.toMatchObject({ code: 'NOT_FOUND', field: 'params.token' });
    await expect(cat.client.api.previewInvite({ params: { token: 'short' } })).rejects.toMatchObject({ code: 'INVALID_INPUT', field: 'params.token' });
    await expect(cat.client.api.previewInvite({ params: { token: `${'a'.repeat(20)}.!` } })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      field: 'params.token',
    });
  });

  it('bad bodies name their field and create nothing', async () => {
    await using server = await startTestServer();
    const { ann, group } = await bookClub(server);
    const params = { conversationId: group };
    await expect(ann.client.api.createInvite({ params, body: { expiresInSeconds: 10 } })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      field: 'body.expiresInSeconds',
    });
    await expect(ann.client.api.createInvite({ params, body: { maxUses: 0 } })).rejects.toMatchObject({ code: 'INVALID_INPUT', field: 'body.maxUses' });
    await expect(ann.client.api.createInvite({ params, body: { maxUses: 'many' as never } })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      field: 'body.maxUses',
    });
    expect((await ann.client.api.listInvites({ params })).invites).toEqual([]);

    const token = tokenOf(await ann.client.api.createInvite({ params, body: {} }));
    const cat = await server.user();
    await expect(cat.client.api.joinInvite({ params: { token }, body: { acknowledgeBlocked: 'yes' as never } })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      field: 'body.acknowledgeBlocked',
    });
    await expect(ann.client.api.revokeInvite({ params: { conversationId: group, inviteId: 'bad id' } })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      field: 'params.inviteId',
    });
    await expect(ann.client.api.revokeInvite({ params: { conversationId: group, inviteId: 'no-such-invite' } })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      field: 'params.inviteId',
    });
    expect(people((await ann.client.api.listMembers({ params })).members)).toHaveLength(2);
  });

  it('non-members cannot create, list or revoke a group’s links; links are for groups only', async () => {
    await using server = await startTestServer();
    const { ann, group } = await bookClub(server);
    const stranger = await server.user();
    const params = { conversationId: group };
    const invite = await ann.client.api.createInvite({ params, body: {} });
    const notFound = { code: 'NOT_FOUND', field: 'params.conversationId' };
    await expect(stranger.client.api.createInvite({ params, body: {} })).rejects.toMatchObject(notFound);
    await expect(stranger.client.api.listInvites({ params })).rejects.toMatchObject(notFound);
    await expect(stranger.client.api.revokeInvite({ params: { ...params, inviteId: invite.id } })).rejects.toMatchObject(notFound);
    expect((await ann.client.api.listInvites({ params })).invites[0]?.revokedAt).toBeNull();

    // An invite of one group cannot be revoked through another.
    const other = await stranger.client.api.createConversation({ body: { kind: 'group' } });
    await expect(stranger.client.api.revokeInvite({ params: { conversationId: other.conversation.id, inviteId: invite.id } })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      field: 'params.inviteId',
    });

    const chat = await ann.client.api.createConversation({ body: { kind: 'assistant' } });
    await expect(ann.client.api.createInvite({ params: { conversationId: chat.conversation.id }, body: {} })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });

    const response = await fetch(`${server.url}/api/invites/${tokenOf(invite)}`);
    expect(response.status).toBe(401);
  });
});
