import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '@parley/server';
import { startAssistantThread } from './assistant-thread.js';

describe("the assistant's thread", () => {
  it('is started again after a crash, reports it, and closes', async () => {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-thread-'));
    const errors: string[] = [];
    // The stand-in reads its marker file from the token.
    const thread = await startAssistantThread({
      baseUrl: 'http://127.0.0.1:9',
      token: path.join(directory, 'marker'),
      logger: silentLogger(),
      entry: new URL('./test/crashing-thread.ts', import.meta.url),
      onError: (error) => errors.push(error.message),
    });
    try {
      const first = thread.worker;
      await expect.poll(() => errors, { timeout: 5000 }).toEqual(['the thread crashed', expect.stringMatching(/stopped .*starting it again/)]);
      await expect.poll(() => thread.worker !== first && thread.worker.threadId !== -1, { timeout: 5000 }).toBe(true);
    } finally {
      await thread.close();
      fs.rmSync(directory, { recursive: true, force: true });
    }
    expect(thread.worker.threadId).toBe(-1);
  });
});
