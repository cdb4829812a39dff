import { ParleyClient } from '@parley/sdk';
import { nodeFetch } from '@parley/sdk/node';
import { describe, expect, it } from 'vitest';
import { failure, messageId, startTestServer } from '../test/harness.js';

// The SDK's `nodeFetch` (undici) in place of the global fetch, against the real server: every
// kind of exchange the client makes gives the same result.
describe('the SDK over nodeFetch', () => {
  it('sends and reads JSON, uploads from bytes and from a Blob, downloads bytes, takes 204s and reports errors', async () => {
    await using server = await startTestServer();
    const fetch = nodeFetch();
    const { client: ann, user } = await ParleyClient.signUp(server.url, { username: 'ann_nf', password: 'correct horse battery staple', displayName: 'Ann' }, { fetch });
    const bob = await server.user();
    expect((await ann.api.getMe()).id).toBe(user.id);

    const { conversation } = await ann.api.createConversation({ body: { kind: 'group', usernames: [bob.user.username] } });
    const sent = await ann.api.sendMessage({ params: { conversationId: conversation.id }, body: { id: messageId(), text: 'héllo 👋' } });
    expect(sent.text).toBe('héllo 👋');

    const text = new TextEncoder().encode('some notes\n');
    const fromBytes = await ann.api.uploadAttachment({ query: { filename: 'notes.txt' }, upload: { data: text, contentType: 'text/plain' } });
    const fromBlob = await ann.api.uploadAttachment({ query: { filename: 'blob.txt' }, upload: { data: new Blob([text]), contentType: 'text/plain' } });
    for (const attachment of [fromBytes, fromBlob]) {
      expect(attachment.size).toBe(text.length);
      expect(await ann.api.getAttachment({ params: { attachmentId: attachment.id } })).toEqual(text);
    }

    // 204 No Content, several in a row on the kept-alive connections.
    for (let index = 0; index < 5; index += 1) {
      expect(await ann.api.sendTyping({ params: { conversationId: conversation.id } })).toBeUndefined();
    }

    expect(await failure(ann.api.getConversation({ params: { conversationId: 'no-such-conversation' } }))).toMatchObject({ code: 'NOT_FOUND', status: 404 });
    const signedOut = new ParleyClient({ baseUrl: server.url, fetch });
    expect(await failure(signedOut.api.getMe())).toMatchObject({ code: 'UNAUTHENTICATED', status: 401 });
    expect(await failure(ann.api.sendMessage({ params: { conversationId: conversation.id }, body: { id: 'x', text: 7 } as never }))).toMatchObject({
      code: 'INVALID_INPUT',
      status: 400,
    });
  });
});
