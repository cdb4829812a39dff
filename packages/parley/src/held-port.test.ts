import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EventStream, ParleyClient } from '@parley/sdk';
import { silentLogger, startServer } from '@parley/server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { holdPort } from './held-port.js';

describe('the port held while the node starts', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-held-'));
  });
  afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('[AT8] answers what connected before the node could, once it has ended the answers it left streaming', async () => {
    const config = { dataDir, port: 0, widgetPort: null, durability: 'process' as const };
    const first = await startServer({ config, logger: silentLogger() });
    const password = 'correct horse battery staple';
    const suffix = crypto.randomBytes(3).toString('hex');
    const ann = await ParleyClient.signUp(first.url, { username: `ann_${suffix}`, password, displayName: 'Ann' });
    const bob = await ParleyClient.signUp(first.url, { username: `bob_${suffix}`, password, displayName: 'Bob' });
    const conversationId = (await ann.client.api.createConversation({ body: { kind: 'group', title: 'Held', usernames: [bob.user.username] } })).conversation.id;
    const bot = new ParleyClient({ baseUrl: first.url, token: first.assistant.token });
    const turn = await bot.api.startTurn({ params: { conversationId }, body: { id: `held${crypto.randomBytes(6).toString('hex')}` } });
    // Stopped with the answer still streaming, as a crash leaves it.
    await first.close();

    const held = await holdPort({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${held.port}`;
    // Both connect while nothing answers yet: a request, and a socket that resumes.
    const turns = fetch(`${url}/api/conversations/${conversationId}/turns`, { headers: { authorization: `Bearer ${ann.client.token ?? ''}` } });
    const seen: string[] = [];
    const stream = new EventStream(new ParleyClient({ baseUrl: url, token: bob.client.token ?? '' }), { event: (event) => seen.push(event.type) }, { positions: { [conversationId]: 0 } });
    try {
      await expect.poll(() => held.waiting).toBe(2);
      await using second = await startServer({ config, logger: silentLogger(), held });
      expect(second.url).toBe(url);
      const listed = (await (await turns).json()) as { turns: { id: string; status: string }[] };
      expect(listed.turns.find((row) => row.id === turn.id)?.status).toBe('interrupted');
      await stream.synced();
      expect(seen).toContain('conversation-created');
      expect(held.waiting).toBe(0);
    } finally {
      stream.close();
    }
  });
});
