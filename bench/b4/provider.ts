/**
 * B4's model provider, in its own process: the assistant package's scripted OpenAI server
 * (`startScriptedOpenAiServer`, SSE chat completions) streaming `tokens` tokens `intervalMs`
 * apart. Each token's text names its stream and its index (`t<key>_<index> `); the moment each
 * one is handed to the socket is stamped on the machine's monotonic clock, kept in a side table
 * and sent to the parent on request. Driven over IPC by ../b4-assistant-relay.ts.
 */
import http from 'node:http';
import { startScriptedOpenAiServer } from '@parley/assistant/test';
import { type ProviderReply, type ProviderRequest, TOKEN_PATTERN, monotonicMs, tokenText } from './wire.js';

const stamps = new Map<number, Float64Array>();
let tokensPerStream = 0;

// The scripted server writes each chunk with `response.write`: stamp the tokens a write carries
// just before it reaches the socket. Only this process is patched, and only to read.
const write = http.ServerResponse.prototype.write;
http.ServerResponse.prototype.write = function stampedWrite(this: http.ServerResponse, chunk: unknown, ...rest: unknown[]) {
  if (typeof chunk === 'string' && chunk.includes('"content":"t')) {
    const at = monotonicMs();
    for (const match of chunk.matchAll(TOKEN_PATTERN)) {
      const sent = stamps.get(Number(match[1]));
      const index = Number(match[2]);
      if (sent && index < sent.length && Number.isNaN(sent[index] ?? 0)) sent[index] = at;
    }
  }
  return (write as (...parameters: unknown[]) => boolean).call(this, chunk, ...rest);
} as typeof write;

const model = await startScriptedOpenAiServer();

function reply(message: ProviderReply): void {
  process.send?.(message);
}

process.on('message', (message: ProviderRequest) => {
  switch (message.type) {
    case 'queue': {
      tokensPerStream = message.tokens;
      for (const key of message.keys) {
        stamps.set(key, new Float64Array(message.tokens).fill(Number.NaN));
        model.push({
          kind: 'text',
          chunks: Array.from({ length: message.tokens }, (_, index) => ({ text: tokenText(key, index), delayMs: message.intervalMs })),
        });
      }
      reply({ type: 'queued', pending: model.pending });
      return;
    }
    case 'stamps': {
      const keys = [...stamps.keys()];
      const sent = new Float64Array(keys.length * tokensPerStream);
      keys.forEach((key, row) => sent.set(stamps.get(key) ?? [], row * tokensPerStream));
      stamps.clear();
      reply({ type: 'stamps', keys, tokens: tokensPerStream, sent, pending: model.pending, requests: model.requests.length });
      return;
    }
    case 'close':
      void model.close().then(() => process.exit(0));
      return;
  }
});

reply({ type: 'ready', url: model.url });
