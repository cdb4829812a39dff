import type { AssistantDecision, Message } from '@parley/protocol';
import type { FetchLike } from '@parley/sdk';
import { nodeFetch } from '@parley/sdk/node';
import { messageId, silentLogger, startTestServer, type TestServer, type TestUser } from '@parley/server/test';
import { describe, expect, it } from 'vitest';
import { loadModels } from '../providers/models.js';
import { type ScriptedModelServer, startScriptedOpenAiServer } from '../test/index.js';
import { AssistantRuntime, type AssistantRuntimeOptions, catchUpMinutesOf } from './assistant-runtime.js';

/** A server, a scripted model and a group of two people; the assistant is started by each test. */
interface Scene {
  server: TestServer;
  model: ScriptedModelServer;
  ann: TestUser;
  bob: TestUser;
  group: string;
  /** Starts an assistant runtime (closed with the scene). */
  assistant(options?: Partial<AssistantRuntimeOptions>): Promise<AssistantRuntime>;
  [Symbol.asyncDispose](): Promise<void>;
}

async function scene(serverOptions: Parameters<typeof startTestServer>[0] = {}): Promise<Scene> {
  const server = await startTestServer(serverOptions);
  const model = await startScriptedOpenAiServer();
  const models = loadModels({
    PARLEY_MODEL_PROVIDER: 'openai-compatible',
    PARLEY_MODEL: 'test-model',
    PARLEY_MODEL_BASE_URL: model.url,
    PARLEY_MODEL_API_KEY: 'test-key',
    PARLEY_MODEL_TIMEOUT_MS: '3000',
    PARLEY_MODEL_MAX_RETRIES: '0',
  });
  const runtimes: AssistantRuntime[] = [];
  const ann = await server.user();
  const bob = await server.user();
  const view = await ann.client.api.createConversation({ body: { kind: 'group', title: 'Trip', usernames: [bob.user.username] } });
  return {
    server,
    model,
    ann,
    bob,
    group: view.conversation.id,
    async assistant(options = {}) {
      const runtime = new AssistantRuntime({ baseUrl: server.url, token: server.assistant.token, models, logger: silentLogger(), ...options });
      runtimes.push(runtime);
      await runtime.start();
      return runtime;
    },
    async [Symbol.asyncDispose]() {
      for (const runtime of runtimes) await runtime.close();
      await model.close();
      await server[Symbol.asyncDispose]();
    },
  };
}

function send(user: TestUser, conversationId: string, text: string): Promise<Message> {
  return user.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text } });
}

async function answersIn(user: TestUser, conversationId: string): Promise<Message[]> {
  const page = await user.client.api.listMessages({ params: { conversationId }, query: { limit: 100 } });
  return page.messages.filter((message) => message.turn !== null);
}

async function decisionsFor(user: TestUser, conversationId: string, id: string): Promise<AssistantDecision[]> {
  return (await user.client.api.listDecisions({ params: { conversationId }, query: { messageId: id } })).decisions;
}

/**
 * The assistant's requests as the server sees them: how many decisions it posts at once, and how
 * many it had posted and seen answered when it asked for each backlog page. `delayMs` holds each
 * decision that long before it is sent, as a busy server would.
 */
interface Requests {
  fetch: FetchLike;
  decisionsInFlight: number;
  mostDecisionsInFlight: number;
  decisionsSent: number;
  decisionsDone: number;
  /** For each backlog page asked for: decisions sent and done by then, and how many entries it brought. */
  pages: { sent: number; done: number; entries: number }[];
}

function watchRequests(delayMs = 0): Requests {
  const base = nodeFetch();
  const requests: Requests = {
    decisionsInFlight: 0,
    mostDecisionsInFlight: 0,
    decisionsSent: 0,
    decisionsDone: 0,
    pages: [],
    fetch: async (url, init) => {
      const path = new URL(url).pathname;
      if (init.method === 'GET' && path === '/api/assistant/backlog') {
        const page = { sent: requests.decisionsSent, done: requests.decisionsDone, entries: 0 };
        requests.pages.push(page);
        const response = await base(url, init);
        const body = (await response.json()) as { entries: unknown[] };
        page.entries = body.entries.length;
        return { ok: response.ok, status: response.status, json: async () => body, text: async () => JSON.stringify(body), arrayBuffer: () => response.arrayBuffer() };
      }
      if (init.method !== 'POST' || !path.endsWith('/assistant/decisions')) return base(url, init);
      requests.decisionsSent += 1;
      requests.decisionsInFlight += 1;
      requests.mostDecisionsInFlight = Math.max(requests.mostDecisionsInFlight, requests.decisionsInFlight);
      try {
        if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
        return await base(url, init);
      } finally {
        requests.decisionsInFlight -= 1;
        requests.decisionsDone += 1;
      }
    },
  };
  return requests;
}

/** A server on which people may send a backlog of messages as fast as a test does. */
const BULK_SENDING = { config: { floodLimit: { burst: 100_000, perMinute: 100_000 } } };

/** Groups of Ann and Bob with `perGroup` messages each, none addressed to the assistant. */
async function backlogIn(s: Scene, groups: number, perGroup: number): Promise<{ groups: string[]; messages: Message[] }> {
  const ids = [s.group];
  for (let index = 1; index < groups; index += 1) {
    const view = await s.ann.client.api.createConversation({ body: { kind: 'group', title: `Trip ${index}`, usernames: [s.bob.user.username] } });
    ids.push(view.conversation.id);
  }
  const sent = await Promise.all(
    ids.map(async (group) => {
      const messages: Message[] = [];
      for (let index = 0; index < perGroup; index += 1) messages.push(await send(index % 2 ? s.ann : s.bob, group, `chatter ${index}`));
      return messages;
    }),
  );
  return { groups: ids, messages: sent.flat() };
}

async function decisionRows(s: Scene): Promise<{ message_id: string; rule: string | null; action: string }[]> {
  return s.server.server.context.storage.writer.selectFrom('assistant_decisions').select(['message_id', 'rule', 'action']).execute();
}

/** A question to no one in particular: the policy asks the fast model [TT15]. */
const OPEN_QUESTION = 'How long does the train from Lisbon to Porto take?';

describe('catching up on what was said while it was away', () => {
  it('[RC2] reads its window from PARLEY_ASSISTANT_CATCH_UP_MINUTES: 5 by default, refusing what is not a number of minutes', () => {
    expect(catchUpMinutesOf({})).toBe(5);
    expect(catchUpMinutesOf({ PARLEY_ASSISTANT_CATCH_UP_MINUTES: ' ' })).toBe(5);
    expect(catchUpMinutesOf({ PARLEY_ASSISTANT_CATCH_UP_MINUTES: '0' })).toBe(0);
    expect(catchUpMinutesOf({ PARLEY_ASSISTANT_CATCH_UP_MINUTES: '2.5' })).toBe(2.5);
    for (const bad of ['-1', 'five', 'Infinity']) {
      expect(() => catchUpMinutesOf({ PARLEY_ASSISTANT_CATCH_UP_MINUTES: bad })).toThrow(/PARLEY_ASSISTANT_CATCH_UP_MINUTES/);
    }
  });

  it('[RC1] answers a mention sent before it connected, once it connects', async () => {
    await using s = await scene();
    const question = await send(s.ann, s.group, 'Parley, what should we pack?');
    s.model.push({ kind: 'text', chunks: ['Sunscreen.'] });
    const assistant = await s.assistant();
    await expect.poll(() => answersIn(s.bob, s.group), { timeout: 8000 }).toEqual([expect.objectContaining({ text: 'Sunscreen.' })]);
    await assistant.idle();
    expect(await decisionsFor(s.ann, s.group, question.id)).toEqual([expect.objectContaining({ action: 'answer', rule: 'TT4' })]);
  });

  it('[RC1] [RC4] a restarted assistant catches up on what came meanwhile and never answers one trigger twice', async () => {
    await using s = await scene();
    s.model.push({ kind: 'text', chunks: ['First answer.'] });
    const first = await s.assistant();
    const before = await send(s.ann, s.group, 'Parley, where do we meet?');
    await expect.poll(() => answersIn(s.bob, s.group), { timeout: 8000 }).toHaveLength(1);
    await first.idle();
    await first.close();

    // Said while it is away, then the assistant starts again (as its thread does after a crash).
    const during = await send(s.bob, s.group, `@${'assistant'} and when?`);
    s.model.push({ kind: 'text', chunks: ['At noon.'] });
    const second = await s.assistant();
    await expect.poll(() => answersIn(s.bob, s.group), { timeout: 8000 }).toHaveLength(2);
    await second.idle();
    // A third start finds nothing left to do.
    const third = await s.assistant();
    await third.idle();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await third.idle();
    expect((await answersIn(s.bob, s.group)).map((message) => message.text)).toEqual(['First answer.', 'At noon.']);
    expect(s.model.requests).toHaveLength(2);
    expect(await decisionsFor(s.ann, s.group, before.id)).toHaveLength(1);
    expect(await decisionsFor(s.ann, s.group, during.id)).toEqual([expect.objectContaining({ action: 'answer', rule: 'TT4' })]);
  });

  it('[RC1] [RC4] after a server restart on existing data it answers what came while it was away, and nothing twice', async () => {
    await using s = await scene();
    s.model.push({ kind: 'text', chunks: ['Before.'] });
    const first = await s.assistant();
    await send(s.ann, s.group, 'Parley, first question?');
    await expect.poll(() => answersIn(s.bob, s.group), { timeout: 8000 }).toHaveLength(1);
    await first.idle();
    await first.close();
    await s.server.restart();
    await send(s.ann, s.group, 'Parley, second question?');
    s.model.push({ kind: 'text', chunks: ['After.'] });
    const second = await s.assistant();
    await expect.poll(() => answersIn(s.bob, s.group), { timeout: 8000 }).toHaveLength(2);
    await second.idle();
    expect((await answersIn(s.bob, s.group)).map((message) => message.text)).toEqual(['Before.', 'After.']);
    expect(s.model.requests).toHaveLength(2);
  });

  it('[RC2] [RC3] a mention older than the window gets no late answer but a recorded silent decision saying why', async () => {
    await using s = await scene();
    const old = await send(s.ann, s.group, 'Parley, are you there?');
    // Its clock says the mention is 10 minutes old; the window is 5 minutes.
    const assistant = await s.assistant({ now: () => Date.now() + 10 * 60_000, catchUpMinutes: 5 });
    await expect.poll(() => decisionsFor(s.ann, s.group, old.id), { timeout: 8000 }).toEqual([
      expect.objectContaining({ action: 'silent', rule: 'RC3', reason: expect.stringMatching(/10 min ago .*catch-up window \(5 min\)/) }),
    ]);
    await assistant.idle();
    expect(s.model.requests).toHaveLength(0);
    expect(await answersIn(s.bob, s.group)).toEqual([]);
    // Recorded, it is handled: a later start records nothing more.
    const again = await s.assistant({ now: () => Date.now() + 10 * 60_000, catchUpMinutes: 5 });
    await again.idle();
    expect(await decisionsFor(s.ann, s.group, old.id)).toHaveLength(1);
  });

  it('[RC2] what was said while it was away but not to it is not taken up late: a silent decision says so', async () => {
    await using s = await scene();
    const open = await send(s.ann, s.group, OPEN_QUESTION);
    const reply = await s.bob.client.api.sendMessage({ params: { conversationId: s.group }, body: { id: messageId(), text: 'No idea, hours?', replyToId: open.id } });
    const assistant = await s.assistant();
    await assistant.idle();
    for (const message of [open, reply]) {
      expect(await decisionsFor(s.ann, s.group, message.id)).toEqual([
        expect.objectContaining({ action: 'silent', rule: 'RC2', reason: expect.stringContaining('not addressed to it') }),
      ]);
    }
    expect(s.model.requests).toHaveLength(0);
  });

  it('[RC1] [RC2] a reply to its message from while it was away is answered, even with its message out of the window', async () => {
    await using s = await scene();
    s.model.push({ kind: 'text', chunks: ['Noted.'] });
    const first = await s.assistant();
    await send(s.ann, s.group, 'Parley, remind me of the plan');
    await expect.poll(() => answersIn(s.bob, s.group), { timeout: 8000 }).toHaveLength(1);
    await first.idle();
    await first.close();
    const [answer] = await answersIn(s.bob, s.group);
    // Its message slides out of the 40 messages the policy keeps (the chatter gets [RC2] decisions).
    for (let index = 0; index < 45; index += 1) await send(index % 2 ? s.ann : s.bob, s.group, `chatter ${index}`);
    const reply = await s.bob.client.api.sendMessage({ params: { conversationId: s.group }, body: { id: messageId(), text: 'and then?', replyToId: answer!.id } });
    s.model.push({ kind: 'text', chunks: ['Then lunch.'] });
    const second = await s.assistant();
    await expect.poll(() => answersIn(s.bob, s.group), { timeout: 8000 }).toHaveLength(2);
    await second.idle();
    expect(await decisionsFor(s.ann, s.group, reply.id)).toEqual([expect.objectContaining({ action: 'answer', rule: 'TT5' })]);
  });

  it('[RC4] [AB2] never answers history copied into a new group while it was away', async () => {
    await using s = await scene();
    s.model.push({ kind: 'text', chunks: ['Original answer.'] });
    const first = await s.assistant();
    await send(s.ann, s.group, 'Parley, what is the plan?');
    await expect.poll(() => answersIn(s.bob, s.group), { timeout: 8000 }).toHaveLength(1);
    await first.idle();
    await first.close();
    // Copies keep their time: the originals are 30 minutes old, well inside a 60-minute window.
    const old = new Date(Date.now() - 30 * 60_000).toISOString();
    await s.server.server.context.storage.writer.updateTable('messages').set({ created_at: old }).execute();
    const fork = await s.bob.client.api.forkConversation({ params: { conversationId: s.group }, body: {} });
    const copies = (await s.bob.client.api.listMessages({ params: { conversationId: fork.conversation.id }, query: {} })).messages;
    expect(copies.map((message) => message.text)).toContain('Parley, what is the plan?');
    const second = await s.assistant({ catchUpMinutes: 60 });
    await second.idle();
    expect(s.model.requests).toHaveLength(1);
    expect((await s.bob.client.api.listDecisions({ params: { conversationId: fork.conversation.id } })).decisions).toEqual([]);
  });
});

describe('not talking over people', () => {
  it('[RC5] an answer the fast model decided on while a person answered (model held 800 ms) is dropped, and the decision says why', async () => {
    await using s = await scene();
    const assistant = await s.assistant();
    for (let round = 0; round < 3; round += 1) {
      s.model.push({ kind: 'object', value: { action: 'answer', confidence: 0.99, reason: 'a factual question' }, delayMs: 800 });
      const question = await send(s.ann, s.group, `${OPEN_QUESTION} (${round})`);
      await expect.poll(() => s.model.requests.length, { timeout: 5000 }).toBe(round + 1);
      await send(s.bob, s.group, 'About three hours.');
      await assistant.idle();
      expect(await decisionsFor(s.ann, s.group, question.id)).toEqual([
        expect.objectContaining({ action: 'silent', rule: 'RC5', reason: expect.stringContaining(`@${s.bob.user.username} answered the question`) }),
      ]);
    }
    expect(await answersIn(s.ann, s.group)).toEqual([]);
    // Only the three decisions were asked of a model: no answer was streamed.
    expect(s.model.requests).toHaveLength(3);
  });

  it('[RC5] an answer whose question a person answered before its first token starts no turn and posts nothing', async () => {
    await using s = await scene();
    const assistant = await s.assistant();
    const watcher = await s.server.connect(s.ann.client);
    s.model.push(
      { kind: 'object', value: { action: 'answer', confidence: 0.99, reason: 'a factual question' } },
      { kind: 'text', delayMs: 800, chunks: ['It takes ', 'about three hours.'] },
    );
    const question = await send(s.ann, s.group, OPEN_QUESTION);
    await expect.poll(() => s.model.requests.length, { timeout: 5000 }).toBe(2);
    await send(s.bob, s.group, 'About three hours.');
    await assistant.idle();
    const decisions = await decisionsFor(s.ann, s.group, question.id);
    expect(decisions.map((decision) => [decision.action, decision.rule])).toEqual([
      ['silent', 'RC5'],
      ['answer', 'TT15'],
    ]);
    expect(decisions[0]?.reason).toMatch(/before its answer's first word/);
    expect(await answersIn(s.ann, s.group)).toEqual([]);
    expect((await s.ann.client.api.listTurns({ params: { conversationId: s.group }, query: {} })).turns).toEqual([]);
    // No member saw a turn start.
    expect(watcher.events.filter((event) => event.type === 'message-created' && event.message.turn !== null)).toEqual([]);
  });

  it('[RC5] an unprompted answer nobody preempted still goes out', async () => {
    await using s = await scene();
    const assistant = await s.assistant();
    s.model.push(
      { kind: 'object', value: { action: 'answer', confidence: 0.99, reason: 'a factual question' } },
      { kind: 'text', chunks: ['About three hours.'] },
    );
    const question = await send(s.ann, s.group, OPEN_QUESTION);
    await expect.poll(() => answersIn(s.bob, s.group), { timeout: 8000 }).toEqual([expect.objectContaining({ text: 'About three hours.' })]);
    await assistant.idle();
    expect(await decisionsFor(s.ann, s.group, question.id)).toEqual([expect.objectContaining({ action: 'answer', rule: 'TT15' })]);
  });

  it('[RC6] a mention is still answered when a person spoke before its first token', async () => {
    await using s = await scene();
    const assistant = await s.assistant();
    s.model.push({ kind: 'text', delayMs: 800, chunks: ['Three hours.'] });
    await send(s.ann, s.group, `Parley, ${OPEN_QUESTION.toLowerCase()}`);
    await expect.poll(() => s.model.requests.length, { timeout: 5000 }).toBe(1);
    await send(s.bob, s.group, 'I think about three hours.');
    await expect.poll(() => answersIn(s.bob, s.group), { timeout: 8000 }).toEqual([expect.objectContaining({ text: 'Three hours.' })]);
    await assistant.idle();
  });
});

describe('a catch-up that does not flood the server', () => {
  it('[RC7] [RC8] [RC4] catches up on 1,000 messages in five groups: each decided once, at most 2 decisions at once, one page held', async () => {
    await using s = await scene(BULK_SENDING);
    const { messages } = await backlogIn(s, 5, 200);
    const requests = watchRequests();
    const assistant = await s.assistant({ fetch: requests.fetch, catchUpConcurrency: 2 });
    await assistant.idle();

    const rows = await decisionRows(s);
    expect(rows).toHaveLength(messages.length);
    expect(new Set(rows.map((row) => row.message_id))).toEqual(new Set(messages.map((message) => message.id)));
    expect(rows.every((row) => row.action === 'silent' && row.rule === 'RC2')).toBe(true);
    // Five conversations, yet never more than the limiter's two (and the limiter was used to the full).
    expect(requests.mostDecisionsInFlight).toBe(2);
    // Each page is read once all of the page before is decided: never more than one page pending.
    expect(requests.pages.length).toBeGreaterThanOrEqual(10);
    let before = 0;
    for (const page of requests.pages) {
      expect(page).toEqual(expect.objectContaining({ sent: before, done: before }));
      expect(page.entries).toBeLessThanOrEqual(100);
      before += page.entries;
    }
    expect(before).toBe(messages.length);
    expect(s.model.requests).toHaveLength(0);
  });

  it('[RC9] [RC8] a live mention during the catch-up of its own group is answered before the catch-up ends', async () => {
    await using s = await scene(BULK_SENDING);
    const { messages } = await backlogIn(s, 1, 300);
    // Each decision takes 10 ms on this "busy server": the catch-up takes at least 300 × 10 ms / 2.
    const requests = watchRequests(10);
    s.model.push({ kind: 'text', chunks: ['Right away.'] });
    const assistant = await s.assistant({ fetch: requests.fetch, catchUpConcurrency: 2 });
    await expect.poll(() => requests.decisionsDone, { timeout: 8000 }).toBeGreaterThan(0);
    const mention = await send(s.ann, s.group, 'Parley, are you with us?');
    await expect.poll(() => answersIn(s.bob, s.group), { timeout: 8000 }).toEqual([expect.objectContaining({ text: 'Right away.' })]);
    const caughtUpWhenAnswered = requests.decisionsDone;
    expect(caughtUpWhenAnswered).toBeLessThan(messages.length);
    await assistant.idle();
    expect(requests.mostDecisionsInFlight).toBeLessThanOrEqual(3);
    const rows = await decisionRows(s);
    expect(rows).toHaveLength(messages.length + 1);
    expect(rows.filter((row) => row.message_id === mention.id)).toEqual([expect.objectContaining({ action: 'answer', rule: 'TT4' })]);
  });

  it('[RC8] refuses a catch-up concurrency that is not a whole number of at least 1', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      expect(() => new AssistantRuntime({ baseUrl: 'http://127.0.0.1:1', token: 'x', models: loadModels({}), logger: silentLogger(), catchUpConcurrency: bad })).toThrow(/catchUpConcurrency/);
    }
  });
});
