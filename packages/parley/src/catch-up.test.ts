import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { startScriptedOpenAiServer } from '@parley/assistant/test';
import type { Message } from '@parley/protocol';
import { messageId, silentLogger, startTestServer, type TestUser } from '@parley/server/test';
import { describe, expect, it } from 'vitest';
import { startAssistantThread } from './assistant-thread.js';

/**
 * The assistant as its own process (`npm run assistant`, from the sources), killed with -9 and
 * started again: what was said meanwhile is answered once it is back, and nothing twice [RC1] [RC4].
 */
const root = path.resolve(import.meta.dirname, '../../..');
const main = path.join(root, 'packages/parley/src/main.ts');

function startAssistantProcess(env: Record<string, string>): { child: ChildProcess; output(): string; exited: Promise<unknown> } {
  const child = spawn(process.execPath, ['--conditions=parley-source', '--import', 'tsx', main, 'assistant'], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return { child, output: () => output, exited };
}

function send(user: TestUser, conversationId: string, text: string): Promise<Message> {
  return user.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text } });
}

async function answersIn(user: TestUser, conversationId: string): Promise<string[]> {
  const page = await user.client.api.listMessages({ params: { conversationId }, query: { limit: 100 } });
  return page.messages.filter((message) => message.turn !== null).map((message) => message.text);
}

describe('a separate assistant process', () => {
  it('[RC1] [RC4] killed with -9 and started again, answers what was said while it was down, and nothing twice', async () => {
    await using server = await startTestServer();
    await using model = await startScriptedOpenAiServer();
    const ann = await server.user();
    const bob = await server.user();
    const group = (await ann.client.api.createConversation({ body: { kind: 'group', title: 'Trip', usernames: [bob.user.username] } })).conversation.id;
    const env = {
      PARLEY_SERVER_URL: server.url,
      PARLEY_ASSISTANT_TOKEN: server.assistant.token,
      PARLEY_MODEL_PROVIDER: 'openai-compatible',
      PARLEY_MODEL: 'test-model',
      PARLEY_MODEL_BASE_URL: model.url,
      PARLEY_MODEL_API_KEY: 'test-key',
      PARLEY_MODEL_MAX_RETRIES: '0',
    };
    // Said before it ever connected.
    await send(ann, group, 'Parley, are you up?');
    model.push({ kind: 'text', chunks: ['Yes.'] });
    const first = startAssistantProcess(env);
    try {
      await expect.poll(() => answersIn(bob, group), { timeout: 20_000 }).toEqual(['Yes.']);
    } finally {
      first.child.kill('SIGKILL');
      await first.exited;
    }

    await send(bob, group, 'Parley, and now?');
    model.push({ kind: 'text', chunks: ['Still here.'] });
    const second = startAssistantProcess(env);
    try {
      await expect.poll(() => answersIn(bob, group), { timeout: 20_000 }).toEqual(['Yes.', 'Still here.']);
      await expect.poll(() => second.output(), { timeout: 20_000 }).toMatch(/Assistant connected/);
      // Caught up and connected: nothing more comes.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await answersIn(bob, group)).toEqual(['Yes.', 'Still here.']);
      expect(model.requests).toHaveLength(2);
    } finally {
      second.child.kill('SIGKILL');
      await second.exited;
    }
  }, 60_000);
});

describe("the assistant's thread", () => {
  it('[RC1] [RC4] answers a mention sent before it connected, and one sent while it was being restarted after a crash, each once', async () => {
    await using server = await startTestServer();
    await using model = await startScriptedOpenAiServer();
    const ann = await server.user();
    const bob = await server.user();
    const group = (await ann.client.api.createConversation({ body: { kind: 'group', title: 'Trip', usernames: [bob.user.username] } })).conversation.id;
    // The thread reads its provider from the environment, as `npm start` does.
    const env = {
      PARLEY_MODEL_PROVIDER: 'openai-compatible',
      PARLEY_MODEL: 'test-model',
      PARLEY_MODEL_BASE_URL: model.url,
      PARLEY_MODEL_API_KEY: 'test-key',
      PARLEY_MODEL_MAX_RETRIES: '0',
    };
    const saved = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
    Object.assign(process.env, env);
    const errors: string[] = [];
    await send(ann, group, 'Parley, are you up?');
    model.push({ kind: 'text', chunks: ['Yes.'] });
    const thread = await startAssistantThread({ baseUrl: server.url, token: server.assistant.token, logger: silentLogger(), onError: (error) => errors.push(error.message) });
    try {
      await expect.poll(() => answersIn(bob, group), { timeout: 20_000 }).toEqual(['Yes.']);
      const crashed = thread.worker;
      await crashed.terminate();
      // Said while the thread is down, before it is started again a second later.
      await send(bob, group, 'Parley, still there?');
      model.push({ kind: 'text', chunks: ['Back.'] });
      await expect.poll(() => thread.worker !== crashed, { timeout: 10_000 }).toBe(true);
      await expect.poll(() => answersIn(bob, group), { timeout: 20_000 }).toEqual(['Yes.', 'Back.']);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await answersIn(bob, group)).toEqual(['Yes.', 'Back.']);
      expect(model.requests).toHaveLength(2);
      expect(errors).toEqual([expect.stringMatching(/stopped .*starting it again/)]);
    } finally {
      await thread.close();
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  }, 60_000);
});
