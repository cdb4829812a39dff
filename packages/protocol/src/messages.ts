import { z } from 'zod';
import { boundedArray, ClientIdSchema, MAX_STORED_INTEGER, EmojiSchema, IdSchema, PageLimitSchema, SeqSchema, TimestampSchema, textSchema } from './common.js';

export const MAX_MESSAGE_LENGTH = 10_000;
export const MAX_ATTACHMENTS_PER_MESSAGE = 10;

/** How an assistant turn ended. `interrupted`: the node died mid-answer. */
export const TurnEndStatusSchema = z.enum(['completed', 'stopped', 'failed', 'interrupted']);
export type TurnEndStatus = z.infer<typeof TurnEndStatusSchema>;

export const TurnErrorSchema = z
  .object({
    /** Stable, such as `provider_timeout`, `provider_rate_limited`, `provider_unavailable`, `stream_cut`, `malformed_response`, `not_configured`. */
    code: textSchema({ max: 64 }),
    message: textSchema({ max: 2000 }),
    /** Whether trying again later may succeed. */
    retryable: z.boolean(),
  })
  .meta({ id: 'TurnError' });
export type TurnError = z.infer<typeof TurnErrorSchema>;

export const AttachmentSchema = z
  .object({
    id: IdSchema,
    filename: z.string(),
    contentType: z.string(),
    size: z.number().int().min(0),
    /** Path of the file on this server; fetch it with the same credentials. */
    url: z.string(),
    createdAt: TimestampSchema,
  })
  .meta({ id: 'Attachment' });
export type Attachment = z.infer<typeof AttachmentSchema>;

export const ReactionSchema = z
  .object({ emoji: z.string(), userIds: z.array(IdSchema) })
  .meta({ id: 'Reaction' });
export type Reaction = z.infer<typeof ReactionSchema>;

export const MessageSchema = z
  .object({
    id: IdSchema,
    conversationId: IdSchema,
    /** Sequence number of the event that created the message: the conversation's order. */
    seq: SeqSchema,
    authorId: IdSchema,
    /** Markdown source. Empty once deleted. */
    text: z.string(),
    /** Ids of the members mentioned with `@username`. */
    mentions: z.array(IdSchema),
    replyToId: IdSchema.nullable(),
    attachments: z.array(AttachmentSchema),
    reactions: z.array(ReactionSchema),
    createdAt: TimestampSchema,
    editedAt: TimestampSchema.nullable(),
    deletedAt: TimestampSchema.nullable(),
    /** For an answer of the assistant: its turn and how it ended, so a stopped or failed answer shows so. */
    turn: z.object({ id: IdSchema, status: TurnEndStatusSchema, error: TurnErrorSchema.nullable() }).nullable(),
  })
  .meta({ id: 'Message' });
export type Message = z.infer<typeof MessageSchema>;

export const SendMessageRequestSchema = z
  .object({
    /** The client's own id for the message: a retry with the same id never creates a second one. */
    id: ClientIdSchema,
    text: textSchema({ max: MAX_MESSAGE_LENGTH }).default(''),
    replyToId: IdSchema.optional(),
    attachmentIds: boundedArray(IdSchema, MAX_ATTACHMENTS_PER_MESSAGE).default([]),
  })
  .refine((value) => value.text.trim() !== '' || value.attachmentIds.length > 0, {
    message: 'a message needs text or an attachment',
    path: ['text'],
  });
export type SendMessageRequest = z.input<typeof SendMessageRequestSchema>;

export const EditMessageRequestSchema = z.object({
  text: textSchema({ max: MAX_MESSAGE_LENGTH }).refine((value) => value.trim() !== '', 'must not be empty'),
});
export type EditMessageRequest = z.input<typeof EditMessageRequestSchema>;

export const MessageParamsSchema = z.object({ conversationId: IdSchema, messageId: IdSchema });
export const ReactionParamsSchema = z.object({
  conversationId: IdSchema,
  messageId: IdSchema,
  emoji: EmojiSchema,
});

export const ListMessagesQuerySchema = z.object({
  /** Only messages with a sequence number below this one (older); omit for the newest. */
  before: z.coerce.number().int().min(1).max(MAX_STORED_INTEGER).optional(),
  limit: PageLimitSchema,
});
export type ListMessagesQuery = z.input<typeof ListMessagesQuerySchema>;

export const MessagePageSchema = z
  .object({
    /** Oldest first. */
    messages: z.array(MessageSchema),
    /** Pass as `before` to get the previous page; null when there is none. */
    nextBefore: SeqSchema.nullable(),
  })
  .meta({ id: 'MessagePage' });
export type MessagePage = z.infer<typeof MessagePageSchema>;

export const UploadAttachmentQuerySchema = z.object({
  filename: textSchema({ max: 200, trim: true, min: 1 })
    .refine((value) => !/[\\/\u0000-\u001f]/.test(value), 'must not contain slashes or control characters'),
});
export const AttachmentParamsSchema = z.object({ attachmentId: IdSchema });
