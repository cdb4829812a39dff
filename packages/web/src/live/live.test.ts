import { startFixtureApp } from '@parley/apps/test';
import { startTestServer, type TestServer } from '@parley/server/test';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ParleyClient, type FetchLike } from '@parley/sdk';
import { Live } from './live.js';

/** The web client's live state, driven by a real server over loopback (the same code the browser runs). */
describe('Live', () => {
  let server: TestServer;
  const lives: Live[] = [];
  beforeEach(async () => {
    server = await startTestServer();
  });
  afterEach(async () => {
    for (const live of lives.splice(0)) live.close();
    await server[Symbol.asyncDispose]();
  });

  async function liveOf(person: Awaited<ReturnType<TestServer['user']>>): Promise<Live> {
    const live = new Live(person.client, person.user);
    lives.push(live);
    await live.start();
    await expect.poll(() => live.getSnapshot().status).toBe('open');
    return live;
  }
  const say = (person: Awaited<ReturnType<TestServer['user']>>, conversationId: string, text: string) =>
    person.client.api.sendMessage({ params: { conversationId }, body: { id: crypto.randomUUID().replaceAll('-', ''), text } });

  it('[WB8] a group joined by invite link is followed live from the join on', async () => {
    const ann = await server.user();
    const bob = await server.user();
    const bobLive = await liveOf(bob);
    const view = await ann.client.api.createConversation({ body: { kind: 'group', title: 'Trip' } });
    const group = view.conversation.id;
    await say(ann, group, 'before bob');
    const invite = await ann.client.api.createInvite({ params: { conversationId: group }, body: {} });
    const joined = await bob.client.api.joinInvite({ params: { token: invite.token ?? '' }, body: {} });
    bobLive.add(joined);
    await say(ann, group, 'hello bob');
    await expect.poll(() => bobLive.getSnapshot().conversations.get(group)?.view.lastMessage?.text).toBe('hello bob');
    await bobLive.open(group);
    await expect.poll(() => bobLive.getSnapshot().conversations.get(group)?.messages?.map((message) => message.text)).toEqual(['before bob', 'hello bob']);
  });

  it('[WB84] someone typing shows until their message arrives, then at once no longer', async () => {
    const ann = await server.user();
    const bob = await server.user();
    const view = await ann.client.api.createConversation({ body: { kind: 'group', title: 'Typing', usernames: [bob.user.username] } });
    const group = view.conversation.id;
    const bobLive = await liveOf(bob);
    await ann.client.api.sendTyping({ params: { conversationId: group } });
    await expect.poll(() => [...(bobLive.getSnapshot().typing.get(group)?.keys() ?? [])]).toEqual([ann.user.id]);
    await say(ann, group, 'done typing');
    await expect.poll(() => bobLive.getSnapshot().conversations.get(group)?.view.lastMessage?.text).toBe('done typing');
    // Well before the indicator would have expired on its own.
    const until = bobLive.getSnapshot().typing.get(group)?.get(ann.user.id);
    expect(until).toBeUndefined();
  });

  it('[WB8] [WB7] a group someone adds you to appears, with every message sent while it was fetched counted once', async () => {
    const ann = await server.user();
    const bob = await server.user();
    const bobLive = await liveOf(bob);
    const view = await ann.client.api.createConversation({ body: { kind: 'group', title: 'Surprise' } });
    const group = view.conversation.id;
    await ann.client.api.addMember({ params: { conversationId: group }, body: { username: bob.user.username } });
    // No wait: these race the fetch the client makes when it first hears of the group.
    await Promise.all([say(ann, group, 'one'), say(ann, group, `two @${bob.user.username}`)]);
    await say(ann, group, 'three');
    await expect.poll(() => bobLive.getSnapshot().conversations.get(group)?.view.lastMessage?.text).toBe('three');
    const entry = bobLive.getSnapshot().conversations.get(group);
    expect(entry?.unread).toBe(3);
    expect(entry?.mentions).toBe(1);
    await bobLive.open(group);
    await expect.poll(() => bobLive.getSnapshot().conversations.get(group)?.messages?.length).toBe(3);
    expect(bobLive.getSnapshot().conversations.get(group)?.unread).toBe(0);
  });

  it('[WB11] a send that fails stays with Retry; the retry reuses the same id; a lost answer is confirmed by the event, stored once', async () => {
    const ann = await server.user();
    let fault: 'none' | 'unsent' | 'answer-lost' = 'unsent';
    // A flaky network: the request never leaves, or it reaches the server and the answer is lost.
    const flaky: FetchLike = async (url, init) => {
      const isSend = init.method === 'POST' && url.endsWith('/messages');
      const now = isSend ? fault : 'none';
      if (isSend) fault = 'none';
      if (now === 'unsent') throw new TypeError('network error');
      const response = await fetch(url, init as RequestInit);
      if (now === 'answer-lost') throw new TypeError('network error');
      return response;
    };
    const client = new ParleyClient({ baseUrl: server.url, token: ann.client.token ?? '', fetch: flaky });
    const annLive = new Live(client, ann.user);
    lives.push(annLive);
    await annLive.start();
    const view = await ann.client.api.createConversation({ body: { kind: 'group', title: 'Notes' } });
    const group = view.conversation.id;
    annLive.add(view);
    await annLive.open(group);
    const texts = () => annLive.getSnapshot().conversations.get(group)?.messages?.map((message) => message.text);

    annLive.send(group, 'first');
    expect(annLive.getSnapshot().pending.get(group)?.[0]).toMatchObject({ text: 'first', status: 'sending' });
    await expect.poll(() => annLive.getSnapshot().pending.get(group)?.[0]?.status).toBe('failed');
    const id = annLive.getSnapshot().pending.get(group)?.[0]?.id ?? '';
    annLive.retry(group, id);
    await expect.poll(() => annLive.getSnapshot().pending.get(group)?.length).toBe(0);
    expect(annLive.getSnapshot().conversations.get(group)?.messages?.find((message) => message.text === 'first')?.id).toBe(id);

    fault = 'answer-lost';
    annLive.send(group, 'second');
    await expect.poll(texts).toEqual(['first', 'second']);
    await expect.poll(() => annLive.getSnapshot().pending.get(group)?.length).toBe(0);
    const stored = await ann.client.api.listMessages({ params: { conversationId: group }, query: {} });
    expect(stored.messages.map((message) => message.text)).toEqual(['first', 'second']);
  });

  it('[WB11] [PB7] a send the server refuses as busy goes again by itself after Retry-After, with the same id, and is stored once', async () => {
    const ann = await server.user();
    let busy = 2;
    const sends: string[] = [];
    // The server's answer while it sheds load, twice, then the real server.
    const shedding: FetchLike = async (url, init) => {
      if (init.method === 'POST' && url.endsWith('/messages')) {
        sends.push(String(JSON.parse(String(init.body)).id));
        if (busy > 0) {
          busy -= 1;
          const error = { code: 'UNAVAILABLE', message: 'the server is busy: try again in a moment', retryAfter: 1, details: { reason: 'overloaded' } };
          return new Response(JSON.stringify({ error }), { status: 503, headers: { 'content-type': 'application/json', 'retry-after': '1' } });
        }
      }
      return fetch(url, init as RequestInit);
    };
    const client = new ParleyClient({ baseUrl: server.url, token: ann.client.token ?? '', fetch: shedding });
    const annLive = new Live(client, ann.user);
    lives.push(annLive);
    await annLive.start();
    const view = await ann.client.api.createConversation({ body: { kind: 'group', title: 'Busy' } });
    const group = view.conversation.id;
    annLive.add(view);
    await annLive.open(group);

    annLive.send(group, 'when you can');
    await expect.poll(() => sends.length).toBe(1);
    // Refused, it still shows as sending, never as failed, until the server takes it.
    expect(annLive.getSnapshot().pending.get(group)?.[0]).toMatchObject({ text: 'when you can', status: 'sending' });
    await expect.poll(() => annLive.getSnapshot().pending.get(group)?.length, { timeout: 6000 }).toBe(0);
    expect(sends).toHaveLength(3);
    expect(new Set(sends).size).toBe(1);
    const stored = await ann.client.api.listMessages({ params: { conversationId: group }, query: {} });
    expect(stored.messages.map((message) => [message.id, message.text])).toEqual([[sends[0], 'when you can']]);
  });

  it('[WB34] a message with files whose send fails is retried with the same id and the same files, stored once', async () => {
    const ann = await server.user();
    let failNext = true;
    const flaky: FetchLike = async (url, init) => {
      if (init.method === 'POST' && url.endsWith('/messages') && failNext) {
        failNext = false;
        throw new TypeError('network error');
      }
      return fetch(url, init as RequestInit);
    };
    const client = new ParleyClient({ baseUrl: server.url, token: ann.client.token ?? '', fetch: flaky });
    const annLive = new Live(client, ann.user);
    lives.push(annLive);
    await annLive.start();
    const view = await ann.client.api.createConversation({ body: { kind: 'group', title: 'Files' } });
    const group = view.conversation.id;
    annLive.add(view);
    await annLive.open(group);
    const notes = await client.api.uploadAttachment({ query: { filename: 'notes.txt' }, upload: { data: new TextEncoder().encode('hello'), contentType: 'text/plain' } });

    annLive.send(group, '', null, [notes]);
    await expect.poll(() => annLive.getSnapshot().pending.get(group)?.[0]?.status).toBe('failed');
    const pending = annLive.getSnapshot().pending.get(group)?.[0];
    expect(pending?.attachments.map((attachment) => attachment.id)).toEqual([notes.id]);
    annLive.retry(group, pending?.id ?? '');
    await expect.poll(() => annLive.getSnapshot().pending.get(group)?.length).toBe(0);
    const stored = await ann.client.api.listMessages({ params: { conversationId: group }, query: {} });
    expect(stored.messages).toHaveLength(1);
    expect(stored.messages[0]?.id).toBe(pending?.id);
    expect(stored.messages[0]?.attachments.map((attachment) => attachment.filename)).toEqual(['notes.txt']);
  });

  it('[WB8] a member removed from a group loses it at once and hears nothing more of it', async () => {
    const ann = await server.user();
    const bob = await server.user();
    const view = await ann.client.api.createConversation({ body: { kind: 'group', usernames: [bob.user.username] } });
    const group = view.conversation.id;
    const bobLive = await liveOf(bob);
    expect(bobLive.getSnapshot().conversations.has(group)).toBe(true);
    await ann.client.api.removeMember({ params: { conversationId: group, userId: bob.user.id } });
    await expect.poll(() => bobLive.getSnapshot().conversations.has(group)).toBe(false);
    await say(ann, group, 'after bob left');
    const other = await ann.client.api.createConversation({ body: { kind: 'direct', username: bob.user.username } });
    await say(ann, other.conversation.id, 'still here?');
    await expect.poll(() => bobLive.getSnapshot().conversations.get(other.conversation.id)?.view.lastMessage?.text).toBe('still here?');
    expect(bobLive.getSnapshot().conversations.has(group)).toBe(false);
  });

  it('[WB9] a conversation opens on its newest page and loads older pages in order', async () => {
    await server[Symbol.asyncDispose]();
    server = await startTestServer({ config: { floodLimit: { burst: 1000, perMinute: 6000 } } });
    const ann = await server.user();
    const view = await ann.client.api.createConversation({ body: { kind: 'group', title: 'Long' } });
    const group = view.conversation.id;
    for (let index = 1; index <= 130; index += 1) await say(ann, group, `message ${index}`);
    const annLive = await liveOf(ann);
    await annLive.open(group);
    const texts = () => annLive.getSnapshot().conversations.get(group)?.messages?.map((message) => message.text) ?? [];
    expect(texts()).toHaveLength(100);
    expect(texts().at(-1)).toBe('message 130');
    await annLive.loadOlder(group);
    expect(texts()).toEqual(Array.from({ length: 130 }, (_, index) => `message ${index + 1}`));
    expect(annLive.getSnapshot().conversations.get(group)?.olderBefore).toBeNull();
  });

  it('[WB15] after a dropped socket the stream resumes and brings what was missed', async () => {
    const ann = await server.user();
    const bob = await server.user();
    const view = await ann.client.api.createConversation({ body: { kind: 'group', usernames: [bob.user.username] } });
    const group = view.conversation.id;
    const bobLive = await liveOf(bob);
    bobLive.dropConnection();
    await say(ann, group, 'while you were away');
    bobLive.reconnect();
    await expect.poll(() => bobLive.getSnapshot().conversations.get(group)?.view.lastMessage?.text).toBe('while you were away');
    await expect.poll(() => bobLive.getSnapshot().status).toBe('open');
  });

  it('[WB70] [WB72] an opened conversation holds its apps and their calls, read with the history and kept by events', async () => {
    await using app = await startFixtureApp();
    const ann = await server.user();
    const bob = await server.user();
    const added = await ann.client.api.createApp({ body: { name: 'Weather', url: app.url } });
    await ann.client.api.reviewApp({ params: { appId: added.id }, body: { decision: 'approve', hash: added.listing?.hash ?? '' } });
    const group = (await ann.client.api.createConversation({ body: { kind: 'group', title: 'Apps', usernames: [bob.user.username] } })).conversation.id;
    await ann.client.api.setConversationApp({ params: { conversationId: group, appId: added.id }, body: { enabled: true } });
    const trigger = await say(bob, group, 'delete the note');
    const turn = await server.assistant.client.api.startTurn({ params: { conversationId: group }, body: { id: crypto.randomUUID().replaceAll('-', ''), triggerMessageId: trigger.id } });
    const call = (tool: string, args: object) =>
      server.assistant.client.api.callAppTool({
        params: { conversationId: group, appId: added.id },
        body: { id: crypto.randomUUID().replaceAll('-', ''), tool, arguments: JSON.stringify(args), turnId: turn.id },
      });
    const first = await call('delete_note', { id: 'n1' });

    const bobLive = await liveOf(bob);
    const entry = () => bobLive.getSnapshot().conversations.get(group);
    // Not opened: nothing of the apps is held yet.
    expect(entry()?.apps).toBeNull();
    expect(entry()?.appCalls).toBeNull();
    await bobLive.open(group);
    expect(entry()?.apps?.map((item) => item.appId)).toEqual([added.id]);
    expect(entry()?.appCalls?.map((item) => [item.id, item.status])).toEqual([[first.id, 'pending']]);

    // Live: a decision, a new call, the app switched off.
    await bob.client.api.decideAppCall({ params: { conversationId: group, callId: first.id }, body: { decision: 'approve-once' } });
    await expect.poll(() => entry()?.appCalls?.[0]?.status).toBe('completed');
    const second = await call('get_weather', { city: 'Oslo' });
    await expect.poll(() => entry()?.appCalls?.map((item) => [item.id, item.status])).toEqual([[first.id, 'completed'], [second.id, 'completed']]);
    await ann.client.api.setConversationApp({ params: { conversationId: group, appId: added.id }, body: { enabled: false } });
    await expect.poll(() => entry()?.apps).toEqual([]);
  });
});
