import { ParleyClient } from '@parley/sdk';
import { describe, expect, it } from 'vitest';
import { failure, messageId, startTestServer, type TestServer } from '../test/harness.js';

async function lastSeq(server: TestServer, conversationId: string): Promise<number> {
  const row = await server.server.context.storage.reader
    .selectFrom('conversations')
    .select('last_seq')
    .where('id', '=', conversationId)
    .executeTakeFirstOrThrow();
  return row.last_seq;
}

async function messageCount(server: TestServer): Promise<number> {
  const rows = await server.server.context.storage.reader.selectFrom('messages').select('id').execute();
  return rows.length;
}

describe('idempotent sending', () => {
  it('the same id fired 5 times in parallel makes one message, and every answer is that message', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const bob = await server.user();
    const group = await ann.client.api.createConversation({ body: { kind: 'group', usernames: [bob.user.username] } });
    const conversationId = group.conversation.id;
    const id = messageId();
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => ann.client.api.sendMessage({ params: { conversationId }, body: { id, text: 'only once' } })),
    );
    for (const answer of answers) expect(answer).toEqual(answers[0]);
    const page = await bob.client.api.listMessages({ params: { conversationId } });
    expect(page.messages).toEqual([answers[0]]);
    const log = await bob.client.api.listEvents({ params: { conversationId } });
    expect(log.events.filter((event) => event.type === 'message-created')).toHaveLength(1);
  });

  it('the same new id sent at once by two members: one message is stored, its sender gets it, the other gets ID_CONFLICT', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const bob = await server.user();
    const group = await ann.client.api.createConversation({ body: { kind: 'group', usernames: [bob.user.username] } });
    const conversationId = group.conversation.id;
    for (let round = 0; round < 5; round += 1) {
      const id = messageId();
      // Both pass the check before the write (the id is free), and race to insert it.
      const [byAnn, byBob] = await Promise.allSettled([
        ann.client.api.sendMessage({ params: { conversationId }, body: { id, text: "ann's" } }),
        bob.client.api.sendMessage({ params: { conversationId }, body: { id, text: "bob's" } }),
      ]);
      const won = [byAnn, byBob].filter((result) => result.status === 'fulfilled');
      const lost = [byAnn, byBob].filter((result) => result.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toMatchObject([{ reason: { code: 'ID_CONFLICT', field: 'body.id' } }]);
      const stored = (await ann.client.api.listMessages({ params: { conversationId }, query: { limit: 1 } })).messages;
      expect(stored).toEqual([won[0]?.status === 'fulfilled' ? won[0].value : undefined]);
    }
    const log = await bob.client.api.listEvents({ params: { conversationId } });
    expect(log.events.filter((event) => event.type === 'message-created')).toHaveLength(5);
  });

  it('an id already used by someone else, or in another conversation, is ID_CONFLICT on body.id', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const bob = await server.user();
    const group = await ann.client.api.createConversation({ body: { kind: 'group', usernames: [bob.user.username] } });
    const conversationId = group.conversation.id;
    const other = await ann.client.api.createConversation({ body: { kind: 'assistant' } });
    const id = messageId();
    const original = await ann.client.api.sendMessage({ params: { conversationId }, body: { id, text: "ann's" } });

    const byBob = await failure(bob.client.api.sendMessage({ params: { conversationId }, body: { id, text: "bob's" } }));
    expect(byBob).toMatchObject({ code: 'ID_CONFLICT', status: 409, field: 'body.id' });
    const elsewhere = await failure(ann.client.api.sendMessage({ params: { conversationId: other.conversation.id }, body: { id, text: 'moved' } }));
    expect(elsewhere).toMatchObject({ code: 'ID_CONFLICT', field: 'body.id' });

    expect((await bob.client.api.listMessages({ params: { conversationId } })).messages).toEqual([original]);
    expect((await ann.client.api.listMessages({ params: { conversationId: other.conversation.id } })).messages).toEqual([]);
  });
});

describe('flood limit', () => {
  it('refuses the 6th rapid send with RATE_LIMITED and retryAfter; others and retries are not refused', async () => {
    // 5 messages per window of 50 s (6 a minute), so that a slow machine cannot reach the next window mid-test.
    await using server = await startTestServer({ config: { floodLimit: { burst: 5, perMinute: 6 } } });
    const ann = await server.user();
    const bob = await server.user();
    const group = await ann.client.api.createConversation({ body: { kind: 'group', usernames: [bob.user.username] } });
    const conversationId = group.conversation.id;
    const sent = [];
    for (let index = 0; index < 5; index += 1) {
      sent.push(await ann.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text: `${index}` } }));
    }
    const seq = await lastSeq(server, conversationId);

    const refused = await failure(ann.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text: 'too many' } }));
    expect(refused).toMatchObject({ code: 'RATE_LIMITED', status: 429 });
    expect(refused.retryAfter).toBeGreaterThan(0);
    expect(refused.retryAfter).toBeLessThanOrEqual(50);
    const response = await fetch(`${server.url}/api/conversations/${conversationId}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ann.client.token ?? ''}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: messageId(), text: 'still too many' }),
    });
    expect(response.status).toBe(429);
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);

    // A retry of a message already stored is answered, not refused.
    expect(await ann.client.api.sendMessage({ params: { conversationId }, body: { id: sent[2]?.id ?? '', text: '2' } })).toEqual(sent[2]);
    // Edits and reactions draw on the same bucket.
    const edit = await failure(ann.client.api.editMessage({ params: { conversationId, messageId: sent[0]?.id ?? '' }, body: { text: 'edited' } }));
    expect(edit).toMatchObject({ code: 'RATE_LIMITED' });
    const react = await failure(ann.client.api.addReaction({ params: { conversationId, messageId: sent[0]?.id ?? '', emoji: '👍' } }));
    expect(react).toMatchObject({ code: 'RATE_LIMITED' });
    expect(await lastSeq(server, conversationId)).toBe(seq);

    // The limit is per member: bob is not slowed down by ann.
    const fromBob = await bob.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text: 'hi' } });
    expect(fromBob.seq).toBe(seq + 1);
    expect((await bob.client.api.listMessages({ params: { conversationId } })).messages.map((message) => message.id)).toEqual([
      ...sent.map((message) => message.id),
      fromBob.id,
    ]);
  });
});

describe('malformed sends', () => {
  it('get a 4xx with a code and the field, and store nothing', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const chat = await ann.client.api.createConversation({ body: { kind: 'assistant' } });
    const conversationId = chat.conversation.id;
    const url = `${server.url}/api/conversations/${conversationId}/messages`;
    const send = (body: string, contentType = 'application/json') =>
      fetch(url, { method: 'POST', headers: { authorization: `Bearer ${ann.client.token ?? ''}`, 'content-type': contentType }, body });
    const json = (value: unknown) => send(JSON.stringify(value));
    const id = messageId();

    const cases: Array<[string, Promise<Response>, number, string, string]> = [
      ['missing id', json({ text: 'hi' }), 400, 'INVALID_INPUT', 'body.id'],
      ['id too short', json({ id: 'abc', text: 'hi' }), 400, 'INVALID_INPUT', 'body.id'],
      ['id with bad characters', json({ id: 'abc def ghi', text: 'hi' }), 400, 'INVALID_INPUT', 'body.id'],
      ['id of the wrong type', json({ id: 12345678, text: 'hi' }), 400, 'INVALID_INPUT', 'body.id'],
      ['text too long', json({ id, text: 'x'.repeat(10_001) }), 400, 'INVALID_INPUT', 'body.text'],
      ['text of the wrong type', json({ id, text: 5 }), 400, 'INVALID_INPUT', 'body.text'],
      ['empty text, no attachments', json({ id, text: '' }), 400, 'INVALID_INPUT', 'body.text'],
      ['blank text, no attachments', json({ id, text: ' \n\t ' }), 400, 'INVALID_INPUT', 'body.text'],
      ['no text at all', json({ id }), 400, 'INVALID_INPUT', 'body.text'],
      ['attachmentIds not a list', json({ id, text: 'hi', attachmentIds: 'file' }), 400, 'INVALID_INPUT', 'body.attachmentIds'],
      ['too many attachments', json({ id, text: 'hi', attachmentIds: Array.from({ length: 11 }, (_, index) => `file${index}`) }), 400, 'INVALID_INPUT', 'body.attachmentIds'],
      ['replyToId of the wrong type', json({ id, text: 'hi', replyToId: 7 }), 400, 'INVALID_INPUT', 'body.replyToId'],
      ['not an object', json(['hi']), 400, 'INVALID_INPUT', 'body'],
      ['JSON that is not JSON', send('{"id": "abcdefgh", "text": '), 400, 'INVALID_INPUT', 'body'],
      ['empty JSON body', send(''), 400, 'INVALID_INPUT', 'body'],
      ['text/plain', send(JSON.stringify({ id, text: 'hi' }), 'text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE', 'body'],
      ['form encoded', send(`id=${id}&text=hi`, 'application/x-www-form-urlencoded'), 415, 'UNSUPPORTED_MEDIA_TYPE', 'body'],
    ];
    for (const [name, pending, status, code, field] of cases) {
      const response = await pending;
      expect(response.status, name).toBe(status);
      expect(await response.json(), name).toMatchObject({ error: { code, field } });
    }
    // Over the JSON body limit altogether.
    const huge = await json({ id, text: 'x'.repeat(300 * 1024) });
    expect(huge.status).toBe(413);
    expect(await huge.json()).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE', field: 'body' } });

    expect(await messageCount(server)).toBe(0);
    expect(await lastSeq(server, conversationId)).toBe(1);
    // The id was never taken: it can still be used.
    const sent = await ann.client.api.sendMessage({ params: { conversationId }, body: { id, text: 'finally' } });
    expect(sent.id).toBe(id);
  });
});

describe('non-members', () => {
  it('get NOT_FOUND for every message endpoint, the same as for a conversation that does not exist', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const carol = await server.user();
    const group = await ann.client.api.createConversation({ body: { kind: 'group', title: 'Private' } });
    const conversationId = group.conversation.id;
    const message = await ann.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text: 'members only' } });
    const seq = await lastSeq(server, conversationId);

    for (const target of [conversationId, 'no-such-conversation']) {
      const messageParams = { conversationId: target, messageId: message.id };
      const calls: Array<[string, () => Promise<unknown>]> = [
        ['listMessages', () => carol.client.api.listMessages({ params: { conversationId: target } })],
        ['sendMessage', () => carol.client.api.sendMessage({ params: { conversationId: target }, body: { id: messageId(), text: 'let me in' } })],
        // Even retrying the id of a message that is there reveals nothing.
        ['sendMessage with a taken id', () => carol.client.api.sendMessage({ params: { conversationId: target }, body: { id: message.id, text: 'x' } })],
        ['editMessage', () => carol.client.api.editMessage({ params: messageParams, body: { text: 'mine now' } })],
        ['deleteMessage', () => carol.client.api.deleteMessage({ params: messageParams })],
        ['addReaction', () => carol.client.api.addReaction({ params: { ...messageParams, emoji: '👀' } })],
        ['removeReaction', () => carol.client.api.removeReaction({ params: { ...messageParams, emoji: '👀' } })],
      ];
      for (const [name, call] of calls) {
        expect(await failure(call()), `${name} on ${target}`).toMatchObject({ code: 'NOT_FOUND', status: 404, field: 'params.conversationId' });
      }
    }

    const anonymous = new ParleyClient({ baseUrl: server.url });
    expect(await failure(anonymous.api.listMessages({ params: { conversationId } }))).toMatchObject({ code: 'UNAUTHENTICATED', status: 401 });
    expect(await failure(anonymous.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text: 'x' } }))).toMatchObject({
      code: 'UNAUTHENTICATED',
    });

    expect(await lastSeq(server, conversationId)).toBe(seq);
    expect((await ann.client.api.listMessages({ params: { conversationId } })).messages).toEqual([message]);
  });
});
