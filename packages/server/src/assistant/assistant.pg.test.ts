import { describe, expect, it } from 'vitest';
import { say } from '../test/assistant.js';
import { failure, messageId, startTestServer } from '../test/harness.js';

// The assistant's SQL on PostgreSQL: the partial unique index on streaming turns, conditional
// updates that end a turn, upserts of summaries and instructions, sortable ids.
describe('the assistant on PostgreSQL', () => {
  it('streams, refuses a second turn in flight, ends into a message, and recovers a cut answer after a restart', async () => {
    await using server = await startTestServer({ database: 'postgres' });
    const ann = await server.user();
    const group = (await ann.client.api.createConversation({ body: { kind: 'group', title: 'PG' } })).conversation.id;
    const trigger = await say(ann.client, group, '@assistant hi');
    const bot = server.assistant.client;

    // Two at once for one conversation: exactly one starts, the other is refused.
    const ids = [messageId(), messageId()];
    const racing = await Promise.allSettled(
      ids.map((id) => bot.api.startTurn({ params: { conversationId: group }, body: { id, triggerMessageId: trigger.id } })),
    );
    expect(racing.map((result) => result.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = racing.find((result) => result.status === 'rejected');
    expect(refused?.reason).toMatchObject({ code: 'CONFLICT' });
    const first = ids[racing.findIndex((result) => result.status === 'fulfilled')]!;
    await bot.api.appendTurnDelta({ params: { conversationId: group, turnId: first }, body: { text: 'Hello' } });
    const ended = await bot.api.endTurn({ params: { conversationId: group, turnId: first }, body: { status: 'completed', text: 'Hello there' } });
    expect(ended).toMatchObject({ status: 'completed', text: 'Hello there', chargedUserId: ann.user.id });

    const second = messageId();
    await bot.api.startTurn({ params: { conversationId: group }, body: { id: second } });
    await bot.api.appendTurnDelta({ params: { conversationId: group, turnId: second }, body: { text: 'cut here' } });
    await server.restart();
    const { turns } = await ann.client.api.listTurns({ params: { conversationId: group } });
    expect(turns.map((turn) => [turn.id, turn.status, turn.text])).toEqual([
      [second, 'interrupted', 'cut here'],
      [first, 'completed', 'Hello there'],
    ]);
    const { messages } = await ann.client.api.listMessages({ params: { conversationId: group } });
    expect(messages.map((message) => [message.text, message.turn?.status ?? null])).toEqual([
      ['@assistant hi', null],
      ['Hello there', 'completed'],
      ['cut here', 'interrupted'],
    ]);
  });

  it('keeps decisions, summaries, memories and instructions', async () => {
    await using server = await startTestServer({ database: 'postgres' });
    const ann = await server.user();
    const bot = server.assistant.client;
    const chat = (await ann.client.api.createConversation({ body: { kind: 'assistant' } })).conversation.id;
    const message = await say(ann.client, chat, 'remember that I like tea');
    const decisions = [];
    for (const reason of ['one', 'two', 'three']) {
      decisions.push(await bot.api.recordDecision({ params: { conversationId: chat }, body: { messageId: message.id, action: 'answer', reason } }));
    }
    expect((await ann.client.api.listDecisions({ params: { conversationId: chat } })).decisions.map((decision) => decision.reason)).toEqual(['three', 'two', 'one']);
    await bot.api.saveSummary({ params: { conversationId: chat }, body: { text: 'first', uptoSeq: 1 } });
    await bot.api.saveSummary({ params: { conversationId: chat }, body: { text: 'second', uptoSeq: message.seq } });
    await ann.client.api.updateInstructions({ body: { text: 'short answers' } });
    await ann.client.api.updateInstructions({ body: { text: 'shorter answers' } });
    const saved = await bot.api.rememberForOwner({ params: { conversationId: chat }, body: { text: 'likes tea' } });
    const context = await bot.api.getAssistantContext({ params: { conversationId: chat } });
    expect(context).toMatchObject({
      summary: { text: 'second', uptoSeq: message.seq },
      personal: { userId: ann.user.id, instructions: 'shorter answers', memories: [saved] },
    });
    expect(await failure(ann.client.api.updateMemory({ params: { memoryId: messageId() }, body: { text: 'x' } }))).toMatchObject({ code: 'NOT_FOUND' });
  });
});
