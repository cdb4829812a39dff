import { describe, expect, it } from 'vitest';
import { say } from '../test/assistant.js';
import { failure, messageId, startTestServer, type TestServer, type TestUser } from '../test/harness.js';

/** Ann and bob, each with memories and instructions of their own; a group of both; ann's one-to-one chat. */
async function world(server: TestServer) {
  const ann = await server.user();
  const bob = await server.user();
  const personal = async (person: TestUser, name: string) => {
    await person.client.api.updateInstructions({ body: { text: `${name}-INSTRUCTIONS: answer like a pirate` } });
    await person.client.api.createMemory({ body: { text: `${name}-MEMORY-1: allergic to peanuts` } });
    await person.client.api.createMemory({ body: { text: `${name}-MEMORY-2: lives in Lyon` } });
  };
  await personal(ann, 'ANN');
  await personal(bob, 'BOB');
  const group = (await ann.client.api.createConversation({ body: { kind: 'group', title: 'Dinner', usernames: [bob.user.username] } })).conversation.id;
  const chat = (await ann.client.api.createConversation({ body: { kind: 'assistant' } })).conversation.id;
  return { ann, bob, group, chat, bot: server.assistant.client };
}

describe('decisions', () => {
  it('[AD1] are recorded by the bot and visible to every member, newest first, per message', async () => {
    await using server = await startTestServer();
    const { ann, bob, group, bot } = await world(server);
    const first = await say(ann.client, group, 'bob, pizza tonight?');
    const second = await say(bob.client, group, '@assistant any good pizza place?');
    const silent = await bot.api.recordDecision({
      params: { conversationId: group },
      body: { messageId: first.id, action: 'silent', reason: 'ann addresses bob by name', rule: 'TT3' },
    });
    expect(silent).toMatchObject({ conversationId: group, messageId: first.id, action: 'silent', rule: 'TT3', emoji: null, model: null });
    const react = await bot.api.recordDecision({
      params: { conversationId: group },
      body: { messageId: second.id, action: 'react', reason: 'a quick yes', emoji: '🍕', model: 'fast-model' },
    });
    expect(react).toMatchObject({ action: 'react', emoji: '🍕', model: 'fast-model', rule: null });

    const { decisions } = await ann.client.api.listDecisions({ params: { conversationId: group } });
    expect(decisions.map((decision) => decision.id)).toEqual([react.id, silent.id]);
    expect(decisions[1]).toEqual(silent);
    const forFirst = await bob.client.api.listDecisions({ params: { conversationId: group }, query: { messageId: first.id } });
    expect(forFirst.decisions).toEqual([silent]);
    expect((await bob.client.api.listDecisions({ params: { conversationId: group }, query: { limit: 1 } })).decisions).toEqual([react]);
  });

  it('[AS3] are refused to people, and must name a message of the conversation and a coherent emoji', async () => {
    await using server = await startTestServer();
    const { ann, group, chat, bot } = await world(server);
    const message = await say(ann.client, group, 'hello');
    const elsewhere = await say(ann.client, chat, 'private');
    expect(
      await failure(ann.client.api.recordDecision({ params: { conversationId: group }, body: { messageId: message.id, action: 'answer', reason: 'I say so' } })),
    ).toMatchObject({ code: 'FORBIDDEN' });
    const refusals: Array<[() => Promise<unknown>, string, string]> = [
      [() => bot.api.recordDecision({ params: { conversationId: group }, body: { messageId: elsewhere.id, action: 'answer', reason: 'x' } }), 'NOT_FOUND', 'body.messageId'],
      [() => bot.api.recordDecision({ params: { conversationId: group }, body: { messageId: message.id, action: 'react', reason: 'x' } }), 'INVALID_INPUT', 'body.emoji'],
      [() => bot.api.recordDecision({ params: { conversationId: group }, body: { messageId: message.id, action: 'silent', reason: 'x', emoji: '👍' } }), 'INVALID_INPUT', 'body.emoji'],
      [() => bot.api.recordDecision({ params: { conversationId: group }, body: { messageId: message.id, action: 'shout' as 'answer', reason: 'x' } }), 'INVALID_INPUT', 'body.action'],
      [() => bot.api.recordDecision({ params: { conversationId: group }, body: { messageId: message.id, action: 'answer', reason: '' } }), 'INVALID_INPUT', 'body.reason'],
      [() => bot.api.recordDecision({ params: { conversationId: group }, body: { messageId: message.id, action: 'react', reason: 'x', emoji: 'ok' } }), 'INVALID_INPUT', 'body.emoji'],
      [() => bot.api.listDecisions({ params: { conversationId: group }, query: { limit: 500 } }), 'INVALID_INPUT', 'query.limit'],
    ];
    for (const [call, code, field] of refusals) expect(await failure(call()), field).toMatchObject({ code, field });
    expect((await ann.client.api.listDecisions({ params: { conversationId: group } })).decisions).toEqual([]);
  });
});

describe('the assistant context', () => {
  it('[AC1] of a group holds no member\'s memory or instructions, byte for byte', async () => {
    await using server = await startTestServer();
    const { group, bot } = await world(server);
    const context = await bot.api.getAssistantContext({ params: { conversationId: group } });
    expect(context.personal).toBeNull();
    expect(context.conversation).toMatchObject({ id: group, kind: 'group', assistant: { name: 'Parley' } });
    expect(context.members).toHaveLength(3);
    expect(context.contentPolicy).toBe('standard');
    const text = JSON.stringify(context);
    for (const secret of ['ANN-MEMORY', 'ANN-INSTRUCTIONS', 'BOB-MEMORY', 'BOB-INSTRUCTIONS', 'peanuts', 'pirate', 'Lyon']) {
      expect(text).not.toContain(secret);
    }
  });

  it('[AC1] of a one-to-one chat holds its owner\'s instructions and memories, and nobody else\'s', async () => {
    await using server = await startTestServer();
    const { ann, chat, bot } = await world(server);
    const context = await bot.api.getAssistantContext({ params: { conversationId: chat } });
    const memories = (await ann.client.api.listMemories()).memories;
    expect(context.personal).toEqual({ userId: ann.user.id, instructions: 'ANN-INSTRUCTIONS: answer like a pirate', memories });
    expect(memories.map((memory) => memory.text)).toEqual(['ANN-MEMORY-1: allergic to peanuts', 'ANN-MEMORY-2: lives in Lyon']);
    expect(JSON.stringify(context)).not.toContain('BOB-');
  });

  it('[AC2] is under the teen policy for everyone when a teen is among the people', async () => {
    await using server = await startTestServer();
    const { ann, group, bot } = await world(server);
    const teen = await server.user(undefined, { ageBand: 'teen' });
    await ann.client.api.addMember({ params: { conversationId: group }, body: { username: teen.user.username } });
    expect((await bot.api.getAssistantContext({ params: { conversationId: group } })).contentPolicy).toBe('teen');
    await ann.client.api.removeMember({ params: { conversationId: group, userId: teen.user.id } });
    expect((await bot.api.getAssistantContext({ params: { conversationId: group } })).contentPolicy).toBe('standard');
    const teensChat = (await teen.client.api.createConversation({ body: { kind: 'assistant' } })).conversation.id;
    expect((await bot.api.getAssistantContext({ params: { conversationId: teensChat } })).contentPolicy).toBe('teen');
  });

  it('[AC3] carries the summary the bot saved, up to a sequence number the conversation has', async () => {
    await using server = await startTestServer();
    const { ann, group, bot } = await world(server);
    expect((await bot.api.getAssistantContext({ params: { conversationId: group } })).summary).toBeNull();
    const message = await say(ann.client, group, 'we agreed on friday');
    const summary = { text: 'They agreed to meet on Friday.', uptoSeq: message.seq };
    expect(await bot.api.saveSummary({ params: { conversationId: group }, body: summary })).toEqual(summary);
    expect((await bot.api.getAssistantContext({ params: { conversationId: group } })).summary).toEqual(summary);
    const newer = { text: 'Friday, at eight.', uptoSeq: message.seq };
    await bot.api.saveSummary({ params: { conversationId: group }, body: newer });
    expect((await bot.api.getAssistantContext({ params: { conversationId: group } })).summary).toEqual(newer);
    expect(await failure(bot.api.saveSummary({ params: { conversationId: group }, body: { text: 'future', uptoSeq: message.seq + 5 } }))).toMatchObject({
      code: 'INVALID_INPUT',
      field: 'body.uptoSeq',
    });
    expect(await failure(bot.api.saveSummary({ params: { conversationId: group }, body: { text: 'x', uptoSeq: -1 } }))).toMatchObject({
      code: 'INVALID_INPUT',
      field: 'body.uptoSeq',
    });
    expect(await failure(bot.api.saveSummary({ params: { conversationId: group }, body: { text: 'x'.repeat(20_001), uptoSeq: 1 } }))).toMatchObject({
      code: 'INVALID_INPUT',
      field: 'body.text',
    });
    expect((await bot.api.getAssistantContext({ params: { conversationId: group } })).summary).toEqual(newer);
  });

  it('[AS3] and every other bot-only endpoint refuse people, even in their own conversations', async () => {
    await using server = await startTestServer();
    const { ann, bob, group, chat } = await world(server);
    for (const [person, conversationId] of [
      [ann, group],
      [bob, group],
      [ann, chat],
    ] as const) {
      const params = { conversationId };
      const calls: Array<[string, () => Promise<unknown>]> = [
        ['getAssistantContext', () => person.client.api.getAssistantContext({ params })],
        ['saveSummary', () => person.client.api.saveSummary({ params, body: { text: 'mine', uptoSeq: 0 } })],
        ['rememberForOwner', () => person.client.api.rememberForOwner({ params, body: { text: 'a memory' } })],
        ['recordDecision', () => person.client.api.recordDecision({ params, body: { messageId: messageId(), action: 'silent', reason: 'x' } })],
        ['startTurn', () => person.client.api.startTurn({ params, body: { id: messageId() } })],
        ['appendTurnDelta', () => person.client.api.appendTurnDelta({ params: { ...params, turnId: messageId() }, body: { text: 'x' } })],
        ['endTurn', () => person.client.api.endTurn({ params: { ...params, turnId: messageId() }, body: { status: 'completed' } })],
      ];
      for (const [name, call] of calls) expect(await failure(call()), name).toMatchObject({ code: 'FORBIDDEN', status: 403 });
    }
    expect((await ann.client.api.listMemories()).memories).toHaveLength(2);
    expect((await server.assistant.client.api.getAssistantContext({ params: { conversationId: group } })).summary).toBeNull();
  });
});

describe('memories and instructions', () => {
  it('[AM1] a person lists, adds, edits and deletes their own memories, and sets their instructions', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    expect(await ann.client.api.getInstructions()).toEqual({ text: '' });
    expect(await ann.client.api.listMemories()).toEqual({ memories: [] });
    const memory = await ann.client.api.createMemory({ body: { text: '  prefers metric units  ' } });
    expect(memory).toMatchObject({ text: 'prefers metric units', source: 'user' });
    expect(memory.createdAt).toBe(memory.updatedAt);
    const edited = await ann.client.api.updateMemory({ params: { memoryId: memory.id }, body: { text: 'prefers imperial units' } });
    expect(edited).toMatchObject({ id: memory.id, text: 'prefers imperial units', createdAt: memory.createdAt });
    expect((await ann.client.api.listMemories()).memories).toEqual([edited]);
    await ann.client.api.deleteMemory({ params: { memoryId: memory.id } });
    expect((await ann.client.api.listMemories()).memories).toEqual([]);
    expect(await failure(ann.client.api.deleteMemory({ params: { memoryId: memory.id } }))).toMatchObject({ code: 'NOT_FOUND' });

    expect(await ann.client.api.updateInstructions({ body: { text: 'Be brief.' } })).toEqual({ text: 'Be brief.' });
    expect(await ann.client.api.getInstructions()).toEqual({ text: 'Be brief.' });
    await ann.client.api.updateInstructions({ body: { text: '' } });
    expect(await ann.client.api.getInstructions()).toEqual({ text: '' });
  });

  it("[AM1] another person's memory is NOT_FOUND, and stays as it was", async () => {
    await using server = await startTestServer();
    const { ann, bob } = await world(server);
    const before = (await ann.client.api.listMemories()).memories;
    const target = before[0]!;
    expect(await failure(bob.client.api.updateMemory({ params: { memoryId: target.id }, body: { text: 'hacked' } }))).toMatchObject({
      code: 'NOT_FOUND',
      field: 'params.memoryId',
    });
    expect(await failure(bob.client.api.deleteMemory({ params: { memoryId: target.id } }))).toMatchObject({ code: 'NOT_FOUND', field: 'params.memoryId' });
    expect((await ann.client.api.listMemories()).memories).toEqual(before);
    expect((await bob.client.api.listMemories()).memories.map((memory) => memory.text)).toEqual(['BOB-MEMORY-1: allergic to peanuts', 'BOB-MEMORY-2: lives in Lyon']);
    expect((await bob.client.api.getInstructions()).text).toBe('BOB-INSTRUCTIONS: answer like a pirate');
  });

  it('[AM2] the assistant saves a memory for the owner of a one-to-one chat, never from a group', async () => {
    await using server = await startTestServer();
    const { ann, bob, group, chat, bot } = await world(server);
    const saved = await bot.api.rememberForOwner({ params: { conversationId: chat }, body: { text: 'has a cat named Miso' } });
    expect(saved).toMatchObject({ text: 'has a cat named Miso', source: 'assistant' });
    expect((await ann.client.api.listMemories()).memories.at(-1)).toEqual(saved);
    // The owner may edit and delete what the assistant saved.
    await ann.client.api.deleteMemory({ params: { memoryId: saved.id } });

    const annBefore = await ann.client.api.listMemories();
    const bobBefore = await bob.client.api.listMemories();
    expect(await failure(bot.api.rememberForOwner({ params: { conversationId: group }, body: { text: 'ann said she is moving' } }))).toMatchObject({
      code: 'FORBIDDEN',
      field: 'params.conversationId',
    });
    // Nor from a direct conversation, where the assistant is not even a member.
    const direct = (await ann.client.api.createConversation({ body: { kind: 'direct', username: bob.user.username } })).conversation.id;
    expect(await failure(bot.api.rememberForOwner({ params: { conversationId: direct }, body: { text: 'secret' } }))).toMatchObject({ code: 'NOT_FOUND' });
    expect(await ann.client.api.listMemories()).toEqual(annBefore);
    expect(await bob.client.api.listMemories()).toEqual(bobBefore);
  });

  it('malformed bodies name their field and save nothing', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const chat = (await ann.client.api.createConversation({ body: { kind: 'assistant' } })).conversation.id;
    const memory = await ann.client.api.createMemory({ body: { text: 'kept' } });
    const cases: Array<[() => Promise<unknown>, string]> = [
      [() => ann.client.api.createMemory({ body: { text: '   ' } }), 'body.text'],
      [() => ann.client.api.createMemory({ body: { text: 'x'.repeat(1001) } }), 'body.text'],
      [() => ann.client.api.updateMemory({ params: { memoryId: memory.id }, body: { text: '' } }), 'body.text'],
      [() => ann.client.api.updateMemory({ params: { memoryId: 'not an id' }, body: { text: 'x' } }), 'params.memoryId'],
      [() => ann.client.api.updateInstructions({ body: { text: 'x'.repeat(4001) } }), 'body.text'],
      [() => server.assistant.client.api.rememberForOwner({ params: { conversationId: chat }, body: { text: '' } }), 'body.text'],
    ];
    for (const [call, field] of cases) expect(await failure(call()), field).toMatchObject({ code: 'INVALID_INPUT', field });
    expect((await ann.client.api.listMemories()).memories).toEqual([memory]);
    expect(await ann.client.api.getInstructions()).toEqual({ text: '' });
  });
});
