/**
 * Several nodes on one PostgreSQL database and one Redis: events, typing and sign-outs cross
 * nodes over the Redis bus, and a node cut off from Redis catches up from the log ([MN1]–[MN3] in
 * ../events/SPEC.md); a Stop on one node cancels the tool call running on another (../apps/SPEC.md [AP13]).
 * Needs the machine's PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379).
 */
import crypto from 'node:crypto';
import { startFixtureApp } from '@parley/apps/test';
import { ParleyClient } from '@parley/sdk';
import { describe, expect, it } from 'vitest';
import type { ServerConfig } from '../config.js';
import { createPostgresDatabase, failure, messageId, type RecordingStream, startTestServer, type TestServer, type TestUser } from '../test/harness.js';
import { rawSocket } from '../test/streams.js';
import { startTcpProxy, type TcpProxy } from '../test/tcp-proxy.js';

const REDIS = { host: '127.0.0.1', port: Number(process.env.PARLEY_TEST_REDIS_PORT ?? 6379) };

interface Cluster {
  a: TestServer;
  b: TestServer;
  /** Node B reaches Redis only through this proxy, so it can be cut off. */
  bLink: TcpProxy;
  /** Node A's link to Redis, to cut its publishing side. */
  aLink: TcpProxy;
  [Symbol.asyncDispose](): Promise<void>;
}

async function cluster(config: Partial<ServerConfig> = {}): Promise<Cluster> {
  const database = await createPostgresDatabase();
  const aLink = await startTcpProxy(REDIS);
  const bLink = await startTcpProxy(REDIS);
  // Channels are global to a Redis server: each test's nodes get their own.
  const redisChannel = `parley:test:${crypto.randomBytes(6).toString('hex')}`;
  const assistantToken = crypto.randomBytes(24).toString('base64url');
  const shared = { databaseUrl: database.url, redisChannel, assistantToken, ...config };
  const a = await startTestServer({ database: 'sqlite', config: { ...shared, redisUrl: `redis://${aLink.address}` } });
  const b = await startTestServer({ database: 'sqlite', config: { ...shared, redisUrl: `redis://${bLink.address}` } });
  return {
    a,
    b,
    aLink,
    bLink,
    async [Symbol.asyncDispose]() {
      await a[Symbol.asyncDispose]();
      await b[Symbol.asyncDispose]();
      await aLink.close();
      await bLink.close();
      await database.drop();
    },
  };
}

/** The same account, signed in with the same token, as a client of another node. */
function on(node: TestServer, user: TestUser): ParleyClient {
  return new ParleyClient({ baseUrl: node.url, token: user.client.token ?? '' });
}

function texts(stream: RecordingStream, conversationId: string): string[] {
  return stream.events.flatMap((event) => (event.type === 'message-created' && event.conversationId === conversationId ? [event.message.text] : []));
}

function seqs(stream: RecordingStream, conversationId: string): number[] {
  return stream.events.filter((event) => event.conversationId === conversationId).map((event) => event.seq);
}

async function send(user: TestUser | ParleyClient, conversationId: string, text: string) {
  const client = user instanceof ParleyClient ? user : user.client;
  return client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text } });
}

async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 8000): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('several nodes over Redis', () => {
  it('[MN1] a message sent on one node reaches, live and in order, a member connected to another; typing crosses too', async () => {
    await using nodes = await cluster();
    const ann = await nodes.a.user();
    const bob = await nodes.a.user();
    const group = (await ann.client.api.createConversation({ body: { kind: 'group', title: 'Two nodes', usernames: [bob.user.username] } })).conversation.id;
    const bobOnB = await nodes.b.connect(on(nodes.b, bob));
    const annOnA = await nodes.a.connect(ann.client);
    for (let index = 0; index < 20; index += 1) await send(ann, group, `from A ${index}`);
    await bobOnB.until(() => texts(bobOnB, group).length === 20);
    expect(texts(bobOnB, group)).toEqual(Array.from({ length: 20 }, (_, index) => `from A ${index}`));
    // And the other way.
    await send(on(nodes.b, bob), group, 'from B');
    await annOnA.until(() => texts(annOnA, group).includes('from B'));
    // Typing is ephemeral: it crosses the bus, never the log.
    annOnA.stream.sendTyping(group);
    await eventually(() => bobOnB.typing.some((event) => event.conversationId === group && event.userId === ann.user.id), 'typing on node B');
  });

  it('[MN1] [EL18] a block made through one node filters the blocker’s socket on another at once', async () => {
    await using nodes = await cluster();
    const ann = await nodes.a.user();
    const bob = await nodes.a.user();
    const cat = await nodes.a.user();
    const group = (await ann.client.api.createConversation({ body: { kind: 'group', title: 'Block', usernames: [bob.user.username, cat.user.username] } })).conversation.id;
    const message = await send(cat, group, 'lunch?');
    const annOnB = await nodes.b.connect(on(nodes.b, ann));
    await ann.client.api.blockUser({ params: { userId: bob.user.id } });
    await annOnB.until(() => annOnB.blocks.length === 1);
    expect(annOnB.blocks[0]?.blocked).toEqual([bob.user.id]);

    await bob.client.api.addReaction({ params: { conversationId: group, messageId: message.id, emoji: '👎' } });
    await bob.client.api.sendTyping({ params: { conversationId: group } });
    await cat.client.api.sendTyping({ params: { conversationId: group } });
    const after = await send(cat, group, 'noon then');
    await annOnB.until((events) => events.some((event) => event.seq === after.seq));
    expect(annOnB.events.filter((event) => event.conversationId === group).map((event) => event.type)).toEqual(['event-withheld', 'message-created']);
    await eventually(() => annOnB.typing.some((event) => event.userId === cat.user.id), 'cat typing on node B');
    expect(annOnB.typing.map((event) => event.userId)).toEqual([cat.user.id]);
  });

  it('[MN1] concurrent senders on two nodes get gapless sequence numbers, and both nodes deliver all of them in one order', async () => {
    await using nodes = await cluster({ floodLimit: { burst: 100, perMinute: 600 } });
    const ann = await nodes.a.user();
    const bob = await nodes.a.user();
    const group = (await ann.client.api.createConversation({ body: { kind: 'group', title: 'Race', usernames: [bob.user.username] } })).conversation.id;
    const annOnA = await nodes.a.connect(ann.client);
    const bobOnB = await nodes.b.connect(on(nodes.b, bob));
    const bobClient = on(nodes.b, bob);
    const sent = await Promise.all([
      ...Array.from({ length: 40 }, (_, index) => send(ann, group, `a${index}`)),
      ...Array.from({ length: 40 }, (_, index) => send(bobClient, group, `b${index}`)),
    ]);
    const numbers = sent.map((message) => message.seq).sort((x, y) => x - y);
    const first = numbers[0] ?? 0;
    expect(numbers).toEqual(Array.from({ length: 80 }, (_, index) => first + index));
    await annOnA.until(() => texts(annOnA, group).length === 80);
    await bobOnB.until(() => texts(bobOnB, group).length === 80);
    expect(texts(bobOnB, group)).toEqual(texts(annOnA, group));
    const bSeqs = seqs(bobOnB, group);
    expect(bSeqs).toEqual([...bSeqs].sort((x, y) => x - y));
    expect(new Set(bSeqs).size).toBe(bSeqs.length);
  });

  it('[MN2] a node cut off from Redis catches up from the log when it is back: nothing missed, nothing twice', async () => {
    await using nodes = await cluster();
    const ann = await nodes.a.user();
    const bob = await nodes.a.user();
    const group = (await ann.client.api.createConversation({ body: { kind: 'group', title: 'Pause', usernames: [bob.user.username] } })).conversation.id;
    const bobOnB = await nodes.b.connect(on(nodes.b, bob));
    await send(ann, group, 'before');
    await bobOnB.until(() => texts(bobOnB, group).includes('before'));

    nodes.bLink.cut();
    for (let index = 0; index < 5; index += 1) await send(ann, group, `during ${index}`);
    // Node B cannot have seen them: its link to Redis is down.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(texts(bobOnB, group)).toEqual(['before']);

    nodes.bLink.restore();
    await bobOnB.until(() => texts(bobOnB, group).length === 6, 10_000);
    await send(ann, group, 'after');
    await bobOnB.until(() => texts(bobOnB, group).includes('after'));
    expect(texts(bobOnB, group)).toEqual(['before', 'during 0', 'during 1', 'during 2', 'during 3', 'during 4', 'after']);
    const bSeqs = seqs(bobOnB, group);
    expect(new Set(bSeqs).size).toBe(bSeqs.length);
    // Bob's socket stayed open throughout: caught up in place, not by reconnecting.
    expect(bobOnB.welcomes).toHaveLength(1);
  });

  it('[MN2] a node that could not publish tells the others to catch up once it can again', async () => {
    await using nodes = await cluster();
    const ann = await nodes.a.user();
    const bob = await nodes.a.user();
    const group = (await ann.client.api.createConversation({ body: { kind: 'group', title: 'Mute', usernames: [bob.user.username] } })).conversation.id;
    const bobOnB = await nodes.b.connect(on(nodes.b, bob));
    nodes.aLink.cut();
    // Acknowledged by node A (stored in the log) while its bus is down.
    await send(ann, group, 'while A was cut off');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(texts(bobOnB, group)).toEqual([]);
    nodes.aLink.restore();
    await bobOnB.until(() => texts(bobOnB, group).includes('while A was cut off'), 10_000);
  });

  it('[MN3] what a cut-off node cannot patch in place it settles by closing: a new membership, a sign-out', async () => {
    await using nodes = await cluster();
    const ann = await nodes.a.user();
    const bob = await nodes.a.user();
    const carol = await nodes.a.user();
    const group = (await ann.client.api.createConversation({ body: { kind: 'group', title: 'Join', usernames: [bob.user.username] } })).conversation.id;
    const carolOnB = await nodes.b.connect(on(nodes.b, carol));
    const bobOnB = await nodes.b.connect(on(nodes.b, bob));

    nodes.bLink.cut();
    await ann.client.api.addMember({ params: { conversationId: group }, body: { username: carol.user.username } });
    await send(ann, group, 'welcome carol');
    await bob.client.api.signOut({});
    nodes.bLink.restore();

    // Carol's socket reconnects and its hello lists the group she was added to meanwhile.
    await eventually(() => carolOnB.welcomes.some((welcome) => welcome.conversations.some((row) => row.conversationId === group)), "carol's new welcome");
    await send(ann, group, 'hello again');
    await carolOnB.until(() => texts(carolOnB, group).includes('hello again'));
    // Bob signed out on node A while node B could not hear it: node B closes his socket.
    await eventually(() => bobOnB.errors.some((error) => (error as { code?: string }).code === 'UNAUTHENTICATED'), "bob's socket closed as signed out");
  });

  it('[MN5] the flood limit, the sign-in throttle and the assistant limit hold across nodes', async () => {
    await using nodes = await cluster({
      floodLimit: { burst: 4, perMinute: 4 },
      loginThrottle: { perUsername: 3, perAddress: 1000, windowSeconds: 600 },
      assistantRateLimit: { burst: 1, perHour: 1 },
    });
    const ann = await nodes.a.user();
    const group = (await ann.client.api.createConversation({ body: { kind: 'group', title: 'Limits' } })).conversation.id;
    const annOnB = on(nodes.b, ann);

    // One answer for ann, charged through node A: the assistant's start for her next message through node B is refused.
    const first = await send(ann, group, 'one');
    const second = await send(annOnB, group, 'two');
    const bot = nodes.a.assistant.client;
    const turn = await bot.api.startTurn({ params: { conversationId: group }, body: { id: messageId(), triggerMessageId: first.id } });
    await bot.api.endTurn({ params: { conversationId: group, turnId: turn.id }, body: { status: 'completed', text: 'Sure.' } });
    const botOnB = new ParleyClient({ baseUrl: nodes.b.url, token: nodes.b.assistant.token });
    expect(
      await failure(botOnB.api.startTurn({ params: { conversationId: group }, body: { id: messageId(), triggerMessageId: second.id } })),
    ).toMatchObject({ code: 'RATE_LIMITED', details: { userId: ann.user.id, notify: true } });

    // Four messages in all, whichever node they go through; the fifth is refused on either.
    await send(ann, group, 'three');
    await send(annOnB, group, 'four');
    expect(await failure(send(annOnB, group, 'five'))).toMatchObject({ code: 'RATE_LIMITED' });
    expect(await failure(send(ann, group, 'five'))).toMatchObject({ code: 'RATE_LIMITED' });

    // Three wrong passwords through two nodes: then even the right one is refused, on both.
    const wrong = { username: ann.user.username, password: 'not the password at all' };
    for (const node of [nodes.a, nodes.b, nodes.a]) {
      expect(await failure(ParleyClient.signIn(node.url, wrong))).toMatchObject({ code: 'INVALID_CREDENTIALS' });
    }
    const right = { username: ann.user.username, password: 'correct horse battery staple' };
    expect(await failure(ParleyClient.signIn(nodes.b.url, right))).toMatchObject({ code: 'RATE_LIMITED' });
    expect(await failure(ParleyClient.signIn(nodes.a.url, right))).toMatchObject({ code: 'RATE_LIMITED' });
  });

  it('[MN5] a node cut off from Redis counts on its own: nothing is refused or held for want of it', async () => {
    await using nodes = await cluster({ floodLimit: { burst: 3, perMinute: 3 } });
    const ann = await nodes.a.user();
    const group = (await ann.client.api.createConversation({ body: { kind: 'group', title: 'Alone' } })).conversation.id;
    const annOnB = on(nodes.b, ann);
    await send(ann, group, 'one');
    await send(ann, group, 'two');
    nodes.bLink.cut();
    // Node B cannot read the shared count (2 of 3): on its own, ann has a full allowance there.
    const started = Date.now();
    for (const text of ['three', 'four', 'five']) await send(annOnB, group, text);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await failure(send(annOnB, group, 'six'))).toMatchObject({ code: 'RATE_LIMITED' });
    // Node A still counts in Redis: ann's one message left there.
    await send(ann, group, 'seven');
    expect(await failure(send(ann, group, 'eight'))).toMatchObject({ code: 'RATE_LIMITED' });
    nodes.bLink.restore();
  });

  it('[AT4] a turn started through node A, streamed and ended on a socket of node B: the answer is every delta, in order', async () => {
    await using nodes = await cluster();
    const ann = await nodes.a.user();
    const group = (await ann.client.api.createConversation({ body: { kind: 'group', title: 'Across' } })).conversation.id;
    const botOnB = await rawSocket(nodes.b.url, nodes.b.assistant.token);
    const turn = await nodes.a.assistant.client.api.startTurn({ params: { conversationId: group }, body: { id: messageId() } });
    // At once: node B may not have heard of the turn yet and reads it from storage; the frames after wait behind.
    const parts = Array.from({ length: 50 }, (_, index) => `${index},`);
    for (const text of parts) botOnB.send({ type: 'turn-delta', conversationId: group, turnId: turn.id, text });
    botOnB.send({ type: 'turn-end', conversationId: group, turnId: turn.id, status: 'completed' });
    const ended = await botOnB.frame((frame) => frame.type === 'turn-ended' || frame.type === 'error');
    expect(ended).toMatchObject({ type: 'turn-ended', turnId: turn.id, status: 'completed' });
    const { messages } = await ann.client.api.listMessages({ params: { conversationId: group } });
    expect(messages.at(-1)).toMatchObject({ text: parts.join(''), turn: { id: turn.id, status: 'completed' } });
    botOnB.ws.close();
  });

  it('[AT8] a node started again ends only the answers it held, not another node’s', async () => {
    await using nodes = await cluster();
    const ann = await nodes.a.user();
    const group = (await ann.client.api.createConversation({ body: { kind: 'group', title: 'Answers' } })).conversation.id;
    const onA = nodes.a.assistant.client;
    const botOnB = new ParleyClient({ baseUrl: nodes.b.url, token: nodes.b.assistant.token });
    const heldByA = await onA.api.startTurn({ params: { conversationId: group }, body: { id: messageId() } });
    await onA.api.appendTurnDelta({ params: { conversationId: group, turnId: heldByA.id }, body: { text: 'Half an answer' } });
    const other = (await ann.client.api.createConversation({ body: { kind: 'group', title: 'Other' } })).conversation.id;
    const heldByB = await botOnB.api.startTurn({ params: { conversationId: other }, body: { id: messageId() } });

    // Node B restarts: its own answer ends as interrupted; node A's goes on streaming.
    await nodes.b.restart();
    const statusOf = async (conversationId: string) => (await ann.client.api.listTurns({ params: { conversationId }, query: {} })).turns[0]?.status;
    expect(await statusOf(other)).toBe('interrupted');
    expect(await statusOf(group)).toBe('streaming');
    await onA.api.appendTurnDelta({ params: { conversationId: group, turnId: heldByA.id }, body: { text: ', then the rest.' } });
    expect(heldByB.id).not.toBe(heldByA.id);

    // Node A restarts: now its answer ends, with the text it had saved.
    await nodes.a.restart();
    const [turn] = (await ann.client.api.listTurns({ params: { conversationId: group }, query: {} })).turns;
    expect(turn).toMatchObject({ id: heldByA.id, status: 'interrupted' });
    expect(turn?.text).toBe('Half an answer, then the rest.');
  });

  it('[AP13] a Stop sent through node B cancels the tool call running on node A: the app is told, the call fails cancelled: for the group', async () => {
    await using nodes = await cluster();
    await using app = await startFixtureApp();
    // The first account of the install is its administrator: it adds and approves the app.
    const ann = await nodes.a.user();
    const bob = await nodes.a.user();
    const added = await ann.client.api.createApp({ body: { name: 'Search', url: app.url } });
    await ann.client.api.reviewApp({ params: { appId: added.id }, body: { decision: 'approve', hash: added.listing!.hash } });
    const group = (await ann.client.api.createConversation({ body: { kind: 'group', title: 'Trip', usernames: [bob.user.username] } })).conversation.id;
    await bob.client.api.setConversationApp({ params: { conversationId: group, appId: added.id }, body: { enabled: true } });
    const trigger = await send(bob, group, '@assistant find me flights');
    const turn = await nodes.a.assistant.client.api.startTurn({ params: { conversationId: group }, body: { id: messageId(), triggerMessageId: trigger.id } });

    const started = performance.now();
    const running = nodes.a.assistant.client.api.callAppTool({
      params: { conversationId: group, appId: added.id },
      body: { id: messageId(), tool: 'slow_search', arguments: JSON.stringify({ query: 'flights', seconds: 60 }), turnId: turn.id },
    });
    await eventually(() => app.calls.some((item) => item.tool === 'slow_search'), 'the app to receive the call');
    const { reader } = nodes.a.server.context.storage;
    const row = await reader.selectFrom('app_calls').select(['id', 'node_id', 'status']).where('conversation_id', '=', group).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'running', node_id: nodes.a.server.context.appRuns.nodeId });
    expect(nodes.b.server.context.appRuns.nodeId).not.toBe(row.node_id);

    // Bob presses Stop in a tab served by node B.
    const bobOnB = on(nodes.b, bob);
    await bobOnB.api.stopTurn({ params: { conversationId: group, turnId: turn.id } });
    const ended = await running;
    expect(performance.now() - started).toBeLessThan(20_000);
    expect(ended).toMatchObject({ id: row.id, status: 'failed', result: null, tool: 'slow_search' });
    expect(ended.error).toMatch(/^cancelled:/);
    await eventually(() => app.cancelled.length === 1, 'the app to see the cancellation');
    expect(app.cancelled).toEqual(['flights']);
    // Node B tells the same story: the call as it ended, and bob as who ended it.
    expect(await bobOnB.api.getAppCall({ params: { conversationId: group, callId: ended.id } })).toEqual(ended);
    const { events } = await bobOnB.api.listEvents({ params: { conversationId: group } });
    const ends = events.flatMap((event) => (event.type === 'app-call-updated' && event.call.id === ended.id && event.call.status === 'failed' ? [event] : []));
    expect(ends.map((event) => event.actorId)).toEqual([bob.user.id]);
  });
});
