import { z } from 'zod';
import { ClientIdSchema, EmojiSchema, IdSchema, SeqSchema, TimestampSchema, textSchema, TimestampInputSchema } from './common.js';
import { ConversationSchema, MemberSchema } from './conversations.js';
import { MessageSchema, TurnEndStatusSchema, TurnErrorSchema } from './messages.js';

export const TurnStatusSchema = z.enum(['streaming', ...TurnEndStatusSchema.options]);
export type TurnStatus = z.infer<typeof TurnStatusSchema>;

export const AssistantTurnSchema = z
  .object({
    id: IdSchema,
    conversationId: IdSchema,
    /** The human message the turn answers, if any. */
    triggerMessageId: IdSchema.nullable(),
    /** The member the turn is charged to (the trigger's author). */
    chargedUserId: IdSchema.nullable(),
    status: TurnStatusSchema,
    model: z.string().nullable(),
    /** The text streamed so far (the whole answer once ended). */
    text: z.string(),
    startedAt: TimestampSchema,
    endedAt: TimestampSchema.nullable(),
    /** The message that holds the answer, once ended. */
    messageId: IdSchema.nullable(),
    error: TurnErrorSchema.nullable(),
  })
  .meta({ id: 'AssistantTurn' });
export type AssistantTurn = z.infer<typeof AssistantTurnSchema>;

export const StartTurnRequestSchema = z.object({
  /** The bot's own id for the turn: starting it twice with the same id is a no-op. */
  id: ClientIdSchema,
  triggerMessageId: IdSchema.optional(),
  model: textSchema({ max: 200 }).optional(),
});
export type StartTurnRequest = z.input<typeof StartTurnRequestSchema>;

export const TurnDeltaRequestSchema = z.object({ text: textSchema({ max: 16_000, min: 1 }) });
export const EndTurnRequestSchema = z.object({
  status: z.enum(['completed', 'stopped', 'failed']),
  /** The whole answer; for `stopped` and `failed`, what was streamed before the end. */
  text: textSchema({ max: 100_000 }).default(''),
  error: TurnErrorSchema.optional(),
});
export type EndTurnRequest = z.input<typeof EndTurnRequestSchema>;
export const TurnParamsSchema = z.object({ conversationId: IdSchema, turnId: IdSchema });
export const TurnListSchema = z.object({ turns: z.array(AssistantTurnSchema) });
export const ListTurnsQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  status: z.enum(['streaming']).optional(),
});

export const DecisionActionSchema = z.enum(['answer', 'react', 'silent']);
export type DecisionAction = z.infer<typeof DecisionActionSchema>;

/** Why the assistant answered, reacted or kept quiet after a message: kept so the policy can be inspected. */
export const AssistantDecisionSchema = z
  .object({
    id: IdSchema,
    conversationId: IdSchema,
    messageId: IdSchema,
    action: DecisionActionSchema,
    /** Human-readable reason. */
    reason: z.string(),
    /** The numbered rule of the turn-taking SPEC that decided, such as `TT2`. */
    rule: z.string().nullable(),
    emoji: z.string().nullable(),
    /** Set when a model was asked to decide. */
    model: z.string().nullable(),
    createdAt: TimestampSchema,
  })
  .meta({ id: 'AssistantDecision' });
export type AssistantDecision = z.infer<typeof AssistantDecisionSchema>;

export const RecordDecisionRequestSchema = z.object({
  messageId: IdSchema,
  action: DecisionActionSchema,
  reason: textSchema({ max: 2000, min: 1 }),
  rule: textSchema({ max: 16 }).optional(),
  emoji: EmojiSchema.optional(),
  model: textSchema({ max: 200 }).optional(),
});
export type RecordDecisionRequest = z.input<typeof RecordDecisionRequestSchema>;
export const DecisionListSchema = z.object({ decisions: z.array(AssistantDecisionSchema) });
export const ListDecisionsQuerySchema = z.object({
  messageId: IdSchema.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

/**
 * What people said in the bot's conversations that it has not decided on yet (no decision, no
 * turn): read when it connects, so nothing said while it was away is missed. Oldest first; page on
 * with `next`.
 */
export const AssistantBacklogQuerySchema = z.object({
  /** Messages sent after this time, conversation by conversation, oldest first in each. */
  since: TimestampInputSchema,
  /** The last message of the previous page (its `next`): the messages after it, in the backlog's order. */
  afterId: IdSchema.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(100),
});
export type AssistantBacklogQuery = z.input<typeof AssistantBacklogQuerySchema>;
export const AssistantBacklogSchema = z
  .object({
    entries: z.array(
      z.object({
        message: MessageSchema,
        /** The author of the message it replies to (a reply to the bot is addressed to it), or null. */
        replyToAuthorId: IdSchema.nullable(),
      }),
    ),
    /** The query of the next page, or null when this was the last. */
    next: z.object({ since: TimestampSchema, afterId: IdSchema }).nullable(),
  })
  .meta({ id: 'AssistantBacklog' });
export type AssistantBacklog = z.infer<typeof AssistantBacklogSchema>;

export const MemorySchema = z
  .object({
    id: IdSchema,
    text: z.string(),
    /** Who saved it: the person, or the assistant in their one-to-one chat. */
    source: z.enum(['user', 'assistant']),
    createdAt: TimestampSchema,
    updatedAt: TimestampSchema,
  })
  .meta({ id: 'Memory' });
export type Memory = z.infer<typeof MemorySchema>;
export const MemoryTextSchema = z.object({ text: textSchema({ max: 1000, trim: true, min: 1 }) });
export const MemoryListSchema = z.object({ memories: z.array(MemorySchema) });
export const MemoryParamsSchema = z.object({ memoryId: IdSchema });

export const InstructionsSchema = z.object({ text: z.string() }).meta({ id: 'Instructions' });
export type Instructions = z.infer<typeof InstructionsSchema>;
/** Instructions as set: held to [PB1]–[PB2], unlike those served, which may predate them. */
export const UpdateInstructionsRequestSchema = z.object({ text: textSchema({ max: 4000 }) });

export const ContentPolicySchema = z.enum(['standard', 'teen']);
export type ContentPolicy = z.infer<typeof ContentPolicySchema>;

export const SummarySchema = z
  .object({
    text: z.string(),
    /** The summary covers the conversation's messages up to this sequence number. */
    uptoSeq: SeqSchema,
  })
  .meta({ id: 'Summary' });
export type Summary = z.infer<typeof SummarySchema>;
/** A summary as saved: held to [PB1]–[PB2], unlike one served, which may predate them. */
export const SaveSummaryRequestSchema = z.object({ text: textSchema({ max: 20_000 }), uptoSeq: SeqSchema });

/**
 * What the assistant may know of a conversation. Personal memory and custom instructions are
 * present only in a one-to-one `assistant` conversation, and only its owner's: never in a group.
 */
export const AssistantContextSchema = z
  .object({
    conversation: ConversationSchema,
    members: z.array(MemberSchema),
    /** `teen` when any member is a teen: the stricter policy applies to everyone. */
    contentPolicy: ContentPolicySchema,
    personal: z
      .object({ userId: IdSchema, instructions: z.string(), memories: z.array(MemorySchema) })
      .nullable(),
    summary: SummarySchema.nullable(),
  })
  .meta({ id: 'AssistantContext' });
export type AssistantContext = z.infer<typeof AssistantContextSchema>;

/** Ephemeral events of an answer being streamed: no sequence number. */
export const AssistantTurnStartEventSchema = z.object({
  type: z.literal('assistant-turn-start'),
  conversationId: IdSchema,
  turnId: IdSchema,
  userId: IdSchema,
  triggerMessageId: IdSchema.nullable(),
  /** The person whose message triggered the answer (null when none did, or a bot did): whoever blocked them is not sent the stream. */
  triggeredBy: IdSchema.nullable(),
  at: TimestampSchema,
});
export type AssistantTurnStartEvent = z.infer<typeof AssistantTurnStartEventSchema>;

export const AssistantTextDeltaEventSchema = z.object({
  type: z.literal('assistant-text-delta'),
  conversationId: IdSchema,
  turnId: IdSchema,
  /** Characters of the answer before this delta: a client that missed some can tell. */
  offset: z.number().int().min(0),
  delta: z.string(),
});
export type AssistantTextDeltaEvent = z.infer<typeof AssistantTextDeltaEventSchema>;

export const AssistantTurnEndEventSchema = z.object({
  type: z.literal('assistant-turn-end'),
  conversationId: IdSchema,
  turnId: IdSchema,
  status: TurnEndStatusSchema,
  messageId: IdSchema.nullable(),
  error: TurnErrorSchema.nullable(),
});
export type AssistantTurnEndEvent = z.infer<typeof AssistantTurnEndEventSchema>;
