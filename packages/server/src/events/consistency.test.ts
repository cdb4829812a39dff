import { type ConversationEvent, type ConversationEventType, ConversationEventSchema } from '@parley/protocol';
import { applyEvent, type ConversationState, fetchConversationState, unreadCount } from '@parley/sdk';
import { startFixtureApp, type FixtureApp } from '@parley/apps/test';
import { afterAll, describe, expect, it } from 'vitest';
import { messageId, startTestServer, type TestServer, type TestUser } from '../test/harness.js';

/**
 * [EL3] For every event type: a member's state, with the events the member received applied to
 * it, equals the state fetched again after the action.
 */

interface Scene {
  server: TestServer;
  ann: TestUser;
  bob: TestUser;
  carol: TestUser;
  group: string;
  firstMessage: string;
}

type Action = (scene: Scene) => Promise<unknown>;

const actions: Record<ConversationEventType, Action> = {
  'conversation-created': async ({ ann, bob }) =>
    ann.client.api.createConversation({ body: { kind: 'group', title: 'Second', usernames: [bob.user.username] } }),
  'conversation-updated': async ({ ann, group }) =>
    ann.client.api.updateConversation({
      params: { conversationId: group },
      body: { title: 'Renamed', assistant: { name: 'Sage', mode: 'mentions', talkativeness: 0.2 } },
    }),
  'member-added': async ({ bob, carol, group }) =>
    bob.client.api.addMember({ params: { conversationId: group }, body: { username: carol.user.username } }),
  'member-removed': async ({ ann, bob, carol, group }) => {
    await ann.client.api.addMember({ params: { conversationId: group }, body: { username: carol.user.username } });
    return bob.client.api.removeMember({ params: { conversationId: group, userId: carol.user.id } });
  },
  'member-left': async ({ bob, group }) => bob.client.api.leaveConversation({ params: { conversationId: group } }),
  'member-updated': async ({ bob }) => bob.client.api.updateMe({ body: { displayName: 'Robert B.' } }),
  'message-created': async ({ bob, group, ann }) =>
    bob.client.api.sendMessage({ params: { conversationId: group }, body: { id: messageId(), text: `hi @${ann.user.username}` } }),
  'message-edited': async ({ ann, group, firstMessage, bob }) =>
    ann.client.api.editMessage({ params: { conversationId: group, messageId: firstMessage }, body: { text: `now with @${bob.user.username}` } }),
  'message-deleted': async ({ ann, group, firstMessage }) =>
    ann.client.api.deleteMessage({ params: { conversationId: group, messageId: firstMessage } }),
  'reaction-added': async ({ bob, group, firstMessage }) =>
    bob.client.api.addReaction({ params: { conversationId: group, messageId: firstMessage, emoji: '🎉' } }),
  'reaction-removed': async ({ bob, group, firstMessage }) => {
    await bob.client.api.addReaction({ params: { conversationId: group, messageId: firstMessage, emoji: '🎉' } });
    return bob.client.api.removeReaction({ params: { conversationId: group, messageId: firstMessage, emoji: '🎉' } });
  },
  'read-marker-updated': async ({ ann, bob, group }) => {
    await bob.client.api.sendMessage({ params: { conversationId: group }, body: { id: messageId(), text: 'unread one' } });
    const view = await ann.client.api.getConversation({ params: { conversationId: group } });
    return ann.client.api.markRead({ params: { conversationId: group }, body: { seq: view.conversation.lastSeq } });
  },
  // [EL14]–[EL16]: once Ann blocked Bob, his reaction and his new profile take their places as placeholders.
  // The app events: Ann (the first account, an administrator) adds and approves the fixture app.
  'app-enabled': async ({ ann, bob, group }) => {
    const appId = await approvedApp(ann);
    return bob.client.api.setConversationApp({ params: { conversationId: group, appId }, body: { enabled: true } });
  },
  'app-disabled': async ({ ann, bob, group }) => {
    const appId = await approvedApp(ann);
    await ann.client.api.setConversationApp({ params: { conversationId: group, appId }, body: { enabled: true } });
    return bob.client.api.setConversationApp({ params: { conversationId: group, appId }, body: { enabled: false } });
  },
  'app-call-created': async ({ ann, bob, group }) => {
    const appId = await approvedApp(ann);
    await ann.client.api.setConversationApp({ params: { conversationId: group, appId }, body: { enabled: true } });
    return bob.client.api.callAppTool({ params: { conversationId: group, appId }, body: { id: messageId(), tool: 'refresh_card' } });
  },
  'app-call-updated': async ({ ann, server, group }) => {
    const appId = await approvedApp(ann);
    await ann.client.api.setConversationApp({ params: { conversationId: group, appId }, body: { enabled: true } });
    const trigger = await ann.client.api.sendMessage({ params: { conversationId: group }, body: { id: messageId(), text: '@assistant delete it' } });
    const turn = await server.assistant.client.api.startTurn({ params: { conversationId: group }, body: { id: messageId(), triggerMessageId: trigger.id } });
    const pending = await server.assistant.client.api.callAppTool({
      params: { conversationId: group, appId },
      body: { id: messageId(), tool: 'delete_note', arguments: '{"id":"n1"}', turnId: turn.id },
    });
    return ann.client.api.decideAppCall({ params: { conversationId: group, callId: pending.id }, body: { decision: 'deny' } });
  },
  'event-withheld': async ({ ann, bob, group, firstMessage }) => {
    await bob.client.api.removeReaction({ params: { conversationId: group, messageId: firstMessage, emoji: '👍' } });
    await ann.client.api.blockUser({ params: { userId: bob.user.id } });
    await bob.client.api.addReaction({ params: { conversationId: group, messageId: firstMessage, emoji: '🎉' } });
    return bob.client.api.updateMe({ body: { displayName: 'Robert, blocked' } });
  },
};

let fixtureApp: FixtureApp | undefined;
afterAll(async () => fixtureApp?.close());

async function approvedApp(admin: TestUser): Promise<string> {
  fixtureApp ??= await startFixtureApp();
  const added = await admin.client.api.createApp({ body: { name: 'Weather', url: fixtureApp.url } });
  await admin.client.api.reviewApp({ params: { appId: added.id }, body: { decision: 'approve', hash: added.listing!.hash } });
  return added.id;
}

function normalise(state: ConversationState): ConversationState {
  return { ...state, members: [...state.members].sort((a, b) => a.userId.localeCompare(b.userId)) };
}

describe('[EL3] event consistency', () => {
  it('has an action for every event type', () => {
    const types = ConversationEventSchema.options.map((option) => option.shape.type.value);
    expect(Object.keys(actions).sort()).toEqual([...types].sort());
  });

  for (const [type, action] of Object.entries(actions) as [ConversationEventType, Action][]) {
    it(`${type}: old state + received events = new state`, async () => {
      await using server = await startTestServer();
      const ann = await server.user();
      const bob = await server.user();
      const carol = await server.user();
      const view = await ann.client.api.createConversation({ body: { kind: 'group', title: 'First', usernames: [bob.user.username] } });
      const group = view.conversation.id;
      const first = await ann.client.api.sendMessage({ params: { conversationId: group }, body: { id: messageId(), text: 'first' } });
      await bob.client.api.addReaction({ params: { conversationId: group, messageId: first.id, emoji: '👍' } });
      const scene: Scene = { server, ann, bob, carol, group, firstMessage: first.id };

      const before = await fetchConversationState(ann.client, group);
      const stream = await server.connect(ann.client, { [group]: before.conversation.lastSeq });
      await action(scene);
      // Every event of the action has reached Ann once the log's end has.
      const ends = new Map<string, number>();
      for (const conversation of (await ann.client.api.listConversations()).conversations) {
        ends.set(conversation.conversation.id, conversation.conversation.lastSeq);
      }
      await stream.until((events) =>
        [...ends].every(([id, last]) => events.some((event) => event.conversationId === id && event.seq === last) || (id === group && last === before.conversation.lastSeq)),
      );
      const received = stream.events.filter((event) => event.type === type);
      expect(received.length, `received a ${type} event`).toBeGreaterThan(0);

      const byConversation = new Map<string, ConversationEvent[]>();
      for (const event of stream.events) byConversation.set(event.conversationId, [...(byConversation.get(event.conversationId) ?? []), event]);
      for (const [conversationId, events] of byConversation) {
        const start = conversationId === group ? before : (undefined as unknown as ConversationState);
        const applied = events.reduce((state, event) => applyEvent(state, event), start);
        const fetched = await fetchConversationState(ann.client, conversationId);
        expect(normalise(applied)).toEqual(normalise(fetched));
        const unread = (await ann.client.api.getConversation({ params: { conversationId } })).me.unreadCount;
        expect(unreadCount(applied, ann.user.id)).toBe(unread);
      }
    });
  }
});
