import { ParleyClient } from '@parley/sdk';
import { describe, expect, it } from 'vitest';
import { messageId, startTestServer } from '../test/harness.js';

async function expectError(promise: Promise<unknown>, code: string, field?: string): Promise<void> {
  await expect(promise).rejects.toMatchObject({ code, ...(field ? { field } : {}) });
}

describe('blocking', () => {
  it('lists blocked accounts; block and unblock are idempotent', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const bob = await server.user();
    const cat = await server.user();
    expect(await ann.client.api.listBlocks()).toEqual({ blocked: [] });

    await ann.client.api.blockUser({ params: { userId: bob.user.id } });
    const first = await ann.client.api.listBlocks();
    expect(first.blocked).toHaveLength(1);
    expect(first.blocked[0]).toMatchObject({ user: { id: bob.user.id, username: bob.user.username } });

    // Again: still one entry, with the original time.
    await ann.client.api.blockUser({ params: { userId: bob.user.id } });
    expect(await ann.client.api.listBlocks()).toEqual(first);

    await ann.client.api.blockUser({ params: { userId: cat.user.id } });
    expect((await ann.client.api.listBlocks()).blocked.map((entry) => entry.user.id).sort()).toEqual([bob.user.id, cat.user.id].sort());
    // A block is one-way and private: bob's list is his own.
    expect(await bob.client.api.listBlocks()).toEqual({ blocked: [] });

    await ann.client.api.unblockUser({ params: { userId: bob.user.id } });
    await ann.client.api.unblockUser({ params: { userId: bob.user.id } });
    expect((await ann.client.api.listBlocks()).blocked.map((entry) => entry.user.id)).toEqual([cat.user.id]);
  });

  it('refuses blocking yourself, unknown accounts, malformed ids and anonymous callers', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    await expectError(ann.client.api.blockUser({ params: { userId: ann.user.id } }), 'INVALID_INPUT', 'params.userId');
    await expectError(ann.client.api.unblockUser({ params: { userId: ann.user.id } }), 'INVALID_INPUT', 'params.userId');
    await expectError(ann.client.api.blockUser({ params: { userId: 'no-such-user' } }), 'NOT_FOUND', 'params.userId');
    await expectError(ann.client.api.unblockUser({ params: { userId: 'no-such-user' } }), 'NOT_FOUND', 'params.userId');
    await expectError(ann.client.api.blockUser({ params: { userId: 'not an id!' } }), 'INVALID_INPUT', 'params.userId');
    expect(await ann.client.api.listBlocks()).toEqual({ blocked: [] });

    const anonymous = new ParleyClient({ baseUrl: server.url });
    await expectError(anonymous.api.listBlocks(), 'UNAUTHENTICATED');
    await expectError(anonymous.api.blockUser({ params: { userId: ann.user.id } }), 'UNAUTHENTICATED');
    await expectError(anonymous.api.unblockUser({ params: { userId: ann.user.id } }), 'UNAUTHENTICATED');
  });

  it('a blocked account cannot start a DM with you, nor you with it, until unblocked', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const bob = await server.user();
    await ann.client.api.blockUser({ params: { userId: bob.user.id } });
    await expectError(bob.client.api.createConversation({ body: { kind: 'direct', username: ann.user.username } }), 'BLOCKED', 'body.username');
    await expectError(ann.client.api.createConversation({ body: { kind: 'direct', username: bob.user.username } }), 'BLOCKED', 'body.username');
    expect((await bob.client.api.listConversations()).conversations).toEqual([]);

    await ann.client.api.unblockUser({ params: { userId: bob.user.id } });
    const direct = await bob.client.api.createConversation({ body: { kind: 'direct', username: ann.user.username } });
    expect(direct.conversation.kind).toBe('direct');
  });

  it('a blocked account cannot add you to a group; you can still add it', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const bob = await server.user();
    const cat = await server.user();
    await ann.client.api.blockUser({ params: { userId: bob.user.id } });
    await expectError(
      bob.client.api.createConversation({ body: { kind: 'group', title: 'Party', usernames: [cat.user.username, ann.user.username] } }),
      'BLOCKED',
      'body.usernames.1',
    );
    // Nothing was half-created.
    expect((await bob.client.api.listConversations()).conversations).toEqual([]);
    expect((await cat.client.api.listConversations()).conversations).toEqual([]);

    // The block is ann's choice about bob, not bob's about ann.
    const group = await ann.client.api.createConversation({ body: { kind: 'group', title: 'Mine', usernames: [bob.user.username] } });
    expect(group.members.map((member) => member.userId).sort()).toEqual([ann.user.id, bob.user.id, server.assistant.userId].sort());
  });

  it('once either person blocks the other, neither can send in their existing DM', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const bob = await server.user();
    const direct = await ann.client.api.createConversation({ body: { kind: 'direct', username: bob.user.username } });
    const conversationId = direct.conversation.id;
    await bob.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text: 'hi ann' } });

    await ann.client.api.blockUser({ params: { userId: bob.user.id } });
    await expectError(bob.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text: 'hello?' } }), 'BLOCKED');
    await expectError(ann.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text: 'bye' } }), 'BLOCKED');
    expect((await ann.client.api.listMessages({ params: { conversationId } })).messages.map((message) => message.text)).toEqual(['hi ann']);

    // Asking for the DM again does not route around the block.
    await expectError(bob.client.api.createConversation({ body: { kind: 'direct', username: ann.user.username } }), 'BLOCKED', 'body.username');

    await ann.client.api.unblockUser({ params: { userId: bob.user.id } });
    await bob.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text: 'friends again' } });
    expect((await ann.client.api.listMessages({ params: { conversationId } })).messages.map((message) => message.text)).toEqual([
      'hi ann',
      'friends again',
    ]);
  });

  it('a block does not stop messages in a group both are in', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const bob = await server.user();
    const group = await ann.client.api.createConversation({ body: { kind: 'group', usernames: [bob.user.username] } });
    await ann.client.api.blockUser({ params: { userId: bob.user.id } });
    const sent = await bob.client.api.sendMessage({ params: { conversationId: group.conversation.id }, body: { id: messageId(), text: 'still here' } });
    expect(sent.text).toBe('still here');
  });
});
