import { ParleyError, PROTOCOL_VERSION, SOCKET_CLOSE } from '@parley/protocol';
import { ParleyClient } from '@parley/sdk';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { messageId, startTestServer, uniqueName } from '../test/harness.js';

const password = 'correct horse battery staple';

async function expectError(promise: Promise<unknown>, code: string, field?: string): Promise<void> {
  await expect(promise).rejects.toMatchObject({ code, ...(field ? { field } : {}) });
}

/** Signs up the way a browser does: a cookie session, no token. Returns the cookie to send back. */
async function signUpWithCookie(url: string, username: string): Promise<{ cookie: string; setCookie: string; body: unknown }> {
  const response = await fetch(`${url}/api/auth/sign-up`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password, displayName: 'Cookie Person', session: 'cookie' }),
  });
  expect(response.status).toBe(201);
  const setCookie = response.headers.get('set-cookie') ?? '';
  const cookie = setCookie.split(';')[0] ?? '';
  return { cookie, setCookie, body: await response.json() };
}

/** A raw event socket that has said hello and caught up; resolves its close code when it closes. */
async function openSocket(url: string, headers: Record<string, string>): Promise<{ closed: Promise<number> }> {
  const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/api/socket`, { headers });
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    socket.on('open', () => socket.send(JSON.stringify({ type: 'hello', protocolVersion: PROTOCOL_VERSION, positions: {} })));
    socket.on('message', (data) => {
      if ((JSON.parse(String(data)) as { type: string }).type === 'synced') resolve();
    });
    socket.on('error', reject);
  });
  return { closed };
}

describe('sessions', () => {
  it('sign-out revokes the bearer token and closes that session’s socket only', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const bob = await server.user();
    const laptop = await ParleyClient.signIn(server.url, { username: ann.user.username, password });
    const group = await bob.client.api.createConversation({ body: { kind: 'group', usernames: [ann.user.username] } });
    const phoneStream = await server.connect(ann.client);
    const laptopStream = await server.connect(laptop.client);

    await ann.client.api.signOut();
    await expectError(ann.client.api.getMe(), 'UNAUTHENTICATED');
    await expectError(ann.client.api.signOut(), 'UNAUTHENTICATED');
    await expect.poll(() => phoneStream.errors.map((error) => (error as { code?: string }).code)).toContain('UNAUTHENTICATED');

    // The other session goes on, socket and all.
    expect((await laptop.client.api.getMe()).id).toBe(ann.user.id);
    const sent = await bob.client.api.sendMessage({ params: { conversationId: group.conversation.id }, body: { id: messageId(), text: 'still there?' } });
    await laptopStream.until((events) => events.some((event) => event.type === 'message-created' && event.message.id === sent.id));
    expect(phoneStream.events.some((event) => event.type === 'message-created')).toBe(false);
  });

  it('a browser session is an HttpOnly, SameSite=Lax cookie; sign-out clears it and closes its socket', async () => {
    await using server = await startTestServer();
    const username = uniqueName('cookie');
    const { cookie, setCookie, body } = await signUpWithCookie(server.url, username);
    expect(setCookie).toMatch(/^parley_session=[A-Za-z0-9_-]{16,}/);
    expect(setCookie).toMatch(/;\s*HttpOnly/i);
    expect(setCookie).toMatch(/;\s*SameSite=Lax/i);
    expect(setCookie).toMatch(/;\s*Path=\//);
    // The token travels only in the cookie, never in the body where scripts could read it.
    expect(body).not.toHaveProperty('token');

    const me = await fetch(`${server.url}/api/me`, { headers: { cookie } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ username });
    const socket = await openSocket(server.url, { cookie });

    // A cookie write from a foreign page is refused, and the session survives it.
    const forged = await fetch(`${server.url}/api/auth/sign-out`, { method: 'POST', headers: { cookie, origin: 'https://evil.example' } });
    expect(forged.status).toBe(403);
    expect(await forged.json()).toMatchObject({ error: { code: 'ORIGIN_REFUSED' } });
    expect((await fetch(`${server.url}/api/me`, { headers: { cookie } })).status).toBe(200);

    const signOut = await fetch(`${server.url}/api/auth/sign-out`, { method: 'POST', headers: { cookie } });
    expect(signOut.status).toBe(204);
    expect(signOut.headers.get('set-cookie')).toMatch(/^parley_session=;.*Max-Age=0/i);
    expect(await socket.closed).toBe(SOCKET_CLOSE.unauthenticated);
    const after = await fetch(`${server.url}/api/me`, { headers: { cookie } });
    expect(after.status).toBe(401);
    expect(await after.json()).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });

    // Signing in again gives a new cookie.
    const signIn = await fetch(`${server.url}/api/auth/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    expect(signIn.status).toBe(200);
    const fresh = (signIn.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    expect(fresh).not.toBe(cookie);
    expect((await fetch(`${server.url}/api/me`, { headers: { cookie: fresh } })).status).toBe(200);
  });

  it('refuses a wrong password and an unknown username alike', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    await expectError(ParleyClient.signIn(server.url, { username: ann.user.username, password: 'wrong password' }), 'INVALID_CREDENTIALS');
    await expectError(ParleyClient.signIn(server.url, { username: 'nobody_at_all', password }), 'INVALID_CREDENTIALS');
    await expectError(ParleyClient.signIn(server.url, { username: ann.user.username, password: '' }), 'INVALID_INPUT', 'body.password');
    const { user } = await ParleyClient.signIn(server.url, { username: ann.user.username.toUpperCase(), password });
    expect(user.id).toBe(ann.user.id);
  });
});

describe('login throttling', () => {
  it('after perUsername failures, even the right password is answered RATE_LIMITED with retryAfter', async () => {
    await using server = await startTestServer({ config: { loginThrottle: { perUsername: 3, perAddress: 100, windowSeconds: 60 } } });
    const ann = await server.user();
    const bob = await server.user();
    for (let attempt = 0; attempt < 3; attempt += 1) {
      await expectError(ParleyClient.signIn(server.url, { username: ann.user.username, password: 'guess number one' }), 'INVALID_CREDENTIALS');
    }
    const error: unknown = await ParleyClient.signIn(server.url, { username: ann.user.username, password }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ParleyError);
    expect(error).toMatchObject({ code: 'RATE_LIMITED' });
    expect((error as ParleyError).retryAfter).toBeGreaterThan(0);
    expect((error as ParleyError).retryAfter).toBeLessThanOrEqual(60);

    const raw = await fetch(`${server.url}/api/auth/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: ann.user.username, password, session: 'token' }),
    });
    expect(raw.status).toBe(429);
    expect(Number(raw.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(raw.headers.get('set-cookie')).toBeNull();

    // Per username: bob, from the same address, is not affected; ann's open sessions still work.
    expect((await ParleyClient.signIn(server.url, { username: bob.user.username, password })).user.id).toBe(bob.user.id);
    expect((await ann.client.api.getMe()).id).toBe(ann.user.id);
  });

  it('unknown usernames are throttled the same way, and a success resets the count', async () => {
    await using server = await startTestServer({ config: { loginThrottle: { perUsername: 3, perAddress: 100, windowSeconds: 60 } } });
    for (let attempt = 0; attempt < 3; attempt += 1) {
      await expectError(ParleyClient.signIn(server.url, { username: 'ghost_user', password }), 'INVALID_CREDENTIALS');
    }
    await expectError(ParleyClient.signIn(server.url, { username: 'ghost_user', password }), 'RATE_LIMITED');

    const ann = await server.user();
    for (let round = 0; round < 3; round += 1) {
      await expectError(ParleyClient.signIn(server.url, { username: ann.user.username, password: 'wrong one here' }), 'INVALID_CREDENTIALS');
      await expectError(ParleyClient.signIn(server.url, { username: ann.user.username, password: 'wrong two here' }), 'INVALID_CREDENTIALS');
      await ParleyClient.signIn(server.url, { username: ann.user.username, password });
    }
  });

  it('after perAddress failures, every sign-in from that address waits', async () => {
    await using server = await startTestServer({ config: { loginThrottle: { perUsername: 100, perAddress: 4, windowSeconds: 60 } } });
    const ann = await server.user();
    for (let attempt = 0; attempt < 4; attempt += 1) {
      await expectError(ParleyClient.signIn(server.url, { username: `spray_${attempt}`, password }), 'INVALID_CREDENTIALS');
    }
    await expectError(ParleyClient.signIn(server.url, { username: ann.user.username, password }), 'RATE_LIMITED');
  });
});
