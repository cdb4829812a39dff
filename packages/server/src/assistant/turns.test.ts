import type { ServerFrameOf } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { isTurnFrame, messageCreated, say, streamedText, turnFrames, untilText } from '../test/assistant.js';
import { failure, messageId, startTestServer, type TestServer, type TestUser } from '../test/harness.js';
import { rawSocket } from '../test/streams.js';

/** A group of ann and bob (and the assistant), with a message of ann's for the assistant to answer. */
async function world(server: TestServer, extra: TestUser[] = []) {
  const ann = await server.user();
  const bob = await server.user();
  const view = await ann.client.api.createConversation({
    body: { kind: 'group', title: 'Trip', usernames: [bob.user.username, ...extra.map((person) => person.user.username)] },
  });
  const group = view.conversation.id;
  const trigger = await say(ann.client, group, '@assistant where should we go?');
  const bot = server.assistant;
  return { ann, bob, group, trigger, bot };
}

function delta(conversationId: string, turnId: string, text: string) {
  return { type: 'turn-delta', conversationId, turnId, text };
}

const isError = (frame: { type: string }): frame is ServerFrameOf<'error'> => frame.type === 'error';

describe('a streamed answer', () => {
  it('[AT3] [AT4] start, deltas in order with offsets, end: every member sees it stream and then the message', async () => {
    await using server = await startTestServer();
    const { ann, bob, group, trigger, bot } = await world(server);
    const annSocket = await rawSocket(server.url, ann.client.token!);
    const bobSocket = await rawSocket(server.url, bob.client.token!);
    const botSocket = await rawSocket(server.url, bot.token);
    const turnId = messageId();

    const started = await bot.client.api.startTurn({ params: { conversationId: group }, body: { id: turnId, triggerMessageId: trigger.id, model: 'fast' } });
    expect(started).toMatchObject({ id: turnId, conversationId: group, status: 'streaming', text: '', triggerMessageId: trigger.id, chargedUserId: ann.user.id, model: 'fast', messageId: null });
    for (const socket of [annSocket, bobSocket]) {
      const start = await socket.frame((frame) => frame.type === 'assistant-turn-start');
      expect(start).toMatchObject({ conversationId: group, turnId, userId: bot.userId, triggerMessageId: trigger.id, at: started.startedAt });
    }

    // Over the socket (the fast path), then over HTTP: one stream of text either way.
    botSocket.send(delta(group, turnId, 'Hel'));
    botSocket.send(delta(group, turnId, 'lo '));
    await untilText(annSocket, turnId, 'Hello ');
    await bot.client.api.appendTurnDelta({ params: { conversationId: group, turnId }, body: { text: 'world' } });
    for (const socket of [annSocket, bobSocket]) {
      await untilText(socket, turnId, 'Hello world');
      const deltas = turnFrames(socket, turnId).filter((frame) => frame.type === 'assistant-text-delta');
      expect(deltas.map((frame) => [frame.offset, frame.delta])).toEqual([[0, 'Hel'], [3, 'lo '], [6, 'world']]);
    }
    // listTurns has the text in flight.
    const { turns } = await bob.client.api.listTurns({ params: { conversationId: group } });
    expect(turns[0]).toMatchObject({ id: turnId, status: 'streaming', text: 'Hello world' });

    const ended = await bot.client.api.endTurn({ params: { conversationId: group, turnId }, body: { status: 'completed', text: 'Hello world!' } });
    expect(ended).toMatchObject({ status: 'completed', text: 'Hello world!', error: null });
    expect(ended.messageId).not.toBeNull();
    expect(ended.endedAt).not.toBeNull();
    for (const socket of [annSocket, bobSocket]) {
      const created = await messageCreated(socket, (message) => message.id === ended.messageId);
      // The final text sent over HTTP is the answer, even where it goes on from what was streamed.
      const deltas = turnFrames(socket, turnId).filter((frame) => frame.type === 'assistant-text-delta');
      expect(deltas.map((frame) => [frame.offset, frame.delta])).toEqual([[0, 'Hel'], [3, 'lo '], [6, 'world']]);
      expect(created.event).toMatchObject({
        type: 'message-created',
        actorId: bot.userId,
        message: { authorId: bot.userId, text: 'Hello world!', turn: { id: turnId, status: 'completed', error: null } },
      });
      const end = await socket.frame((frame) => frame.type === 'assistant-turn-end');
      expect(end).toEqual({ type: 'assistant-turn-end', conversationId: group, turnId, status: 'completed', messageId: ended.messageId, error: null });
      // The message comes before the end, so a client can swap the one for the other.
      expect(socket.frames.indexOf(created)).toBeLessThan(socket.frames.indexOf(end));
    }
    // The bot sees starts and ends, but not its own text echoed back.
    await botSocket.frame((frame) => frame.type === 'assistant-turn-end');
    expect(turnFrames(botSocket, turnId).map((frame) => frame.type)).toEqual(['assistant-turn-start', 'assistant-turn-end']);

    const { messages } = await ann.client.api.listMessages({ params: { conversationId: group } });
    expect(messages.map((message) => [message.text, message.turn])).toEqual([
      ['@assistant where should we go?', null],
      ['Hello world!', { id: turnId, status: 'completed', error: null }],
    ]);
    expect((await ann.client.api.listTurns({ params: { conversationId: group } })).turns[0]).toEqual(ended);
    // [AT11] Any member reads one turn: what it answered.
    expect(await bob.client.api.getTurn({ params: { conversationId: group, turnId } })).toEqual(ended);
    expect(await failure(bob.client.api.getTurn({ params: { conversationId: group, turnId: messageId() } }))).toMatchObject({ code: 'NOT_FOUND', field: 'params.turnId' });

    // Ended: nothing more can be added, by either path.
    expect(await failure(bot.client.api.appendTurnDelta({ params: { conversationId: group, turnId }, body: { text: 'more' } }))).toMatchObject({
      code: 'CONFLICT',
      details: { turnId, status: 'completed' },
    });
    const count = botSocket.frames.length;
    botSocket.send(delta(group, turnId, 'more'));
    expect((await botSocket.frame(isError, count)).error).toMatchObject({ code: 'CONFLICT', details: { turnId, status: 'completed', conversationId: group } });
    // Repeating the same end answers with the turn; another end is refused.
    expect(await bot.client.api.endTurn({ params: { conversationId: group, turnId }, body: { status: 'completed', text: 'Hello world!' } })).toEqual(ended);
    expect(await failure(bot.client.api.endTurn({ params: { conversationId: group, turnId }, body: { status: 'failed' } }))).toMatchObject({ code: 'CONFLICT' });
    expect((await ann.client.api.listMessages({ params: { conversationId: group } })).messages).toHaveLength(2);
  });

  it('[AT4] the end sent on the socket behind the deltas makes the message of exactly the text streamed', async () => {
    await using server = await startTestServer();
    const { ann, bob, group, trigger, bot } = await world(server);
    const annSocket = await rawSocket(server.url, ann.client.token!);
    const botSocket = await rawSocket(server.url, bot.token);
    const turnId = messageId();
    await bot.client.api.startTurn({ params: { conversationId: group }, body: { id: turnId, triggerMessageId: trigger.id } });
    // Many deltas and the end in one burst, without waiting for any of them.
    const parts = Array.from({ length: 200 }, (_, index) => `word${index} `);
    for (const part of parts) botSocket.send(delta(group, turnId, part));
    botSocket.send({ type: 'turn-end', conversationId: group, turnId, status: 'completed' });
    const ended = await botSocket.frame((frame): frame is ServerFrameOf<'turn-ended'> => frame.type === 'turn-ended');
    expect(ended).toEqual({ type: 'turn-ended', conversationId: group, turnId, status: 'completed', messageId: expect.any(String) });
    const created = await messageCreated(annSocket, (message) => message.id === ended.messageId);
    expect(created.event).toMatchObject({ message: { authorId: bot.userId, text: parts.join(''), turn: { id: turnId, status: 'completed', error: null } } });
    // Every delta reached the member before the message, none after the end.
    const frames = turnFrames(annSocket, turnId);
    expect(streamedText(frames)).toBe(parts.join(''));
    expect(frames.at(-1)?.type).toBe('assistant-turn-end');
    expect(frames.filter((frame) => frame.type === 'assistant-text-delta')).toHaveLength(parts.length);
    // The turn over HTTP says the same; the bot is not echoed its text.
    expect((await bob.client.api.listTurns({ params: { conversationId: group } })).turns[0]).toMatchObject({ id: turnId, status: 'completed', text: parts.join(''), endedAt: expect.any(String) });

    // Repeating the same end answers again; another end is refused, naming the turn and the frame.
    botSocket.send({ type: 'turn-end', conversationId: group, turnId, status: 'completed' });
    await botSocket.frame((frame) => frame.type === 'turn-ended', botSocket.frames.indexOf(ended) + 1);
    const count = botSocket.frames.length;
    botSocket.send({ type: 'turn-end', conversationId: group, turnId, status: 'failed' });
    expect((await botSocket.frame(isError, count)).error).toMatchObject({ code: 'CONFLICT', details: { turnId, conversationId: group, frame: 'turn-end', status: 'completed' } });
    expect((await ann.client.api.listMessages({ params: { conversationId: group } })).messages).toHaveLength(2);
  });

  it('[AT4] [AT5] a turn-end after a member stopped the turn is refused; a person cannot end a turn on the socket', async () => {
    await using server = await startTestServer();
    const { ann, bob, group, trigger, bot } = await world(server);
    const botSocket = await rawSocket(server.url, bot.token);
    const annSocket = await rawSocket(server.url, ann.client.token!);
    const turnId = messageId();
    await bot.client.api.startTurn({ params: { conversationId: group }, body: { id: turnId, triggerMessageId: trigger.id } });
    botSocket.send(delta(group, turnId, 'Porto'));
    await untilText(annSocket, turnId, 'Porto');

    let count = annSocket.frames.length;
    annSocket.send({ type: 'turn-end', conversationId: group, turnId, status: 'completed' });
    expect((await annSocket.frame(isError, count)).error).toMatchObject({ code: 'FORBIDDEN', details: { turnId, frame: 'turn-end' } });

    await bob.client.api.stopTurn({ params: { conversationId: group, turnId } });
    count = botSocket.frames.length;
    botSocket.send({ type: 'turn-end', conversationId: group, turnId, status: 'completed' });
    expect((await botSocket.frame(isError, count)).error).toMatchObject({ code: 'CONFLICT', details: { turnId, status: 'stopped', frame: 'turn-end' } });
    const { messages } = await ann.client.api.listMessages({ params: { conversationId: group } });
    expect(messages.map((message) => [message.text, message.turn?.status])).toEqual([['@assistant where should we go?', undefined], ['Porto', 'stopped']]);
  });

  it('[AT6] a member who connects mid-answer gets the answer so far, then the rest live', async () => {
    await using server = await startTestServer();
    const { ann, group, trigger, bot } = await world(server);
    const botSocket = await rawSocket(server.url, bot.token);
    const turnId = messageId();
    await bot.client.api.startTurn({ params: { conversationId: group }, body: { id: turnId, triggerMessageId: trigger.id } });
    botSocket.send(delta(group, turnId, 'Lisbon, '));
    botSocket.send(delta(group, turnId, 'because '));
    await expect.poll(async () => (await ann.client.api.listTurns({ params: { conversationId: group } })).turns[0]?.text).toBe('Lisbon, because ');

    const late = await rawSocket(server.url, ann.client.token!);
    const synced = late.frames.findIndex((frame) => frame.type === 'synced');
    await untilText(late, turnId, 'Lisbon, because ');
    const frames = turnFrames(late, turnId);
    expect(frames).toEqual([
      { type: 'assistant-turn-start', conversationId: group, turnId, userId: bot.userId, triggerMessageId: trigger.id, triggeredBy: ann.user.id, at: expect.any(String) },
      { type: 'assistant-text-delta', conversationId: group, turnId, offset: 0, delta: 'Lisbon, because ' },
    ]);
    // Nothing of the answer before `synced`.
    expect(late.frames.findIndex(isTurnFrame)).toBeGreaterThan(synced);

    botSocket.send(delta(group, turnId, 'it is sunny'));
    await untilText(late, turnId, 'Lisbon, because it is sunny');
    expect(turnFrames(late, turnId).at(-1)).toMatchObject({ offset: 16, delta: 'it is sunny' });
  });

  it('[AT6] a person added while connected, mid-answer, gets the answer so far after member-added', async () => {
    await using server = await startTestServer();
    const { ann, group, trigger, bot } = await world(server);
    const cat = await server.user();
    const catSocket = await rawSocket(server.url, cat.client.token!);
    const turnId = messageId();
    await bot.client.api.startTurn({ params: { conversationId: group }, body: { id: turnId, triggerMessageId: trigger.id } });
    await bot.client.api.appendTurnDelta({ params: { conversationId: group, turnId }, body: { text: 'so far' } });
    await ann.client.api.addMember({ params: { conversationId: group }, body: { username: cat.user.username } });
    await untilText(catSocket, turnId, 'so far');
    const added = catSocket.frames.findIndex((frame) => frame.type === 'event' && frame.event.type === 'member-added');
    expect(added).toBeGreaterThanOrEqual(0);
    expect(catSocket.frames.findIndex(isTurnFrame)).toBeGreaterThan(added);
  });

  it('[AT5] any member stops the answer: it ends at once with the text so far, and the bot can add nothing more', async () => {
    await using server = await startTestServer();
    const { ann, bob, group, trigger, bot } = await world(server);
    const annSocket = await rawSocket(server.url, ann.client.token!);
    const botSocket = await rawSocket(server.url, bot.token);
    const turnId = messageId();
    await bot.client.api.startTurn({ params: { conversationId: group }, body: { id: turnId, triggerMessageId: trigger.id } });
    botSocket.send(delta(group, turnId, 'Let me think about '));
    await untilText(annSocket, turnId, 'Let me think about ');

    const stopped = await bob.client.api.stopTurn({ params: { conversationId: group, turnId } });
    expect(stopped).toMatchObject({ status: 'stopped', text: 'Let me think about ', error: null });
    const end = await botSocket.frame((frame) => frame.type === 'assistant-turn-end');
    expect(end).toMatchObject({ turnId, status: 'stopped', messageId: stopped.messageId });
    const created = await messageCreated(annSocket, (message) => message.id === stopped.messageId);
    expect(created.event).toMatchObject({ message: { authorId: bot.userId, text: 'Let me think about ', turn: { id: turnId, status: 'stopped' } } });

    const count = botSocket.frames.length;
    botSocket.send(delta(group, turnId, 'it more'));
    expect((await botSocket.frame(isError, count)).error).toMatchObject({ code: 'CONFLICT', details: { turnId, status: 'stopped' } });
    expect(await failure(bot.client.api.appendTurnDelta({ params: { conversationId: group, turnId }, body: { text: 'it more' } }))).toMatchObject({ code: 'CONFLICT' });
    expect(await failure(bot.client.api.endTurn({ params: { conversationId: group, turnId }, body: { status: 'completed', text: 'Let me think about it more' } }))).toMatchObject({
      code: 'CONFLICT',
      details: { status: 'stopped' },
    });
    // Stopping again changes nothing.
    expect(await ann.client.api.stopTurn({ params: { conversationId: group, turnId } })).toEqual(stopped);
    const { messages } = await ann.client.api.listMessages({ params: { conversationId: group } });
    expect(messages.map((message) => message.text)).toEqual(['@assistant where should we go?', 'Let me think about ']);
    // Nothing of the stopped turn reached a member after its end.
    expect(turnFrames(annSocket, turnId).at(-1)?.type).toBe('assistant-turn-end');
    // The conversation is free for the next answer.
    await bot.client.api.startTurn({ params: { conversationId: group }, body: { id: messageId() } });
  });

  it('[AT7] a member removed mid-answer receives no further delta of it', async () => {
    await using server = await startTestServer();
    const { ann, bob, group, trigger, bot } = await world(server);
    const annSocket = await rawSocket(server.url, ann.client.token!);
    const bobSocket = await rawSocket(server.url, bob.client.token!);
    const botSocket = await rawSocket(server.url, bot.token);
    const turnId = messageId();
    await bot.client.api.startTurn({ params: { conversationId: group }, body: { id: turnId, triggerMessageId: trigger.id } });
    botSocket.send(delta(group, turnId, 'before '));
    await untilText(bobSocket, turnId, 'before ');

    await ann.client.api.removeMember({ params: { conversationId: group, userId: bob.user.id } });
    await bobSocket.frame((frame) => frame.type === 'event' && frame.event.type === 'member-removed');
    const removedAt = bobSocket.frames.length;
    botSocket.send(delta(group, turnId, 'after'));
    await bot.client.api.appendTurnDelta({ params: { conversationId: group, turnId }, body: { text: ' and more' } });
    await bot.client.api.endTurn({ params: { conversationId: group, turnId }, body: { status: 'completed', text: 'before after and more' } });
    await annSocket.frame((frame) => frame.type === 'assistant-turn-end');
    expect(streamedText(turnFrames(annSocket, turnId))).toBe('before after and more');
    // Ann got everything, and the message; bob got nothing of the answer after his removal.
    await messageCreated(annSocket, (message) => message.text === 'before after and more');
    expect(bobSocket.since(removedAt)).toEqual([]);
    // A member connecting later is not sent the turns of conversations they left.
    const again = await rawSocket(server.url, bob.client.token!);
    expect(again.frames.filter(isTurnFrame)).toEqual([]);
  });

  it('[AT2] one answer in flight per conversation; [AT1] starting with the same id again returns the turn', async () => {
    await using server = await startTestServer();
    const { ann, group, trigger, bot } = await world(server);
    const first = messageId();
    const started = await bot.client.api.startTurn({ params: { conversationId: group }, body: { id: first, triggerMessageId: trigger.id } });
    const second = messageId();
    expect(await failure(bot.client.api.startTurn({ params: { conversationId: group }, body: { id: second } }))).toMatchObject({
      code: 'CONFLICT',
      status: 409,
      details: { turnId: first },
    });
    // The same id: the same turn, not a second one, and no conflict with itself.
    expect(await bot.client.api.startTurn({ params: { conversationId: group }, body: { id: first, triggerMessageId: trigger.id } })).toEqual(started);
    await bot.client.api.appendTurnDelta({ params: { conversationId: group, turnId: first }, body: { text: 'Hi' } });
    expect(await bot.client.api.startTurn({ params: { conversationId: group }, body: { id: first } })).toMatchObject({ id: first, text: 'Hi', startedAt: started.startedAt });

    // Another conversation may stream at the same time.
    const other = await ann.client.api.createConversation({ body: { kind: 'group', title: 'Other' } });
    await bot.client.api.startTurn({ params: { conversationId: other.conversation.id }, body: { id: messageId() } });
    // An id already used elsewhere is refused.
    expect(await failure(bot.client.api.startTurn({ params: { conversationId: other.conversation.id }, body: { id: first } }))).toMatchObject({
      code: 'ID_CONFLICT',
      field: 'body.id',
    });

    const ended = await bot.client.api.endTurn({ params: { conversationId: group, turnId: first }, body: { status: 'completed', text: 'Hi' } });
    expect(await bot.client.api.startTurn({ params: { conversationId: group }, body: { id: first } })).toEqual(ended);
    expect((await ann.client.api.listMessages({ params: { conversationId: group } })).messages).toHaveLength(2);
    await bot.client.api.startTurn({ params: { conversationId: group }, body: { id: second } });
    const { turns } = await ann.client.api.listTurns({ params: { conversationId: group }, query: { status: 'streaming' } });
    expect(turns.map((turn) => turn.id)).toEqual([second]);
  });

  it('[AT10] one answer per trigger: a second turn for the same message is refused, even started at the same instant', async () => {
    await using server = await startTestServer();
    const { ann, group, trigger, bot } = await world(server);
    // Two assistant processes see the same message and start at once: exactly one turn.
    const starts = await Promise.allSettled([
      bot.client.api.startTurn({ params: { conversationId: group }, body: { id: messageId(), triggerMessageId: trigger.id } }),
      bot.client.api.startTurn({ params: { conversationId: group }, body: { id: messageId(), triggerMessageId: trigger.id } }),
    ]);
    const started = starts.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
    expect(started).toHaveLength(1);
    const turnId = started[0]?.id ?? '';
    await bot.client.api.endTurn({ params: { conversationId: group, turnId }, body: { status: 'completed', text: 'Chamonix.' } });
    // Once it is over, another start for that message is refused too, naming the answer.
    expect(await failure(bot.client.api.startTurn({ params: { conversationId: group }, body: { id: messageId(), triggerMessageId: trigger.id } }))).toMatchObject({
      code: 'CONFLICT',
      details: { turnId, reason: 'answered' },
    });
    // Another message of the same conversation may be answered.
    const next = await say(ann.client, group, '@assistant and where do we sleep?');
    await bot.client.api.startTurn({ params: { conversationId: group }, body: { id: messageId(), triggerMessageId: next.id } });
    const answers = (await ann.client.api.listMessages({ params: { conversationId: group } })).messages.filter((message) => message.turn !== null);
    expect(answers.map((message) => message.text)).toEqual(['Chamonix.']);
  });

  it('[AT4] a failed turn with no text still makes a message, in its error state', async () => {
    await using server = await startTestServer();
    const { ann, group, trigger, bot } = await world(server);
    const annSocket = await rawSocket(server.url, ann.client.token!);
    const turnId = messageId();
    await bot.client.api.startTurn({ params: { conversationId: group }, body: { id: turnId, triggerMessageId: trigger.id } });
    const error = { code: 'provider_timeout', message: 'the model did not answer in time', retryable: true };
    const ended = await bot.client.api.endTurn({ params: { conversationId: group, turnId }, body: { status: 'failed', error } });
    expect(ended).toMatchObject({ status: 'failed', text: '', error });
    const created = await messageCreated(annSocket, (message) => message.id === ended.messageId);
    expect(created.event).toMatchObject({ message: { text: '', authorId: bot.userId, turn: { id: turnId, status: 'failed', error } } });
    expect(await annSocket.frame((frame) => frame.type === 'assistant-turn-end')).toMatchObject({ status: 'failed', error });

    // Failed without saying why: a generic error, still visible.
    const next = messageId();
    await bot.client.api.startTurn({ params: { conversationId: group }, body: { id: next } });
    await bot.client.api.appendTurnDelta({ params: { conversationId: group, turnId: next }, body: { text: 'Half an ans' } });
    const failed = await bot.client.api.endTurn({ params: { conversationId: group, turnId: next }, body: { status: 'failed' } });
    expect(failed).toMatchObject({ text: 'Half an ans', error: { code: 'assistant_failed', retryable: true } });
    // Human messages are untouched and still flow.
    await say(ann.client, group, 'never mind');
    const { messages } = await ann.client.api.listMessages({ params: { conversationId: group } });
    expect(messages.map((message) => [message.text, message.turn?.status ?? null])).toEqual([
      ['@assistant where should we go?', null],
      ['', 'failed'],
      ['Half an ans', 'failed'],
      ['never mind', null],
    ]);
  });

  it('[AT8] the text in flight is saved as it streams; after a restart the cut answer is interrupted, with that text', async () => {
    await using server = await startTestServer();
    const { ann, group, trigger, bot } = await world(server);
    const turnId = messageId();
    await bot.client.api.startTurn({ params: { conversationId: group }, body: { id: turnId, triggerMessageId: trigger.id } });
    await bot.client.api.appendTurnDelta({ params: { conversationId: group, turnId }, body: { text: 'Saved ' } });
    await bot.client.api.appendTurnDelta({ params: { conversationId: group, turnId }, body: { text: 'so far' } });
    const saved = async () =>
      (await server.server.context.storage.reader.selectFrom('assistant_turns').select('text').where('id', '=', turnId).executeTakeFirstOrThrow()).text;
    // Saved within about half a second, while still streaming.
    await expect.poll(saved, { timeout: 2000, interval: 50 }).toBe('Saved so far');

    await server.restart();
    const { turns } = await ann.client.api.listTurns({ params: { conversationId: group } });
    expect(turns[0]).toMatchObject({ id: turnId, status: 'interrupted', text: 'Saved so far', error: { code: 'interrupted' } });
    const { messages } = await ann.client.api.listMessages({ params: { conversationId: group } });
    expect(messages.at(-1)).toMatchObject({ id: turns[0]?.messageId, text: 'Saved so far', authorId: bot.userId, turn: { id: turnId, status: 'interrupted' } });
    // The conversation is free again, and the ended turn takes nothing more.
    expect(await failure(bot.client.api.appendTurnDelta({ params: { conversationId: group, turnId }, body: { text: '!' } }))).toMatchObject({ code: 'CONFLICT' });
    await bot.client.api.startTurn({ params: { conversationId: group }, body: { id: messageId() } });
  });

  it('[AT8] the watchdog ends a turn that stopped receiving text as failed, never a stuck answer', async () => {
    await using server = await startTestServer({ config: { assistantTurnTimeoutMs: 400 } });
    const { ann, group, trigger, bot } = await world(server);
    const annSocket = await rawSocket(server.url, ann.client.token!);
    const botSocket = await rawSocket(server.url, bot.token);
    const turnId = messageId();
    await bot.client.api.startTurn({ params: { conversationId: group }, body: { id: turnId, triggerMessageId: trigger.id } });
    // Text keeps arriving for longer than the timeout: the turn lives on.
    for (let index = 0; index < 8; index += 1) {
      botSocket.send(delta(group, turnId, `${index} `));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(annSocket.frames.filter((frame) => frame.type === 'assistant-turn-end')).toEqual([]);
    const streamed = '0 1 2 3 4 5 6 7 ';
    await untilText(annSocket, turnId, streamed);
    // Then silence.
    const end = await annSocket.frame((frame): frame is ServerFrameOf<'assistant-turn-end'> => frame.type === 'assistant-turn-end');
    expect(end).toMatchObject({ turnId, status: 'failed', error: { code: 'assistant_timeout', retryable: true } });
    const { messages } = await ann.client.api.listMessages({ params: { conversationId: group } });
    expect(messages.at(-1)).toMatchObject({ id: end.messageId, text: streamed, turn: { status: 'failed', error: { code: 'assistant_timeout' } } });
    expect(await failure(bot.client.api.endTurn({ params: { conversationId: group, turnId }, body: { status: 'completed', text: 'late' } }))).toMatchObject({
      code: 'CONFLICT',
      details: { status: 'failed' },
    });
  });
});

describe('turn refusals', () => {
  it('[AS3] people, even members, cannot start, stream or end an answer; non-members do not see the turn', async () => {
    await using server = await startTestServer();
    const { ann, bob, group, trigger, bot } = await world(server);
    const stranger = await server.user();
    const turnId = messageId();
    await bot.client.api.startTurn({ params: { conversationId: group }, body: { id: turnId, triggerMessageId: trigger.id } });
    const params = { conversationId: group, turnId };
    for (const person of [ann, bob]) {
      expect(await failure(person.client.api.startTurn({ params: { conversationId: group }, body: { id: messageId() } }))).toMatchObject({ code: 'FORBIDDEN' });
      expect(await failure(person.client.api.appendTurnDelta({ params, body: { text: 'fake' } }))).toMatchObject({ code: 'FORBIDDEN' });
      expect(await failure(person.client.api.endTurn({ params, body: { status: 'completed', text: 'fake' } }))).toMatchObject({ code: 'FORBIDDEN' });
    }
    const annSocket = await rawSocket(server.url, ann.client.token!);
    let count = annSocket.frames.length;
    annSocket.send(delta(group, turnId, 'fake'));
    expect((await annSocket.frame(isError, count)).error).toMatchObject({ code: 'FORBIDDEN', field: 'frame.turnId' });
    for (const call of [
      () => stranger.client.api.listTurns({ params: { conversationId: group } }),
      () => stranger.client.api.stopTurn({ params }),
    ]) {
      expect(await failure(call())).toMatchObject({ code: 'NOT_FOUND' });
    }
    // A bot-only endpoint refuses any person on who they are, before the body is read [PB4].
    expect(await failure(stranger.client.api.appendTurnDelta({ params, body: { text: 'x' } }))).toMatchObject({ code: 'FORBIDDEN' });
    const strangerSocket = await rawSocket(server.url, stranger.client.token!);
    count = strangerSocket.frames.length;
    strangerSocket.send(delta(group, turnId, 'fake'));
    expect((await strangerSocket.frame(isError, count)).error).toMatchObject({ code: 'NOT_FOUND', field: 'frame.conversationId' });
    // A turn of another conversation is not found through this one.
    const other = await ann.client.api.createConversation({ body: { kind: 'group', title: 'Other' } });
    expect(await failure(bot.client.api.stopTurn({ params: { conversationId: other.conversation.id, turnId } }))).toMatchObject({
      code: 'NOT_FOUND',
      field: 'params.turnId',
    });
    expect((await bob.client.api.listTurns({ params: { conversationId: group } })).turns).toMatchObject([{ id: turnId, status: 'streaming', text: '' }]);
    expect((await ann.client.api.listMessages({ params: { conversationId: group } })).messages).toHaveLength(1);
  });

  it('malformed bodies and frames are INVALID_INPUT naming the field, and change nothing', async () => {
    await using server = await startTestServer();
    const { ann, group, bot } = await world(server);
    const turnId = messageId();
    await bot.client.api.startTurn({ params: { conversationId: group }, body: { id: turnId } });
    const params = { conversationId: group, turnId };
    const cases: Array<[() => Promise<unknown>, string]> = [
      [() => bot.client.api.startTurn({ params: { conversationId: group }, body: { id: 'short' } }), 'body.id'],
      [() => bot.client.api.startTurn({ params: { conversationId: group }, body: { id: messageId(), triggerMessageId: 'not an id' } }), 'body.triggerMessageId'],
      [() => bot.client.api.startTurn({ params: { conversationId: group }, body: { id: messageId(), model: 'm'.repeat(201) } }), 'body.model'],
      [() => bot.client.api.appendTurnDelta({ params, body: { text: '' } }), 'body.text'],
      [() => bot.client.api.appendTurnDelta({ params, body: { text: 'x'.repeat(16_001) } }), 'body.text'],
      [() => bot.client.api.endTurn({ params, body: { status: 'done' as 'completed' } }), 'body.status'],
      [() => bot.client.api.endTurn({ params, body: { status: 'failed', error: { code: 'x', message: 'y', retryable: 'no' as unknown as boolean } } }), 'body.error.retryable'],
      [() => bot.client.api.endTurn({ params, body: { status: 'completed', error: { code: 'x', message: 'y', retryable: false } } }), 'body.error'],
      [() => bot.client.api.listTurns({ params: { conversationId: group }, query: { limit: 0 } }), 'query.limit'],
      [() => bot.client.api.stopTurn({ params: { conversationId: group, turnId: 'not an id' } }), 'params.turnId'],
    ];
    for (const [call, field] of cases) expect(await failure(call()), field).toMatchObject({ code: 'INVALID_INPUT', field });
    // A trigger that is not a message of this conversation.
    expect(await failure(bot.client.api.startTurn({ params: { conversationId: group }, body: { id: messageId(), triggerMessageId: messageId() } }))).toMatchObject({
      code: 'NOT_FOUND',
      field: 'body.triggerMessageId',
    });
    const botSocket = await rawSocket(server.url, bot.token);
    const count = botSocket.frames.length;
    botSocket.send({ type: 'turn-delta', conversationId: group, turnId, text: '' });
    expect((await botSocket.frame(isError, count)).error).toMatchObject({ code: 'INVALID_INPUT', field: 'frame.text' });
    const frames: Array<[Record<string, unknown>, string]> = [
      [{ type: 'turn-end', conversationId: group, turnId, status: 'done' }, 'frame.status'],
      [{ type: 'turn-end', conversationId: group, turnId: 'not an id', status: 'completed' }, 'frame.turnId'],
      [{ type: 'turn-end', conversationId: group, turnId, status: 'failed', error: { code: 'x', message: 'y' } }, 'frame.error.retryable'],
      [{ type: 'turn-end', conversationId: group, turnId, status: 'completed', error: { code: 'x', message: 'y', retryable: false } }, 'frame.error'],
    ];
    for (const [frame, field] of frames) {
      const before = botSocket.frames.length;
      botSocket.send(frame);
      expect((await botSocket.frame(isError, before)).error, field).toMatchObject({ code: 'INVALID_INPUT', field });
    }
    const { turns } = await ann.client.api.listTurns({ params: { conversationId: group } });
    expect(turns).toMatchObject([{ id: turnId, status: 'streaming', text: '' }]);
    expect((await ann.client.api.listMessages({ params: { conversationId: group } })).messages).toHaveLength(1);
  });
});
