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
 * A scripted Anthropic server: `POST /v1/messages`, streamed as Anthropic's named SSE events
 * (message_start, content_block_start, content_block_delta with text_delta or input_json_delta,
 * content_block_stop, message_delta, message_stop, ping, error) or as one JSON message, with
 * errors in Anthropic's shape (`{type: 'error', error: {type, message}}`, 529 overloaded_error).
 */
export function startScriptedAnthropicServer(): Promise<ScriptedModelServer> {
  return startScriptedServer(anthropicFormat);
}

const DEFAULT_USAGE: ScriptedUsage = { inputTokens: 12, outputTokens: 7 };

const anthropicFormat: WireFormat = {
  basePath: '/v1',
  handles: (method, path) => method === 'POST' && path === '/v1/messages',
  unscripted(exchange) {
    sendError(exchange, 400, 'invalid_request_error', 'scripted server: no response queued for this request');
  },
  async answer(exchange, script) {
    if (script.kind === 'http-error') {
      sendError(exchange, script.status, errorTypeFor(script.status), script.message ?? defaultMessageFor(script.status), script.retryAfterSeconds);
      return;
    }
    if (exchange.body.stream === true) await answerStream(exchange, script);
    else answerJson(exchange, script);
  },
};

type ContentBlock = { type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; input: unknown };

async function answerStream(exchange: Exchange, script: Exclude<ScriptedResponse, { kind: 'http-error' }>): Promise<void> {
  const model = typeof exchange.body.model === 'string' ? exchange.body.model : 'scripted';
  const event = (type: string, payload: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, ...payload })}\n\n`;
  let index = -1;
  const startText = () => {
    index += 1;
    exchange.write(event('content_block_start', { index, content_block: { type: 'text', text: '' } }));
  };
  const textDelta = (text: string) => event('content_block_delta', { index, delta: { type: 'text_delta', text } });
  const stopBlock = () => exchange.write(event('content_block_stop', { index }));
  const toolUse = (call: ScriptedToolCall) => {
    index += 1;
    exchange.write(event('content_block_start', { index, content_block: { type: 'tool_use', id: call.id ?? scriptedId('toolu_'), name: call.name, input: {} } }));
    // Anthropic opens every tool input with an empty partial_json, then streams the JSON in pieces.
    for (const piece of ['', ...splitInPieces(JSON.stringify(call.input), 3)]) {
      exchange.write(event('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: piece } }));
    }
    stopBlock();
  };
  const finish = (stopReason: string, usage: ScriptedUsage) => {
    exchange.write(event('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: usage.outputTokens } }));
    exchange.end(event('message_stop', {}));
  };
  const usage = 'usage' in script && script.usage ? script.usage : DEFAULT_USAGE;

  exchange.response.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'request-id': scriptedId('req_'),
    'anthropic-organization-id': 'scripted-organization',
  });
  exchange.response.flushHeaders();
  exchange.write(
    event('message_start', {
      message: {
        id: scriptedId('msg_'),
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: usage.inputTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1 },
      },
    }),
  );

  switch (script.kind) {
    case 'text':
      startText();
      exchange.write(event('ping', {}));
      await writeChunks(exchange, script.chunks, textDelta);
      stopBlock();
      return finish(script.finishReason === 'length' ? 'max_tokens' : 'end_turn', usage);
    case 'tool-calls':
      if (script.text?.length) {
        startText();
        await writeChunks(exchange, script.text, textDelta);
        stopBlock();
      }
      for (const call of script.calls) toolUse(call);
      return finish('tool_use', usage);
    case 'object': {
      const forced = forcedToolName(exchange.body);
      if (forced) {
        toolUse({ name: forced, input: script.value as Record<string, unknown> });
        return finish('tool_use', usage);
      }
      startText();
      await writeChunks(exchange, splitInPieces(JSON.stringify(script.value), 3), textDelta);
      stopBlock();
      return finish('end_turn', usage);
    }
    case 'stream-cut':
      startText();
      await writeChunks(exchange, script.chunks, textDelta);
      return await exchange.cut();
    case 'stream-ends':
      startText();
      await writeChunks(exchange, script.chunks, textDelta);
      return exchange.end();
    case 'malformed-chunk':
      startText();
      await writeChunks(exchange, script.chunks, textDelta);
      exchange.write(`event: content_block_delta\ndata: {"type":"content_block_delta","index":${index},"delta":{"type":"text_delta","text":"oops"\n\n`);
      await writeChunks(exchange, script.after ?? [], textDelta);
      stopBlock();
      return finish('end_turn', usage);
    case 'stream-error':
      if (script.chunks.length > 0) {
        startText();
        await writeChunks(exchange, script.chunks, textDelta);
      }
      exchange.write(event('error', { error: { type: script.errorType ?? 'overloaded_error', message: script.message ?? 'Overloaded' } }));
      return exchange.end();
    case 'stall':
      startText();
      await writeChunks(exchange, script.chunks, textDelta);
      return exchange.stall();
  }
}

function answerJson(exchange: Exchange, script: Exclude<ScriptedResponse, { kind: 'http-error' }>): void {
  const model = typeof exchange.body.model === 'string' ? exchange.body.model : 'scripted';
  const message = (content: ContentBlock[], stopReason: string, usage: ScriptedUsage = DEFAULT_USAGE) => ({
    id: scriptedId('msg_'),
    type: 'message',
    role: 'assistant',
    model,
    content,
    stop_reason: stopReason,
    stop_sequence: null,
    usage: { input_tokens: usage.inputTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: usage.outputTokens },
  });
  const toolUse = (call: ScriptedToolCall): ContentBlock => ({ type: 'tool_use', id: call.id ?? scriptedId('toolu_'), name: call.name, input: call.input });

  switch (script.kind) {
    case 'text':
      return sendJson(exchange, message([{ type: 'text', text: chunkText(script.chunks) }], script.finishReason === 'length' ? 'max_tokens' : 'end_turn', script.usage));
    case 'tool-calls':
      return sendJson(exchange, message([...(script.text ? [{ type: 'text' as const, text: chunkText(script.text) }] : []), ...script.calls.map(toolUse)], 'tool_use', script.usage));
    case 'object': {
      const forced = forcedToolName(exchange.body);
      if (forced) return sendJson(exchange, message([toolUse({ name: forced, input: script.value as Record<string, unknown> })], 'tool_use'));
      return sendJson(exchange, message([{ type: 'text', text: JSON.stringify(script.value) }], 'end_turn'));
    }
    case 'stream-cut':
      exchange.response.writeHead(200, { 'content-type': 'application/json' });
      exchange.write(JSON.stringify(message([{ type: 'text', text: chunkText(script.chunks) }], 'end_turn')).slice(0, 40));
      void exchange.cut();
      return;
    case 'stream-ends':
      exchange.response.writeHead(200, { 'content-type': 'application/json' });
      return exchange.end(JSON.stringify(message([{ type: 'text', text: chunkText(script.chunks) }], 'end_turn')).slice(0, 40));
    case 'malformed-chunk':
      exchange.response.writeHead(200, { 'content-type': 'application/json' });
      return exchange.end('{"id":"msg_broken","type":"message","content":[');
    case 'stream-error':
      return sendError(exchange, 529, script.errorType ?? 'overloaded_error', script.message ?? 'Overloaded');
    case 'stall':
      exchange.response.writeHead(200, { 'content-type': 'application/json' });
      exchange.response.flushHeaders();
      void exchange.stall();
      return;
  }
}

/**
 * The tool a request forces, as the tool-based structured output mode sends it:
 * `tool_choice: {type: 'tool', name}`, or `{type: 'any'}` with a single tool. Native structured
 * output (`output_config.format`) asks for JSON text instead.
 */
function forcedToolName(body: Record<string, unknown>): string | undefined {
  const choice = body.tool_choice;
  if (isRecord(choice) && choice.type === 'tool' && typeof choice.name === 'string') return choice.name;
  const tools = Array.isArray(body.tools) ? body.tools : [];
  const only = tools.length === 1 && isRecord(tools[0]) ? tools[0].name : undefined;
  if (isRecord(choice) && choice.type === 'any' && typeof only === 'string') return only;
  return undefined;
}

function sendJson(exchange: Exchange, payload: unknown): void {
  exchange.response.writeHead(200, { 'content-type': 'application/json', 'request-id': scriptedId('req_') });
  exchange.end(JSON.stringify(payload));
}

function sendError(exchange: Exchange, status: number, type: string, message: string, retryAfterSeconds?: number): void {
  const requestId = scriptedId('req_');
  const headers: Record<string, string> = { 'content-type': 'application/json', 'request-id': requestId };
  if (retryAfterSeconds !== undefined) headers['retry-after'] = String(retryAfterSeconds);
  exchange.response.writeHead(status, headers);
  exchange.end(JSON.stringify({ type: 'error', error: { type, message }, request_id: requestId }));
}

function errorTypeFor(status: number): string {
  switch (status) {
    case 400:
      return 'invalid_request_error';
    case 401:
      return 'authentication_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 529:
      return 'overloaded_error';
    default:
      return status >= 500 ? 'api_error' : 'invalid_request_error';
  }
}

function defaultMessageFor(status: number): string {
  if (status === 429) return 'Number of request tokens has exceeded your per-minute rate limit';
  if (status === 529) return 'Overloaded';
  if (status >= 500) return 'Internal server error';
  if (status === 401) return 'invalid x-api-key';
  return 'Invalid request';
}
