import type { ConversationEvent } from '@parley/protocol';
import { ParleyClient } from '@parley/sdk';
import { messageId, startTestServer } from '@parley/server/test';
import { describe, expect, it } from 'vitest';
import { MessageWindow } from './message-window.js';

describe('the message window of a conversation worker', () => {
  it('is read with one listMessages, however many ask at once, and then kept current from the events', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const group = (await ann.client.api.createConversation({ body: { kind: 'group', usernames: [] } })).conversation.id;
    const first = await ann.client.api.sendMessage({ params: { conversationId: group }, body: { id: messageId(), text: 'first' } });
    let reads = 0;
    const countingFetch: typeof fetch = (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      if ((init?.method ?? 'GET') === 'GET' && url.pathname.endsWith('/messages')) reads += 1;
      return fetch(input, init);
    };
    const bot = new ParleyClient({ baseUrl: server.url, token: server.assistant.token, fetch: countingFetch });
    const context = await bot.api.getAssistantContext({ params: { conversationId: group } });
    const window = new MessageWindow({ client: bot, conversationId: group, assistantUserId: server.assistant.userId, triggers: new Map() });

    expect(window.history()).toEqual([]);
    await Promise.all([window.load(context), window.load(context), window.recent(context)]);
    expect(reads).toBe(1);
    expect(window.history().map((item) => item.text)).toEqual(['first']);

    const second = await ann.client.api.sendMessage({ params: { conversationId: group }, body: { id: messageId(), text: 'second', replyToId: first.id } });
    const at = new Date().toISOString();
    const events: ConversationEvent[] = [
      { type: 'message-created', conversationId: group, seq: second.seq + 100, at, actorId: ann.user.id, message: second },
      { type: 'message-edited', conversationId: group, seq: second.seq + 101, at, actorId: ann.user.id, messageId: first.id, text: 'first, edited', mentions: [], editedAt: at },
    ] as ConversationEvent[];
    for (const event of events) window.apply(event);

    expect(window.history().map((item) => [item.text, item.replyToAuthorId])).toEqual([
      ['first, edited', undefined],
      ['second', ann.user.id],
    ]);
    expect((await window.recent(context)).messages.map((message) => message.text)).toEqual(['first, edited', 'second']);
    expect(reads).toBe(1);
  });
});
