import { monotonicMs } from './wire.js';

export const PROMPT = 'Tell us something about Lisbon?';

/**
 * Reads one streamed chat completion with the least a client can do: fetch, split the SSE events,
 * JSON.parse each, and hand on each piece of text with the moment its bytes arrived.
 */
export async function readRaw(providerUrl: string, onText: (text: string, at: number) => void): Promise<void> {
  const response = await fetch(`${providerUrl}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer bench-key' },
    body: JSON.stringify({ model: 'scripted', stream: true, messages: [{ role: 'user', content: PROMPT }] }),
  });
  if (!response.ok || !response.body) throw new Error(`provider answered ${response.status}`);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    const at = monotonicMs();
    buffer += decoder.decode(value, { stream: true });
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (!event.startsWith('data: ') || event === 'data: [DONE]') continue;
      const chunk = JSON.parse(event.slice(6)) as { choices?: Array<{ delta?: { content?: unknown } }> };
      const content = chunk.choices?.[0]?.delta?.content;
      if (typeof content === 'string' && content !== '') onText(content, at);
    }
  }
}
