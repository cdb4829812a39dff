import { describe, expect, it } from 'vitest';
import { messageId, people, startTestServer } from '../test/harness.js';

// The paths whose SQL differs most between backends: multi-row inserts with a bulk append,
// conditional updates, deletes of member rows.
describe('membership on PostgreSQL', () => {
  it('copies a conversation into a new group across chunks, leaving the original as it was', async () => {
    await using server = await startTestServer({ database: 'postgres', config: { floodLimit: { burst: 1000, perMinute: 100_000 } } });
    const ann = await server.user();
    const bob = await server.user();
    const source = (await ann.client.api.createConversation({ body: { kind: 'direct', username: bob.user.username } })).conversation.id;
    const count = 230;
    // Sent a batch at a time (group commit makes that fast); the seq order is what is checked.
    for (let start = 0; start < count; start += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, count - start) }, (_, offset) =>
          (offset % 2 ? bob : ann).client.api.sendMessage({ params: { conversationId: source }, body: { id: messageId(), text: `m${start + offset}` } }),
        ),
      );
    }
    const sent = await ann.client.api.listMessages({ params: { conversationId: source }, query: { limit: 200 } });
    const older = await ann.client.api.listMessages({ params: { conversationId: source }, query: { limit: 200, before: sent.nextBefore ?? 0 } });
    const texts = [...older.messages, ...sent.messages].map((message) => message.text);
    const before = await bob.client.api.listEvents({ params: { conversationId: source }, query: { limit: 1000 } });
    const fork = await ann.client.api.forkConversation({ params: { conversationId: source }, body: { usernames: [bob.user.username] } });
    const events = await bob.client.api.listEvents({ params: { conversationId: fork.conversation.id }, query: { limit: 1000 } });
    expect(events.events.map((event) => event.seq)).toEqual(Array.from({ length: count + 1 }, (_, index) => index + 1));
    expect(texts).toHaveLength(count);
    expect(events.events.flatMap((event) => (event.type === 'message-created' ? [event.message.text] : []))).toEqual(texts);
    expect(await bob.client.api.listEvents({ params: { conversationId: source }, query: { limit: 1000 } })).toEqual(before);
  });

  it('counts invite uses atomically and removes members for good', async () => {
    await using server = await startTestServer({ database: 'postgres' });
    const ann = await server.user();
    const joiners = await Promise.all([1, 2, 3, 4].map(() => server.user()));
    const group = (await ann.client.api.createConversation({ body: { kind: 'group' } })).conversation.id;
    const invite = await ann.client.api.createInvite({ params: { conversationId: group }, body: { maxUses: 2 } });
    const results = await Promise.allSettled(joiners.map((joiner) => joiner.client.api.joinInvite({ params: { token: invite.token ?? '' }, body: {} })));
    const joined = joiners.filter((_, index) => results[index]?.status === 'fulfilled');
    expect(joined).toHaveLength(2);
    expect((await ann.client.api.listInvites({ params: { conversationId: group } })).invites[0]?.uses).toBe(2);

    const [first] = joined;
    if (!first) throw new Error('two joined');
    await ann.client.api.removeMember({ params: { conversationId: group, userId: first.user.id } });
    await expect(first.client.api.listEvents({ params: { conversationId: group } })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(people((await ann.client.api.listMembers({ params: { conversationId: group } })).members)).toHaveLength(2);
  });
});
