import type { Message } from '@parley/protocol';
import { messageId, silentLogger, startTestServer } from '@parley/server/test';
import { describe, expect, it } from 'vitest';
import { loadModels } from '../providers/models.js';
import { startScriptedOpenAiServer } from '../test/index.js';
import { AssistantRuntime } from './assistant-runtime.js';

/**
 * Two assistant processes on one server (one per node, or a node's thread and a separate
 * process): every message they both see is answered once. When both start at the same moment
 * the second is refused because an answer is in flight ([AT2] in
 * packages/server/src/assistant/SPEC.md); one that comes after the first answer ended is refused
 * by [AT10] (tested on the server, turns.test.ts).
 */
describe('two assistants running at once', () => {
  it('[AT2] [AT10] answer each mention exactly once, whichever of them is faster', async () => {
    await using server = await startTestServer();
    const model = await startScriptedOpenAiServer();
    const models = loadModels({
      PARLEY_MODEL_PROVIDER: 'openai-compatible',
      PARLEY_MODEL: 'test-model',
      PARLEY_MODEL_BASE_URL: model.url,
      PARLEY_MODEL_API_KEY: 'test-key',
      PARLEY_MODEL_MAX_RETRIES: '0',
    });
    const runtimes = [0, 1].map(() => new AssistantRuntime({ baseUrl: server.url, token: server.assistant.token, models, logger: silentLogger() }));
    try {
      for (const runtime of runtimes) await runtime.start();
      const ann = await server.user();
      const bob = await server.user();
      const group = (await ann.client.api.createConversation({ body: { kind: 'group', title: 'Twice', usernames: [bob.user.username] } })).conversation.id;
      // Enough scripted answers for both to answer everything, were nothing to stop them.
      for (let index = 0; index < 6; index += 1) model.push({ kind: 'text', chunks: [`Answer ${index}.`] });
      const mentions: Message[] = [];
      for (const text of ['Parley, where should we go?', 'Parley, and when?', 'Parley, by train?']) {
        mentions.push(await ann.client.api.sendMessage({ params: { conversationId: group }, body: { id: messageId(), text } }));
        const answered = () => ann.client.api.listMessages({ params: { conversationId: group } }).then((page) => page.messages.filter((message) => message.turn !== null).length);
        await expect.poll(answered, { timeout: 10_000 }).toBe(mentions.length);
      }
      for (const runtime of runtimes) await runtime.idle();
      const page = await ann.client.api.listMessages({ params: { conversationId: group } });
      const answers = page.messages.filter((message) => message.turn !== null);
      expect(answers).toHaveLength(3);
      const { turns } = await ann.client.api.listTurns({ params: { conversationId: group } });
      expect(turns.map((turn) => turn.triggerMessageId).sort()).toEqual(mentions.map((message) => message.id).sort());
    } finally {
      for (const runtime of runtimes) await runtime.close();
      await model.close();
    }
  });
});
