import type { Attachment, Conversation, Member, Memory, Message, Summary, UserSummary } from '@parley/protocol';
import type { OneToOneContext, PersonalContext, SharedConversationContext } from './prompt-context.js';

// Test fixtures: AssistantContext and Message values built by hand, as the server would send
// them. Used by this folder's tests only; not exported from the package.

const AT = '2025-06-01T12:00:00.000Z';
let counter = 0;
const nextId = (prefix: string) => `${prefix}_${(counter += 1)}`;

export function person(username: string, displayName: string | null, kind: UserSummary['kind'] = 'human'): UserSummary {
  return { id: nextId(`user_${username}`), username, displayName, avatarUrl: null, kind };
}

export const assistantAccount = (): UserSummary => person('parley_assistant', 'Assistant', 'bot');

export function memberOf(user: UserSummary, role: Member['role'] = 'member'): Member {
  return { userId: user.id, user, role, joinedAt: AT, lastReadSeq: 0 };
}

export function conversationOf(kind: Conversation['kind'], createdBy: string, overrides: Partial<Conversation> = {}): Conversation {
  return {
    id: nextId('conversation'),
    kind,
    title: kind === 'group' ? 'Trip to Lyon' : null,
    createdBy,
    createdAt: AT,
    lastSeq: 0,
    memberLimit: 20,
    assistant: kind === 'direct' ? null : { name: 'Pip', personality: 'Cheerful and brief.', mode: 'auto', talkativeness: 0.5 },
    forkedFrom: null,
    ...overrides,
  };
}

export function groupContext(options: {
  people: UserSummary[];
  assistant: UserSummary;
  contentPolicy?: 'standard' | 'teen';
  summary?: Summary | null;
  conversation?: Partial<Conversation>;
}): SharedConversationContext {
  const [creator] = options.people;
  if (!creator) throw new Error('a group needs a person');
  const conversation = conversationOf('group', creator.id, options.conversation);
  return {
    conversation: { ...conversation, kind: 'group' },
    members: [
      memberOf(creator, 'creator'),
      ...options.people.slice(1).map((user) => memberOf(user)),
      memberOf(options.assistant, 'assistant'),
    ],
    contentPolicy: options.contentPolicy ?? 'standard',
    personal: null,
    summary: options.summary ?? null,
  };
}

export function oneToOneContext(options: {
  owner: UserSummary;
  assistant: UserSummary;
  personal: PersonalContext | null;
  contentPolicy?: 'standard' | 'teen';
  summary?: Summary | null;
}): OneToOneContext {
  const conversation = conversationOf('assistant', options.owner.id);
  return {
    conversation: { ...conversation, kind: 'assistant' },
    members: [memberOf(options.owner, 'creator'), memberOf(options.assistant, 'assistant')],
    contentPolicy: options.contentPolicy ?? 'standard',
    personal: options.personal,
    summary: options.summary ?? null,
  };
}

export function memory(text: string, updatedAt = AT): Memory {
  return { id: nextId('memory'), text, source: 'user', createdAt: AT, updatedAt };
}

export function attachment(filename: string, contentType: string): Attachment {
  const id = nextId('attachment');
  return { id, filename, contentType, size: 1234, url: `/api/attachments/${id}`, createdAt: AT };
}

/** A conversation's messages in order: each `say` takes the next sequence number. */
export function messageLog(conversationId = 'conversation_x', firstSeq = 1) {
  let seq = firstSeq - 1;
  return {
    say(author: UserSummary, text: string, overrides: Partial<Message> = {}): Message {
      seq += 1;
      return {
        id: nextId('message'),
        conversationId,
        seq,
        authorId: author.id,
        text,
        mentions: [],
        replyToId: null,
        attachments: [],
        reactions: [],
        createdAt: AT,
        editedAt: null,
        deletedAt: null,
        turn: null,
        ...overrides,
      };
    },
    /** Leaves sequence numbers to events that are not messages (reactions, joins). */
    skip(count: number) {
      seq += count;
    },
  };
}
