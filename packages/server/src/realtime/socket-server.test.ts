import { MAX_HELLO_POSITIONS, ParleyError, PROTOCOL_VERSION, type ServerFrame, type ServerFrameOf } from '@parley/protocol';
import { ParleyClient } from '@parley/sdk';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { messageId, startTestServer, type TestServer, type TestUser } from '../test/harness.js';
import { openStream, type RawSocket, rawSocket, socketUrl, tryConnect } from '../test/streams.js';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const isError = (frame: ServerFrame): frame is ServerFrameOf<'error'> => frame.type === 'error';

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error('timed out');
    await pause(5);
  }
}

async function group(creator: TestUser, others: TestUser[]): Promise<string> {
  const created = await creator.client.api.createConversation({ body: { kind: 'group', usernames: others.map((other) => other.user.username) } });
  return created.conversation.id;
}

/** Sends one frame and returns the error frame it provoked. */
async function errorFor(socket: RawSocket, frame: unknown): Promise<ServerFrameOf<'error'>> {
  const count = socket.frames.length;
  socket.send(frame);
  return socket.frame(isError, count);
}

function refusal(result: Awaited<ReturnType<typeof tryConnect>>): { status: number; code: string } {
  if ('socket' in result) {
    result.socket.ws.close();
    throw new Error('the upgrade was accepted');
  }
  return { status: result.status, code: (JSON.parse(result.body) as { error: { code: string } }).error.code };
}

async function accepted(result: Awaited<ReturnType<typeof tryConnect>>): Promise<void> {
  if (!('socket' in result)) throw new Error(`refused with ${result.status}`);
  result.socket.ws.close();
  await result.socket.closed;
}

describe('upgrade refusals', () => {
  it('[EL11] refuses a foreign Origin with 403 and opens no socket', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const bearer = { authorization: `Bearer ${ann.client.token!}` };
    expect(refusal(await tryConnect(server.url, { ...bearer, origin: 'http://evil.example' }))).toEqual({ status: 403, code: 'ORIGIN_REFUSED' });
    // The same host on another port is another origin.
    const other = new URL(server.url);
    other.port = String(Number(other.port) + 1);
    expect(refusal(await tryConnect(server.url, { ...bearer, origin: other.origin }))).toEqual({ status: 403, code: 'ORIGIN_REFUSED' });
    expect(refusal(await tryConnect(server.url, { ...bearer, origin: 'null' }))).toEqual({ status: 403, code: 'ORIGIN_REFUSED' });
    expect(server.server.hub.connectionCount).toBe(0);
  });

  it("[EL11] accepts the server's own origin, a configured one, and no Origin at all", async () => {
    await using server = await startTestServer({ config: { allowedOrigins: ['https://app.example'] } });
    const ann = await server.user();
    const bearer = { authorization: `Bearer ${ann.client.token!}` };
    await accepted(await tryConnect(server.url, { ...bearer, origin: new URL(server.url).origin }));
    await accepted(await tryConnect(server.url, { ...bearer, origin: 'https://app.example' }));
    await accepted(await tryConnect(server.url, bearer));
    expect(refusal(await tryConnect(server.url, { ...bearer, origin: 'https://other.example' })).status).toBe(403);
  });

  it('[EL11] refuses an upgrade without credentials or with bad ones with 401', async () => {
    await using server = await startTestServer();
    await server.user();
    const cases: Array<Record<string, string>> = [
      {},
      { authorization: `Bearer ${'A'.repeat(43)}` },
      { authorization: 'Bearer short' },
      { authorization: 'Basic dXNlcjpwYXNz' },
      { cookie: `parley_session=${'A'.repeat(43)}` },
    ];
    for (const headers of cases) {
      expect(refusal(await tryConnect(server.url, headers)), JSON.stringify(headers)).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
    }
    expect(server.server.hub.connectionCount).toBe(0);
  });

  it("[EL11] [EL13] signing out closes that session's sockets with 4401, stops its stream, and the token no longer connects", async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const other = await ParleyClient.signIn(server.url, { username: ann.user.username, password: 'correct horse battery staple' });
    const token = ann.client.token!;
    const raw = await rawSocket(server.url, token);
    const otherRaw = await rawSocket(server.url, other.client.token!);
    using stream = openStream(ann.client);
    await stream.stream.synced();

    await ann.client.api.signOut();
    expect(await raw.closed).toEqual({ code: 4401, reason: 'signed out' });
    await stream.until(() => stream.errors.length > 0);
    expect(stream.errors).toEqual([expect.objectContaining({ code: 'UNAUTHENTICATED' })]);
    await expect(stream.stream.synced()).rejects.toBeInstanceOf(ParleyError);
    await pause(300);
    // The stream does not try again.
    expect(stream.opened).toBe(1);
    expect(refusal(await tryConnect(server.url, { authorization: `Bearer ${token}` })).status).toBe(401);
    expect(otherRaw.ws.readyState).toBe(otherRaw.ws.OPEN);
    otherRaw.ws.close();
  });

  it('[EL11] a session that expires while its socket is open closes the socket with 4401 then', async () => {
    // Sessions of two seconds; each socket looked at every 1.5 s (the heartbeat's sweep).
    await using server = await startTestServer({ config: { sessionDays: 2 / 86_400, socketHeartbeatMs: 1500 } });
    const ann = await server.user();
    const socket = await rawSocket(server.url, ann.client.token!);
    const openedAt = Date.now();
    expect(socket.ws.readyState).toBe(socket.ws.OPEN);
    expect(await socket.closed).toEqual({ code: 4401, reason: 'the session expired' });
    expect(Date.now() - openedAt).toBeLessThan(5000);
    expect(refusal(await tryConnect(server.url, { authorization: `Bearer ${ann.client.token!}` })).status).toBe(401);
  });

  it('[EL11] a session that ended between the upgrade and hello is closed with 4401 at hello', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const socket = await rawSocket(server.url, ann.client.token!, false);
    // Deleted without the bus message a sign-out sends: as if it raced the upgrade.
    await server.server.context.log.write(async ({ db }) => {
      await db.deleteFrom('sessions').where('user_id', '=', ann.user.id).execute();
    });
    socket.send({ type: 'hello', protocolVersion: PROTOCOL_VERSION, positions: {} });
    expect((await socket.closed).code).toBe(4401);
    expect(socket.frames.filter((frame) => frame.type === 'welcome')).toEqual([]);
  });

  it('[EL13] a stream whose token is refused at the upgrade stops with UNAUTHENTICATED instead of retrying', async () => {
    await using server = await startTestServer();
    using stream = openStream(new ParleyClient({ baseUrl: server.url, token: 'A'.repeat(43) }));
    await expect(stream.stream.synced()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await pause(300);
    expect(stream.opened).toBe(1);
  });
});

describe('frames', () => {
  it('[EL10] a bad frame gets an error frame; the socket stays open and keeps receiving events', async () => {
    await using server = await startTestServer();
    const [ann, bob] = [await server.user(), await server.user()];
    const id = await group(ann, [bob]);
    const stranger = await group(bob, []);
    const socket = await rawSocket(server.url, ann.client.token!);

    expect((await errorFor(socket, 'not json {')).error.code).toBe('INVALID_INPUT');
    const count = socket.frames.length;
    socket.ws.send(Buffer.from([1, 2, 3]));
    expect((await socket.frame(isError, count)).error.code).toBe('INVALID_INPUT');
    expect((await errorFor(socket, { type: 'shout', text: 'hi' })).error.code).toBe('INVALID_INPUT');
    expect((await errorFor(socket, ['hello'])).error.code).toBe('INVALID_INPUT');
    expect((await errorFor(socket, null)).error.code).toBe('INVALID_INPUT');
    expect((await errorFor(socket, { type: 'typing', conversationId: 'not an id!' })).error).toMatchObject({ code: 'INVALID_INPUT', field: 'frame.conversationId' });
    expect((await errorFor(socket, { type: 'hello', protocolVersion: PROTOCOL_VERSION })).error.code).toBe('CONFLICT');
    expect((await errorFor(socket, { type: 'ping', nonce: 'x'.repeat(70 * 1024) })).error.code).toBe('PAYLOAD_TOO_LARGE');
    // Not a member, or no such conversation: the same answer.
    expect((await errorFor(socket, { type: 'typing', conversationId: stranger })).error).toMatchObject({ code: 'NOT_FOUND', field: 'frame.conversationId' });
    expect((await errorFor(socket, { type: 'typing', conversationId: 'no-such-conversation' })).error.code).toBe('NOT_FOUND');

    const before = socket.frames.length;
    socket.send({ type: 'ping', nonce: 'n1' });
    expect(await socket.frame((frame) => frame.type === 'pong', before)).toEqual({ type: 'pong', nonce: 'n1' });
    const sent = await bob.client.api.sendMessage({ params: { conversationId: id }, body: { id: messageId(), text: 'still there?' } });
    const event = await socket.frame((frame) => frame.type === 'event', before);
    expect(event).toMatchObject({ event: { type: 'message-created', seq: sent.seq } });
    expect(socket.ws.readyState).toBe(socket.ws.OPEN);
    socket.ws.close();
  });

  it('[EL10] a frame over 1 MiB closes the socket with 1009', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const socket = await rawSocket(server.url, ann.client.token!);
    socket.send({ type: 'ping', nonce: 'x'.repeat(1024 * 1024 + 1) });
    expect((await socket.closed).code).toBe(1009);
    await until(() => server.server.hub.connectionCount === 0);
  });

  it('[EL10] a hello naming thousands of conversations fits', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const id = await group(ann, []);
    const positions: Record<string, number> = { [id]: 0 };
    for (let index = 0; index < 5000; index += 1) positions[crypto.randomUUID()] = index;
    const socket = await rawSocket(server.url, ann.client.token!, positions);
    const welcome = socket.frames.find((frame) => frame.type === 'welcome');
    expect(welcome?.revoked).toHaveLength(5000);
    expect(socket.frames.filter((frame) => frame.type === 'event')).toHaveLength(1);
    socket.ws.close();
  });

  it('[PB1] a hello naming more conversations than it may is refused before any position is parsed; the socket stays open', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const socket = await rawSocket(server.url, ann.client.token!, false);
    const positions = Object.fromEntries(Array.from({ length: MAX_HELLO_POSITIONS + 1 }, (_, index) => [`c${index}`, index]));
    const error = await errorFor(socket, { type: 'hello', protocolVersion: PROTOCOL_VERSION, positions });
    expect(error.error).toMatchObject({ code: 'INVALID_INPUT', field: 'frame.positions' });
    socket.send({ type: 'hello', protocolVersion: PROTOCOL_VERSION, positions: {} });
    await socket.frame((frame) => frame.type === 'synced');
    socket.ws.close();
  });

  it('[EL10] the wrong protocol version gets an error frame, then close 4426', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const socket = await rawSocket(server.url, ann.client.token!, false);
    socket.send({ type: 'hello', protocolVersion: 99, positions: {} });
    expect((await socket.frame(isError)).error.code).toBe('UNSUPPORTED_PROTOCOL_VERSION');
    expect((await socket.closed).code).toBe(4426);
  });

  it('[EL10] a socket that says no hello in time is closed with 4408; one that did stays open', async () => {
    await using server = await startTestServer({ config: { socketHelloTimeoutMs: 150 } });
    const ann = await server.user();
    const silent = await rawSocket(server.url, ann.client.token!, false);
    const greeted = await rawSocket(server.url, ann.client.token!);
    // Frames other than hello do not count as one.
    silent.send({ type: 'ping' });
    expect((await silent.closed).code).toBe(4408);
    await pause(200);
    expect(greeted.ws.readyState).toBe(greeted.ws.OPEN);
    expect(server.server.hub.connectionCount).toBe(1);
    greeted.ws.close();
  });
});

describe('typing', () => {
  it("[EL9] a typing frame reaches the other members' sockets as member-typing, never the sender's, once a second per socket and conversation", async () => {
    await using server = await startTestServer();
    const [ann, bob, cat, dan] = [await server.user(), await server.user(), await server.user(), await server.user()];
    const id = await group(ann, [bob, cat]);
    const direct = (await ann.client.api.createConversation({ body: { kind: 'direct', username: bob.user.username } })).conversation.id;
    const annLaptop = await rawSocket(server.url, ann.client.token!);
    const annPhone = await rawSocket(server.url, ann.client.token!);
    const bobSocket = await rawSocket(server.url, bob.client.token!);
    const catSocket = await rawSocket(server.url, cat.client.token!);
    const danSocket = await rawSocket(server.url, dan.client.token!);
    const typing = (socket: RawSocket) => socket.frames.filter((frame) => frame.type === 'member-typing');

    annLaptop.send({ type: 'typing', conversationId: id });
    annLaptop.send({ type: 'typing', conversationId: id });
    annLaptop.send({ type: 'typing', conversationId: id });
    await until(() => typing(bobSocket).length === 1 && typing(catSocket).length === 1);
    const [first] = typing(bobSocket);
    expect(first).toEqual({ type: 'member-typing', conversationId: id, userId: ann.user.id, until: expect.any(String) });
    expect(Date.parse(first!.until)).toBeGreaterThan(Date.now());
    expect(first).not.toHaveProperty('seq');

    // Another socket of the same account, and another conversation, have their own allowance.
    annPhone.send({ type: 'typing', conversationId: id });
    annLaptop.send({ type: 'typing', conversationId: direct });
    await until(() => typing(bobSocket).length === 3);
    await pause(100);
    expect(typing(catSocket)).toHaveLength(2);
    expect(typing(bobSocket).map((frame) => frame.conversationId).sort()).toEqual([direct, id, id].sort());

    await pause(1000);
    annLaptop.send({ type: 'typing', conversationId: id });
    await until(() => typing(bobSocket).length === 4);
    await pause(100);
    expect(typing(annLaptop)).toEqual([]);
    expect(typing(annPhone)).toEqual([]);
    expect(typing(danSocket)).toEqual([]);
    for (const socket of [annLaptop, annPhone, bobSocket, catSocket, danSocket]) socket.ws.close();
  });
});

describe('backpressure', () => {
  it('[EL12] a socket that stops reading is closed with 1013 once its send buffer passes the limit, and receives a gapless prefix', async () => {
    await using server: TestServer = await startTestServer({ config: { socketMaxBufferedBytes: 256 * 1024 } });
    const [ann, bob] = [await server.user(), await server.user()];
    const id = await group(ann, [bob]);
    const slow = await rawSocket(server.url, bob.client.token!);
    using fast = openStream(ann.client);
    await fast.stream.synced();
    // Stop reading: the kernel buffers fill, then the server's own queue grows.
    const tcp = (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    tcp.pause();
    const title = 'x'.repeat(60 * 1024);
    let written = 0;
    while (server.server.hub.connectionCount === 2 && written < 400) {
      await server.server.context.log.write(async (write) => {
        for (let index = 0; index < 10; index += 1) await write.append(id, { type: 'conversation-updated', actorId: ann.user.id, title });
      });
      written += 10;
    }
    expect(server.server.hub.connectionCount).toBe(1);
    tcp.resume();
    expect((await slow.closed).code).toBe(1013);
    const seqs = slow.frames.flatMap((frame) => (frame.type === 'event' ? [frame.event.seq] : []));
    expect(seqs.length).toBeGreaterThan(0);
    expect(seqs).toEqual(seqs.map((_, index) => index + 2));
    // The reader that kept up got everything.
    await fast.until(() => fast.seqs(id).length === written, 10_000);
  });
});

describe('heartbeat', () => {
  it('pings each socket once a period, spread over the period, and cuts off a socket that stops answering', async () => {
    const period = 600;
    await using server = await startTestServer({ config: { socketHeartbeatMs: period } });
    const ann = await server.user();
    const token = ann.client.token!;
    const pings: number[][] = [];
    const answering = await Promise.all(
      Array.from({ length: 30 }, async (_, index) => {
        const socket = await rawSocket(server.url, token);
        pings[index] = [];
        socket.ws.on('ping', () => pings[index]?.push(Date.now()));
        return socket;
      }),
    );
    // A peer that no longer answers pings (a laptop closed mid-connection, a dead NAT entry).
    const silent = new WebSocket(socketUrl(server.url), { headers: { authorization: `Bearer ${token}` }, autoPong: false });
    let silentPings = 0;
    silent.on('ping', () => (silentPings += 1));
    const silentClosed = new Promise<number>((resolve) => silent.once('close', resolve));
    await new Promise((resolve) => silent.once('open', resolve));
    silent.send(JSON.stringify({ type: 'hello', protocolVersion: PROTOCOL_VERSION, positions: {} }));
    expect(server.server.hub.connectionCount).toBe(31);

    // Pinged once, then cut off at its next turn (no close frame: the peer is presumed gone).
    expect(await silentClosed).toBe(1006);
    expect(silentPings).toBe(1);
    await until(() => server.server.hub.connectionCount === 30);

    await until(() => pings.every((times) => times.length >= 2), 5000);
    // Not all at once: the first pings of the 30 sockets spread over most of a period.
    const firsts = pings.map((times) => times[0] ?? 0);
    expect(Math.max(...firsts) - Math.min(...firsts)).toBeGreaterThan(period / 2);
    // Once a period each, not once a tick.
    for (const times of pings) expect(times.length).toBeLessThanOrEqual(4);
    for (const socket of answering) expect(socket.ws.readyState).toBe(WebSocket.OPEN);
    for (const socket of answering) socket.ws.close();
  });
});
