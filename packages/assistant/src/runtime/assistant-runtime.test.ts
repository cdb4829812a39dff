import type { AssistantTextDeltaEvent, AssistantTurnEndEvent, ConversationEvent, Message } from '@parley/protocol';
import { EventStream, type ParleyClient } from '@parley/sdk';
import { messageId, silentLogger, startTestServer, type TestServer, type TestUser } from '@parley/server/test';
import { describe, expect, it } from 'vitest';
import { loadModels } from '../providers/models.js';
import { type ScriptedModelServer, startScriptedAnthropicServer, startScriptedOpenAiServer } from '../test/index.js';
import { AssistantRuntime } from './assistant-runtime.js';

/** A member's view of a conversation: events, and the assistant's streamed turns. */
interface Watcher {
  events: ConversationEvent[];
  deltas: AssistantTextDeltaEvent[];
  ends: AssistantTurnEndEvent[];
  until(check: () => boolean, what: string, timeoutMs?: number): Promise<void>;
  close(): void;
}

async function watch(client: ParleyClient): Promise<Watcher> {
  const events: ConversationEvent[] = [];
  const deltas: AssistantTextDeltaEvent[] = [];
  const ends: AssistantTurnEndEvent[] = [];
  const stream = new EventStream(client, {
    event: (event) => events.push(event),
    turn: (event) => {
      if (event.type === 'assistant-text-delta') deltas.push(event);
      if (event.type === 'assistant-turn-end') ends.push(event);
    },
  });
  await stream.synced();
  return {
    events,
    deltas,
    ends,
    until(check, what, timeoutMs = 8000) {
      return new Promise((resolve, reject) => {
        const started = Date.now();
        const poll = () => {
          if (check()) return resolve();
          if (Date.now() - started > timeoutMs) return reject(new Error(`timed out waiting for ${what}`));
          setTimeout(poll, 10);
        };
        poll();
      });
    },
    close: () => stream.close(),
  };
}

function answers(watcher: Watcher): Message[] {
  return watcher.events.flatMap((event) => (event.type === 'message-created' && event.message.turn ? [event.message] : []));
}

interface Scene {
  server: TestServer;
  model: ScriptedModelServer;
  assistant: AssistantRuntime;
  ann: TestUser;
  bob: TestUser;
  group: string;
  [Symbol.asyncDispose](): Promise<void>;
}

async function scene(options: { provider?: 'openai-compatible' | 'anthropic'; configured?: boolean; rateBurst?: number } = {}): Promise<Scene> {
  const server = await startTestServer({
    config: { ...(options.rateBurst !== undefined ? { assistantRateLimit: { burst: options.rateBurst, perHour: 1 } } : {}) },
  });
  const provider = options.provider ?? 'openai-compatible';
  const model = provider === 'anthropic' ? await startScriptedAnthropicServer() : await startScriptedOpenAiServer();
  const models =
    options.configured === false
      ? loadModels({})
      : loadModels({
          PARLEY_MODEL_PROVIDER: provider,
          PARLEY_MODEL: provider === 'anthropic' ? 'claude-test' : 'test-model',
          PARLEY_MODEL_BASE_URL: model.url,
          PARLEY_MODEL_API_KEY: 'test-key',
          PARLEY_MODEL_TIMEOUT_MS: '1500',
          PARLEY_MODEL_MAX_RETRIES: '0',
        });
  const assistant = new AssistantRuntime({ baseUrl: server.url, token: server.assistant.token, models, logger: silentLogger() });
  await assistant.start();
  const ann = await server.user();
  const bob = await server.user();
  const view = await ann.client.api.createConversation({ body: { kind: 'group', title: 'Trip', usernames: [bob.user.username] } });
  return {
    server,
    model,
    assistant,
    ann,
    bob,
    group: view.conversation.id,
    async [Symbol.asyncDispose]() {
      await assistant.close();
      await model.close();
      await server[Symbol.asyncDispose]();
    },
  };
}

function send(user: TestUser, conversationId: string, text: string, replyToId?: string): Promise<Message> {
  return user.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text, ...(replyToId ? { replyToId } : {}) } });
}

async function decisionsFor(user: TestUser, conversationId: string, messageIdValue: string) {
  return (await user.client.api.listDecisions({ params: { conversationId }, query: { messageId: messageIdValue } })).decisions;
}

describe('the assistant in a group', () => {
  it('answers a mention, streamed token by token to every member, and records why', async () => {
    await using s = await scene();
    const annView = await watch(s.ann.client);
    const bobView = await watch(s.bob.client);
    // Apart in time, the tokens go out one by one (tokens read together would leave as one delta).
    s.model.push({ kind: 'text', chunks: ['Lisbon ', ...['is ', 'lovely ', 'in May.'].map((text) => ({ text, delayMs: 40 }))] });
    const question = await send(s.ann, s.group, 'Parley, where should we go in May?');
    for (const view of [annView, bobView]) await view.until(() => answers(view).length === 1, 'the answer');
    for (const view of [annView, bobView]) {
      expect(view.deltas.map((delta) => delta.delta).join('')).toBe('Lisbon is lovely in May.');
      expect(view.deltas.map((delta) => delta.offset)).toEqual([0, 7, 10, 17]);
      expect(view.ends.map((end) => end.status)).toEqual(['completed']);
      expect(answers(view)[0]).toMatchObject({ text: 'Lisbon is lovely in May.', turn: { status: 'completed' } });
    }
    const [decision] = await decisionsFor(s.bob, s.group, question.id);
    expect(decision).toMatchObject({ action: 'answer', rule: 'TT4' });
    // The speaker is named in what the model was sent.
    expect(JSON.stringify(s.model.requests[0]?.body)).toContain('Parley, where should we go in May?');
    annView.close();
    bobView.close();
  });

  it('keeps quiet while people talk to each other, without asking a model', async () => {
    await using s = await scene();
    const message = await send(s.ann, s.group, `${s.bob.user.displayName}, are you coming tonight?`);
    await s.assistant.idle();
    await expect.poll(() => decisionsFor(s.ann, s.group, message.id)).toEqual([expect.objectContaining({ action: 'silent', rule: 'TT7' })]);
    expect(s.model.requests).toHaveLength(0);
  });

  it('knows a member by the new name they give themselves at once: a question to that name is left to them', async () => {
    await using s = await scene();
    // The first decision reads the group's members (and keeps them).
    const first = await send(s.ann, s.group, `${s.bob.user.displayName}, are you coming tonight?`);
    await s.assistant.idle();
    await expect.poll(() => decisionsFor(s.ann, s.group, first.id)).toEqual([expect.objectContaining({ action: 'silent', rule: 'TT7' })]);
    await s.bob.client.api.updateMe({ body: { displayName: 'Roberto' } });
    const renamed = await send(s.ann, s.group, 'Roberto, which train are you taking tomorrow morning?');
    await s.assistant.idle();
    await expect.poll(() => decisionsFor(s.ann, s.group, renamed.id)).toEqual([expect.objectContaining({ action: 'silent', rule: 'TT7' })]);
    expect(s.model.requests).toHaveLength(0);
  });

  it('in mode "mentions" stays silent until mentioned, and answers to its new name after a rename', async () => {
    await using s = await scene();
    await s.ann.client.api.updateConversation({ params: { conversationId: s.group }, body: { assistant: { mode: 'mentions', name: 'Sage' } } });
    const view = await watch(s.bob.client);
    const open = await send(s.ann, s.group, 'What is the capital of Portugal?');
    const oldName = await send(s.ann, s.group, 'Parley, what is the capital of Portugal?');
    await s.assistant.idle();
    await expect.poll(async () => (await decisionsFor(s.ann, s.group, oldName.id)).map((decision) => decision.action)).toEqual(['silent']);
    expect((await decisionsFor(s.ann, s.group, open.id)).map((decision) => decision.action)).toEqual(['silent']);
    s.model.push({ kind: 'text', chunks: ['Lisbon.'] });
    await send(s.ann, s.group, 'sage: what is the capital of Portugal?');
    await view.until(() => answers(view).length === 1, 'the answer to the new name');
    expect(s.model.requests).toHaveLength(1);
    view.close();
  });

  it('prompts the next answer with the messages as they are now: edits, deletions and new messages since the last answer', async () => {
    await using s = await scene();
    const view = await watch(s.bob.client);
    const plan = await send(s.bob, s.group, 'We leave at 9 on Saturday.');
    const secret = await send(s.bob, s.group, 'My door code is 4417.');
    s.model.push({ kind: 'text', chunks: ['Noted.'] });
    await send(s.ann, s.group, 'Parley, when do we leave?');
    await view.until(() => answers(view).length === 1, 'the first answer');
    await s.assistant.idle();
    // The assistant now holds these messages; what changes next reaches it only as events.
    await s.bob.client.api.editMessage({ params: { conversationId: s.group, messageId: plan.id }, body: { text: 'We leave at 10 on Sunday.' } });
    await s.bob.client.api.deleteMessage({ params: { conversationId: s.group, messageId: secret.id } });
    await send(s.bob, s.group, 'Bring boots.');
    s.model.push({ kind: 'text', chunks: ['At 10 on Sunday.'] });
    await send(s.ann, s.group, 'Parley, so when do we leave now?');
    await view.until(() => answers(view).length === 2, 'the second answer');
    const prompt = JSON.stringify(s.model.requests.at(-1)?.body);
    expect(prompt).toContain('We leave at 10 on Sunday.');
    expect(prompt).not.toContain('We leave at 9 on Saturday.');
    expect(prompt).not.toContain('4417');
    expect(prompt).toContain('Bring boots.');
    expect(prompt).toContain('Parley, so when do we leave now?');
    view.close();
  });

  it('stops when a member asks, keeping what was streamed marked stopped', async () => {
    await using s = await scene();
    const view = await watch(s.bob.client);
    s.model.push({ kind: 'text', chunks: ['One, ', { text: 'two, ', delayMs: 50 }, { text: 'three', delayMs: 1000 }, { text: ' four', delayMs: 1000 }] });
    await send(s.ann, s.group, 'Parley, count slowly');
    await view.until(() => view.deltas.length >= 2, 'two deltas');
    const turnId = view.deltas[0]?.turnId ?? '';
    await s.bob.client.api.stopTurn({ params: { conversationId: s.group, turnId } });
    await view.until(() => answers(view).length === 1, 'the stopped answer');
    expect(answers(view)[0]).toMatchObject({ text: 'One, two, ', turn: { status: 'stopped' } });
    await s.assistant.idle();
    expect(view.deltas.every((delta) => delta.offset < 10)).toBe(true);
    view.close();
  });

  it('charges its answers to the member who asked, and says so once when the limit is reached', async () => {
    await using s = await scene({ rateBurst: 1 });
    const view = await watch(s.bob.client);
    s.model.push({ kind: 'text', chunks: ['First answer.'] }, { kind: 'text', chunks: ["Bob's answer."] });
    await send(s.ann, s.group, 'Parley, first question?');
    await view.until(() => answers(view).length === 1, 'the first answer');
    await send(s.ann, s.group, 'Parley, second question?');
    await view.until(() => view.events.some((event) => event.type === 'message-created' && event.message.text.includes('reached the limit')), 'the notice');
    await send(s.ann, s.group, 'Parley, third question?');
    await s.assistant.idle();
    // Bob's own allowance is untouched by Ann's questions.
    await send(s.bob, s.group, 'Parley, my question?');
    await view.until(() => answers(view).length === 2, "Bob's answer");
    const notices = view.events.filter((event) => event.type === 'message-created' && event.message.text.includes('reached the limit'));
    expect(notices).toHaveLength(1);
    expect(answers(view).map((message) => message.text)).toEqual(['First answer.', "Bob's answer."]);
    // Human messages are never limited by it.
    for (let index = 0; index < 5; index += 1) await send(s.ann, s.group, `just chatting ${index}`);
  });

  it('applies the stricter policy to everyone once a teen is in the group', async () => {
    await using s = await scene();
    const view = await watch(s.ann.client);
    s.model.push({ kind: 'text', chunks: ['Before.'] }, { kind: 'text', chunks: ['After.'] });
    await send(s.ann, s.group, 'Parley, any film tips?');
    await view.until(() => answers(view).length === 1, 'the first answer');
    const teen = await s.server.user(undefined, { ageBand: 'teen' });
    await s.ann.client.api.addMember({ params: { conversationId: s.group }, body: { username: teen.user.username } });
    await send(s.bob, s.group, 'Parley, and now?');
    await view.until(() => answers(view).length === 2, 'the second answer');
    const [before, after] = s.model.requests.map((request) => JSON.stringify(request.body));
    expect(before).not.toContain('A teenager takes part in this conversation');
    expect(after).toContain('A teenager takes part in this conversation');
    view.close();
  });

  it('a new question from the person it is answering cancels the answer and is answered instead', async () => {
    await using s = await scene();
    const view = await watch(s.bob.client);
    s.model.push(
      { kind: 'text', chunks: ['A long ', { text: 'answer', delayMs: 1000 }, { text: ' to the first', delayMs: 1000 }] },
      { kind: 'text', chunks: ['The answer to the second.'] },
    );
    await send(s.ann, s.group, 'Parley, tell me about trains');
    await view.until(() => view.deltas.length >= 1, 'the first answer starting');
    await send(s.ann, s.group, 'Parley, actually, tell me about boats instead');
    await view.until(() => answers(view).length === 2, 'both turns ended');
    expect(answers(view).map((message) => [message.turn?.status, message.text])).toEqual([
      ['stopped', 'A long '],
      ['completed', 'The answer to the second.'],
    ]);
    expect(JSON.stringify(s.model.requests[1]?.body)).toContain('boats instead');
    view.close();
  });

  it('[TT17] "stop" from any member while it answers stops the answer and is acknowledged with a reaction, not a message', async () => {
    await using s = await scene();
    const view = await watch(s.ann.client);
    s.model.push({ kind: 'text', chunks: ['A long ', { text: 'answer', delayMs: 1000 }, { text: ' about trains', delayMs: 1000 }] });
    await send(s.ann, s.group, 'Parley, tell me about trains');
    await view.until(() => view.deltas.length >= 1, 'the answer starting');
    const hush = await send(s.bob, s.group, 'Parley, tais-toi');
    await view.until(() => answers(view).length === 1, 'the stopped answer');
    await view.until(
      () => view.events.some((event) => event.type === 'reaction-added' && event.messageId === hush.id && event.emoji === '🤐'),
      'the 🤐 reaction',
    );
    await s.assistant.idle();
    expect(answers(view).map((message) => [message.turn?.status, message.text])).toEqual([['stopped', 'A long ']]);
    expect(await decisionsFor(s.ann, s.group, hush.id)).toMatchObject([{ action: 'react', rule: 'TT17' }]);
    // One model call only: the request itself was never put to a model.
    expect(s.model.requests).toHaveLength(1);
    view.close();
  });

  it('[TT17] a bare "stop!" while it answers, without its name, stops the answer too', async () => {
    await using s = await scene();
    const view = await watch(s.ann.client);
    s.model.push({ kind: 'text', chunks: ['A long ', { text: 'answer', delayMs: 1000 }, { text: ' about boats', delayMs: 1000 }] });
    await send(s.ann, s.group, 'Parley, tell me about boats');
    await view.until(() => view.deltas.length >= 1, 'the answer starting');
    await send(s.bob, s.group, 'stop!');
    await view.until(() => answers(view).length === 1, 'the stopped answer');
    await s.assistant.idle();
    expect(answers(view).map((message) => [message.turn?.status, message.text])).toEqual([['stopped', 'A long ']]);
    view.close();
  });

  it('never answers the old messages copied into a group started from a conversation', async () => {
    await using s = await scene();
    const view = await watch(s.ann.client);
    s.model.push({ kind: 'text', chunks: ['Original answer.'] });
    await send(s.ann, s.group, 'Parley, what is the plan?');
    await view.until(() => answers(view).length === 1, 'the first answer');
    // Copies keep their time: make the originals old, as they are when a group is started later.
    await s.server.server.context.storage.writer.updateTable('messages').set({ created_at: '2026-01-01T00:00:00.000Z' }).execute();
    const bobView = await watch(s.bob.client);
    const fork = await s.bob.client.api.forkConversation({ params: { conversationId: s.group }, body: {} });
    await bobView.until(() => bobView.events.filter((event) => event.conversationId === fork.conversation.id && event.type === 'message-created').length === 2, 'the copies');
    await s.assistant.idle();
    expect(s.model.requests).toHaveLength(1);
    expect((await s.bob.client.api.listDecisions({ params: { conversationId: fork.conversation.id } })).decisions).toEqual([]);
    view.close();
    bobView.close();
  });

  it('without a configured provider, answers a mention with how to configure one', async () => {
    await using s = await scene({ configured: false });
    const view = await watch(s.ann.client);
    await send(s.ann, s.group, 'Parley, hello?');
    await view.until(() => answers(view).length === 1, 'the configuration answer');
    expect(answers(view)[0]?.text).toContain('PARLEY_MODEL_PROVIDER');
    view.close();
  });

  describe('provider faults end the answer with a visible error state', () => {
    const faults = [
      ['HTTP 500', { kind: 'http-error', status: 500 }, 'provider_unavailable'],
      ['HTTP 429', { kind: 'http-error', status: 429, retryAfterSeconds: 1 }, 'provider_rate_limited'],
      ['a timeout', { kind: 'text', delayMs: 3000, chunks: ['late'] }, 'provider_timeout'],
      ['a stream cut in the middle', { kind: 'stream-cut', chunks: ['Half an ', 'answer'] }, 'stream_cut'],
      ['a stream that ends without the provider’s end signal', { kind: 'stream-ends', chunks: ['Half an ', 'answer'] }, 'stream_cut'],
      ['a malformed chunk', { kind: 'malformed-chunk', chunks: ['Some '], after: ['more'] }, 'malformed_response'],
    ] as const;
    for (const [name, response, code] of faults) {
      it(name, async () => {
        await using s = await scene();
        const view = await watch(s.ann.client);
        s.model.push(response);
        await send(s.ann, s.group, 'Parley, are you there?');
        await view.until(() => answers(view).length === 1, 'the failed answer');
        expect(answers(view)[0]?.turn).toMatchObject({ status: 'failed', error: { code } });
        expect(view.ends.map((end) => end.status)).toEqual(['failed']);
        // People go on talking: their messages are untouched.
        const after = await send(s.bob, s.group, 'still here');
        expect(after.text).toBe('still here');
        view.close();
      });
    }
  });

  it('speaks Anthropic as well', async () => {
    await using s = await scene({ provider: 'anthropic' });
    const view = await watch(s.bob.client);
    s.model.push({ kind: 'text', chunks: ['Bonjour ', 'à tous.'] });
    await send(s.ann, s.group, 'Parley, dis bonjour !');
    await view.until(() => answers(view).length === 1, 'the answer');
    expect(answers(view)[0]?.text).toBe('Bonjour à tous.');
    view.close();
  });
});

describe('privacy of personal memory', () => {
  it('uses the owner\'s instructions and memories one-to-one, and never any of them in a group, byte for byte', async () => {
    await using s = await scene();
    await s.ann.client.api.updateInstructions({ body: { text: 'ANN-INSTRUCTION: answer in haiku' } });
    await s.ann.client.api.createMemory({ body: { text: 'ANN-MEMORY: allergic to peanuts' } });
    await s.bob.client.api.updateInstructions({ body: { text: 'BOB-INSTRUCTION: be terse' } });
    await s.bob.client.api.createMemory({ body: { text: 'BOB-MEMORY: lives in Porto' } });

    const chat = await s.ann.client.api.createConversation({ body: { kind: 'assistant' } });
    const view = await watch(s.ann.client);
    s.model.push({ kind: 'text', chunks: ['Noted.'] });
    await send(s.ann, chat.conversation.id, 'What should I cook?');
    await view.until(() => answers(view).length === 1, 'the one-to-one answer');
    const personal = JSON.stringify(s.model.requests[0]?.body);
    expect(personal).toContain('ANN-INSTRUCTION');
    expect(personal).toContain('ANN-MEMORY');
    expect(personal).not.toContain('BOB-');

    s.model.push({ kind: 'text', chunks: ['Group answer.'] });
    await send(s.ann, s.group, 'Parley, what should we cook tonight?');
    await view.until(() => answers(view).length === 2, 'the group answer');
    const group = JSON.stringify(s.model.requests[1]?.body);
    for (const secret of ['ANN-INSTRUCTION', 'ANN-MEMORY', 'BOB-INSTRUCTION', 'BOB-MEMORY', 'haiku', 'peanuts', 'terse', 'Porto']) {
      expect(group).not.toContain(secret);
    }
    // Nothing said in a group becomes anyone's memory.
    expect((await s.ann.client.api.listMemories()).memories.map((memory) => memory.text)).toEqual(['ANN-MEMORY: allergic to peanuts']);
    view.close();
  });

  it('saves a memory one-to-one when the model asks to', async () => {
    await using s = await scene();
    const chat = await s.ann.client.api.createConversation({ body: { kind: 'assistant' } });
    const view = await watch(s.ann.client);
    s.model.push({ kind: 'tool-calls', calls: [{ name: 'remember', input: { fact: 'prefers window seats' } }] }, { kind: 'text', chunks: ["I'll remember."] });
    await send(s.ann, chat.conversation.id, 'Remember that I prefer window seats.');
    await view.until(() => answers(view).length === 1, 'the answer');
    expect((await s.ann.client.api.listMemories()).memories).toEqual([expect.objectContaining({ text: 'prefers window seats', source: 'assistant' })]);
    view.close();
  });
});
