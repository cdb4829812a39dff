import {
  chunkText,
  type Exchange,
  isRecord,
  type ScriptedModelServer,
  scriptedId,
  splitInPieces,
  startScriptedServer,
  writeChunks,
  type WireFormat,
} from './scripted-http.js';
import type { ScriptedResponse, ScriptedToolCall, ScriptedUsage } from './scripted-script.js';

/**
 * A scripted OpenAI server: `POST /v1/chat/completions`, streamed (SSE `data:` lines ending
 * with `data: [DONE]`) or as one JSON answer, in the shapes OpenAI sends (and vLLM, llama.cpp
 * server and LM Studio copy). Point a provider at `server.url`.
 */
export function startScriptedOpenAiServer(): Promise<ScriptedModelServer> {
  return startScriptedServer(openAiFormat);
}

const DEFAULT_USAGE: ScriptedUsage = { inputTokens: 12, outputTokens: 7 };

const openAiFormat: WireFormat = {
  basePath: '/v1',
  handles: (method, path) => method === 'POST' && path === '/v1/chat/completions',
  unscripted(exchange) {
    sendError(exchange, 400, 'scripted server: no response queued for this request', 'invalid_request_error', 'scripted_queue_empty');
  },
  async answer(exchange, script) {
    if (script.kind === 'http-error') {
      sendError(exchange, script.status, script.message ?? defaultErrorMessage(script.status), errorTypeFor(script.status), errorCodeFor(script.status), script.retryAfterSeconds);
      return;
    }
    if (exchange.body.stream === true) await answerStream(exchange, script);
    else await answerJson(exchange, script);
  },
};

async function answerStream(exchange: Exchange, script: Exclude<ScriptedResponse, { kind: 'http-error' }>): Promise<void> {
  const id = scriptedId('chatcmpl-');
  const created = Math.floor(Date.now() / 1000);
  const model = typeof exchange.body.model === 'string' ? exchange.body.model : 'scripted';
  const includeUsage = isRecord(exchange.body.stream_options) && exchange.body.stream_options.include_usage === true;
  const data = (payload: unknown) => `data: ${JSON.stringify(payload)}\n\n`;
  const chunk = (delta: Record<string, unknown>, finishReason: string | null = null) =>
    data({
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      system_fingerprint: 'fp_scripted',
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    });
  const textChunk = (text: string) => chunk({ content: text });
  const finish = (finishReason: string, usage: ScriptedUsage) => {
    exchange.write(chunk({}, finishReason));
    if (includeUsage) {
      exchange.write(data({ id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_scripted', choices: [], usage: usageOf(usage) }));
    }
    exchange.end('data: [DONE]\n\n');
  };

  exchange.response.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'x-request-id': scriptedId('req_'),
    'openai-processing-ms': '12',
  });
  exchange.response.flushHeaders();
  exchange.write(chunk({ role: 'assistant', content: '', refusal: null }));

  switch (script.kind) {
    case 'text':
      await writeChunks(exchange, script.chunks, textChunk);
      return finish(script.finishReason ?? 'stop', script.usage ?? DEFAULT_USAGE);
    case 'tool-calls': {
      await writeChunks(exchange, script.text ?? [], textChunk);
      for (const [index, call] of script.calls.entries()) {
        const callId = call.id ?? scriptedId('call_');
        exchange.write(chunk({ tool_calls: [{ index, id: callId, type: 'function', function: { name: call.name, arguments: '' } }] }));
        for (const piece of splitInPieces(JSON.stringify(call.input), 3)) {
          exchange.write(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }));
        }
      }
      return finish('tool_calls', script.usage ?? DEFAULT_USAGE);
    }
    case 'object': {
      const forced = forcedFunctionName(exchange.body);
      if (forced) {
        exchange.write(chunk({ tool_calls: [{ index: 0, id: scriptedId('call_'), type: 'function', function: { name: forced, arguments: '' } }] }));
        exchange.write(chunk({ tool_calls: [{ index: 0, function: { arguments: JSON.stringify(script.value) } }] }));
        return finish('stop', DEFAULT_USAGE);
      }
      await writeChunks(exchange, splitInPieces(JSON.stringify(script.value), 3), textChunk);
      return finish('stop', DEFAULT_USAGE);
    }
    case 'stream-cut':
      await writeChunks(exchange, script.chunks, textChunk);
      return await exchange.cut();
    case 'stream-ends':
      await writeChunks(exchange, script.chunks, textChunk);
      return exchange.end();
    case 'malformed-chunk':
      await writeChunks(exchange, script.chunks, textChunk);
      exchange.write('data: {"id":"chatcmpl-broken","choices":[{"index":0,"delta":{"content":"oops"\n\n');
      await writeChunks(exchange, script.after ?? [], textChunk);
      return finish('stop', DEFAULT_USAGE);
    case 'stream-error':
      await writeChunks(exchange, script.chunks, textChunk);
      exchange.write(data({ error: { message: script.message ?? 'The server had an error while processing your request. Sorry about that!', type: openAiErrorTypeFor(script.errorType), param: null, code: null } }));
      return exchange.end();
    case 'stall':
      await writeChunks(exchange, script.chunks, textChunk);
      return exchange.stall();
  }
}

async function answerJson(exchange: Exchange, script: Exclude<ScriptedResponse, { kind: 'http-error' }>): Promise<void> {
  const model = typeof exchange.body.model === 'string' ? exchange.body.model : 'scripted';
  const completion = (message: Record<string, unknown>, finishReason: string, usage: ScriptedUsage = DEFAULT_USAGE) => ({
    id: scriptedId('chatcmpl-'),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message: { role: 'assistant', refusal: null, annotations: [], ...message }, logprobs: null, finish_reason: finishReason }],
    usage: usageOf(usage),
    service_tier: 'default',
    system_fingerprint: 'fp_scripted',
  });
  const toolCalls = (calls: readonly ScriptedToolCall[]) =>
    calls.map((call) => ({ id: call.id ?? scriptedId('call_'), type: 'function', function: { name: call.name, arguments: JSON.stringify(call.input) } }));

  switch (script.kind) {
    case 'text':
      return sendJson(exchange, completion({ content: chunkText(script.chunks) }, script.finishReason ?? 'stop', script.usage));
    case 'tool-calls':
      return sendJson(exchange, completion({ content: script.text ? chunkText(script.text) : null, tool_calls: toolCalls(script.calls) }, 'tool_calls', script.usage));
    case 'object': {
      const forced = forcedFunctionName(exchange.body);
      if (forced) return sendJson(exchange, completion({ content: null, tool_calls: toolCalls([{ name: forced, input: script.value as Record<string, unknown> }]) }, 'stop'));
      return sendJson(exchange, completion({ content: JSON.stringify(script.value) }, 'stop'));
    }
    case 'stream-cut': {
      exchange.response.writeHead(200, { 'content-type': 'application/json' });
      exchange.write(JSON.stringify(completion({ content: chunkText(script.chunks) }, 'stop')).slice(0, 40));
      return await exchange.cut();
    }
    case 'stream-ends':
      exchange.response.writeHead(200, { 'content-type': 'application/json' });
      return exchange.end(JSON.stringify(completion({ content: chunkText(script.chunks) }, 'stop')).slice(0, 40));
    case 'malformed-chunk':
      exchange.response.writeHead(200, { 'content-type': 'application/json' });
      return exchange.end('{"id":"chatcmpl-broken","choices":[{"index":0,"message":');
    case 'stream-error':
      return sendError(exchange, 500, script.message ?? defaultErrorMessage(500), 'server_error', null);
    case 'stall':
      exchange.response.writeHead(200, { 'content-type': 'application/json' });
      exchange.response.flushHeaders();
      return exchange.stall();
  }
}

/** The function a `tool_choice` forces: named, or `required` with a single tool. */
function forcedFunctionName(body: Record<string, unknown>): string | undefined {
  const choice = body.tool_choice;
  if (isRecord(choice) && choice.type === 'function' && isRecord(choice.function) && typeof choice.function.name === 'string') return choice.function.name;
  const tools = Array.isArray(body.tools) ? body.tools : [];
  const only = tools.length === 1 && isRecord(tools[0]) && isRecord(tools[0].function) ? tools[0].function.name : undefined;
  if (choice === 'required' && typeof only === 'string') return only;
  return undefined;
}

function usageOf(usage: ScriptedUsage) {
  return {
    prompt_tokens: usage.inputTokens,
    completion_tokens: usage.outputTokens,
    total_tokens: usage.inputTokens + usage.outputTokens,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

function sendJson(exchange: Exchange, payload: unknown): void {
  exchange.response.writeHead(200, { 'content-type': 'application/json', 'x-request-id': scriptedId('req_') });
  exchange.end(JSON.stringify(payload));
}

function sendError(exchange: Exchange, status: number, message: string, type: string, code: string | null, retryAfterSeconds?: number): void {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-request-id': scriptedId('req_') };
  if (retryAfterSeconds !== undefined) {
    headers['retry-after'] = String(retryAfterSeconds);
    headers['retry-after-ms'] = String(retryAfterSeconds * 1000);
  }
  exchange.response.writeHead(status, headers);
  exchange.end(JSON.stringify({ error: { message, type, param: null, code } }));
}

function defaultErrorMessage(status: number): string {
  if (status === 429) return 'Rate limit reached for requests. Please try again in 1s.';
  if (status === 503) return 'The engine is currently overloaded, please try again later';
  if (status >= 500) return 'The server had an error while processing your request. Sorry about that!';
  if (status === 401) return 'Incorrect API key provided.';
  return 'Invalid request.';
}

function errorTypeFor(status: number): string {
  if (status === 429) return 'requests';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

function errorCodeFor(status: number): string | null {
  if (status === 429) return 'rate_limit_exceeded';
  if (status === 401) return 'invalid_api_key';
  return null;
}

function openAiErrorTypeFor(anthropicType: string | undefined): string {
  if (anthropicType === 'rate_limit_error') return 'requests';
  if (anthropicType === 'invalid_request_error') return 'invalid_request_error';
  return 'server_error';
}
