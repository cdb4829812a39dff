import { describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test/harness.js';

/** [PB1]–[PB4] over HTTP: what one request may cost the node before it is refused. */

async function post(server: TestServer, token: string, path: string, body: string) {
  const started = performance.now();
  const response = await fetch(server.url + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body,
  });
  const answer = (await response.json()) as { error?: { code: string; field?: string } };
  return { status: response.status, ...answer.error, ms: performance.now() - started };
}

const decision = (emoji: string) => JSON.stringify({ messageId: 'x', action: 'react', reason: 'x', emoji });

describe('request bounds over HTTP', () => {
  it('[PB4] regression: a person\'s decision with a 100,000-character emoji, for a conversation that does not exist, is refused at once instead of taking the node down', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    for (const length of [100_000, 1_000_000]) {
      const answer = await post(server, ann.client.token!, '/api/conversations/not-a-conversation/assistant/decisions', decision('😀'.repeat(length / 2)));
      expect(answer).toMatchObject({ status: 403, code: 'FORBIDDEN' });
      // Refused on the caller, before the body is read: loopback time, not parse time.
      expect(answer.ms).toBeLessThan(2000);
    }
    expect((await fetch(`${server.url}/api/health`)).status).toBe(200);
  });

  it('[PB3] the bot\'s decision past the largest valid body is refused with 413 before it is parsed', async () => {
    await using server = await startTestServer();
    const answer = await post(server, server.assistant.token, '/api/conversations/not-a-conversation/assistant/decisions', decision('😀'.repeat(50_000)));
    expect(answer).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
  });

  it('[PB1] the bot\'s decision with an emoji past its bound is refused naming the field; a bot that is not a member gets NOT_FOUND [AS3]', async () => {
    await using server = await startTestServer();
    const path = '/api/conversations/not-a-conversation/assistant/decisions';
    expect(await post(server, server.assistant.token, path, decision('😀'.repeat(1000)))).toMatchObject({ status: 400, code: 'INVALID_INPUT', field: 'body.emoji' });
    expect(await post(server, server.assistant.token, path, decision('👍'))).toMatchObject({ status: 404, code: 'NOT_FOUND' });
  });

  it('[PB5] a path parameter longer than the router takes, and a URL past the header limit, are refused in the one error shape', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const headers = { authorization: `Bearer ${ann.client.token}` };
    const long = await fetch(`${server.url}/api/conversations/${'a'.repeat(2000)}`, { headers });
    expect(long.status).toBe(400);
    expect(await long.json()).toMatchObject({ error: { code: 'INVALID_INPUT', field: 'params' } });
    const huge = await fetch(`${server.url}/api/conversations/${'a'.repeat(40_000)}`, { headers });
    expect(huge.status).toBe(413);
    expect(await huge.json()).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE', field: 'headers' } });
    expect((await fetch(`${server.url}/api/health`)).status).toBe(200);
  });
});
