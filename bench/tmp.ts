import { startTestServer } from '@parley/server/test';
const server = await startTestServer({ database: 'postgres' });
const ann = await server.user();
const group = (await ann.client.api.createConversation({ body: { kind: 'group', title: 'x' } })).conversation.id;
const h = { authorization: `Bearer ${ann.client.token}`, 'content-type': 'application/json' };
const bot = { authorization: `Bearer ${server.assistant.token}`, 'content-type': 'application/json' };
for (const [m, p, b, hh] of [
  ['GET', `/api/conversations/${group}/messages?before=1e308`, undefined, h],
  ['GET', `/api/conversations/${group}/messages?before=9007199254740993`, undefined, h],
  ['GET', `/api/conversations/${group}/events?after=1e308`, undefined, h],
  ['GET', `/api/conversations/${group}/events?after=3000000000`, undefined, h],
  ['POST', `/api/conversations/${group}/read`, '{"seq":1e308}', h],
  ['POST', `/api/conversations/${group}/read`, '{"seq":3000000000}', h],
  ['PUT', `/api/conversations/${group}/assistant/summary`, '{"text":"x","uptoSeq":3000000000}', bot],
] as const) {
  const r = await fetch(server.url + p, { method: m, headers: hh, ...(b ? { body: b } : {}) });
  console.log(m, p.slice(40), r.status, (await r.text()).slice(0, 150));
}
await server[Symbol.asyncDispose]();
