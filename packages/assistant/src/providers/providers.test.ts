import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startScriptedAnthropicServer, startScriptedOllamaServer, startScriptedOpenAiServer } from '../test/index.js';
import { loadModels } from './models.js';
import { providerContractSuite, type WireView } from './provider-contract.js';

type Json = Record<string, unknown>;
const record = (value: unknown): Json => (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {});
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const messagesOf = (body: unknown) => list(record(body).messages).map(record);
/** Message content as text: a string, or the text blocks of a content array. */
const textOf = (content: unknown): string =>
  typeof content === 'string'
    ? content
    : list(content)
        .map(record)
        .filter((block) => block.type === 'text')
        .map((block) => String(block.text))
        .join('');
const bearer = (headers: Record<string, string | string[] | undefined>) => String(headers.authorization ?? '').replace(/^Bearer /, '') || undefined;

/** OpenAI chat completions, also spoken by vLLM, llama.cpp server and LM Studio. */
const openAiWire: WireView = {
  system: (body) => {
    const system = messagesOf(body).find((message) => message.role === 'system');
    return system ? textOf(system.content) : undefined;
  },
  userTexts: (body) => messagesOf(body).filter((message) => message.role === 'user').map((message) => textOf(message.content)),
  toolResults: (body) =>
    messagesOf(body)
      .filter((message) => message.role === 'tool')
      .map((message) => ({ toolCallId: typeof message.tool_call_id === 'string' ? message.tool_call_id : undefined, content: textOf(message.content) })),
  asksForStructuredOutput: (body) => record(record(body).response_format).type === 'json_schema',
  apiKey: bearer,
};

const anthropicWire: WireView = {
  system: (body) => {
    const system = record(body).system;
    return system === undefined ? undefined : textOf(system);
  },
  userTexts: (body) =>
    messagesOf(body)
      .filter((message) => message.role === 'user')
      .map((message) => textOf(message.content))
      .filter((text) => text.length > 0),
  toolResults: (body) =>
    messagesOf(body)
      .filter((message) => message.role === 'user')
      .flatMap((message) => list(message.content).map(record))
      .filter((block) => block.type === 'tool_result')
      .map((block) => ({ toolCallId: typeof block.tool_use_id === 'string' ? block.tool_use_id : undefined, content: textOf(block.content) })),
  asksForStructuredOutput: (body) => record(record(record(body).output_config).format).type === 'json_schema' || record(record(body).tool_choice).type === 'tool',
  apiKey: (headers) => (typeof headers['x-api-key'] === 'string' ? headers['x-api-key'] : undefined),
};

const ollamaWire: WireView = {
  system: (body) => {
    const system = messagesOf(body).find((message) => message.role === 'system');
    return system ? textOf(system.content) : undefined;
  },
  userTexts: (body) => messagesOf(body).filter((message) => message.role === 'user').map((message) => textOf(message.content)),
  toolResults: (body) =>
    messagesOf(body)
      .filter((message) => message.role === 'tool')
      .map((message) => ({ toolCallId: undefined, content: textOf(message.content) })),
  // A JSON schema in `format` constrains Ollama's output.
  asksForStructuredOutput: (body) => typeof record(body).format === 'object' && record(body).format !== null,
  apiKey: () => undefined,
};

describe('providers', () => {
  providerContractSuite({ provider: 'openai', model: 'gpt-4.1-mini', startServer: startScriptedOpenAiServer, echoesToolCallIds: true, wire: openAiWire });
  providerContractSuite({ provider: 'openai-compatible', model: 'qwen2.5-7b-instruct', startServer: startScriptedOpenAiServer, echoesToolCallIds: true, wire: openAiWire });
  providerContractSuite({ provider: 'anthropic', model: 'claude-sonnet-4-5', startServer: startScriptedAnthropicServer, echoesToolCallIds: true, wire: anthropicWire });
  providerContractSuite({ provider: 'ollama', model: 'llama3.1:8b', startServer: startScriptedOllamaServer, echoesToolCallIds: false, wire: ollamaWire });
});

describe('anthropic structured output modes', () => {
  const schema = z.object({ action: z.enum(['answer', 'silent']), reason: z.string() });
  const decideWith = async (model: string) => {
    await using server = await startScriptedAnthropicServer();
    server.push({ kind: 'object', value: { action: 'silent', reason: 'people are talking to each other' } });
    const result = loadModels({ PARLEY_MODEL_PROVIDER: 'anthropic', PARLEY_MODEL: model, PARLEY_MODEL_API_KEY: 'k', PARLEY_MODEL_BASE_URL: server.url, PARLEY_MODEL_MAX_RETRIES: '0' });
    if (result.status !== 'configured') throw new Error('expected models');
    const decision = await result.models.fast.decide(schema, { messages: [{ role: 'user', content: 'Alice: Bob, lunch?' }] });
    return { decision, body: record(server.requests[0]?.body) };
  };

  it('uses native structured output (output_config.format) for models that have it', async () => {
    const { decision, body } = await decideWith('claude-sonnet-4-5');
    expect(decision).toEqual({ action: 'silent', reason: 'people are talking to each other' });
    expect(record(record(body.output_config).format).type).toBe('json_schema');
    expect(body.tool_choice).toBeUndefined();
  });

  it('falls back to a forced json tool for older models', async () => {
    const { decision, body } = await decideWith('claude-3-haiku-20240307');
    expect(decision).toEqual({ action: 'silent', reason: 'people are talking to each other' });
    expect(record(body.tool_choice).type).toBe('any');
    expect(list(body.tools).map((tool) => record(tool).name)).toEqual(['json']);
    expect(body.output_config).toBeUndefined();
  });
});
