import { startTestServer } from '@parley/server/test';
const server = await startTestServer();
const ann = await server.user();
for (const [label, path, init] of [
  ['health', '/api/health', {}],
  ['me', '/api/me', { headers: { authorization: `Bearer ${ann.client.token}` } }],
  ['bad body', '/api/me/memories', { method: 'POST', headers: { authorization: `Bearer ${ann.client.token}`, 'content-type': 'application/json' }, body: '{"text":7}' }],
  ['big body', '/api/me/memories', { method: 'POST', headers: { authorization: `Bearer ${ann.client.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ text: 'x'.repeat(100000) }) }],
] as const) {
  const start = performance.now();
  for (let i = 0; i < 300; i++) { const r = await fetch(server.url + path, init as RequestInit); await r.text(); }
  console.log(label, ((performance.now() - start) / 300).toFixed(2), 'ms per request', os());
}
function os() { return (globalThis as any).process.cpuUsage().user / 1e6; }
await server[Symbol.asyncDispose]();
