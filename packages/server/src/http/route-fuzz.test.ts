import { type RouteDefinition, type RouteName, routes } from '@parley/protocol';
import fc from 'fast-check';
import { sql } from 'kysely';
import { startFixtureApp, type FixtureApp } from '@parley/apps/test';
import { describe, expect, it } from 'vitest';
import { encodeHostile, type Pool, valuesFor, wrongValue } from '../test/hostile-input.js';
import { messageId, startTestServer, type TestServer, type TestUser } from '../test/harness.js';
import { jsonBodyLimit } from './bind.js';

/**
 * [PB5] Drives every route of the route table with generated hostile params, queries and bodies
 * (derived from the route's zod schemas), as a person who is a member, one who is not, the bot
 * and nobody. Fails on any 5xx, on the node no longer answering, and on any change of the
 * database by a refused request. PARLEY_FUZZ_REQUESTS and PARLEY_FUZZ_SEED replay or widen it.
 */

const REQUESTS = Number(process.env.PARLEY_FUZZ_REQUESTS ?? 10_000);
/** Requests per world: each batch acts on a fresh world, so a member who left comes back. */
const BATCH = 500;
/** Requests in flight at once; a group whose every request was refused is compared with the database. */
const LANES = Number(process.env.PARLEY_FUZZ_LANES ?? 4);
const SEED = process.env.PARLEY_FUZZ_SEED === undefined ? undefined : Number(process.env.PARLEY_FUZZ_SEED);

type Actor = 'admin' | 'creator' | 'member' | 'stranger' | 'bot' | 'nobody' | 'malformed';

interface World {
  actors: Record<'admin' | 'creator' | 'member' | 'stranger', TestUser>;
  pool: Pool;
}

interface FuzzRequest {
  name: RouteName;
  actor: Actor;
  params: unknown;
  query: unknown;
  body: { kind: 'json'; value: unknown } | { kind: 'raw'; text: string; contentType: string } | { kind: 'none' };
}

/**
 * `admin` is the server's first account (an administrator) in every world; the fixture app is
 * added and approved anew in each, switched on in the group, with a call waiting for the creator.
 */
async function buildWorld(server: TestServer, admin: TestUser, fixture: FixtureApp): Promise<World> {
  const [creator, member, stranger] = [await server.user(), await server.user(), await server.user()];
  const bot = server.assistant;
  const group = (await creator.client.api.createConversation({ body: { kind: 'group', title: 'Fuzz', usernames: [member.user.username] } })).conversation.id;
  const direct = (await creator.client.api.createConversation({ body: { kind: 'direct', username: member.user.username } })).conversation.id;
  const chat = (await creator.client.api.createConversation({ body: { kind: 'assistant' } })).conversation.id;
  const attachment = await creator.client.api.uploadAttachment({
    query: { filename: 'notes.txt' },
    upload: { data: new TextEncoder().encode('notes'), contentType: 'text/plain' },
  });
  const message = await creator.client.api.sendMessage({ params: { conversationId: group }, body: { id: messageId(), text: 'hello @assistant' } });
  await creator.client.api.addReaction({ params: { conversationId: group, messageId: message.id, emoji: '👍' } });
  const invite = await creator.client.api.createInvite({ params: { conversationId: group }, body: {} });
  const turn = await bot.client.api.startTurn({ params: { conversationId: group }, body: { id: messageId(), triggerMessageId: message.id } });
  const memory = await creator.client.api.createMemory({ body: { text: 'likes tea' } });
  const app = await admin.client.api.createApp({ body: { name: 'Weather', url: fixture.url } });
  await admin.client.api.reviewApp({ params: { appId: app.id }, body: { decision: 'approve', hash: app.listing!.hash } });
  await creator.client.api.setConversationApp({ params: { conversationId: group, appId: app.id }, body: { enabled: true } });
  const call = await bot.client.api.callAppTool({
    params: { conversationId: group, appId: app.id },
    body: { id: messageId(), tool: 'delete_note', arguments: '{"id":"n1"}', turnId: turn.id },
  });
  const usernames = [creator, member, stranger].map((person) => person.user.username);
  const ids = Array.from({ length: 4 }, () => messageId());
  return {
    actors: { admin, creator, member, stranger },
    pool: {
      conversationId: [group, group, direct, chat, 'not-a-conversation'],
      messageId: [message.id, 'nomessage'],
      triggerMessageId: [message.id],
      replyToId: [message.id],
      turnId: [turn.id],
      inviteId: [invite.id],
      token: [invite.token ?? 'x'.repeat(43)],
      attachmentId: [attachment.id],
      attachmentIds: [attachment.id],
      memoryId: [memory.id],
      userId: [creator.user.id, member.user.id, stranger.user.id, bot.userId],
      username: usernames,
      usernames,
      teenUsername: usernames,
      emoji: ['👍', '😀', '🇫🇷'],
      id: ids,
      seq: [0, 1, 2],
      uptoSeq: [0, 1],
      text: ['hello', 'a fine text'],
      kind: ['group', 'assistant', 'direct'],
      appId: [app.id, app.id, 'noapp123'],
      callId: [call.id],
      tool: ['get_weather', 'delete_note', 'refresh_card'],
      arguments: ['{"city":"Oslo"}', '{"id":"n2"}', '{}'],
      hash: [app.listing!.hash],
      url: [fixture.url],
      name: ['Weather'],
    },
  };
}

const names = Object.keys(routes) as RouteName[];

/** Raw bodies no schema describes: broken, deep, prototype-polluting, or of another type. */
const rawBodies: fc.Arbitrary<{ kind: 'raw'; text: string; contentType: string }> = fc.oneof(
  fc.constantFrom(
    { text: '{"a":', contentType: 'application/json' },
    { text: '', contentType: 'application/json' },
    { text: 'null', contentType: 'application/json' },
    { text: '{"__proto__":{"polluted":true},"text":"x","id":"abcdefgh"}', contentType: 'application/json' },
    { text: '{"constructor":{"prototype":{"polluted":true}}}', contentType: 'application/json' },
    { text: 'text=hello', contentType: 'application/x-www-form-urlencoded' },
    { text: 'hello', contentType: 'text/plain' },
    { text: '{"text":"hello"}', contentType: 'application/json; charset=utf-16' },
    { text: '{"text":"\\ud800"}', contentType: 'application/json' },
    { text: '{"text":"a\\u0000b","id":"abcdefghij"}', contentType: 'application/json' },
  ),
  fc.integer({ min: 1000, max: 100_000 }).map((depth) => ({ text: '['.repeat(depth) + ']'.repeat(depth), contentType: 'application/json' })),
  fc.integer({ min: 1000, max: 50_000 }).map((depth) => ({ text: '{"a":'.repeat(depth) + '1' + '}'.repeat(depth), contentType: 'application/json' })),
  fc.integer({ min: 100, max: 20_000 }).map((depth) => ({
    text: '{"__proto__":'.repeat(depth) + '{}' + '}'.repeat(depth),
    contentType: 'application/json',
  })),
).map((raw) => ({ kind: 'raw' as const, ...raw }));

function requestsFor(world: World): fc.Arbitrary<FuzzRequest> {
  const { pool } = world;
  return fc.constantFrom(...names).chain((name) => {
    const route: RouteDefinition = routes[name];
    // Signing out would end the world's sessions: it is driven without a valid one.
    const actors: Actor[] = name === 'signOut' ? ['nobody', 'malformed'] : ['admin', 'creator', 'creator', 'member', 'stranger', 'bot', 'bot', 'nobody', 'malformed'];
    const body: fc.Arbitrary<FuzzRequest['body']> = route.body
      ? fc.oneof(
          // Strings reach just past the body limit: longer ones are refused the same way, at more cost to the test.
          { weight: 6, arbitrary: valuesFor(route.body, { pool, limit: jsonBodyLimit(route) + 1 }).map((value) => ({ kind: 'json' as const, value })) },
          { weight: 1, arbitrary: rawBodies },
        )
      : route.upload
        ? fc
            .tuple(fc.uint8Array({ maxLength: 256 }), fc.constantFrom(...route.upload.contentTypes, 'application/json', 'image/svg+xml'))
            .map(([bytes, contentType]) => ({ kind: 'raw' as const, text: Buffer.from(bytes).toString('latin1'), contentType }))
        : fc.oneof({ weight: 4, arbitrary: fc.constant({ kind: 'none' as const }) }, { weight: 1, arbitrary: wrongValue.map((value) => ({ kind: 'json' as const, value })) });
    return fc.record({
      name: fc.constant(name),
      actor: fc.constantFrom(...actors),
      params: route.params ? valuesFor(route.params, { pool, limit: 3000 }) : fc.constant(undefined),
      query: route.query ? valuesFor(route.query, { pool, limit: 3000 }) : fc.constant(undefined),
      body,
    });
  });
}

function segment(value: unknown): string {
  if (value === undefined) return '';
  return encodeHostile(typeof value === 'string' ? value : JSON.stringify(value) ?? String(value));
}

function urlOf(route: RouteDefinition, request: FuzzRequest): string {
  const params = (typeof request.params === 'object' && request.params !== null ? request.params : {}) as Record<string, unknown>;
  const path = route.path.replace(/:([A-Za-z]+)/g, (_match, name: string) => segment(params[name]));
  const query = typeof request.query === 'object' && request.query !== null ? Object.entries(request.query) : [];
  const parts: string[] = [];
  for (const [key, value] of query) {
    for (const one of Array.isArray(value) ? value : [value]) if (one !== undefined) parts.push(`${encodeHostile(key)}=${segment(one)}`);
  }
  return parts.length > 0 ? `${path}?${parts.join('&')}` : path;
}

function tokenOf(server: TestServer, world: World, actor: Actor): string | undefined {
  if (actor === 'bot') return server.assistant.token;
  if (actor === 'nobody' || actor === 'malformed') return undefined;
  return world.actors[actor].client.token;
}

/** A cheap fingerprint of the database: counts and high-water marks of the main tables. */
async function snapshot(server: TestServer): Promise<unknown> {
  const result = await sql<Record<string, unknown>>`select
    (select count(*) from users) as users,
    (select count(*) from sessions) as sessions,
    (select count(*) from blocks) as blocks,
    (select count(*) from guardian_links) as guardian_links,
    (select count(*) from conversations) as conversations,
    (select sum(last_seq) from conversations) as last_seqs,
    (select max(updated_at) from conversations) as conversations_updated,
    (select count(*) from members) as members,
    (select sum(last_read_seq) from members) as read_seqs,
    (select count(*) from messages) as messages,
    (select max(edited_at) from messages) as edited,
    (select max(deleted_at) from messages) as deleted,
    (select count(*) from reactions) as reactions,
    (select count(*) from attachments) as attachments,
    (select count(*) from invites) as invites,
    (select sum(uses) from invites) as invite_uses,
    (select max(revoked_at) from invites) as revoked,
    (select count(*) from events) as events,
    (select count(*) from assistant_turns) as turns,
    (select max(ended_at) from assistant_turns) as turns_ended,
    (select count(*) from assistant_decisions) as decisions,
    (select count(*) from memories) as memories,
    (select max(updated_at) from memories) as memories_updated,
    (select max(updated_at) from user_instructions) as instructions_updated,
    (select max(updated_at) from conversation_summaries) as summaries_updated,
    (select count(*) from apps) as apps,
    (select max(updated_at) from apps) as apps_updated,
    (select count(*) from conversation_apps) as conversation_apps,
    (select count(*) from app_calls) as app_calls,
    (select max(decided_at) from app_calls) as app_calls_decided,
    (select count(*) from app_call_grants) as app_call_grants`.execute(server.server.context.storage.reader);
  return result.rows[0];
}

interface Answer {
  status: number;
  code: string | undefined;
  text: string;
}

async function send(server: TestServer, world: World, request: FuzzRequest): Promise<Answer> {
  const route: RouteDefinition = routes[request.name];
  const headers: Record<string, string> = {};
  const token = tokenOf(server, world, request.actor);
  if (token) headers.authorization = `Bearer ${token}`;
  if (request.actor === 'malformed') headers.authorization = 'Bearer \u00ff not a token';
  let body: string | Buffer | undefined;
  if (request.body.kind === 'json') {
    body = JSON.stringify(request.body.value);
    if (body !== undefined) headers['content-type'] = 'application/json';
  } else if (request.body.kind === 'raw') {
    body = route.upload ? Buffer.from(request.body.text, 'latin1') : request.body.text;
    headers['content-type'] = request.body.contentType;
  }
  const response = await fetch(server.url + urlOf(route, request), {
    method: route.method,
    headers,
    ...(body !== undefined && route.method !== 'GET' ? { body } : {}),
  });
  const text = await response.text();
  let code: string | undefined;
  if (response.status >= 400 && route.response === 'redirect' && response.headers.get('content-type')?.startsWith('text/html')) {
    // A route a browser lands on refuses with a page (apps/SPEC.md [AP24]): its reason stands for the code.
    code = /data-reason="([a-z-]+)"/.exec(text)?.[1];
  } else if (response.status >= 400) {
    try {
      const parsed = JSON.parse(text) as { error?: { code?: unknown } };
      code = typeof parsed.error?.code === 'string' ? parsed.error.code : undefined;
    } catch {
      // Not the one error shape: the assertion below shows the text.
    }
  }
  return { status: response.status, code, text };
}

function describeRequest(request: FuzzRequest): string {
  const shown = JSON.stringify(request, (_key, value: unknown) => (typeof value === 'string' && value.length > 200 ? `${value.slice(0, 200)}…(${value.length})` : value));
  return shown.length > 600 ? `${shown.slice(0, 600)}…(${shown.length})` : shown;
}

/** Sends a request; a body past the route's limit may be cut off while it is still sent, which is a refusal too. */
async function attempt(server: TestServer, world: World, request: FuzzRequest): Promise<Answer | 'cut off'> {
  const route: RouteDefinition = routes[request.name];
  try {
    return await send(server, world, request);
  } catch (error) {
    const size = request.body.kind === 'none' ? 0 : Buffer.byteLength(request.body.kind === 'json' ? (JSON.stringify(request.body.value) ?? '') : request.body.text);
    if (!route.upload && size > jsonBodyLimit(route)) return 'cut off';
    throw error;
  }
}

describe('route fuzz', () => {
  it(`[PB5] ${REQUESTS} hostile requests over every route: never a 5xx or a crash, and a refused request changes nothing`, async () => {
    await using server = await startTestServer({
      config: {
        loginThrottle: { perUsername: 1_000_000, perAddress: 1_000_000, windowSeconds: 60 },
        floodLimit: { burst: 1_000_000, perMinute: 1_000_000 },
        // A turn left streaming would be ended by the server mid-run, a change no request made.
        assistantTurnTimeoutMs: 3_600_000,
        // A generated URL that is valid but leads nowhere is given up on soon.
        appTimeoutMs: 2000,
      },
    });
    await using fixture = await startFixtureApp();
    const admin = await server.user();
    const started = performance.now();
    const statuses = new Map<number | 'cut off', number>();
    const routesSeen = new Set<RouteName>();
    let refused = 0;
    let refusedAndCompared = 0;
    let sent = 0;
    const firstSeed = SEED ?? Math.floor(Math.random() * 2 ** 31);
    let seed = firstSeed;
    while (sent < REQUESTS) {
      const world = await buildWorld(server, admin, fixture);
      let before = await snapshot(server);
      const runs = Math.ceil(Math.min(BATCH, REQUESTS - sent) / LANES);
      await fc.assert(
        fc.asyncProperty(fc.array(requestsFor(world), { minLength: LANES, maxLength: LANES }), async (requests) => {
          const answers = await Promise.all(requests.map((request) => attempt(server, world, request)));
          const after = await snapshot(server);
          let allRefused = true;
          for (const [index, request] of requests.entries()) {
            const answer = answers[index]!;
            routesSeen.add(request.name);
            if (answer === 'cut off') {
              statuses.set(answer, (statuses.get(answer) ?? 0) + 1);
              continue;
            }
            statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
            expect(answer.status, `${answer.text.slice(0, 300)} for ${describeRequest(request)}`).toBeLessThan(500);
            if (answer.status >= 400) {
              expect(answer.code, `${answer.status} ${answer.text.slice(0, 300)} for ${describeRequest(request)}`).toBeTypeOf('string');
            } else {
              allRefused = false;
            }
          }
          // Batch-wise: when every request of the group was refused, the database must not have moved.
          const refusals = answers.filter((answer) => answer === 'cut off' || answer.status >= 400).length;
          refused += refusals;
          if (allRefused) {
            refusedAndCompared += refusals;
            expect(after, `a refused request changed the database: ${requests.map(describeRequest).join('\n')}`).toEqual(before);
          }
          before = after;
        }),
        { numRuns: runs, seed, endOnFailure: true },
      );
      sent += runs * LANES;
      seed += 1;
      const health = await fetch(`${server.url}/api/health`);
      expect(health.status).toBe(200);
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `route fuzz on ${server.server.context.config.databaseUrl ? 'postgres' : 'sqlite'} (seed ${firstSeed}): ${sent} requests in ${seconds.toFixed(1)} s, ` +
        `${refused} refused (${refusedAndCompared} in groups compared with the database); statuses ${JSON.stringify(Object.fromEntries([...statuses]))}`,
    );
    expect(routesSeen.size).toBe(names.length);
    // Some requests must get through, or the fuzz only tests the front door.
    expect(sent - refused).toBeGreaterThan(REQUESTS / 50);
    expect(refusedAndCompared).toBeGreaterThan(refused / 2);
  }, 600_000);
});
