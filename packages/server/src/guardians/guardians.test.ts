import { ParleyClient } from '@parley/sdk';
import { describe, expect, it } from 'vitest';
import { messageId, startTestServer, type TestServer, type TestUser } from '../test/harness.js';
import { CODE_ALPHABET, CODE_LENGTH } from './codes.js';

async function expectError(promise: Promise<unknown>, code: string, field?: string): Promise<void> {
  await expect(promise).rejects.toMatchObject({ code, ...(field ? { field } : {}) });
}

async function family(server: TestServer): Promise<{ guardian: TestUser; teen: TestUser }> {
  return { guardian: await server.user(undefined, { ageBand: 'adult' }), teen: await server.user(undefined, { ageBand: 'teen' }) };
}

/** Links the teen to the guardian: the guardian asks, the teen confirms with the code. */
async function link(guardian: TestUser, teen: TestUser) {
  const { code } = await guardian.client.api.createGuardianLink({ body: { teenUsername: teen.user.username } });
  return teen.client.api.confirmGuardianLink({ body: { code } });
}

describe('guardian links', () => {
  it('[GL3][GL4][GL9] a guardian links a teen with a code and switches group chats off: the teen leaves their groups at once', async () => {
    await using server = await startTestServer();
    const { guardian, teen } = await family(server);
    const friend = await server.user();
    const other = await server.user();
    const group = await friend.client.api.createConversation({
      body: { kind: 'group', title: 'Class', usernames: [teen.user.username, other.user.username] },
    });
    const direct = await friend.client.api.createConversation({ body: { kind: 'direct', username: teen.user.username } });

    const created = await guardian.client.api.createGuardianLink({ body: { teenUsername: teen.user.username } });
    expect(created.code).toHaveLength(CODE_LENGTH);
    expect([...created.code].every((character) => CODE_ALPHABET.includes(character))).toBe(true);
    expect(Date.parse(created.expiresAt) - Date.now()).toBeGreaterThan(59 * 60 * 1000);
    expect(created.link).toMatchObject({ status: 'pending', guardian: { id: guardian.user.id }, teen: { id: teen.user.id }, confirmedAt: null });
    expect((await teen.client.api.listGuardianLinks()).guardian).toMatchObject({ id: created.link.id, status: 'pending' });

    // Typed loosely: lower case, with a dash in the middle.
    const typed = `${created.code.slice(0, 4)}-${created.code.slice(4)}`.toLowerCase();
    const confirmed = await teen.client.api.confirmGuardianLink({ body: { code: typed } });
    expect(confirmed).toMatchObject({ id: created.link.id, status: 'active', groupChatsAllowed: true });
    expect(confirmed.confirmedAt).not.toBeNull();
    expect(await guardian.client.api.listGuardianLinks()).toEqual({ teens: [confirmed], guardian: null });
    expect(await teen.client.api.listGuardianLinks()).toEqual({ teens: [], guardian: confirmed });

    const friendStream = await server.connect(friend.client);
    const teenStream = await server.connect(teen.client);
    const controlled = await guardian.client.api.updateTeenControls({
      params: { linkId: confirmed.id },
      body: { groupChatsAllowed: false },
    });
    expect(controlled).toMatchObject({ id: confirmed.id, groupChatsAllowed: false });

    const isTeenLeaving = (event: { type: string; conversationId: string }) =>
      event.type === 'member-left' && event.conversationId === group.conversation.id;
    await friendStream.until((events) => events.some(isTeenLeaving));
    expect(friendStream.events.find(isTeenLeaving)).toMatchObject({ userId: teen.user.id, actorId: guardian.user.id });
    await teenStream.until((events) => events.some(isTeenLeaving));

    // Out of the group: no access, not on the member list, no more live events from it.
    await expectError(teen.client.api.getConversation({ params: { conversationId: group.conversation.id } }), 'NOT_FOUND');
    const view = await friend.client.api.getConversation({ params: { conversationId: group.conversation.id } });
    expect(view.members.map((member) => member.userId).sort()).toEqual([friend.user.id, other.user.id, server.assistant.userId].sort());
    const after = await friend.client.api.sendMessage({
      params: { conversationId: group.conversation.id },
      body: { id: messageId(), text: 'still here?' },
    });
    await friendStream.until((events) => events.some((event) => event.type === 'message-created' && event.message.id === after.id));
    // The DM stays; a message there shows the teen's stream is alive and has passed the group message by.
    const dm = await friend.client.api.sendMessage({ params: { conversationId: direct.conversation.id }, body: { id: messageId(), text: 'hi' } });
    await teenStream.until((events) => events.some((event) => event.type === 'message-created' && event.message.id === dm.id));
    expect(teenStream.events.some((event) => event.type === 'message-created' && event.message.id === after.id)).toBe(false);
    expect((await teen.client.api.listConversations()).conversations.map((entry) => entry.conversation.id)).toEqual([direct.conversation.id]);

    // Neither creating a group nor being added to one.
    expect((await teen.client.api.getMe()).groupChatsAllowed).toBe(false);
    await expectError(teen.client.api.createConversation({ body: { kind: 'group', usernames: [] } }), 'GROUP_CHATS_DISABLED');
    await expectError(
      friend.client.api.createConversation({ body: { kind: 'group', usernames: [other.user.username, teen.user.username] } }),
      'GROUP_CHATS_DISABLED',
      'body.usernames.1',
    );

    // Back on: groups work again, but old memberships are not restored.
    await guardian.client.api.updateTeenControls({ params: { linkId: confirmed.id }, body: { groupChatsAllowed: true } });
    expect((await teen.client.api.getMe()).groupChatsAllowed).toBe(true);
    const own = await teen.client.api.createConversation({ body: { kind: 'group', usernames: [friend.user.username] } });
    expect(own.conversation.kind).toBe('group');
    await expectError(teen.client.api.getConversation({ params: { conversationId: group.conversation.id } }), 'NOT_FOUND');
  });

  it('[GL1] only an adult can be a guardian and only a teen can be linked', async () => {
    await using server = await startTestServer();
    const { guardian, teen } = await family(server);
    const adult = await server.user();
    const otherTeen = await server.user(undefined, { ageBand: 'teen' });
    await expectError(teen.client.api.createGuardianLink({ body: { teenUsername: otherTeen.user.username } }), 'FORBIDDEN');
    await expectError(guardian.client.api.createGuardianLink({ body: { teenUsername: adult.user.username } }), 'FORBIDDEN', 'body.teenUsername');
    await expectError(guardian.client.api.createGuardianLink({ body: { teenUsername: guardian.user.username } }), 'FORBIDDEN', 'body.teenUsername');
    await expectError(guardian.client.api.createGuardianLink({ body: { teenUsername: 'nobody_here' } }), 'NOT_FOUND', 'body.teenUsername');
    await expectError(guardian.client.api.createGuardianLink({ body: { teenUsername: 'not a name!' } }), 'INVALID_INPUT', 'body.teenUsername');
    await expectError(guardian.client.api.createGuardianLink({ body: {} as never }), 'INVALID_INPUT', 'body.teenUsername');
    // An adult who somehow holds a code cannot confirm: the confirming side must be the teen.
    const { code } = await guardian.client.api.createGuardianLink({ body: { teenUsername: teen.user.username } });
    await expectError(adult.client.api.confirmGuardianLink({ body: { code } }), 'FORBIDDEN', 'body.code');
    await expectError(guardian.client.api.confirmGuardianLink({ body: { code } }), 'FORBIDDEN', 'body.code');
    expect((await otherTeen.client.api.listGuardianLinks()).guardian).toBeNull();
    expect((await adult.client.api.listGuardianLinks())).toEqual({ teens: [], guardian: null });
  });

  it('[GL5] five wrong codes void the pending link', async () => {
    await using server = await startTestServer();
    const { guardian, teen } = await family(server);
    const { code } = await guardian.client.api.createGuardianLink({ body: { teenUsername: teen.user.username } });
    const wrong = code === 'AAAAAAAA' ? 'BBBBBBBB' : 'AAAAAAAA';
    for (let attempt = 1; attempt <= 4; attempt += 1) {
      await expect(teen.client.api.confirmGuardianLink({ body: { code: wrong } })).rejects.toMatchObject({
        code: 'FORBIDDEN',
        field: 'body.code',
        details: { attemptsLeft: 5 - attempt },
      });
    }
    await expect(teen.client.api.confirmGuardianLink({ body: { code: wrong } })).rejects.toMatchObject({
      code: 'FORBIDDEN',
      details: { attemptsLeft: 0 },
    });
    // The right code comes too late.
    await expectError(teen.client.api.confirmGuardianLink({ body: { code } }), 'FORBIDDEN', 'body.code');
    expect(await guardian.client.api.listGuardianLinks()).toEqual({ teens: [], guardian: null });
    expect(await teen.client.api.listGuardianLinks()).toEqual({ teens: [], guardian: null });
    // The guardian can ask again.
    expect((await link(guardian, teen)).status).toBe('active');
  });

  it('[GL6] a used code cannot be used again and an expired code is refused', async () => {
    await using server = await startTestServer();
    const { guardian, teen } = await family(server);
    const first = await guardian.client.api.createGuardianLink({ body: { teenUsername: teen.user.username } });
    await teen.client.api.confirmGuardianLink({ body: { code: first.code } });
    await expectError(teen.client.api.confirmGuardianLink({ body: { code: first.code } }), 'FORBIDDEN', 'body.code');
    const stored = await server.server.context.storage.reader.selectFrom('guardian_links').selectAll().execute();
    expect(stored).toMatchObject([{ status: 'active', code_hash: null }]);

    const { guardian: late, teen: sleepy } = await family(server);
    const pending = await late.client.api.createGuardianLink({ body: { teenUsername: sleepy.user.username } });
    const [row] = await server.server.context.storage.reader
      .selectFrom('guardian_links')
      .select('code_hash')
      .where('id', '=', pending.link.id)
      .execute();
    // Only a hash is stored, never the code.
    expect(row?.code_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(row?.code_hash).not.toContain(pending.code);
    // An hour passes.
    await server.server.context.storage.writer
      .updateTable('guardian_links')
      .set({ code_expires_at: new Date(Date.now() - 1000).toISOString() })
      .where('id', '=', pending.link.id)
      .execute();
    expect((await sleepy.client.api.listGuardianLinks()).guardian).toBeNull();
    await expect(sleepy.client.api.confirmGuardianLink({ body: { code: pending.code } })).rejects.toMatchObject({
      code: 'FORBIDDEN',
      field: 'body.code',
      message: expect.stringContaining('expired'),
    });
    expect(await late.client.api.listGuardianLinks()).toEqual({ teens: [], guardian: null });
  });

  it('[GL2][GL3][GL7] one guardian at a time; asking again replaces the code', async () => {
    await using server = await startTestServer();
    const { guardian: mum, teen } = await family(server);
    const dad = await server.user(undefined, { ageBand: 'adult' });
    const mumFirst = await mum.client.api.createGuardianLink({ body: { teenUsername: teen.user.username } });
    const mumAgain = await mum.client.api.createGuardianLink({ body: { teenUsername: teen.user.username } });
    expect(mumAgain.link.id).toBe(mumFirst.link.id);
    expect(mumAgain.code).not.toBe(mumFirst.code);
    expect((await mum.client.api.listGuardianLinks()).teens).toHaveLength(1);
    const dadLink = await dad.client.api.createGuardianLink({ body: { teenUsername: teen.user.username } });

    await expectError(teen.client.api.confirmGuardianLink({ body: { code: mumFirst.code } }), 'FORBIDDEN', 'body.code');
    const active = await teen.client.api.confirmGuardianLink({ body: { code: mumAgain.code } });
    expect(active.guardian.id).toBe(mum.user.id);

    // Dad's pending request is void; no second guardian can be linked.
    expect((await dad.client.api.listGuardianLinks()).teens).toEqual([]);
    await expectError(teen.client.api.confirmGuardianLink({ body: { code: dadLink.code } }), 'FORBIDDEN', 'body.code');
    await expectError(dad.client.api.createGuardianLink({ body: { teenUsername: teen.user.username } }), 'CONFLICT', 'body.teenUsername');
    await expectError(mum.client.api.createGuardianLink({ body: { teenUsername: teen.user.username } }), 'CONFLICT', 'body.teenUsername');
    expect((await teen.client.api.listGuardianLinks()).guardian).toEqual(active);

    // A guardian may have several teens.
    const sibling = await server.user(undefined, { ageBand: 'teen' });
    await link(mum, sibling);
    expect((await mum.client.api.listGuardianLinks()).teens.map((entry) => entry.teen.id).sort()).toEqual([teen.user.id, sibling.user.id].sort());
  });

  it('[GL8] only the guardian of an active link changes the controls', async () => {
    await using server = await startTestServer();
    const { guardian, teen } = await family(server);
    const stranger = await server.user();
    const pending = await guardian.client.api.createGuardianLink({ body: { teenUsername: teen.user.username } });
    await expectError(
      guardian.client.api.updateTeenControls({ params: { linkId: pending.link.id }, body: { groupChatsAllowed: false } }),
      'CONFLICT',
      'params.linkId',
    );
    const active = await teen.client.api.confirmGuardianLink({ body: { code: pending.code } });
    const off = { groupChatsAllowed: false };
    await expectError(teen.client.api.updateTeenControls({ params: { linkId: active.id }, body: off }), 'FORBIDDEN', 'params.linkId');
    await expectError(stranger.client.api.updateTeenControls({ params: { linkId: active.id }, body: off }), 'NOT_FOUND', 'params.linkId');
    await expectError(guardian.client.api.updateTeenControls({ params: { linkId: 'no-such-link' }, body: off }), 'NOT_FOUND', 'params.linkId');
    await expectError(
      guardian.client.api.updateTeenControls({ params: { linkId: active.id }, body: { groupChatsAllowed: 'no' } as never }),
      'INVALID_INPUT',
      'body.groupChatsAllowed',
    );
    expect((await teen.client.api.getMe()).groupChatsAllowed).toBe(true);
    expect((await teen.client.api.listGuardianLinks()).guardian?.groupChatsAllowed).toBe(true);
  });

  it('[GL10] only the guardian ends a link, and the setting outlives it', async () => {
    await using server = await startTestServer();
    const { guardian, teen } = await family(server);
    const stranger = await server.user();
    const active = await link(guardian, teen);
    await guardian.client.api.updateTeenControls({ params: { linkId: active.id }, body: { groupChatsAllowed: false } });

    await expectError(teen.client.api.deleteGuardianLink({ params: { linkId: active.id } }), 'FORBIDDEN', 'params.linkId');
    await expectError(stranger.client.api.deleteGuardianLink({ params: { linkId: active.id } }), 'NOT_FOUND', 'params.linkId');
    expect((await teen.client.api.listGuardianLinks()).guardian?.id).toBe(active.id);

    await guardian.client.api.deleteGuardianLink({ params: { linkId: active.id } });
    expect(await teen.client.api.listGuardianLinks()).toEqual({ teens: [], guardian: null });
    expect(await guardian.client.api.listGuardianLinks()).toEqual({ teens: [], guardian: null });
    expect((await teen.client.api.getMe()).groupChatsAllowed).toBe(false);
    await expectError(guardian.client.api.deleteGuardianLink({ params: { linkId: active.id } }), 'NOT_FOUND', 'params.linkId');

    // A pending link can be cancelled; its code then confirms nothing.
    const pending = await guardian.client.api.createGuardianLink({ body: { teenUsername: teen.user.username } });
    await guardian.client.api.deleteGuardianLink({ params: { linkId: pending.link.id } });
    await expectError(teen.client.api.confirmGuardianLink({ body: { code: pending.code } }), 'FORBIDDEN', 'body.code');
  });

  it('every guardian endpoint needs a session, and bad input names its field', async () => {
    await using server = await startTestServer();
    const { teen } = await family(server);
    const anonymous = new ParleyClient({ baseUrl: server.url });
    await expectError(anonymous.api.listGuardianLinks(), 'UNAUTHENTICATED');
    await expectError(anonymous.api.createGuardianLink({ body: { teenUsername: teen.user.username } }), 'UNAUTHENTICATED');
    await expectError(anonymous.api.confirmGuardianLink({ body: { code: 'ABCDEFGH' } }), 'UNAUTHENTICATED');
    await expectError(anonymous.api.updateTeenControls({ params: { linkId: 'some-link' }, body: { groupChatsAllowed: false } }), 'UNAUTHENTICATED');
    await expectError(anonymous.api.deleteGuardianLink({ params: { linkId: 'some-link' } }), 'UNAUTHENTICATED');
    await expectError(teen.client.api.confirmGuardianLink({ body: { code: '   ' } }), 'INVALID_INPUT', 'body.code');
    await expectError(teen.client.api.confirmGuardianLink({ body: { code: 'X'.repeat(65) } }), 'INVALID_INPUT', 'body.code');
  });
});
