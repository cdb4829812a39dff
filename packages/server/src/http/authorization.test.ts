import { type RouteDefinition, type RouteName, routes } from '@parley/protocol';
import type { ParleyClient } from '@parley/sdk';
import { startFixtureApp, type FixtureApp } from '@parley/apps/test';
import { afterAll, describe, expect, it } from 'vitest';
import { messageId, startTestServer, type TestServer, type TestUser } from '../test/harness.js';

/**
 * Walks every endpoint that concerns one conversation as a non-member, a removed member and
 * without credentials, and sends malformed, oversized and wrongly typed payloads to every
 * endpoint: each must be refused with a clear 4xx and change nothing.
 */

interface World {
  server: TestServer;
  ann: TestUser;
  bob: TestUser;
  group: string;
  messageId: string;
  inviteId: string;
  attachmentId: string;
  /** An answer the assistant is streaming in the group. */
  turnId: string;
  /** The fixture app, approved by Ann (the first account: an administrator) and switched on in the group. */
  appId: string;
  /** A call of its write tool, waiting for Ann's confirmation. */
  callId: string;
}

let fixtureApp: FixtureApp | undefined;
afterAll(async () => fixtureApp?.close());

async function buildWorld(server: TestServer): Promise<World> {
  const ann = await server.user();
  const bob = await server.user();
  const view = await ann.client.api.createConversation({ body: { kind: 'group', title: 'Walk', usernames: [bob.user.username] } });
  const group = view.conversation.id;
  const attachment = await ann.client.api.uploadAttachment({
    query: { filename: 'notes.txt' },
    upload: { data: new TextEncoder().encode('private notes'), contentType: 'text/plain' },
  });
  const message = await ann.client.api.sendMessage({
    params: { conversationId: group },
    body: { id: messageId(), text: 'hello', attachmentIds: [attachment.id] },
  });
  const invite = await ann.client.api.createInvite({ params: { conversationId: group }, body: {} });
  const turn = await server.assistant.client.api.startTurn({ params: { conversationId: group }, body: { id: messageId(), triggerMessageId: message.id } });
  fixtureApp ??= await startFixtureApp();
  const added = await ann.client.api.createApp({ body: { name: 'Weather', url: fixtureApp.url } });
  await ann.client.api.reviewApp({ params: { appId: added.id }, body: { decision: 'approve', hash: added.listing!.hash } });
  await ann.client.api.setConversationApp({ params: { conversationId: group, appId: added.id }, body: { enabled: true } });
  const call = await server.assistant.client.api.callAppTool({
    params: { conversationId: group, appId: added.id },
    body: { id: messageId(), tool: 'delete_note', arguments: '{"id":"n1"}', turnId: turn.id },
  });
  return { server, ann, bob, group, messageId: message.id, inviteId: invite.id, attachmentId: attachment.id, turnId: turn.id, appId: added.id, callId: call.id };
}

/** A valid call of each endpoint that concerns the world's group. */
function conversationCalls(world: World): Partial<Record<RouteName, (client: ParleyClient) => Promise<unknown>>> {
  const conversationId = world.group;
  const message = { conversationId, messageId: world.messageId };
  const turn = { conversationId, turnId: world.turnId };
  return {
    getConversation: (client) => client.api.getConversation({ params: { conversationId } }),
    updateConversation: (client) => client.api.updateConversation({ params: { conversationId }, body: { title: 'Taken over' } }),
    forkConversation: (client) => client.api.forkConversation({ params: { conversationId }, body: {} }),
    listEvents: (client) => client.api.listEvents({ params: { conversationId } }),
    listMembers: (client) => client.api.listMembers({ params: { conversationId } }),
    addMember: (client) => client.api.addMember({ params: { conversationId }, body: { username: world.bob.user.username } }),
    removeMember: (client) => client.api.removeMember({ params: { conversationId, userId: world.bob.user.id } }),
    leaveConversation: (client) => client.api.leaveConversation({ params: { conversationId } }),
    updateMySettings: (client) => client.api.updateMySettings({ params: { conversationId }, body: { notifications: 'muted' } }),
    markRead: (client) => client.api.markRead({ params: { conversationId }, body: { seq: 1 } }),
    sendTyping: (client) => client.api.sendTyping({ params: { conversationId } }),
    listInvites: (client) => client.api.listInvites({ params: { conversationId } }),
    createInvite: (client) => client.api.createInvite({ params: { conversationId }, body: {} }),
    revokeInvite: (client) => client.api.revokeInvite({ params: { conversationId, inviteId: world.inviteId } }),
    listMessages: (client) => client.api.listMessages({ params: { conversationId } }),
    sendMessage: (client) => client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text: 'intrusion' } }),
    editMessage: (client) => client.api.editMessage({ params: message, body: { text: 'edited by a stranger' } }),
    deleteMessage: (client) => client.api.deleteMessage({ params: message }),
    addReaction: (client) => client.api.addReaction({ params: { ...message, emoji: '👍' } }),
    removeReaction: (client) => client.api.removeReaction({ params: { ...message, emoji: '👍' } }),
    getAttachment: (client) => client.api.getAttachment({ params: { attachmentId: world.attachmentId } }),
    listTurns: (client) => client.api.listTurns({ params: { conversationId } }),
    getTurn: (client) => client.api.getTurn({ params: { conversationId, turnId: world.turnId } }),
    startTurn: (client) => client.api.startTurn({ params: { conversationId }, body: { id: messageId() } }),
    appendTurnDelta: (client) => client.api.appendTurnDelta({ params: turn, body: { text: 'intrusion' } }),
    endTurn: (client) => client.api.endTurn({ params: turn, body: { status: 'completed', text: 'taken over' } }),
    stopTurn: (client) => client.api.stopTurn({ params: turn }),
    listDecisions: (client) => client.api.listDecisions({ params: { conversationId } }),
    recordDecision: (client) =>
      client.api.recordDecision({ params: { conversationId }, body: { messageId: world.messageId, action: 'silent', reason: 'intrusion' } }),
    getAssistantContext: (client) => client.api.getAssistantContext({ params: { conversationId } }),
    saveSummary: (client) => client.api.saveSummary({ params: { conversationId }, body: { text: 'rewritten', uptoSeq: 1 } }),
    rememberForOwner: (client) => client.api.rememberForOwner({ params: { conversationId }, body: { text: 'a false memory' } }),
    listConversationApps: (client) => client.api.listConversationApps({ params: { conversationId } }),
    setConversationApp: (client) => client.api.setConversationApp({ params: { conversationId, appId: world.appId }, body: { enabled: false } }),
    callAppTool: (client) =>
      client.api.callAppTool({ params: { conversationId, appId: world.appId }, body: { id: messageId(), tool: 'get_weather', arguments: '{"city":"Oslo"}' } }),
    listAppCalls: (client) => client.api.listAppCalls({ params: { conversationId } }),
    getAppCall: (client) => client.api.getAppCall({ params: { conversationId, callId: world.callId } }),
    decideAppCall: (client) => client.api.decideAppCall({ params: { conversationId, callId: world.callId }, body: { decision: 'approve-once' } }),
    openWidget: (client) => client.api.openWidget({ params: { conversationId, callId: world.callId } }),
  };
}

async function snapshot(world: World): Promise<unknown> {
  const view = await world.ann.client.api.getConversation({ params: { conversationId: world.group } });
  const messages = await world.ann.client.api.listMessages({ params: { conversationId: world.group } });
  const invites = await world.ann.client.api.listInvites({ params: { conversationId: world.group } });
  const turns = await world.ann.client.api.listTurns({ params: { conversationId: world.group } });
  const decisions = await world.ann.client.api.listDecisions({ params: { conversationId: world.group } });
  const apps = await world.ann.client.api.listConversationApps({ params: { conversationId: world.group } });
  const calls = await world.ann.client.api.listAppCalls({ params: { conversationId: world.group } });
  return { conversation: view.conversation, members: view.members, messages, invites, turns, decisions, apps, calls };
}

/**
 * What a person who is not a member gets: NOT_FOUND, as if the conversation did not exist; on a
 * bot-only route FORBIDDEN, whatever the conversation, since the caller is refused first [AS3].
 */
function refusalOfPerson(name: RouteName): { code: string; status: number } {
  const route: RouteDefinition = routes[name];
  return route.caller === 'bot' ? { code: 'FORBIDDEN', status: 403 } : { code: 'NOT_FOUND', status: 404 };
}

async function refusal(call: Promise<unknown>): Promise<{ code: string; status: number }> {
  try {
    await call;
  } catch (error) {
    const { code, status } = error as { code: string; status: number };
    return { code, status };
  }
  return { code: 'ACCEPTED', status: 200 };
}

describe('authorisation walk', () => {
  it('covers every endpoint that takes a conversation or one of its parts', () => {
    const world = { group: 'g', messageId: 'm', inviteId: 'i', attachmentId: 'a', turnId: 't', appId: 'p', callId: 'c' } as unknown as World;
    const covered = Object.keys(conversationCalls(world));
    const expected = (Object.keys(routes) as RouteName[]).filter((name) => {
      const path: string = routes[name].path;
      return path.includes(':conversationId') || path.includes(':attachmentId');
    });
    expect(covered.sort()).toEqual(expected.sort());
  });

  it('refuses a non-member on every conversation endpoint, and nothing changes', async () => {
    await using server = await startTestServer();
    const world = await buildWorld(server);
    const stranger = await server.user();
    const before = await snapshot(world);
    for (const [name, call] of Object.entries(conversationCalls(world))) {
      const result = await refusal(call(stranger.client));
      expect(result, name).toEqual(refusalOfPerson(name as RouteName));
    }
    expect(await snapshot(world)).toEqual(before);
  });

  it('refuses a removed member on every conversation endpoint, and nothing changes', async () => {
    await using server = await startTestServer();
    const world = await buildWorld(server);
    const carol = await server.user();
    await world.ann.client.api.addMember({ params: { conversationId: world.group }, body: { username: carol.user.username } });
    await world.ann.client.api.removeMember({ params: { conversationId: world.group, userId: carol.user.id } });
    const before = await snapshot(world);
    for (const [name, call] of Object.entries(conversationCalls(world))) {
      const result = await refusal(call(carol.client));
      expect(result, name).toEqual(refusalOfPerson(name as RouteName));
    }
    expect(await snapshot(world)).toEqual(before);
  });

  it('refuses every endpoint that needs a session when there is none', async () => {
    await using server = await startTestServer();
    for (const [name, route] of Object.entries(routes) as [string, RouteDefinition][]) {
      if (route.auth !== 'required') continue;
      const path = route.path.replace(/:(\w+)/g, 'abcdefgh');
      const response = await fetch(server.url + path, {
        method: route.method,
        headers: route.body ? { 'content-type': 'application/json' } : {},
        ...(route.body ? { body: '{}' } : {}),
      });
      expect(response.status, name).toBe(401);
      if (route.response === 'redirect') {
        // A route a browser lands on answers a page to a caller that does not ask for JSON (apps/SPEC.md [AP24]).
        expect(await response.text(), name).toContain('data-reason="signed-out"');
      } else {
        expect(((await response.json()) as { error: { code: string } }).error.code, name).toBe('UNAUTHENTICATED');
      }
    }
  });

  it('[AP1] refuses every admin endpoint to a person who is not an administrator and to the assistant, before reading the body, and nothing changes', async () => {
    await using server = await startTestServer();
    const world = await buildWorld(server);
    const before = await snapshot(world);
    const directory = await world.ann.client.api.listAdminApps();
    const adminRoutes = (Object.entries(routes) as [string, RouteDefinition][]).filter(([, route]) => route.caller === 'admin');
    expect(adminRoutes.length).toBeGreaterThan(0);
    for (const token of [world.bob.client.token, server.assistant.token]) {
      for (const [name, route] of adminRoutes) {
        const path = route.path.replace(':appId', world.appId);
        const response = await fetch(server.url + path, {
          method: route.method,
          headers: { authorization: `Bearer ${token}`, ...(route.body ? { 'content-type': 'application/json' } : {}) },
          // Oversized: refused for the caller before the body is read [PB4].
          ...(route.body ? { body: JSON.stringify({ name: 'x'.repeat(300 * 1024) }) } : {}),
        });
        expect(response.status, name).toBe(403);
        expect(((await response.json()) as { error: { code: string } }).error.code, name).toBe('FORBIDDEN');
      }
    }
    expect(await world.ann.client.api.listAdminApps()).toEqual(directory);
    expect(await snapshot(world)).toEqual(before);
  });

  it('refuses what a blocked account may not do', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const mallory = await server.user();
    const dm = await ann.client.api.createConversation({ body: { kind: 'direct', username: mallory.user.username } });
    await ann.client.api.blockUser({ params: { userId: mallory.user.id } });
    const group = await ann.client.api.createConversation({ body: { kind: 'group', title: 'Mine' } });
    const other = await mallory.client.api.createConversation({ body: { kind: 'group', title: 'Theirs' } });
    const dmBefore = await ann.client.api.listMessages({ params: { conversationId: dm.conversation.id } });

    expect(await refusal(mallory.client.api.createConversation({ body: { kind: 'direct', username: ann.user.username } }))).toEqual({ code: 'BLOCKED', status: 403 });
    expect(
      await refusal(mallory.client.api.sendMessage({ params: { conversationId: dm.conversation.id }, body: { id: messageId(), text: 'hi' } })),
    ).toEqual({ code: 'BLOCKED', status: 403 });
    expect(
      await refusal(mallory.client.api.addMember({ params: { conversationId: other.conversation.id }, body: { username: ann.user.username } })),
    ).toEqual({ code: 'BLOCKED', status: 403 });
    expect(
      await refusal(mallory.client.api.createConversation({ body: { kind: 'group', usernames: [ann.user.username] } })),
    ).toEqual({ code: 'BLOCKED', status: 403 });
    // Mallory is not in Ann's group and cannot see it.
    expect(await refusal(mallory.client.api.getConversation({ params: { conversationId: group.conversation.id } }))).toEqual({
      code: 'NOT_FOUND',
      status: 404,
    });
    expect(await ann.client.api.listMessages({ params: { conversationId: dm.conversation.id } })).toEqual(dmBefore);
    const view = await mallory.client.api.getConversation({ params: { conversationId: other.conversation.id } });
    expect(view.members.map((member) => member.userId)).toEqual([mallory.user.id, server.assistant.userId]);
  });
});

describe('malformed input', () => {
  async function raw(server: TestServer, token: string | undefined, method: string, path: string, body: string | Buffer | undefined, contentType = 'application/json') {
    const response = await fetch(server.url + path, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': contentType } : {}) },
      ...(body !== undefined ? { body } : {}),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as { error?: { code: string; field?: string } }) : {} };
  }

  it('answers every JSON endpoint with 4xx for wrong types, non-objects, wrong content types and oversized bodies, and nothing changes', async () => {
    await using server = await startTestServer();
    const world = await buildWorld(server);
    const token = world.ann.client.token;
    const before = await snapshot(world);
    const fill = (path: string) =>
      path
        .replace(':conversationId', world.group)
        .replace(':messageId', world.messageId)
        .replace(':inviteId', world.inviteId)
        .replace(':userId', world.bob.user.id)
        .replace(':attachmentId', world.attachmentId)
        .replace(':emoji', encodeURIComponent('👍'))
        .replace(':linkId', 'nolink12')
        .replace(':token', 'x'.repeat(43))
        .replace(':username', world.bob.user.username)
        .replace(':avatarId', 'noavatar')
        .replace(':turnId', world.turnId)
        .replace(':memoryId', 'nomemory')
        .replace(':appId', world.appId)
        .replace(':callId', world.callId);
    for (const [name, route] of Object.entries(routes) as [string, RouteDefinition][]) {
      if (!route.body || name === 'signOut') continue;
      const path = fill(route.path);
      for (const [label, body, type] of [
        ['array', '[1,2,3]', 'application/json'],
        ['string', '"text"', 'application/json'],
        ['broken JSON', '{"a":', 'application/json'],
        ['wrong types', JSON.stringify({ id: 42, text: 7, title: [], username: {}, seq: 'x', notifications: 3, password: 1, code: 5, groupChatsAllowed: 'yes', kind: 'nope', maxUses: 'many', acknowledgeBlocked: 'sure', teenUsername: 9 }), 'application/json'],
        ['text/plain', 'hello', 'text/plain'],
        ['oversized', JSON.stringify({ text: 'x'.repeat(300 * 1024) }), 'application/json'],
      ] as const) {
        const result = await raw(server, token, route.method, path, body, type);
        expect(result.status, `${name} with ${label}`).toBeGreaterThanOrEqual(400);
        expect(result.status, `${name} with ${label}`).toBeLessThan(500);
        expect(typeof result.body.error?.code, `${name} with ${label}`).toBe('string');
        // A person is refused on a bot-only route before the body is read, whatever its size [AS3].
        if (label === 'oversized') expect(result.status, name).toBe(route.caller === 'bot' ? 403 : 413);
        if (label === 'wrong types' && result.body.error?.code === 'INVALID_INPUT') {
          expect(result.body.error.field, `${name} names the field`).toMatch(/^body/);
        }
      }
    }
    expect(await snapshot(world)).toEqual(before);
  });

  it('names the malformed path parameter', async () => {
    await using server = await startTestServer();
    const world = await buildWorld(server);
    const result = await raw(server, world.ann.client.token, 'GET', '/api/conversations/not%20an%20id/messages', undefined);
    expect(result.status).toBe(400);
    expect(result.body.error).toMatchObject({ code: 'INVALID_INPUT', field: 'params.conversationId' });
    const query = await raw(server, world.ann.client.token, 'GET', `/api/conversations/${world.group}/messages?limit=100000`, undefined);
    expect(query.status).toBe(400);
    expect(query.body.error).toMatchObject({ code: 'INVALID_INPUT', field: 'query.limit' });
  });
});
