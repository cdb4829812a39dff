import type { LanguageModelV4, LanguageModelV4Prompt, LanguageModelV4StreamPart } from '@ai-sdk/provider';
import { generateText, type JSONValue, type ModelMessage, Output, stepCountIs, streamText, type TextStreamPart, type ToolSet, tool } from 'ai';
import type { z } from 'zod';
import type { ProviderName } from './config.js';
import { ProviderError, ProviderErrorCode, timeoutError, toProviderError } from './provider-error.js';

/**
 * The model as the rest of the assistant sees it: plain messages in, text and tool calls out,
 * one error type. The ai SDK stays behind this interface.
 */
export interface ChatModel {
  readonly provider: ProviderName;
  readonly modelId: string;
  /**
   * Streams an answer. The parts end with exactly one `finish` part (finishReason `aborted`
   * when `abortSignal` stopped it), or the iteration throws a ProviderError.
   */
  stream(request: ChatRequest): AsyncIterable<ChatStreamPart>;
  /**
   * Asks for a structured answer checked against `schema`. Throws a ProviderError, or the
   * abort reason when `abortSignal` fires first.
   */
  decide<T>(schema: z.ZodType<T>, request: DecideRequest): Promise<T>;
}

export type ChatMessage =
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string; toolCalls?: readonly ChatToolCall[] }
  | { role: 'tool'; results: readonly ChatToolResult[] };

export interface ChatToolCall {
  toolCallId: string;
  toolName: string;
  input: unknown;
}

export interface ChatToolResult {
  toolCallId: string;
  toolName: string;
  /** A string, or any JSON value. */
  output: unknown;
  /** The tool failed or was denied; `output` says why. */
  isError?: boolean;
}

export interface ChatTool<Input = unknown> {
  description: string;
  inputSchema: z.ZodType<Input>;
  /**
   * Runs the tool inside the stream: its result goes back to the model, which continues (up
   * to `maxSteps` calls). Without it, the stream ends with finishReason `tool-calls` and the
   * caller sends the results back in a `tool` message.
   */
  execute?: (input: Input, options: { abortSignal: AbortSignal }) => Promise<unknown>;
}

/** A tool of any input type, as a request holds them (define each with ChatTool<Input>). */
export interface AnyChatTool {
  description: string;
  inputSchema: z.ZodType;
  execute?: (input: never, options: { abortSignal: AbortSignal }) => Promise<unknown>;
}

export interface ChatRequest {
  system?: string;
  messages: readonly ChatMessage[];
  abortSignal?: AbortSignal;
  tools?: Readonly<Record<string, AnyChatTool>>;
  maxOutputTokens?: number;
  /** Model calls at most when tools run inside the stream. Default 5. */
  maxSteps?: number;
}

export interface DecideRequest {
  system?: string;
  messages: readonly ChatMessage[];
  abortSignal?: AbortSignal;
}

export type ChatFinishReason = 'stop' | 'length' | 'tool-calls' | 'content-filter' | 'aborted' | 'other';

export interface ChatUsage {
  inputTokens: number | null;
  outputTokens: number | null;
}

export type ChatStreamPart =
  | { type: 'text'; text: string }
  | {
      type: 'tool-call';
      toolCallId: string;
      toolName: string;
      input: unknown;
      /**
       * Set when the call is unusable (unknown tool, input off-schema). A `tool-result` part with
       * isError follows; a caller doing the round trip itself sends both back, or neither.
       */
      error?: string;
    }
  | { type: 'tool-result'; toolCallId: string; toolName: string; output: unknown; isError: boolean }
  | {
      type: 'finish';
      finishReason: ChatFinishReason;
      /** The whole text streamed, across steps. */
      text: string;
      /** Calls still waiting for a result from the caller (tools without `execute`). */
      toolCalls: ChatToolCall[];
      usage: ChatUsage;
    };

export interface ChatModelOptions {
  provider: ProviderName;
  modelId: string;
  languageModel: LanguageModelV4;
  /** Longest wait for the provider: before the first part, between parts, and for a whole decision. */
  timeoutMs: number;
  /** Attempts after the first, only before anything was streamed. */
  maxRetries: number;
  /** First retry delay when the provider gives none; doubled at each attempt. Default 1000. */
  retryDelayMs?: number;
  /** A provider asking us to wait longer than this fails at once instead. Default 10 000. */
  maxRetryDelayMs?: number;
}

export function createChatModel(options: ChatModelOptions): ChatModel {
  const { provider, modelId, languageModel, timeoutMs, maxRetries } = options;
  const retryDelayMs = options.retryDelayMs ?? 1000;
  const maxRetryDelayMs = options.maxRetryDelayMs ?? 10_000;

  /** How long to wait before another attempt, or undefined when the failure is final. */
  function retryDelay(error: ProviderError, attempt: number): number | undefined {
    // A timeout already cost the member the whole timeout; trying again would double it.
    if (!error.retryable || error.code === ProviderErrorCode.timeout || attempt >= maxRetries) return undefined;
    const delay = error.retryAfterMs ?? retryDelayMs * 2 ** attempt;
    return delay <= maxRetryDelayMs ? delay : undefined;
  }

  async function* streamOnce(request: ChatRequest, progress: { streamed: boolean }): AsyncGenerator<ChatStreamPart> {
    const controller = new AbortController();
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    let source: PartSource | undefined;
    // Stopping cancels the read in progress: a stuck provider never holds us.
    controller.signal.addEventListener('abort', () => void source?.reader.cancel().catch(() => {}), { once: true });
    const onCallerAbort = () => controller.abort(request.abortSignal?.reason);
    request.abortSignal?.addEventListener('abort', onCallerAbort, { once: true });
    if (request.abortSignal?.aborted) controller.abort(request.abortSignal.reason);

    // The timeout measures the provider's silence only: not the time our caller spends on a
    // part, and not tools running inside the stream (a tool may wait for a member's
    // confirmation). One timer for the whole stream, pushed back as parts come.
    let reading = true;
    let silentSince = performance.now();
    const runningTools = new Set<string>();
    const watch = (delay: number) => {
      timer = setTimeout(() => {
        const silent = performance.now() - silentSince;
        if (!reading || runningTools.size > 0 || silent < timeoutMs) {
          watch(!reading || runningTools.size > 0 ? timeoutMs : timeoutMs - silent);
          return;
        }
        timedOut = true;
        controller.abort(new DOMException(`no answer from ${provider} within ${timeoutMs} ms`, 'TimeoutError'));
      }, delay);
    };
    watch(timeoutMs);

    let text = '';
    let finish: { finishReason: ChatFinishReason; usage: ChatUsage } | undefined;
    const pendingCalls = new Map<string, ChatToolCall>();
    let done = false;

    try {
      source = await openStream(request, controller.signal);
      if (controller.signal.aborted) void source.reader.cancel().catch(() => {});
      for (;;) {
        reading = true;
        silentSince = performance.now();
        const outcome = await source.reader.read();
        reading = false;
        if (outcome.done) break;
        const part = source.normalize(outcome.value);
        if (part === undefined) continue;
        switch (part.type) {
          case 'text':
            if (part.text.length === 0) break;
            text += part.text;
            progress.streamed = true;
            yield part;
            break;
          case 'tool-call': {
            progress.streamed = true;
            const runs = request.tools?.[part.toolName]?.execute !== undefined;
            if (part.error === undefined && runs) runningTools.add(part.toolCallId);
            if (part.error === undefined && !runs) pendingCalls.set(part.toolCallId, { toolCallId: part.toolCallId, toolName: part.toolName, input: part.input });
            yield part;
            break;
          }
          case 'tool-result':
            pendingCalls.delete(part.toolCallId);
            runningTools.delete(part.toolCallId);
            yield part;
            break;
          case 'error':
            throw part.error;
          case 'finish':
            // `interrupted`: the SDK saw the stream end without the provider's completion signal.
            // The text may be cut short, so it is no finish: it ends as stream_cut below.
            if (part.finishReason !== 'interrupted') finish = { finishReason: part.finishReason, usage: part.usage };
            break;
        }
      }
      if (timedOut) throw timeoutError(provider);
      if (controller.signal.aborted) {
        done = true;
        yield { type: 'finish', finishReason: 'aborted', text, toolCalls: [], usage: { inputTokens: null, outputTokens: null } };
        return;
      }
      if (!finish) {
        throw new ProviderError(ProviderErrorCode.streamCut, `The answer from the model provider (${provider}) ended before it was complete.`, { retryable: true });
      }
      done = true;
      yield { type: 'finish', finishReason: finish.finishReason, text, toolCalls: [...pendingCalls.values()], usage: finish.usage };
    } catch (error) {
      if (timedOut) throw timeoutError(provider, error);
      if (request.abortSignal?.aborted && !(error instanceof ProviderError)) {
        // The failure is the abort itself (the SDK or fetch reporting it): a stop, not a fault.
        done = true;
        yield { type: 'finish', finishReason: 'aborted', text, toolCalls: [], usage: { inputTokens: null, outputTokens: null } };
        return;
      }
      throw toProviderError(error, provider);
    } finally {
      clearTimeout(timer);
      request.abortSignal?.removeEventListener('abort', onCallerAbort);
      // Releases the HTTP response; never awaited, since a stuck stream would hold us here.
      if (!done) controller.abort();
    }
  }

  /**
   * Opens the model's stream. A plain-text answer (no tools, no tool round trips in the
   * messages), which is nearly every answer in a group, reads the provider's stream directly:
   * streamText's step machinery costs more than twice the provider's own parsing per token
   * (bench/b4-model-client.ts), and a plain answer has one step. Anything with tools goes
   * through streamText, which runs them and loops.
   */
  async function openStream(request: ChatRequest, signal: AbortSignal): Promise<PartSource> {
    const tools = toAiTools(request.tools);
    if (tools === undefined) {
      const prompt = toPlainPrompt(request);
      if (prompt !== undefined) {
        const { stream } = await languageModel.doStream({
          prompt,
          ...(request.maxOutputTokens === undefined ? {} : { maxOutputTokens: request.maxOutputTokens }),
          abortSignal: signal,
        });
        return { reader: stream.getReader(), normalize: (part) => fromProviderPart(part as LanguageModelV4StreamPart) };
      }
    }
    const runsTools = Object.values(request.tools ?? {}).some((chatTool) => chatTool.execute !== undefined);
    const result = streamText({
      model: languageModel,
      ...(request.system === undefined ? {} : { system: request.system }),
      messages: toModelMessages(request.messages),
      ...(tools === undefined ? {} : { tools }),
      ...(runsTools ? { stopWhen: stepCountIs(request.maxSteps ?? 5) } : {}),
      ...(request.maxOutputTokens === undefined ? {} : { maxOutputTokens: request.maxOutputTokens }),
      // Retries are ours (only before the first token, bounded by our timeout), not the SDK's.
      maxRetries: 0,
      abortSignal: signal,
      // Errors reach us as stream parts; the SDK would otherwise also log them.
      onError: () => {},
    });
    return { reader: result.fullStream.getReader(), normalize: (part) => fromTextStreamPart(part as TextStreamPart<ToolSet>) };
  }

  async function decideOnce<T>(schema: z.ZodType<T>, request: DecideRequest): Promise<T> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new DOMException(`no answer from ${provider} within ${timeoutMs} ms`, 'TimeoutError'));
    }, timeoutMs);
    const onCallerAbort = () => controller.abort(request.abortSignal?.reason);
    request.abortSignal?.addEventListener('abort', onCallerAbort, { once: true });
    if (request.abortSignal?.aborted) controller.abort(request.abortSignal.reason);
    const stopped = new Promise<never>((_, reject) =>
      controller.signal.addEventListener('abort', () => reject(timedOut ? timeoutError(provider) : request.abortSignal?.reason), { once: true }),
    );
    stopped.catch(() => {});
    try {
      const call = generateText({
        model: languageModel,
        ...(request.system === undefined ? {} : { system: request.system }),
        messages: toModelMessages(request.messages),
        output: Output.object({ schema }),
        maxRetries: 0,
        abortSignal: controller.signal,
      });
      call.catch(() => {});
      const result = await Promise.race([call, stopped]);
      return result.output;
    } catch (error) {
      if (timedOut) throw timeoutError(provider, error);
      if (request.abortSignal?.aborted) throw request.abortSignal.reason;
      throw toProviderError(error, provider);
    } finally {
      clearTimeout(timer);
      request.abortSignal?.removeEventListener('abort', onCallerAbort);
      controller.abort();
    }
  }

  return {
    provider,
    modelId,
    async *stream(request) {
      for (let attempt = 0; ; attempt += 1) {
        const progress = { streamed: false };
        try {
          yield* streamOnce(request, progress);
          return;
        } catch (error) {
          const providerError = toProviderError(error, provider);
          const delay = progress.streamed ? undefined : retryDelay(providerError, attempt);
          if (delay === undefined) throw providerError;
          if (!(await sleep(delay, request.abortSignal))) {
            yield { type: 'finish', finishReason: 'aborted', text: '', toolCalls: [], usage: { inputTokens: null, outputTokens: null } };
            return;
          }
        }
      }
    },
    async decide(schema, request) {
      for (let attempt = 0; ; attempt += 1) {
        try {
          return await decideOnce(schema, request);
        } catch (error) {
          if (!(error instanceof ProviderError)) throw error;
          const delay = retryDelay(error, attempt);
          if (delay === undefined) throw error;
          if (!(await sleep(delay, request.abortSignal))) throw request.abortSignal?.reason;
        }
      }
    },
  };
}

/** What a stream part becomes on our side: text, tool traffic, an error, the end; undefined for the rest. */
type ModelPart =
  | { type: 'text'; text: string }
  | { type: 'tool-call'; toolCallId: string; toolName: string; input: unknown; error?: string }
  | { type: 'tool-result'; toolCallId: string; toolName: string; output: unknown; isError: boolean }
  | { type: 'error'; error: unknown }
  | { type: 'finish'; finishReason: ChatFinishReason | 'interrupted'; usage: ChatUsage };

interface PartSource {
  reader: ReadableStreamDefaultReader<unknown>;
  normalize(part: unknown): ModelPart | undefined;
}

/** The provider's prompt for messages without tool traffic; undefined when some message has it. */
function toPlainPrompt(request: ChatRequest): LanguageModelV4Prompt | undefined {
  const prompt: LanguageModelV4Prompt = request.system === undefined ? [] : [{ role: 'system', content: request.system }];
  for (const message of request.messages) {
    if (message.role === 'tool' || (message.role === 'assistant' && message.toolCalls?.length)) return undefined;
    prompt.push({ role: message.role, content: [{ type: 'text', text: message.content }] });
  }
  return prompt;
}

function fromProviderPart(part: LanguageModelV4StreamPart): ModelPart | undefined {
  switch (part.type) {
    case 'text-delta':
      return { type: 'text', text: part.delta };
    case 'error':
      return part;
    case 'finish':
      return {
        type: 'finish',
        finishReason: toFinishReason(part.finishReason.unified),
        usage: { inputTokens: part.usage.inputTokens.total ?? null, outputTokens: part.usage.outputTokens.total ?? null },
      };
    default:
      // No tools were offered: a tool call cannot come, and reasoning or metadata is not text.
      return undefined;
  }
}

function fromTextStreamPart(part: TextStreamPart<ToolSet>): ModelPart | undefined {
  switch (part.type) {
    case 'text-delta':
      return { type: 'text', text: part.text };
    case 'tool-call': {
      const call = { type: 'tool-call' as const, toolCallId: part.toolCallId, toolName: part.toolName, input: part.input };
      return part.invalid ? { ...call, error: errorText(part.error) } : call;
    }
    case 'tool-result':
      return { type: 'tool-result', toolCallId: part.toolCallId, toolName: part.toolName, output: part.output, isError: false };
    case 'tool-error':
      return { type: 'tool-result', toolCallId: part.toolCallId, toolName: part.toolName, output: errorText(part.error), isError: true };
    case 'error':
      return { type: 'error', error: part.error };
    case 'finish':
      return {
        type: 'finish',
        finishReason: toFinishReason(part.finishReason),
        usage: { inputTokens: part.totalUsage.inputTokens ?? null, outputTokens: part.totalUsage.outputTokens ?? null },
      };
    default:
      return undefined;
  }
}

function toModelMessages(messages: readonly ChatMessage[]): ModelMessage[] {
  return messages.map((message): ModelMessage => {
    switch (message.role) {
      case 'user':
        return { role: 'user', content: message.content };
      case 'assistant':
        if (!message.toolCalls?.length) return { role: 'assistant', content: message.content };
        return {
          role: 'assistant',
          content: [
            ...(message.content.length > 0 ? [{ type: 'text' as const, text: message.content }] : []),
            ...message.toolCalls.map((call) => ({ type: 'tool-call' as const, toolCallId: call.toolCallId, toolName: call.toolName, input: call.input })),
          ],
        };
      case 'tool':
        return {
          role: 'tool',
          content: message.results.map((result) => ({
            type: 'tool-result' as const,
            toolCallId: result.toolCallId,
            toolName: result.toolName,
            output:
              typeof result.output === 'string'
                ? { type: result.isError ? ('error-text' as const) : ('text' as const), value: result.output }
                : { type: result.isError ? ('error-json' as const) : ('json' as const), value: toJsonValue(result.output) },
          })),
        };
    }
  });
}

function toAiTools(tools: ChatRequest['tools']): ToolSet | undefined {
  if (!tools || Object.keys(tools).length === 0) return undefined;
  const set: ToolSet = {};
  for (const [name, chatTool] of Object.entries(tools)) {
    const execute = chatTool.execute as ((input: unknown, options: { abortSignal: AbortSignal }) => Promise<unknown>) | undefined;
    const description = chatTool.description;
    const inputSchema = chatTool.inputSchema as z.ZodType<unknown>;
    set[name] =
      execute === undefined
        ? tool({ description, inputSchema })
        : tool({ description, inputSchema, execute: (input: unknown, { abortSignal }) => execute(input, { abortSignal: abortSignal ?? new AbortController().signal }) });
  }
  return set;
}

/** A JSON copy of a tool's output: drops what JSON cannot carry (functions, undefined). */
function toJsonValue(value: unknown): JSONValue {
  const text = JSON.stringify(value);
  return text === undefined ? null : (JSON.parse(text) as JSONValue);
}

function toFinishReason(reason: string): ChatFinishReason | 'interrupted' {
  switch (reason) {
    case 'stop':
    case 'length':
    case 'tool-calls':
    case 'content-filter':
    case 'interrupted':
      return reason;
    default:
      return 'other';
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : typeof error === 'string' ? error : JSON.stringify(error);
}

/** Resolves true after `ms`, or false as soon as `signal` aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
