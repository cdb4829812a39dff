import { z } from 'zod';
import { IdSchema, MAX_STORED_INTEGER, SeqSchema, TimestampSchema } from './common.js';
import { AssistantSettingsSchema, ConversationSchema, MemberSchema, NotificationLevelSchema } from './conversations.js';
import { MessageSchema, ReactionSchema } from './messages.js';
import { UserSummarySchema } from './users.js';
import { AppCallSchema, EnabledAppSchema } from './apps.js';

/**
 * Events of a conversation's log. Each carries the conversation's next gapless sequence
 * number; every member applies them in that order. See packages/server/src/events/SPEC.md.
 */
const envelope = {
  conversationId: IdSchema,
  seq: SeqSchema.min(1),
  at: TimestampSchema,
  /** Who caused the event. */
  actorId: IdSchema,
};

export const ConversationCreatedEventSchema = z.object({
  ...envelope,
  type: z.literal('conversation-created'),
  conversation: ConversationSchema,
  members: z.array(MemberSchema),
});

export const ConversationUpdatedEventSchema = z.object({
  ...envelope,
  type: z.literal('conversation-updated'),
  title: z.string().nullable().optional(),
  assistant: AssistantSettingsSchema.optional(),
});

export const MemberAddedEventSchema = z.object({
  ...envelope,
  type: z.literal('member-added'),
  member: MemberSchema,
  via: z.enum(['username', 'invite']),
});

export const MemberRemovedEventSchema = z.object({
  ...envelope,
  type: z.literal('member-removed'),
  userId: IdSchema,
});

export const MemberLeftEventSchema = z.object({
  ...envelope,
  type: z.literal('member-left'),
  userId: IdSchema,
});

/** A member changed their profile (display name, username or avatar): the member list shows it. */
export const MemberUpdatedEventSchema = z.object({
  ...envelope,
  type: z.literal('member-updated'),
  user: UserSummarySchema,
});

export const MessageCreatedEventSchema = z.object({
  ...envelope,
  type: z.literal('message-created'),
  message: MessageSchema,
});

export const MessageEditedEventSchema = z.object({
  ...envelope,
  type: z.literal('message-edited'),
  messageId: IdSchema,
  text: z.string(),
  mentions: z.array(IdSchema),
  editedAt: TimestampSchema,
});

export const MessageDeletedEventSchema = z.object({
  ...envelope,
  type: z.literal('message-deleted'),
  messageId: IdSchema,
  deletedAt: TimestampSchema,
});

export const ReactionAddedEventSchema = z.object({
  ...envelope,
  type: z.literal('reaction-added'),
  messageId: IdSchema,
  userId: IdSchema,
  emoji: z.string(),
});

export const ReactionRemovedEventSchema = z.object({
  ...envelope,
  type: z.literal('reaction-removed'),
  messageId: IdSchema,
  userId: IdSchema,
  emoji: z.string(),
  /**
   * The message's reactions after the removal. Groups are ordered by their earliest remaining
   * reaction, which a client could not work out from the removal alone.
   */
  reactions: z.array(ReactionSchema),
});

export const ReadMarkerUpdatedEventSchema = z.object({
  ...envelope,
  type: z.literal('read-marker-updated'),
  userId: IdSchema,
  lastReadSeq: SeqSchema,
});

/** A member switched an approved app on for the conversation: the assistant may call its tools here. */
export const AppEnabledEventSchema = z.object({
  ...envelope,
  type: z.literal('app-enabled'),
  app: EnabledAppSchema,
});

/** A member switched an app off for the conversation. */
export const AppDisabledEventSchema = z.object({
  ...envelope,
  type: z.literal('app-disabled'),
  appId: IdSchema,
});

/** A tool call began: `pending` is the confirmation card for its asker; a read-only call is already `running`. */
export const AppCallCreatedEventSchema = z.object({
  ...envelope,
  type: z.literal('app-call-created'),
  call: AppCallSchema,
});

/** A tool call changed: approved (`running`), denied, completed or failed. Carries the whole call. */
export const AppCallUpdatedEventSchema = z.object({
  ...envelope,
  type: z.literal('app-call-updated'),
  call: AppCallSchema,
});

/**
 * In place of an event the reader is not shown: one by an account they blocked (a reaction, a
 * profile change). It keeps its place in the order (the same `seq`), so resume stays exact, and
 * says nothing of what it stands for, not even who caused it. Never stored: the log holds the
 * event itself, and each reader gets it or this.
 */
export const EventWithheldEventSchema = z.object({
  type: z.literal('event-withheld'),
  conversationId: IdSchema,
  seq: SeqSchema.min(1),
  at: TimestampSchema,
});
export type EventWithheldEvent = z.infer<typeof EventWithheldEventSchema>;

export const ConversationEventSchema = z
  .discriminatedUnion('type', [
    ConversationCreatedEventSchema,
    ConversationUpdatedEventSchema,
    MemberAddedEventSchema,
    MemberRemovedEventSchema,
    MemberLeftEventSchema,
    MemberUpdatedEventSchema,
    MessageCreatedEventSchema,
    MessageEditedEventSchema,
    MessageDeletedEventSchema,
    ReactionAddedEventSchema,
    ReactionRemovedEventSchema,
    ReadMarkerUpdatedEventSchema,
    AppEnabledEventSchema,
    AppDisabledEventSchema,
    AppCallCreatedEventSchema,
    AppCallUpdatedEventSchema,
    EventWithheldEventSchema,
  ])
  .meta({ id: 'ConversationEvent' });
export type ConversationEvent = z.infer<typeof ConversationEventSchema>;
export type ConversationEventType = ConversationEvent['type'];
export type ConversationEventOf<T extends ConversationEventType> = Extract<ConversationEvent, { type: T }>;
/** What the log stores: every event but the withheld placeholder, which only readers get. */
export type LoggedConversationEvent = Exclude<ConversationEvent, EventWithheldEvent>;
/** An event before the log gave it its place. */
export type NewConversationEvent = LoggedConversationEvent extends infer E
  ? E extends LoggedConversationEvent
    ? Omit<E, 'seq' | 'at' | 'conversationId'>
    : never
  : never;

export const EventPageSchema = z
  .object({
    events: z.array(ConversationEventSchema),
    /** The conversation's last sequence number when the page was read. */
    lastSeq: SeqSchema,
  })
  .meta({ id: 'EventPage' });
export type EventPage = z.infer<typeof EventPageSchema>;

export const ListEventsQuerySchema = z.object({
  after: z.coerce.number().int().min(0).max(MAX_STORED_INTEGER).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(500),
});

/** Ephemeral events carry no sequence number and are not stored. */
export const MemberTypingEventSchema = z.object({
  type: z.literal('member-typing'),
  conversationId: IdSchema,
  userId: IdSchema,
  /** Until when the indicator should show unless renewed. */
  until: TimestampSchema,
});
export type MemberTypingEvent = z.infer<typeof MemberTypingEventSchema>;

/** Sent to the member's own sockets only: a private setting changed (from another device). */
export const MySettingsUpdatedEventSchema = z.object({
  type: z.literal('my-settings-updated'),
  conversationId: IdSchema,
  notifications: NotificationLevelSchema,
});
export type MySettingsUpdatedEvent = z.infer<typeof MySettingsUpdatedEventSchema>;

/**
 * Sent to the account's own sockets only: the accounts it blocks changed (here or on another
 * device). What was withheld from them may now be shown: a client reloads the conversations and
 * profiles it holds.
 */
export const MyBlocksUpdatedEventSchema = z.object({
  type: z.literal('my-blocks-updated'),
  /** Every account the account blocks now. */
  blocked: z.array(IdSchema),
});
export type MyBlocksUpdatedEvent = z.infer<typeof MyBlocksUpdatedEventSchema>;
