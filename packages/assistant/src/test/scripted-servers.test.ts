import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startScriptedAnthropicServer, startScriptedOllamaServer, startScriptedOpenAiServer } from './index.js';

async function post(url: string, body: unknown): Promise<{ status: number; headers: Headers; text: string }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/** The JSON payloads of an SSE body, with their event names. */
function events(text: string): { event: string | undefined; data: string }[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const lines = block.split('\n');
      const event = lines.find((line) => line.startsWith('event: '))?.slice('event: '.length);
      const data = lines.find((line) => line.startsWith('data: '))?.slice('data: '.length) ?? '';
      return { event, data };
    });
}

describe('scripted OpenAI server', () => {
  it('streams SSE chunks as OpenAI does: role, content deltas, finish_reason, usage, [DONE]', async () => {
    await using server = await startScriptedOpenAiServer();
    server.push({ kind: 'text', chunks: ['Hel', 'lo'], usage: { inputTokens: 5, outputTokens: 2 } });
    const response = await post(`${server.url}/chat/completions`, { model: 'gpt-x', stream: true, stream_options: { include_usage: true }, messages: [] });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const blocks = events(response.text);
    expect(blocks.at(-1)?.data).toBe('[DONE]');
    const chunks = blocks.slice(0, -1).map((block) => JSON.parse(block.data));
    expect(chunks.every((chunk) => chunk.object === 'chat.completion.chunk' && chunk.model === 'gpt-x')).toBe(true);
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '', refusal: null });
    expect(chunks.slice(1, 3).map((chunk) => chunk.choices[0].delta.content)).toEqual(['Hel', 'lo']);
    expect(chunks[3].choices[0]).toMatchObject({ delta: {}, finish_reason: 'stop' });
    expect(chunks[4]).toMatchObject({ choices: [], usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 } });
  });

  it('streams tool calls as index/id/name then argument pieces', async () => {
    await using server = await startScriptedOpenAiServer();
    server.push({ kind: 'tool-calls', calls: [{ id: 'call_1', name: 'weather', input: { city: 'Lyon' } }] });
    const response = await post(`${server.url}/chat/completions`, { model: 'gpt-x', stream: true, messages: [] });
    const chunks = events(response.text)
      .slice(0, -1)
      .map((block) => JSON.parse(block.data));
    const deltas = chunks.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? []);
    expect(deltas[0]).toEqual({ index: 0, id: 'call_1', type: 'function', function: { name: 'weather', arguments: '' } });
    expect(deltas.slice(1).every((delta: { index: number; id?: string }) => delta.index === 0 && delta.id === undefined)).toBe(true);
    expect(JSON.parse(deltas.map((delta: { function: { arguments: string } }) => delta.function.arguments).join(''))).toEqual({ city: 'Lyon' });
    expect(chunks.at(-1).choices[0].finish_reason).toBe('tool_calls');
  });

  it('answers errors in OpenAI’s body with retry-after, and refuses an unscripted request', async () => {
    await using server = await startScriptedOpenAiServer();
    server.push({ kind: 'http-error', status: 429, retryAfterSeconds: 2 });
    const limited = await post(`${server.url}/chat/completions`, { model: 'gpt-x', messages: [] });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('2');
    expect(JSON.parse(limited.text)).toMatchObject({ error: { type: 'requests', code: 'rate_limit_exceeded' } });
    const unscripted = await post(`${server.url}/chat/completions`, { model: 'gpt-x', messages: [{ role: 'user', content: 'hi' }] });
    expect(unscripted.status).toBe(400);
    expect(server.requests.map((request) => request.body)).toEqual([
      { model: 'gpt-x', messages: [] },
      { model: 'gpt-x', messages: [{ role: 'user', content: 'hi' }] },
    ]);
    expect((await post(`${server.url}/responses`, {})).status).toBe(404);
  });
});

describe('scripted Anthropic server', () => {
  it('streams the named events of the Messages API', async () => {
    await using server = await startScriptedAnthropicServer();
    server.push({ kind: 'tool-calls', text: ['Checking.'], calls: [{ id: 'toolu_1', name: 'weather', input: { city: 'Lyon' } }] });
    const response = await post(`${server.url}/messages`, { model: 'claude-x', stream: true, max_tokens: 100, messages: [] });
    const blocks = events(response.text);
    for (const block of blocks) expect(JSON.parse(block.data).type).toBe(block.event);
    expect(blocks.map((block) => block.event)).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    const data = blocks.map((block) => JSON.parse(block.data));
    expect(data[4]).toEqual({ type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'toolu_1', name: 'weather', input: {} } });
    expect(data[5].delta).toEqual({ type: 'input_json_delta', partial_json: '' });
    expect(JSON.parse(data.slice(5, 9).map((item) => item.delta.partial_json).join(''))).toEqual({ city: 'Lyon' });
    expect(data[10].delta.stop_reason).toBe('tool_use');
  });

  it('answers overloaded as Anthropic does: 529 and an error body, or an error event mid-stream', async () => {
    await using server = await startScriptedAnthropicServer();
    server.push({ kind: 'http-error', status: 529 }, { kind: 'stream-error', chunks: ['Par'] });
    const overloaded = await post(`${server.url}/messages`, { model: 'claude-x', messages: [] });
    expect(overloaded.status).toBe(529);
    expect(JSON.parse(overloaded.text)).toMatchObject({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
    const midStream = await post(`${server.url}/messages`, { model: 'claude-x', stream: true, messages: [] });
    expect(events(midStream.text).at(-1)).toEqual({ event: 'error', data: JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }) });
  });
});

describe('scripted Ollama server', () => {
  it('streams NDJSON lines ending with done, done_reason and eval counts', async () => {
    await using server = await startScriptedOllamaServer();
    server.push({ kind: 'text', chunks: ['Hi', ' there'] });
    const response = await post(`${server.url}/api/chat`, { model: 'llama3.1', messages: [] });
    expect(response.headers.get('content-type')).toBe('application/x-ndjson');
    const lines = response.text.trimEnd().split('\n').map((line) => JSON.parse(line));
    expect(lines.map((line) => line.message.content)).toEqual(['Hi', ' there', '']);
    expect(lines.at(-1)).toMatchObject({ done: true, done_reason: 'stop', prompt_eval_count: 12, eval_count: 7 });
  });
});

describe('test doubles stay out of the product', () => {
  it('no product file imports the scripted servers', () => {
    const root = path.resolve(import.meta.dirname, '../../../..');
    const offenders: string[] = [];
    const walk = (directory: string) => {
      for (const entry of fs.readdirSync(directory, { withFileTypes: true })) {
        const full = path.join(directory, entry.name);
        if (entry.isDirectory()) {
          if (!['node_modules', 'dist', 'test', 'e2e'].includes(entry.name)) walk(full);
          continue;
        }
        // Test files and contract suites (which run only under vitest) may use the doubles.
        if (!/\.tsx?$/.test(entry.name) || /\.test\.tsx?$/.test(entry.name) || /-contract\.ts$/.test(entry.name)) continue;
        const text = fs.readFileSync(full, 'utf8');
        if (/from\s+['"](?:@parley\/assistant\/test|[./]+\/test(?:\/index)?(?:\.js)?|[./]+\/test\/scripted-[\w-]+\.js)['"]/.test(text)) offenders.push(path.relative(root, full));
      }
    };
    for (const name of fs.readdirSync(path.join(root, 'packages'))) {
      const source = path.join(root, 'packages', name, 'src');
      if (fs.existsSync(source)) walk(source);
    }
    expect(offenders).toEqual([]);
  });
});
