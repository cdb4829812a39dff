import type { ParleyError } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { say } from '../test/assistant.js';
import { failure, messageId, startTestServer, type TestServer } from '../test/harness.js';
import { LimitStore } from '../abuse/limits.js';
import { AssistantRateLimiter } from './rate-limit.js';

/** Answers a message: a turn started for it, ended at once. */
async function answer(server: TestServer, conversationId: string, triggerMessageId?: string) {
  const bot = server.assistant.client;
  const turn = await bot.api.startTurn({
    params: { conversationId },
    body: { id: messageId(), ...(triggerMessageId !== undefined ? { triggerMessageId } : {}) },
  });
  return bot.api.endTurn({ params: { conversationId, turnId: turn.id }, body: { status: 'completed', text: 'Sure.' } });
}

describe('[AT9] assistant answers are charged to the member whose message triggered them', () => {
  it('refuses past the limit with RATE_LIMITED naming the member, tells them once, and charges no one else', async () => {
    await using server = await startTestServer({ config: { assistantRateLimit: { burst: 2, perHour: 1 } } });
    const ann = await server.user();
    const bob = await server.user();
    const group = (await ann.client.api.createConversation({ body: { kind: 'group', usernames: [bob.user.username] } })).conversation.id;

    // People's own messages never count: many of them leave the budget untouched.
    const chatter = [];
    for (let index = 0; index < 6; index += 1) chatter.push(await say(ann.client, group, `@assistant question ${index}`));
    const first = await answer(server, group, chatter[0]!.id);
    expect(first.chargedUserId).toBe(ann.user.id);
    await answer(server, group, chatter[1]!.id);

    const refused = (await failure(
      server.assistant.client.api.startTurn({ params: { conversationId: group }, body: { id: messageId(), triggerMessageId: chatter[2]!.id } }),
    )) as ParleyError;
    expect(refused).toMatchObject({ code: 'RATE_LIMITED', status: 429, details: { userId: ann.user.id, notify: true } });
    expect(refused.retryAfter).toBeGreaterThan(0);
    // Refused again in the same stretch: no second notice.
    expect(
      await failure(server.assistant.client.api.startTurn({ params: { conversationId: group }, body: { id: messageId(), triggerMessageId: chatter[3]!.id } })),
    ).toMatchObject({ code: 'RATE_LIMITED', details: { userId: ann.user.id, notify: false } });
    // A refused turn was never started: the conversation is free and nothing streams.
    expect((await ann.client.api.listTurns({ params: { conversationId: group }, query: { status: 'streaming' } })).turns).toEqual([]);

    // Bob's messages are charged to bob, who has his whole budget.
    const bobs = await say(bob.client, group, '@assistant and me?');
    expect((await answer(server, group, bobs.id)).chargedUserId).toBe(bob.user.id);
    // Ann can still talk: the limit is on the assistant's answers, not on her messages.
    await say(ann.client, group, 'ok, I will wait');
    // The assistant's own words are charged to no one: a turn without a trigger, or one triggered by a bot's message.
    const notice = await answer(server, group);
    expect(notice.chargedUserId).toBeNull();
    const byBot = await answer(server, group, notice.messageId!);
    expect(byBot.chargedUserId).toBeNull();
  });

  it('is per member across conversations and configurable per server', async () => {
    await using server = await startTestServer({ config: { assistantRateLimit: { burst: 1, perHour: 1 } } });
    const ann = await server.user();
    const chat = (await ann.client.api.createConversation({ body: { kind: 'assistant' } })).conversation.id;
    const group = (await ann.client.api.createConversation({ body: { kind: 'group' } })).conversation.id;
    await answer(server, chat, (await say(ann.client, chat, 'hello')).id);
    expect(
      await failure(answer(server, group, (await say(ann.client, group, '@assistant hi')).id)),
    ).toMatchObject({ code: 'RATE_LIMITED', details: { userId: ann.user.id, notify: true } });
  });
});

describe('AssistantRateLimiter', () => {
  it('tells a member again in the next window', async () => {
    // burst 1 at 3600 an hour: one answer a second.
    const limiter = new AssistantRateLimiter({ burst: 1, perHour: 3600, store: LimitStore.memory() });
    expect(await limiter.take('ann')).toEqual({ wait: 0, notify: false });
    expect(await limiter.take('ann')).toEqual({ wait: 1, notify: true });
    expect(await limiter.take('ann')).toEqual({ wait: 1, notify: false });
    expect(await limiter.take('bob')).toEqual({ wait: 0, notify: false });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(await limiter.take('ann')).toEqual({ wait: 0, notify: false });
    expect(await limiter.take('ann')).toEqual({ wait: 1, notify: true });
  });
});
