import { describe, expect, it } from 'vitest';
import { messageId, startTestServer } from '../test/harness.js';

describe('messages', () => {
  it('delivers a sent message live to the other members of a group', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const bob = await server.user();
    const group = await ann.client.api.createConversation({
      body: { kind: 'group', title: 'Trip', usernames: [bob.user.username] },
    });
    const bobStream = await server.connect(bob.client);
    const sent = await ann.client.api.sendMessage({
      params: { conversationId: group.conversation.id },
      body: { id: messageId(), text: `hello @${bob.user.username}` },
    });
    expect(sent.mentions).toEqual([bob.user.id]);
    await bobStream.until((events) => events.some((event) => event.type === 'message-created'));
    const created = bobStream.events.find((event) => event.type === 'message-created');
    expect(created).toMatchObject({ seq: sent.seq, message: { id: sent.id, text: sent.text } });
  });

  it('a retry with the same client id returns the same message and creates no second one', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const chat = await ann.client.api.createConversation({ body: { kind: 'assistant' } });
    const id = messageId();
    const first = await ann.client.api.sendMessage({ params: { conversationId: chat.conversation.id }, body: { id, text: 'once' } });
    const again = await ann.client.api.sendMessage({ params: { conversationId: chat.conversation.id }, body: { id, text: 'once' } });
    expect(again).toEqual(first);
    const page = await ann.client.api.listMessages({ params: { conversationId: chat.conversation.id } });
    expect(page.messages.map((message) => message.id)).toEqual([id]);
  });
});
