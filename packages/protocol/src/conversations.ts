import { z } from 'zod';
import { boundedArray, boundedString, IdSchema, SeqSchema, TimestampSchema, textSchema, UsernameSchema } from './common.js';
import { MessageSchema } from './messages.js';
import { UserSummarySchema } from './users.js';

export const ConversationKindSchema = z.enum(['assistant', 'direct', 'group']);
export type ConversationKind = z.infer<typeof ConversationKindSchema>;

export const NotificationLevelSchema = z.enum(['all', 'mentions', 'muted']);
export type NotificationLevel = z.infer<typeof NotificationLevelSchema>;

export const AssistantModeSchema = z.enum(['auto', 'mentions']);

/** The assistant's seat in a conversation: its name and manner are set per group. */
export const AssistantSettingsSchema = z
  .object({
    name: z.string(),
    personality: z.string(),
    /** `auto` follows the flow; `mentions` answers only when mentioned or replied to. */
    mode: AssistantModeSchema,
    /** 0 (quiet) to 1 (chatty): how readily it speaks up in `auto` mode. */
    talkativeness: z.number().min(0).max(1),
  })
  .meta({ id: 'AssistantSettings' });
export type AssistantSettings = z.infer<typeof AssistantSettingsSchema>;

/**
 * What a member may set of the assistant's seat. Apart from the settings as served, which must
 * show whatever was stored before text was held to [PB2].
 */
const AssistantSettingsInputSchema = z.object({
  name: textSchema({ max: 40, trim: true, min: 1 }),
  personality: textSchema({ max: 2000 }),
  mode: AssistantModeSchema,
  talkativeness: z.number().min(0).max(1),
});

export const ConversationSchema = z
  .object({
    id: IdSchema,
    kind: ConversationKindSchema,
    /** Groups have a title; direct and assistant conversations may not. */
    title: z.string().nullable(),
    createdBy: IdSchema,
    createdAt: TimestampSchema,
    /** The most recent event's sequence number. */
    lastSeq: SeqSchema,
    /** Most people the conversation may hold (the assistant is not counted). */
    memberLimit: z.number().int().min(1),
    /** Null in direct conversations, which have no assistant. */
    assistant: AssistantSettingsSchema.nullable(),
    /** Where this group was started from, if it was copied from another conversation. */
    forkedFrom: z.object({ conversationId: IdSchema, seq: SeqSchema }).nullable(),
  })
  .meta({ id: 'Conversation' });
export type Conversation = z.infer<typeof ConversationSchema>;

/** `assistant`: the conversation's AI member (a bot account), never counted in the group's size. */
export const MemberRoleSchema = z.enum(['creator', 'member', 'assistant']);

export const MemberSchema = z
  .object({
    userId: IdSchema,
    user: UserSummarySchema,
    role: MemberRoleSchema,
    joinedAt: TimestampSchema,
    /** Read marker: the member has seen every event up to this sequence number. */
    lastReadSeq: SeqSchema,
  })
  .meta({ id: 'Member' });
export type Member = z.infer<typeof MemberSchema>;

/** What only the signed-in member sees of their own membership. */
export const MySettingsSchema = z
  .object({
    notifications: NotificationLevelSchema,
    unreadCount: z.number().int().min(0),
  })
  .meta({ id: 'MySettings' });
export type MySettings = z.infer<typeof MySettingsSchema>;

export const ConversationViewSchema = z
  .object({
    conversation: ConversationSchema,
    members: z.array(MemberSchema),
    me: MySettingsSchema,
    lastMessage: MessageSchema.nullable(),
  })
  .meta({ id: 'ConversationView' });
export type ConversationView = z.infer<typeof ConversationViewSchema>;

export const ConversationListSchema = z.object({ conversations: z.array(ConversationViewSchema) });
export type ConversationList = z.infer<typeof ConversationListSchema>;

export const ListConversationsQuerySchema = z.object({ kind: ConversationKindSchema.optional() });

const TitleSchema = textSchema({ max: 100, trim: true, min: 1 });

export const CreateConversationRequestSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('assistant'), title: TitleSchema.optional() }),
  z.object({ kind: z.literal('direct'), username: UsernameSchema }),
  z.object({
    kind: z.literal('group'),
    title: TitleSchema.optional(),
    usernames: boundedArray(UsernameSchema, 100).default([]),
  }),
]);
export type CreateConversationRequest = z.input<typeof CreateConversationRequestSchema>;

export const ForkConversationRequestSchema = z.object({
  title: TitleSchema.optional(),
  usernames: boundedArray(UsernameSchema, 100).default([]),
});
export type ForkConversationRequest = z.input<typeof ForkConversationRequestSchema>;

export const UpdateConversationRequestSchema = z
  .object({
    title: TitleSchema.optional(),
    assistant: AssistantSettingsInputSchema.partial().optional(),
  })
  .refine((value) => value.title !== undefined || value.assistant !== undefined, 'nothing to update');
export type UpdateConversationRequest = z.input<typeof UpdateConversationRequestSchema>;

export const ConversationParamsSchema = z.object({ conversationId: IdSchema });
export const MemberParamsSchema = z.object({ conversationId: IdSchema, userId: IdSchema });

export const AddMemberRequestSchema = z.object({ username: UsernameSchema });
export const MemberListSchema = z.object({ members: z.array(MemberSchema) });
export const UpdateMySettingsRequestSchema = z.object({ notifications: NotificationLevelSchema });
export const MarkReadRequestSchema = z.object({ seq: SeqSchema });

export const InviteSchema = z
  .object({
    id: IdSchema,
    conversationId: IdSchema,
    /** Present only in the response that created the invite: it is not stored in clear. */
    token: z.string().optional(),
    createdBy: IdSchema,
    createdAt: TimestampSchema,
    expiresAt: TimestampSchema.nullable(),
    maxUses: z.number().int().min(1).nullable(),
    uses: z.number().int().min(0),
    revokedAt: TimestampSchema.nullable(),
  })
  .meta({ id: 'Invite' });
export type Invite = z.infer<typeof InviteSchema>;

export const CreateInviteRequestSchema = z.object({
  expiresInSeconds: z.number().int().min(60).max(60 * 60 * 24 * 365).optional(),
  maxUses: z.number().int().min(1).max(10_000).optional(),
});
export const InviteListSchema = z.object({ invites: z.array(InviteSchema) });
export const InviteParamsSchema = z.object({ conversationId: IdSchema, inviteId: IdSchema });
export const InviteTokenParamsSchema = z.object({ token: boundedString(128).min(16).regex(/^[A-Za-z0-9_-]+$/) });
export const InvitePreviewSchema = z
  .object({
    conversationId: IdSchema,
    title: z.string().nullable(),
    memberCount: z.number().int().min(0),
    memberLimit: z.number().int().min(1),
    /** Members the signed-in account has blocked; joining then needs `acknowledgeBlocked`. */
    blockedMembers: z.array(UserSummarySchema),
    alreadyMember: z.boolean(),
  })
  .meta({ id: 'InvitePreview' });
export type InvitePreview = z.infer<typeof InvitePreviewSchema>;
export const JoinInviteRequestSchema = z.object({
  /** Must be true to join a group that contains someone you blocked. */
  acknowledgeBlocked: z.boolean().default(false),
});
