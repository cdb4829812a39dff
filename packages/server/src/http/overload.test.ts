import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { messageId, startTestServer } from '../test/harness.js';
import { connectionLimit } from './overload.js';

/** [PB7] over HTTP: a node behind on its writes, or out of connections, refuses what is new and keeps what it admitted. */

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('load shedding', () => {
  it('[PB7] while the database is behind, a new write is refused with 503 and Retry-After, reads and the bot still pass, the queued writes commit, and the refused send stores nothing until it is sent again', async () => {
    await using server = await startTestServer({ config: { maxWriteWaitMs: 50 } });
    const ann = await server.user();
    const bob = await server.user();
    const group = await ann.client.api.createConversation({ body: { kind: 'group', usernames: [bob.user.username] } });
    const conversationId = group.conversation.id;
    const { log } = server.server.context;

    // A write holds the queue; the one behind it waits, past the bound.
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const holding = log.write(async () => {
      started();
      await gate;
      return 'held';
    });
    // Queued once the first batch runs, so that it waits for the next one.
    await running;
    const waiting = log.write(async () => 'waited');
    await expect.poll(() => log.backlogMs(), { timeout: 5000 }).toBeGreaterThan(50);

    const id = messageId();
    const refused = await fetch(`${server.url}/api/conversations/${conversationId}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ann.client.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id, text: 'are you there?' }),
    });
    expect(refused.status).toBe(503);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await refused.json()).toMatchObject({ error: { code: 'UNAVAILABLE', retryAfter: expect.any(Number), details: { reason: 'overloaded' } } });
    // Through the SDK, the same refusal as a ParleyError a client can act on.
    await expect(bob.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text: 'me too' } })).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      status: 503,
      retryAfter: expect.any(Number),
    });

    // Reads are not refused, and the bot's routes pass the door (to wait their turn, here to be
    // told the conversation does not exist).
    expect((await ann.client.api.listMessages({ params: { conversationId } })).messages).toEqual([]);
    const bot = fetch(`${server.url}/api/conversations/no-such-conversation/assistant/decisions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.assistant.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messageId: 'x', action: 'silent', reason: 'x' }),
    });

    // What was admitted finishes; then the same send goes through, once.
    open();
    expect(await Promise.all([holding, waiting])).toEqual(['held', 'waited']);
    expect((await bot).status).toBe(404);
    expect(log.backlogMs()).toBe(0);
    const sent = await ann.client.api.sendMessage({ params: { conversationId }, body: { id, text: 'are you there?' } });
    expect(sent.id).toBe(id);
    expect((await bob.client.api.listMessages({ params: { conversationId } })).messages.map((message) => message.id)).toEqual([id]);
  });

  it('[PB7] past the connection limit a new connection is closed at once; the node keeps answering the ones it holds, and takes new ones once some close', async () => {
    await using server = await startTestServer({ config: { maxConnections: 3 } });
    const { port } = new URL(server.url);
    const open = async () => {
      const socket = net.connect(Number(port), '127.0.0.1');
      await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      return socket;
    };
    const held = [await open(), await open(), await open()];
    await sleep(50);
    const extra = await open();
    // The server closes it without answering: the client sees its end (or a reset), never a reply.
    const ended = await new Promise<string>((resolve) => {
      let data = '';
      extra.on('data', (chunk: Buffer) => (data += chunk.toString()));
      extra.once('close', () => resolve(data));
      extra.write('GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n');
    });
    expect(ended).toBe('');
    // A connection it holds is still served.
    const answer = await new Promise<string>((resolve) => {
      let data = '';
      held[0]!.on('data', (chunk: Buffer) => {
        data += chunk.toString();
        if (data.includes('"ok"')) resolve(data);
      });
      held[0]!.write('GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n');
    });
    expect(answer).toMatch(/^HTTP\/1.1 200/);
    for (const socket of held) socket.destroy();
    await expect.poll(async () => (await fetch(`${server.url}/api/health`).catch(() => undefined))?.status, { timeout: 5000 }).toBe(200);
  });

  it('[PB7] the default connection limit is nine tenths of the soft open-file limit less 64, and none where the limit is unknown', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-limits-'));
    const file = path.join(dir, 'limits');
    fs.writeFileSync(file, 'Limit                     Soft Limit           Hard Limit           Units\nMax open files            20000                524288               files\n');
    expect(connectionLimit(file)).toBe(17_936);
    fs.writeFileSync(file, 'Max open files            unlimited            unlimited            files\n');
    expect(connectionLimit(file)).toBeUndefined();
    expect(connectionLimit(path.join(dir, 'missing'))).toBeUndefined();
    fs.rmSync(dir, { recursive: true });
  });
});
