import type { AppCall, Conversation, ConversationEvent, EnabledApp, Member, Message } from '@parley/protocol';

/** What a member holds of one conversation, kept current by applying its events in order. */
export interface ConversationState {
  conversation: Conversation;
  members: Member[];
  /** In sequence order. */
  messages: Message[];
  /** The apps switched on, oldest first. */
  apps: EnabledApp[];
  /** Tool calls of apps, oldest first: pending ones are confirmation cards. */
  appCalls: AppCall[];
}

function updateMessage(state: ConversationState, messageId: string, change: (message: Message) => Message): ConversationState {
  return { ...state, messages: state.messages.map((message) => (message.id === messageId ? change(message) : message)) };
}

/**
 * Applies one event to a state: the same result as fetching the state again after the event.
 * Pure; the state passed in is not changed.
 */
export function applyEvent(state: ConversationState, event: ConversationEvent): ConversationState {
  const next = applyChange(state, event);
  return { ...next, conversation: { ...next.conversation, lastSeq: Math.max(next.conversation.lastSeq, event.seq) } };
}

function applyChange(state: ConversationState, event: ConversationEvent): ConversationState {
  switch (event.type) {
    case 'conversation-created':
      return { conversation: event.conversation, members: event.members, messages: [], apps: [], appCalls: [] };
    case 'conversation-updated':
      return {
        ...state,
        conversation: {
          ...state.conversation,
          ...(event.title !== undefined ? { title: event.title } : {}),
          ...(event.assistant !== undefined ? { assistant: event.assistant } : {}),
        },
      };
    case 'member-added':
      return { ...state, members: [...state.members.filter((member) => member.userId !== event.member.userId), event.member] };
    case 'member-removed':
    case 'member-left':
      return { ...state, members: state.members.filter((member) => member.userId !== event.userId) };
    case 'member-updated':
      return { ...state, members: state.members.map((member) => (member.userId === event.user.id ? { ...member, user: event.user } : member)) };
    case 'message-created':
      if (state.messages.some((message) => message.id === event.message.id)) return state;
      return { ...state, messages: [...state.messages, event.message] };
    case 'message-edited':
      return updateMessage(state, event.messageId, (message) => ({
        ...message,
        text: event.text,
        mentions: event.mentions,
        editedAt: event.editedAt,
      }));
    case 'message-deleted':
      return updateMessage(state, event.messageId, (message) => ({
        ...message,
        text: '',
        mentions: [],
        attachments: [],
        reactions: [],
        deletedAt: event.deletedAt,
      }));
    case 'reaction-added':
      return updateMessage(state, event.messageId, (message) => {
        const existing = message.reactions.find((reaction) => reaction.emoji === event.emoji);
        if (existing?.userIds.includes(event.userId)) return message;
        const reactions = existing
          ? message.reactions.map((reaction) =>
              reaction.emoji === event.emoji ? { ...reaction, userIds: [...reaction.userIds, event.userId] } : reaction,
            )
          : [...message.reactions, { emoji: event.emoji, userIds: [event.userId] }];
        return { ...message, reactions };
      });
    case 'reaction-removed':
      return updateMessage(state, event.messageId, (message) => ({ ...message, reactions: event.reactions }));
    case 'read-marker-updated':
      return {
        ...state,
        members: state.members.map((member) => (member.userId === event.userId ? { ...member, lastReadSeq: event.lastReadSeq } : member)),
      };
    case 'app-enabled':
      return { ...state, apps: [...state.apps.filter((app) => app.appId !== event.app.appId), event.app] };
    case 'app-disabled':
      return { ...state, apps: state.apps.filter((app) => app.appId !== event.appId) };
    case 'app-call-created':
      if (state.appCalls.some((call) => call.id === event.call.id)) return state;
      return { ...state, appCalls: [...state.appCalls, event.call] };
    case 'app-call-updated':
      return { ...state, appCalls: state.appCalls.map((call) => (call.id === event.call.id ? event.call : call)) };
    case 'event-withheld':
      // Something this reader does not see (from an account they blocked): it only takes its place in the order.
      return state;
  }
}

/** Unread messages for one member: others' messages after the member's read marker. */
export function unreadCount(state: ConversationState, userId: string): number {
  const marker = state.members.find((member) => member.userId === userId)?.lastReadSeq ?? 0;
  return state.messages.filter((message) => message.seq > marker && message.authorId !== userId && message.deletedAt === null).length;
}
