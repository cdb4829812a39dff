import type { Message } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { failure, messageId, startTestServer } from '../test/harness.js';

describe('message history', () => {
  it('pages back through 120 messages with limit and before: oldest first in a page, each message exactly once', async () => {
    await using server = await startTestServer({ config: { floodLimit: { burst: 1000, perMinute: 60_000 } } });
    const ann = await server.user();
    const bob = await server.user();
    const group = await ann.client.api.createConversation({ body: { kind: 'group', usernames: [bob.user.username] } });
    const conversationId = group.conversation.id;
    const sent: Message[] = [];
    for (let index = 0; index < 120; index += 1) {
      const author = index % 3 === 0 ? bob : ann;
      sent.push(await author.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text: `message ${index}` } }));
      // Events that are not messages take seqs too; paging must not trip over the gaps.
      if (index % 10 === 0) await bob.client.api.addReaction({ params: { conversationId, messageId: sent[index]?.id ?? '', emoji: '👍' } });
    }

    const pages: Array<{ messages: Message[]; nextBefore: number | null }> = [];
    let before: number | undefined;
    do {
      const page = await bob.client.api.listMessages({ params: { conversationId }, query: { limit: 50, ...(before !== undefined ? { before } : {}) } });
      pages.push(page);
      before = page.nextBefore ?? undefined;
    } while (before !== undefined && pages.length < 10);

    expect(pages.map((page) => page.messages.length)).toEqual([50, 50, 20]);
    for (const page of pages) {
      const seqs = page.messages.map((message) => message.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(new Set(seqs).size).toBe(seqs.length);
    }
    expect(pages.map((page) => page.nextBefore)).toEqual([pages[0]?.messages[0]?.seq, pages[1]?.messages[0]?.seq, null]);
    // The first page holds the newest messages.
    expect(pages[0]?.messages.at(-1)?.id).toBe(sent.at(-1)?.id);
    const everything = pages.toReversed().flatMap((page) => page.messages);
    expect(everything.map((message) => message.id)).toEqual(sent.map((message) => message.id));
    expect(everything.map((message) => message.text)).toEqual(sent.map((_message, index) => `message ${index}`));

    // A page size that divides the history exactly still ends with nextBefore null.
    const exact = await bob.client.api.listMessages({ params: { conversationId }, query: { limit: 20, before: pages[1]?.nextBefore ?? 0 } });
    expect(exact).toEqual({ messages: pages[2]?.messages, nextBefore: null });
    const all = await bob.client.api.listMessages({ params: { conversationId }, query: { limit: 200 } });
    expect(all).toEqual({ messages: everything, nextBefore: null });
  });

  it('refuses bad paging with the query field named', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const chat = await ann.client.api.createConversation({ body: { kind: 'assistant' } });
    const params = { conversationId: chat.conversation.id };
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ limit: 0 }, 'query.limit'],
      [{ limit: 201 }, 'query.limit'],
      [{ limit: 'many' }, 'query.limit'],
      [{ limit: 2.5 }, 'query.limit'],
      [{ before: 0 }, 'query.before'],
      [{ before: 'yesterday' }, 'query.before'],
    ];
    for (const [query, field] of cases) {
      const error = await failure(ann.client.api.listMessages({ params, query: query as never }));
      expect(error, JSON.stringify(query)).toMatchObject({ code: 'INVALID_INPUT', status: 400, field });
    }
  });
});

describe('replies', () => {
  it('a reply names a message of the same conversation; any other id is NOT_FOUND on body.replyToId', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const bob = await server.user();
    const group = await ann.client.api.createConversation({ body: { kind: 'group', usernames: [bob.user.username] } });
    const conversationId = group.conversation.id;
    const elsewhere = await ann.client.api.createConversation({ body: { kind: 'assistant' } });
    const foreign = await ann.client.api.sendMessage({
      params: { conversationId: elsewhere.conversation.id },
      body: { id: messageId(), text: 'private' },
    });
    const question = await ann.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text: 'who is in?' } });

    const answer = await bob.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text: 'me', replyToId: question.id } });
    expect(answer.replyToId).toBe(question.id);

    for (const replyToId of [foreign.id, 'no-such-message']) {
      const error = await failure(bob.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text: 'x', replyToId } }));
      expect(error).toMatchObject({ code: 'NOT_FOUND', status: 404, field: 'body.replyToId' });
    }
    const malformed = await failure(bob.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text: 'x', replyToId: 'not an id!' } }));
    expect(malformed).toMatchObject({ code: 'INVALID_INPUT', field: 'body.replyToId' });

    const page = await ann.client.api.listMessages({ params: { conversationId } });
    expect(page.messages).toEqual([question, answer]);
  });
});

describe('mentions', () => {
  it('resolves @usernames of members to their ids; e-mail addresses and non-members are not mentions', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const bob = await server.user();
    // A member called "example", so that ann@example.com would mention them if e-mail were parsed.
    const example = await server.user('example');
    const carol = await server.user();
    const group = await ann.client.api.createConversation({
      body: { kind: 'group', usernames: [bob.user.username, example.user.username] },
    });
    const conversationId = group.conversation.id;
    const bobStream = await server.connect(bob.client);

    const text = [
      `mail ${ann.user.username}@example.com or @${carol.user.username} (not here) and @nobody_at_all,`,
      `then @${bob.user.username.toUpperCase()} and again @${bob.user.username}; also (@${example.user.username}).`,
    ].join(' ');
    const sent = await ann.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text } });
    expect(sent.mentions).toEqual([bob.user.id, example.user.id]);
    expect(sent.text).toBe(text);

    const onlyMail = await ann.client.api.sendMessage({
      params: { conversationId },
      body: { id: messageId(), text: `write to ${bob.user.username}@example.com` },
    });
    expect(onlyMail.mentions).toEqual([]);

    await bobStream.until((events) => events.filter((event) => event.type === 'message-created').length === 2);
    const created = bobStream.events.filter((event) => event.type === 'message-created');
    expect(created.map((event) => event.message.mentions)).toEqual([[bob.user.id, example.user.id], []]);
  });

  it('a @username inside code (an inline span or a fenced block) is code: it notifies no one', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const bob = await server.user();
    const carol = await server.user();
    const group = await ann.client.api.createConversation({
      body: { kind: 'group', usernames: [bob.user.username, carol.user.username] },
    });
    const conversationId = group.conversation.id;
    const text = [`run \`ping @${bob.user.username}\` then tell @${carol.user.username}`, '```', `@${bob.user.username} in a block`, '```'].join('\n');
    const sent = await ann.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text } });
    expect(sent.mentions).toEqual([carol.user.id]);
    const edited = await ann.client.api.editMessage({
      params: { conversationId, messageId: sent.id },
      body: { text: `\`@${carol.user.username}\` and @${bob.user.username}` },
    });
    expect(edited.mentions).toEqual([bob.user.id]);
  });
});
