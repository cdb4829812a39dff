import { chunkText, type Exchange, type ScriptedModelServer, scriptedId, startScriptedServer, writeChunks, type WireFormat } from './scripted-http.js';
import type { ScriptedResponse, ScriptedToolCall, ScriptedUsage } from './scripted-script.js';

/**
 * A scripted Ollama server: `POST /api/chat`, streamed as newline-delimited JSON objects (the
 * last one with `done: true`, `done_reason` and the eval counts) or as one JSON object, with
 * errors as Ollama sends them (`{"error": "…"}`, as the HTTP body or as a line mid-stream).
 * Ollama sends each tool call whole, with its arguments as an object, in one line.
 * `server.url` is the server root (PARLEY_MODEL_BASE_URL for ollama).
 */
export function startScriptedOllamaServer(): Promise<ScriptedModelServer> {
  return startScriptedServer(ollamaFormat);
}

const DEFAULT_USAGE: ScriptedUsage = { inputTokens: 12, outputTokens: 7 };

const ollamaFormat: WireFormat = {
  basePath: '',
  handles: (method, path) => method === 'POST' && path === '/api/chat',
  unscripted(exchange) {
    sendError(exchange, 400, 'scripted server: no response queued for this request');
  },
  async answer(exchange, script) {
    if (script.kind === 'http-error') {
      sendError(exchange, script.status, script.message ?? defaultMessageFor(script.status), script.retryAfterSeconds);
      return;
    }
    // Ollama streams unless told not to.
    if (exchange.body.stream === false) answerJson(exchange, script);
    else await answerStream(exchange, script);
  },
};

function modelOf(exchange: Exchange): string {
  return typeof exchange.body.model === 'string' ? exchange.body.model : 'scripted';
}

function doneFields(doneReason: string, usage: ScriptedUsage) {
  return {
    done_reason: doneReason,
    done: true,
    total_duration: 412_000_000,
    load_duration: 21_000_000,
    prompt_eval_count: usage.inputTokens,
    prompt_eval_duration: 52_000_000,
    eval_count: usage.outputTokens,
    eval_duration: 330_000_000,
  };
}

function toolCallsOf(calls: readonly ScriptedToolCall[]) {
  return calls.map((call, index) => ({ id: call.id ?? scriptedId('call_'), function: { index, name: call.name, arguments: call.input } }));
}

async function answerStream(exchange: Exchange, script: Exclude<ScriptedResponse, { kind: 'http-error' }>): Promise<void> {
  const model = modelOf(exchange);
  const line = (payload: Record<string, unknown>) => `${JSON.stringify({ model, created_at: new Date().toISOString(), ...payload })}\n`;
  const textLine = (text: string) => line({ message: { role: 'assistant', content: text }, done: false });
  const finish = (doneReason: string, usage: ScriptedUsage) => exchange.end(line({ message: { role: 'assistant', content: '' }, ...doneFields(doneReason, usage) }));

  exchange.response.writeHead(200, { 'content-type': 'application/x-ndjson' });
  exchange.response.flushHeaders();

  switch (script.kind) {
    case 'text':
      await writeChunks(exchange, script.chunks, textLine);
      return finish(script.finishReason === 'length' ? 'length' : 'stop', script.usage ?? DEFAULT_USAGE);
    case 'tool-calls':
      await writeChunks(exchange, script.text ?? [], textLine);
      exchange.write(line({ message: { role: 'assistant', content: '', tool_calls: toolCallsOf(script.calls) }, done: false }));
      // Ollama reports `stop` even after tool calls.
      return finish('stop', script.usage ?? DEFAULT_USAGE);
    case 'object':
      await writeChunks(exchange, [JSON.stringify(script.value)], textLine);
      return finish('stop', DEFAULT_USAGE);
    case 'stream-cut':
      await writeChunks(exchange, script.chunks, textLine);
      return await exchange.cut();
    case 'stream-ends':
      await writeChunks(exchange, script.chunks, textLine);
      return exchange.end();
    case 'malformed-chunk':
      await writeChunks(exchange, script.chunks, textLine);
      exchange.write(`{"model":"${model}","message":{"role":"assistant","content":"oops"\n`);
      await writeChunks(exchange, script.after ?? [], textLine);
      return finish('stop', DEFAULT_USAGE);
    case 'stream-error':
      await writeChunks(exchange, script.chunks, textLine);
      return exchange.end(`${JSON.stringify({ error: script.message ?? 'an error was encountered while running the model: unexpected EOF' })}\n`);
    case 'stall':
      await writeChunks(exchange, script.chunks, textLine);
      return exchange.stall();
  }
}

function answerJson(exchange: Exchange, script: Exclude<ScriptedResponse, { kind: 'http-error' }>): void {
  const model = modelOf(exchange);
  const reply = (message: Record<string, unknown>, doneReason: string, usage: ScriptedUsage = DEFAULT_USAGE) => ({
    model,
    created_at: new Date().toISOString(),
    message: { role: 'assistant', ...message },
    ...doneFields(doneReason, usage),
  });
  switch (script.kind) {
    case 'text':
      return sendJson(exchange, reply({ content: chunkText(script.chunks) }, script.finishReason === 'length' ? 'length' : 'stop', script.usage));
    case 'tool-calls':
      return sendJson(exchange, reply({ content: script.text ? chunkText(script.text) : '', tool_calls: toolCallsOf(script.calls) }, 'stop', script.usage));
    case 'object':
      // With `format` set to a JSON schema, Ollama constrains the content to a JSON text.
      return sendJson(exchange, reply({ content: JSON.stringify(script.value) }, 'stop'));
    case 'stream-cut':
      exchange.response.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      exchange.write(JSON.stringify(reply({ content: chunkText(script.chunks) }, 'stop')).slice(0, 40));
      void exchange.cut();
      return;
    case 'stream-ends':
      exchange.response.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      return exchange.end(JSON.stringify(reply({ content: chunkText(script.chunks) }, 'stop')).slice(0, 40));
    case 'malformed-chunk':
      exchange.response.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      return exchange.end(`{"model":"${model}","message":{"role":"assistant","content":`);
    case 'stream-error':
      return sendError(exchange, 500, script.message ?? 'an error was encountered while running the model: unexpected EOF');
    case 'stall':
      exchange.response.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      exchange.response.flushHeaders();
      void exchange.stall();
      return;
  }
}

function sendJson(exchange: Exchange, payload: unknown): void {
  exchange.response.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
  exchange.end(JSON.stringify(payload));
}

function sendError(exchange: Exchange, status: number, message: string, retryAfterSeconds?: number): void {
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
  if (retryAfterSeconds !== undefined) headers['retry-after'] = String(retryAfterSeconds);
  exchange.response.writeHead(status, headers);
  exchange.end(JSON.stringify({ error: message }));
}

function defaultMessageFor(status: number): string {
  if (status === 503) return 'server busy, please try again.  maximum pending requests exceeded';
  if (status === 429) return 'too many requests';
  if (status === 404) return 'model "scripted" not found, try pulling it first';
  if (status >= 500) return 'llama runner process has terminated: exit status 2';
  return 'invalid request';
}
