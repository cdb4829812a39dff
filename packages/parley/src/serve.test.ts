import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startScriptedOpenAiServer } from '@parley/assistant/test';
import { ParleyClient } from '@parley/sdk';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

/**
 * The commands as people run them: the built `parley` (npm start runs `npm run build` first, then
 * dist/main.js), SQLite in a fresh data folder, the assistant answering through a configured
 * provider: on its own thread of the server's process by default, or as its own process
 * (`npm run assistant`) against the server's URL.
 */
const root = path.resolve(import.meta.dirname, '../../..');
const main = path.join(root, 'packages/parley/dist/main.js');

interface Running {
  output(): string;
  /** The exit code, once it exits by itself. */
  readonly exited: Promise<number | null>;
  /** SIGTERM unless told otherwise, and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

function run(args: string[], env: Record<string, string>): Running {
  const child: ChildProcess = spawn(process.execPath, [main, ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    output: () => output,
    exited,
    stop: (signal = 'SIGTERM') => {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Two people in a group mention the assistant; resolves with the answer as a member reads it. */
async function askInAGroup(url: string) {
  const suffix = crypto.randomBytes(3).toString('hex');
  const ann = await ParleyClient.signUp(url, { username: `ann_${suffix}`, password: 'correct horse battery staple', displayName: 'Ann' });
  const bob = await ParleyClient.signUp(url, { username: `bob_${suffix}`, password: 'correct horse battery staple', displayName: 'Bob' });
  const view = await ann.client.api.createConversation({ body: { kind: 'group', usernames: [bob.user.username] } });
  const conversationId = view.conversation.id;
  const name = view.conversation.assistant?.name ?? 'Parley';
  await ann.client.api.sendMessage({ params: { conversationId }, body: { id: crypto.randomBytes(12).toString('base64url'), text: `${name}, say hello` } });
  const answer = async () => (await bob.client.api.listMessages({ params: { conversationId }, query: {} })).messages.find((message) => message.turn !== null);
  await expect.poll(answer, { timeout: 15_000 }).toBeDefined();
  return answer();
}

describe('npm start and npm run assistant', () => {
  let dataDir: string;
  beforeAll(() => {
    execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-b', 'packages/parley'], { cwd: root, stdio: 'pipe' });
  }, 180_000);
  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-start-'));
  });
  afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('runs the built server with the assistant on a thread of the same process, which answers a mention in a group', async () => {
    await using model = await startScriptedOpenAiServer();
    model.push({ kind: 'text', chunks: ['Hello ', 'from ', 'the thread.'] });
    const server = run([], {
      PORT: '0',
      PARLEY_DATA_DIR: dataDir,
      PARLEY_MODEL_PROVIDER: 'openai-compatible',
      PARLEY_MODEL: 'test-model',
      PARLEY_MODEL_BASE_URL: model.url,
      PARLEY_MODEL_MAX_RETRIES: '0',
    });
    try {
      // Printed once the assistant's thread is connected and caught up.
      await expect.poll(() => server.output(), { timeout: 20_000 }).toMatch(/Assistant: openai-compatible test-model/);
      const url = /running at (http:\/\/\S+)/.exec(server.output())?.[1] ?? '';
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(await askInAGroup(url)).toMatchObject({ text: 'Hello from the thread.', turn: { status: 'completed' } });
      expect(model.requests).toHaveLength(1);
    } finally {
      // SIGTERM stops the assistant's thread and the server, and the process exits cleanly.
      expect(await server.stop()).toBe(0);
    }
    expect(server.output()).not.toMatch(/\[assistant\]/);
  });

  it('runs the assistant as its own process against a server started without it', async () => {
    await using model = await startScriptedOpenAiServer();
    model.push({ kind: 'text', chunks: ['Hello ', 'from ', 'afar.'] });
    const token = crypto.randomBytes(32).toString('base64url');
    const server = run([], { PORT: '0', PARLEY_DATA_DIR: dataDir, PARLEY_ASSISTANT: 'off', PARLEY_ASSISTANT_TOKEN: token });
    let assistant: Running | undefined;
    try {
      await expect.poll(() => server.output(), { timeout: 20_000 }).toMatch(/running at (http:\/\/\S+)/);
      const url = /running at (http:\/\/\S+)/.exec(server.output())?.[1] ?? '';
      expect(server.output()).not.toMatch(/Assistant:/);
      assistant = run(['assistant'], {
        PARLEY_SERVER_URL: url,
        PARLEY_ASSISTANT_TOKEN: token,
        PARLEY_MODEL_PROVIDER: 'openai-compatible',
        PARLEY_MODEL: 'test-model',
        PARLEY_MODEL_BASE_URL: model.url,
        PARLEY_MODEL_MAX_RETRIES: '0',
      });
      await expect.poll(() => assistant?.output(), { timeout: 20_000 }).toMatch(/Assistant connected to http/);
      expect(await askInAGroup(url)).toMatchObject({ text: 'Hello from afar.', turn: { status: 'completed' } });
    } finally {
      expect(await assistant?.stop()).toBe(0);
      expect(await server.stop()).toBe(0);
    }
  });

  it('writes the compiled code of its modules to disk once it listens, so a restart after kill -9 finds it', async () => {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-compile-cache-'));
    try {
      const server = run([], { PORT: '0', PARLEY_DATA_DIR: dataDir, PARLEY_ASSISTANT: 'off', NODE_COMPILE_CACHE: cache });
      await expect.poll(() => server.output(), { timeout: 20_000 }).toMatch(/running at (http:\/\/\S+)/);
      // Killed, it never exits: what is on disk was written while it ran.
      await server.stop('SIGKILL');
      const written = fs.readdirSync(cache, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile() && fs.statSync(path.join(entry.parentPath, entry.name)).size > 0);
      expect(written.length).toBeGreaterThan(0);
    } finally {
      fs.rmSync(cache, { recursive: true, force: true });
    }
  });

  it('reads the model settings when the assistant runs in the process: a wrong one stops the start, and a node without it starts', async () => {
    const wrong = { PORT: '0', PARLEY_DATA_DIR: dataDir, PARLEY_MODEL: 'test-model' };
    const stopped = run([], wrong);
    expect(await stopped.exited).toBe(1);
    expect(stopped.output()).toMatch(/PARLEY_MODEL_PROVIDER/);
    expect(stopped.output()).not.toMatch(/running at/);
    const server = run([], { ...wrong, PARLEY_ASSISTANT: 'off' });
    await expect.poll(() => server.output(), { timeout: 20_000 }).toMatch(/running at (http:\/\/\S+)/);
    expect(await server.stop()).toBe(0);
  });
});
