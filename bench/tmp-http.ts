import { startTestServer } from '@parley/server/test';
const server = await startTestServer();
const ann = await server.user();
for (const n of [1000, 10000, 30000]) {
  for (const kind of ['a', '😀']) {
    const emoji = kind.repeat(n / kind.length);
    const start = performance.now();
    const response = await fetch(server.url + '/api/conversations/not-a-conversation/assistant/decisions', {
      method: 'POST', headers: { authorization: `Bearer ${ann.client.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messageId: 'x', action: 'react', reason: 'x', emoji }),
    });
    const text = await response.text();
    console.log(kind, n, response.status, text.slice(0, 120), (performance.now() - start).toFixed(1), 'ms', (process.memoryUsage().rss / 2**20).toFixed(0), 'MB');
  }
}
await server[Symbol.asyncDispose]();
