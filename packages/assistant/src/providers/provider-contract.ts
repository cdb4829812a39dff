/**
 * The provider contract: what every model provider behind `ChatModel` promises, run against a
 * scripted server speaking that provider's wire format (real HTTP on loopback).
 *
 *   PC1 Streamed text arrives in order and completely, then exactly one `finish` part.
 *   PC2 The request carries exactly the system prompt and messages given, and the API key.
 *   PC3 Tool round trip: the model asks for a tool, the stream ends with the pending call, the
 *       caller sends the result back, and the model answers.
 *   PC4 A tool with `execute` runs inside the stream and the model continues after its result;
 *       the time the tool takes does not count against the provider timeout.
 *   PC5 `decide` returns the structured answer, parsed with the schema; an off-schema answer is
 *       malformed_response.
 *   PC6 Every fault ends with the right ProviderError code within bounded time, never a hang:
 *       a slow provider or a stalled stream → provider_timeout; 429 → provider_rate_limited (with
 *       retry-after); 5xx and overloaded → provider_unavailable; other 4xx → provider_error; a
 *       dropped connection, or a stream that ends without the provider's completion signal →
 *       stream_cut (never an answer taken as complete); an unparseable chunk → malformed_response.
 *   PC7 An abort stops the stream promptly: it ends with finishReason `aborted` and the HTTP
 *       request is closed. An aborted decision rejects with the abort reason.
 *   PC8 Retries happen only before anything was streamed; the retried answer is whole.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ScriptedModelServer } from '../test/index.js';
import type { ChatModel, ChatStreamPart } from './chat-model.js';
import type { ProviderName } from './config.js';
import { type CreateModelsOptions, loadModels, type Models } from './models.js';
import { ProviderError } from './provider-error.js';

/** How to read a provider's request body, for assertions on what was sent. */
export interface WireView {
  system(body: unknown): string | undefined;
  /** The text of each user message, in order. */
  userTexts(body: unknown): string[];
  /** The tool results sent back, in order. */
  toolResults(body: unknown): { toolCallId: string | undefined; content: string }[];
  /** Whether the request asked for a structured (JSON) answer. */
  asksForStructuredOutput(body: unknown): boolean;
  /** The API key as sent, if the provider sends one. */
  apiKey(headers: Record<string, string | string[] | undefined>): string | undefined;
}

export interface ProviderFixture {
  provider: ProviderName;
  model: string;
  startServer(): Promise<ScriptedModelServer>;
  /** Whether tool call ids survive the round trip (Ollama does not send them back). */
  echoesToolCallIds: boolean;
  wire: WireView;
}

/** Small, so that faults end fast, yet above what a loopback answer takes on a loaded 2-core machine (300 ms was not: an HTTP 400 timed out); the assertions check faults end within a bound. */
const TIMEOUT_MS = 800;
const BOUND_MS = 4_000;
const API_KEY = 'test-key-0123456789';

export function providerContractSuite(fixture: ProviderFixture): void {
  describe(`provider contract: ${fixture.provider}`, () => {
    function modelsFor(server: ScriptedModelServer, environment: Record<string, string> = {}, options: CreateModelsOptions = {}): Models {
      const result = loadModels(
        {
          PARLEY_MODEL_PROVIDER: fixture.provider,
          PARLEY_MODEL: fixture.model,
          PARLEY_MODEL_BASE_URL: server.url,
          ...(fixture.provider === 'ollama' ? {} : { PARLEY_MODEL_API_KEY: API_KEY }),
          PARLEY_MODEL_TIMEOUT_MS: String(TIMEOUT_MS),
          PARLEY_MODEL_MAX_RETRIES: '0',
          ...environment,
        },
        options,
      );
      if (result.status !== 'configured') throw new Error('expected a configured provider');
      return result.models;
    }

    it('[PC1] streams text in order and completely, then one finish part', async () => {
      await using server = await fixture.startServer();
      server.push({ kind: 'text', chunks: ['Bon', 'jour', ', ', 'tout ', 'le ', 'monde', ' 👋'], usage: { inputTokens: 31, outputTokens: 9 } });
      const { parts, error } = await collect(modelsFor(server).strong, { messages: [{ role: 'user', content: 'Salut !' }] });
      expect(error).toBeUndefined();
      expect(parts.filter((part) => part.type === 'text').map((part) => part.text)).toEqual(['Bon', 'jour', ', ', 'tout ', 'le ', 'monde', ' 👋']);
      expect(parts.at(-1)).toEqual({ type: 'finish', finishReason: 'stop', text: 'Bonjour, tout le monde 👋', toolCalls: [], usage: { inputTokens: 31, outputTokens: 9 } });
      expect(parts.filter((part) => part.type === 'finish')).toHaveLength(1);
    });

    it('[PC2] sends exactly the system prompt, the messages and the API key', async () => {
      await using server = await fixture.startServer();
      server.push({ kind: 'text', chunks: ['ok'] });
      const system = 'You are Pip, a member of the group "Hikers". Be brief.';
      await collect(modelsFor(server).strong, {
        system,
        messages: [
          { role: 'user', content: 'Alice: where do we meet?' },
          { role: 'assistant', content: 'At the station.' },
          { role: 'user', content: 'Bob: @Pip what time?' },
        ],
      });
      expect(server.requests).toHaveLength(1);
      const request = server.requests[0];
      expect(fixture.wire.system(request?.body)).toBe(system);
      expect(fixture.wire.userTexts(request?.body)).toEqual(['Alice: where do we meet?', 'Bob: @Pip what time?']);
      if (fixture.provider !== 'ollama') expect(fixture.wire.apiKey(request?.headers ?? {})).toBe(API_KEY);
      expect((request?.body as { model?: unknown }).model).toBe(fixture.model);
    });

    it('[PC3] round-trips a tool call: the caller passes the result back and the model answers', async () => {
      await using server = await fixture.startServer();
      server.push(
        { kind: 'tool-calls', calls: [{ id: 'call_weather_1', name: 'weather', input: { city: 'Paris', unit: 'celsius' } }] },
        { kind: 'text', chunks: ['It is ', '21 °C in Paris.'] },
      );
      const model = modelsFor(server).strong;
      const tools = { weather: { description: 'Current weather in a city', inputSchema: z.object({ city: z.string(), unit: z.enum(['celsius', 'fahrenheit']) }) } };
      const first = await collect(model, { messages: [{ role: 'user', content: 'Weather in Paris?' }], tools });
      expect(first.error).toBeUndefined();
      const finish = first.parts.at(-1);
      expect(finish?.type === 'finish' && finish.finishReason).toBe('tool-calls');
      const calls = finish?.type === 'finish' ? finish.toolCalls : [];
      expect(calls).toHaveLength(1);
      expect(calls[0]?.toolName).toBe('weather');
      expect(calls[0]?.input).toEqual({ city: 'Paris', unit: 'celsius' });
      if (fixture.echoesToolCallIds) expect(calls[0]?.toolCallId).toBe('call_weather_1');
      expect(first.parts.filter((part) => part.type === 'tool-call')).toHaveLength(1);

      const call = calls[0];
      if (!call) throw new Error('no tool call');
      const second = await collect(model, {
        messages: [
          { role: 'user', content: 'Weather in Paris?' },
          { role: 'assistant', content: '', toolCalls: [call] },
          { role: 'tool', results: [{ toolCallId: call.toolCallId, toolName: call.toolName, output: { temperature: 21, sky: 'clear' } }] },
        ],
        tools,
      });
      expect(second.error).toBeUndefined();
      expect(second.text).toBe('It is 21 °C in Paris.');
      const results = fixture.wire.toolResults(server.requests[1]?.body);
      expect(results).toHaveLength(1);
      expect(JSON.parse(results[0]?.content ?? 'null')).toEqual({ temperature: 21, sky: 'clear' });
      if (fixture.echoesToolCallIds) expect(results[0]?.toolCallId).toBe('call_weather_1');
    });

    it('[PC4] runs a tool with execute inside the stream and continues', async () => {
      await using server = await fixture.startServer();
      server.push({ kind: 'tool-calls', text: ['Let me check. '], calls: [{ name: 'clock', input: { zone: 'Europe/Paris' } }] }, { kind: 'text', chunks: ['It is ', 'noon.'] });
      const seen: unknown[] = [];
      const tools = {
        clock: {
          description: 'The time in a zone',
          inputSchema: z.object({ zone: z.string() }),
          execute: async (input: { zone: string }) => {
            seen.push(input);
            return { time: '12:00' };
          },
        },
      };
      const { parts, text, error } = await collect(modelsFor(server).strong, { messages: [{ role: 'user', content: 'Time?' }], tools });
      expect(error).toBeUndefined();
      expect(seen).toEqual([{ zone: 'Europe/Paris' }]);
      expect(parts.map((part) => part.type)).toEqual(['text', 'tool-call', 'tool-result', 'text', 'text', 'finish']);
      expect(parts.find((part) => part.type === 'tool-result')).toMatchObject({ toolName: 'clock', output: { time: '12:00' }, isError: false });
      expect(text).toBe('Let me check. It is noon.');
      expect(parts.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop', toolCalls: [] });
      expect(JSON.parse(fixture.wire.toolResults(server.requests[1]?.body)[0]?.content ?? 'null')).toEqual({ time: '12:00' });
    });

    it('[PC4] a slow tool does not count against the provider timeout', async () => {
      await using server = await fixture.startServer();
      server.push({ kind: 'tool-calls', calls: [{ name: 'confirm', input: { action: 'book' } }] }, { kind: 'text', chunks: ['Booked.'] });
      const tools = {
        confirm: {
          description: 'Asks a member to confirm',
          inputSchema: z.object({ action: z.string() }),
          execute: async () => {
            await new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS * 2));
            return { approved: true };
          },
        },
      };
      const { text, error } = await collect(modelsFor(server).strong, { messages: [{ role: 'user', content: 'Book it' }], tools });
      expect(error).toBeUndefined();
      expect(text).toBe('Booked.');
    });

    const DecisionSchema = z.object({ action: z.enum(['answer', 'react', 'silent']), reason: z.string(), emoji: z.string().nullable() });

    it('[PC5] decides with a structured answer parsed by the schema', async () => {
      await using server = await fixture.startServer();
      server.push({ kind: 'object', value: { action: 'react', reason: 'a thank-you needs no answer', emoji: '👍' } });
      const decision = await modelsFor(server).fast.decide(DecisionSchema, {
        system: 'Decide whether to answer.',
        messages: [{ role: 'user', content: 'Alice: thanks Pip!' }],
      });
      expect(decision).toEqual({ action: 'react', reason: 'a thank-you needs no answer', emoji: '👍' });
      expect(fixture.wire.asksForStructuredOutput(server.requests[0]?.body)).toBe(true);
      expect(fixture.wire.userTexts(server.requests[0]?.body)).toEqual(['Alice: thanks Pip!']);
    });

    it('[PC5] an off-schema structured answer is malformed_response', async () => {
      await using server = await fixture.startServer();
      server.push({ kind: 'object', value: { action: 'dance', reason: 42 } });
      const error = await rejection(modelsFor(server).fast.decide(DecisionSchema, { messages: [{ role: 'user', content: 'hi' }] }));
      expect(error).toMatchObject({ code: 'malformed_response', retryable: true });
    });

    describe('[PC6] faults end with the right error, in bounded time', () => {
      const streamFaults = [
        { name: 'a provider slower than the timeout', script: { kind: 'text', chunks: ['late'], delayMs: TIMEOUT_MS * 3 }, code: 'provider_timeout', retryable: true, textBefore: '' },
        { name: 'a stream that stalls after some text', script: { kind: 'stall', chunks: ['Hello', ' wor'] }, code: 'provider_timeout', retryable: true, textBefore: 'Hello wor' },
        { name: 'HTTP 429', script: { kind: 'http-error', status: 429, retryAfterSeconds: 7 }, code: 'provider_rate_limited', retryable: true, textBefore: '' },
        { name: 'HTTP 500', script: { kind: 'http-error', status: 500 }, code: 'provider_unavailable', retryable: true, textBefore: '' },
        { name: 'HTTP 503', script: { kind: 'http-error', status: 503 }, code: 'provider_unavailable', retryable: true, textBefore: '' },
        { name: 'HTTP 529 overloaded', script: { kind: 'http-error', status: 529 }, code: 'provider_unavailable', retryable: true, textBefore: '' },
        { name: 'HTTP 401', script: { kind: 'http-error', status: 401 }, code: 'provider_error', retryable: false, textBefore: '' },
        { name: 'HTTP 400', script: { kind: 'http-error', status: 400 }, code: 'provider_error', retryable: false, textBefore: '' },
        { name: 'a connection dropped mid-stream', script: { kind: 'stream-cut', chunks: ['The answer ', 'is'] }, code: 'stream_cut', retryable: true, textBefore: 'The answer is' },
        { name: 'a stream that ends without the completion signal', script: { kind: 'stream-ends', chunks: ['The answer ', 'is'] }, code: 'stream_cut', retryable: true, textBefore: 'The answer is' },
        { name: 'a malformed chunk', script: { kind: 'malformed-chunk', chunks: ['Fine '], after: ['so far'] }, code: 'malformed_response', retryable: true, textBefore: 'Fine ' },
        { name: 'an error event mid-stream', script: { kind: 'stream-error', chunks: ['Partial'] }, code: 'provider_unavailable', retryable: true, textBefore: 'Partial' },
      ] as const;

      for (const fault of streamFaults) {
        it(`stream: ${fault.name} → ${fault.code}`, async () => {
          await using server = await fixture.startServer();
          server.push(fault.script);
          const started = performance.now();
          const { text, error, parts } = await collect(modelsFor(server).strong, { messages: [{ role: 'user', content: 'Question' }] });
          expect(performance.now() - started).toBeLessThan(BOUND_MS);
          expect(error).toBeInstanceOf(ProviderError);
          expect(error).toMatchObject({ code: fault.code, retryable: fault.retryable });
          expect(text).toBe(fault.textBefore);
          expect(parts.some((part) => part.type === 'finish')).toBe(false);
          if (fault.script.kind === 'http-error' && fault.script.status === 429) expect((error as ProviderError).retryAfterMs).toBe(7000);
        });
      }

      const decideFaults = [
        { name: 'a provider slower than the timeout', script: { kind: 'object', value: { action: 'silent', reason: 'late', emoji: null }, delayMs: TIMEOUT_MS * 3 }, code: 'provider_timeout' },
        { name: 'HTTP 429', script: { kind: 'http-error', status: 429, retryAfterSeconds: 3 }, code: 'provider_rate_limited' },
        { name: 'HTTP 500', script: { kind: 'http-error', status: 500 }, code: 'provider_unavailable' },
        { name: 'a dropped connection', script: { kind: 'stream-cut', chunks: ['x'] }, code: 'stream_cut' },
        { name: 'an unparseable body', script: { kind: 'malformed-chunk', chunks: [] }, code: 'malformed_response' },
        { name: 'a stalled body', script: { kind: 'stall', chunks: [] }, code: 'provider_timeout' },
      ] as const;

      for (const fault of decideFaults) {
        it(`decide: ${fault.name} → ${fault.code}`, async () => {
          await using server = await fixture.startServer();
          server.push(fault.script);
          const started = performance.now();
          const error = await rejection(modelsFor(server).fast.decide(DecisionSchema, { messages: [{ role: 'user', content: 'hi' }] }));
          expect(performance.now() - started).toBeLessThan(BOUND_MS);
          expect(error).toBeInstanceOf(ProviderError);
          expect(error).toMatchObject({ code: fault.code });
        });
      }
    });

    it('[PC7] an abort stops the stream promptly and closes the request', async () => {
      await using server = await fixture.startServer();
      server.push({ kind: 'text', chunks: ['one ', ...Array.from({ length: 40 }, () => ({ text: 'more ', delayMs: 100 }))] });
      const controller = new AbortController();
      const parts: ChatStreamPart[] = [];
      let abortedAt = 0;
      for await (const part of modelsFor(server).strong.stream({ messages: [{ role: 'user', content: 'Tell me a long story' }], abortSignal: controller.signal })) {
        parts.push(part);
        if (part.type === 'text' && abortedAt === 0) {
          abortedAt = performance.now();
          controller.abort();
        }
      }
      expect(performance.now() - abortedAt).toBeLessThan(200);
      expect(parts.at(-1)).toMatchObject({ type: 'finish', finishReason: 'aborted', text: 'one ' });
      const request = server.requests[0];
      await within(request?.closed ?? Promise.reject(new Error('no request')), 1000);
      expect(request?.closedEarly).toBe(true);
    });

    it('[PC7] a stream aborted before it starts ends at once with finishReason aborted', async () => {
      await using server = await fixture.startServer();
      server.push({ kind: 'text', chunks: ['never'] });
      const { parts, error } = await collect(modelsFor(server).strong, { messages: [{ role: 'user', content: 'hi' }], abortSignal: AbortSignal.abort() });
      expect(error).toBeUndefined();
      expect(parts).toEqual([{ type: 'finish', finishReason: 'aborted', text: '', toolCalls: [], usage: { inputTokens: null, outputTokens: null } }]);
    });

    it('[PC7] an aborted decision rejects with the abort reason, promptly', async () => {
      await using server = await fixture.startServer();
      server.push({ kind: 'object', value: { action: 'silent', reason: 'slow', emoji: null }, delayMs: 5_000 });
      const controller = new AbortController();
      const reason = new Error('a new message arrived');
      const models = modelsFor(server, { PARLEY_MODEL_TIMEOUT_MS: '10000' });
      const pending = rejection(models.fast.decide(DecisionSchema, { messages: [{ role: 'user', content: 'hi' }], abortSignal: controller.signal }));
      await new Promise((resolve) => setTimeout(resolve, 50));
      const started = performance.now();
      controller.abort(reason);
      expect(await pending).toBe(reason);
      expect(performance.now() - started).toBeLessThan(200);
    });

    it('[PC8] retries a failure before the first token and streams the retried answer whole', async () => {
      await using server = await fixture.startServer();
      server.push({ kind: 'http-error', status: 503 }, { kind: 'http-error', status: 429, retryAfterSeconds: 0.05 }, { kind: 'text', chunks: ['Third ', 'time ', 'lucky'] });
      const { text, error } = await collect(modelsFor(server, { PARLEY_MODEL_MAX_RETRIES: '2' }, { retryDelayMs: 10 }).strong, {
        messages: [{ role: 'user', content: 'hi' }],
      });
      expect(error).toBeUndefined();
      expect(text).toBe('Third time lucky');
      expect(server.requests).toHaveLength(3);
    });

    it('[PC8] never retries once text was streamed, nor a refusal', async () => {
      await using server = await fixture.startServer();
      server.push({ kind: 'stream-cut', chunks: ['Half an '] }, { kind: 'text', chunks: ['should not be asked'] });
      const models = modelsFor(server, { PARLEY_MODEL_MAX_RETRIES: '2' }, { retryDelayMs: 10 });
      const cut = await collect(models.strong, { messages: [{ role: 'user', content: 'hi' }] });
      expect(cut.error).toMatchObject({ code: 'stream_cut' });
      expect(cut.text).toBe('Half an ');
      expect(server.requests).toHaveLength(1);

      await using refusing = await fixture.startServer();
      refusing.push({ kind: 'http-error', status: 401 }, { kind: 'text', chunks: ['should not be asked'] });
      const refused = await collect(modelsFor(refusing, { PARLEY_MODEL_MAX_RETRIES: '2' }, { retryDelayMs: 10 }).strong, { messages: [{ role: 'user', content: 'hi' }] });
      expect(refused.error).toMatchObject({ code: 'provider_error', retryable: false });
      expect(refusing.requests).toHaveLength(1);
    });
  });
}

interface Collected {
  parts: ChatStreamPart[];
  text: string;
  error: unknown;
}

async function collect(model: ChatModel, request: Parameters<ChatModel['stream']>[0]): Promise<Collected> {
  const parts: ChatStreamPart[] = [];
  let error: unknown;
  try {
    for await (const part of model.stream(request)) parts.push(part);
  } catch (caught) {
    error = caught;
  }
  const text = parts.map((part) => (part.type === 'text' ? part.text : '')).join('');
  return { parts, text, error };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([promise, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`not settled within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
