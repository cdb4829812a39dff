import type { AssistantContext, Message } from '@parley/protocol';
import { ParleyClient } from '@parley/sdk';
import { messageId, startTestServer, type TestServer, type TestUser } from '@parley/server/test';
import { describe, expect, it } from 'vitest';
import { buildPrompt } from './build-prompt.js';
import { memory } from './fixtures.js';
import { loadContext, loadOlderMessages, updateSummary } from './load-context.js';
import type { SummaryRequest } from './summary.js';

/**
 * A client of the real server, except for the assistant endpoints whose server side is built
 * elsewhere: `getAssistantContext` answers with the real conversation and members (from
 * `getConversation`) plus what `extra` adds, and `saveSummary` records its body. Every request is
 * logged, so the tests can count what a turn reads.
 */
function assistantClient(server: TestServer, member: TestUser, extra: Partial<AssistantContext> = {}) {
  const requests: string[] = [];
  const saved: unknown[] = [];
  const token = member.client.token;
  const real = new ParleyClient({ baseUrl: server.url, ...(token ? { token } : {}) });
  const fake: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    requests.push(`${init?.method ?? 'GET'} ${url.pathname}${url.search}`);
    const match = /^\/api\/conversations\/([^/]+)\/assistant\/(context|summary)$/.exec(url.pathname);
    if (match?.[2] === 'context') {
      const view = await real.api.getConversation({ params: { conversationId: match[1] ?? '' } });
      const context: AssistantContext = { conversation: view.conversation, members: view.members, contentPolicy: 'standard', personal: null, summary: null, ...extra };
      return Response.json(context);
    }
    if (match?.[2] === 'summary') {
      const body: unknown = JSON.parse(String(init?.body));
      saved.push(body);
      return Response.json(body);
    }
    return fetch(input, init);
  };
  return { client: new ParleyClient({ baseUrl: server.url, ...(token ? { token } : {}), fetch: fake }), requests, saved };
}

async function groupWithHistory(server: TestServer, count: number) {
  const ann = await server.user();
  const bob = await server.user();
  const pip = await server.user();
  const group = await ann.client.api.createConversation({ body: { kind: 'group', title: 'Lyon', usernames: [bob.user.username, pip.user.username] } });
  const conversationId = group.conversation.id;
  const sent: Message[] = [];
  for (let index = 0; index < count; index += 1) {
    const author = index % 3 === 2 ? pip : index % 2 ? bob : ann;
    sent.push(await author.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text: `message ${index} about the trip` } }));
  }
  return { ann, bob, pip, conversationId, sent };
}

const manyMessages = { floodLimit: { burst: 10_000, perMinute: 600_000 } };
const listRequests = (requests: string[]) => requests.filter((request) => request.includes('/messages'));

describe('loadContext', () => {
  it('[CX10] reads only the newest page when it fills the budget, never the whole history', async () => {
    await using server = await startTestServer({ config: manyMessages });
    const { pip, bob, conversationId, sent } = await groupWithHistory(server, 130);
    const { client, requests } = assistantClient(server, pip);

    const loaded = await loadContext(client, conversationId, { budget: 1024 });
    expect(listRequests(requests)).toEqual([`GET /api/conversations/${conversationId}/messages?limit=100`]);
    expect(requests.filter((request) => request.endsWith('/assistant/context'))).toHaveLength(1);
    expect(loaded.messages.map((message) => message.id)).toEqual(sent.slice(30).map((message) => message.id));
    expect(loaded.hasOlderMessages).toBe(true);

    const prompt = buildPrompt({ ...loaded, assistantUserId: pip.user.id, budget: 1024 });
    expect(prompt.messages.length).toBeGreaterThan(5);
    expect(prompt.omittedMessages).toBe(100 - prompt.messages.length);
    // Message 128 is Pip's (the assistant here), 129 Bob's.
    expect(prompt.messages.slice(-2)).toEqual([
      { role: 'assistant', content: 'message 128 about the trip' },
      { role: 'user', content: `User ${bob.user.username}: message 129 about the trip` },
    ]);
  });

  it('[CX10] pages back until the budget is filled, no further than the history, and within maxPages', async () => {
    await using server = await startTestServer({ config: manyMessages });
    const { pip, conversationId, sent } = await groupWithHistory(server, 130);
    const { client, requests } = assistantClient(server, pip);

    const everything = await loadContext(client, conversationId, { budget: 100_000 });
    const second = `GET /api/conversations/${conversationId}/messages?before=${sent[30]?.seq}&limit=200`;
    expect(listRequests(requests)).toEqual([`GET /api/conversations/${conversationId}/messages?limit=100`, second]);
    expect(everything.messages.map((message) => message.id)).toEqual(sent.map((message) => message.id));
    expect(everything.hasOlderMessages).toBe(false);

    requests.length = 0;
    const bounded = await loadContext(client, conversationId, { budget: 100_000, firstPageSize: 10, maxPages: 1 });
    expect(listRequests(requests)).toEqual([`GET /api/conversations/${conversationId}/messages?limit=10`]);
    expect(bounded.messages.map((message) => message.id)).toEqual(sent.slice(-10).map((message) => message.id));
    expect(bounded.hasOlderMessages).toBe(true);
  });

  it('[CX1] looks up authors who left, so their messages keep a name', async () => {
    await using server = await startTestServer();
    const ann = await server.user(undefined, { displayName: 'Ann' });
    const dave = await server.user(undefined, { displayName: 'Dave' });
    const pip = await server.user();
    const group = await ann.client.api.createConversation({ body: { kind: 'group', usernames: [dave.user.username, pip.user.username] } });
    const params = { conversationId: group.conversation.id };
    await dave.client.api.sendMessage({ params, body: { id: messageId(), text: 'I have to go, see you' } });
    await dave.client.api.leaveConversation({ params });
    await ann.client.api.sendMessage({ params, body: { id: messageId(), text: 'Bye Dave' } });

    const { client } = assistantClient(server, pip);
    const loaded = await loadContext(client, params.conversationId, { budget: 4000 });
    expect(loaded.people.map((user) => user.id)).toEqual([dave.user.id]);
    const prompt = buildPrompt({ ...loaded, assistantUserId: pip.user.id, budget: 4000 });
    expect(prompt.messages.map((message) => message.content)).toEqual(['Dave: I have to go, see you', 'Ann: Bye Dave']);
  });

  it('[CX4] drops personal data that a server sends with a group context', async () => {
    await using server = await startTestServer();
    const { pip, ann, conversationId } = await groupWithHistory(server, 3);
    const personal = { userId: ann.user.id, instructions: 'SECRET-INSTRUCTIONS', memories: [memory('SECRET-MEMORY')] };
    const { client } = assistantClient(server, pip, { personal });
    const loaded = await loadContext(client, conversationId, { budget: 4000 });
    expect(loaded.context.personal).toBeNull();
    const prompt = buildPrompt({ ...loaded, assistantUserId: pip.user.id, budget: 4000 });
    expect(JSON.stringify(prompt)).not.toContain('SECRET');
    expect(prompt.messages).toHaveLength(3);
  });
});

describe('summaries through the API', () => {
  it('[CX9] reads only the range backwards from the window, at most maxMessages, and stores the summary', async () => {
    await using server = await startTestServer({ config: manyMessages });
    const { pip, conversationId, sent } = await groupWithHistory(server, 130);
    const { client, requests, saved } = assistantClient(server, pip);
    const range = { afterSeq: sent[19]?.seq ?? 0, beforeSeq: sent[100]?.seq ?? 0 };

    const all = await loadOlderMessages(client, conversationId, range);
    expect(all.complete).toBe(true);
    expect(all.messages.map((message) => message.id)).toEqual(sent.slice(20, 100).map((message) => message.id));

    requests.length = 0;
    const capped = await loadOlderMessages(client, conversationId, range, { maxMessages: 30 });
    expect(capped.complete).toBe(false);
    expect(capped.messages.map((message) => message.id)).toEqual(sent.slice(70, 100).map((message) => message.id));
    expect(listRequests(requests)).toEqual([`GET /api/conversations/${conversationId}/messages?before=${range.beforeSeq}&limit=30`]);

    const loaded = await loadContext(client, conversationId, { budget: 1024 });
    const transcripts: SummaryRequest[] = [];
    const stored = await updateSummary(client, conversationId, {
      context: loaded.context,
      assistantUserId: pip.user.id,
      range,
      summarizer: async (request) => {
        transcripts.push(request);
        return 'They planned the trip.';
      },
    });
    expect(stored).toEqual({ text: 'They planned the trip.', uptoSeq: range.beforeSeq - 1 });
    expect(saved).toEqual([stored]);
    const lines = transcripts.flatMap((request) => request.transcript.split('\n\n'));
    expect(lines.map((line) => /message (\d+) /.exec(line)?.[1])).toEqual(sent.slice(20, 100).map((_message, index) => String(index + 20)));
    const assistantName = loaded.context.conversation.assistant?.name ?? '';
    expect(lines[0]).toBe(`${assistantName} (the assistant): message 20 about the trip`);
  });
});
