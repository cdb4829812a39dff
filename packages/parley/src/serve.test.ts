import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startScriptedOpenAiServer } from '@parley/assistant/test';
import { ParleyClient } from '@parley/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * README's first command as people run it: the built `parley` (npm start runs `npm run build`
 * first, then this file), SQLite in a fresh data folder, the assistant on its own thread in the
 * same process, answering through a configured provider.
 */
const root = path.resolve(import.meta.dirname, '../../..');

describe('npm start', () => {
  let dataDir: string;
  beforeAll(() => {
    execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-b', 'packages/parley'], { cwd: root, stdio: 'pipe' });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-start-'));
  }, 180_000);
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('runs the built server with the assistant in the same process, which answers a mention in a group', async () => {
    await using model = await startScriptedOpenAiServer();
    model.push({ kind: 'text', chunks: ['Hello ', 'from ', 'the thread.'] });
    const child: ChildProcess = spawn(process.execPath, [path.join(root, 'packages/parley/dist/main.js')], {
      cwd: root,
      env: {
        ...process.env,
        PORT: '0',
        PARLEY_DATA_DIR: dataDir,
        PARLEY_MODEL_PROVIDER: 'openai-compatible',
        PARLEY_MODEL: 'test-model',
        PARLEY_MODEL_BASE_URL: model.url,
        PARLEY_MODEL_MAX_RETRIES: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      // Printed once the assistant's thread is connected and caught up.
      await expect.poll(() => output, { timeout: 20_000 }).toMatch(/Assistant: openai-compatible test-model/);
      const url = /running at (http:\/\/\S+)/.exec(output)?.[1] ?? '';
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

      const suffix = crypto.randomBytes(3).toString('hex');
      const ann = await ParleyClient.signUp(url, { username: `ann_${suffix}`, password: 'correct horse battery staple', displayName: 'Ann' });
      const bob = await ParleyClient.signUp(url, { username: `bob_${suffix}`, password: 'correct horse battery staple', displayName: 'Bob' });
      const view = await ann.client.api.createConversation({ body: { kind: 'group', usernames: [bob.user.username] } });
      const conversationId = view.conversation.id;
      const name = view.conversation.assistant?.name ?? 'Parley';
      await ann.client.api.sendMessage({ params: { conversationId }, body: { id: crypto.randomBytes(12).toString('base64url'), text: `${name}, say hello` } });
      const answer = async () => (await bob.client.api.listMessages({ params: { conversationId }, query: {} })).messages.find((message) => message.turn !== null);
      await expect.poll(answer, { timeout: 15_000 }).toMatchObject({ text: 'Hello from the thread.', turn: { status: 'completed' } });
      expect(model.requests).toHaveLength(1);
    } finally {
      child.kill('SIGTERM');
    }
    // SIGTERM stops the assistant's thread and the server, and the process exits cleanly.
    expect(await exited).toBe(0);
    expect(output).not.toMatch(/\[assistant\]/);
  });
});
