import { type Attachment, type Message, type TurnError, TurnErrorSchema } from '@parley/protocol';
import type { Kysely, Selectable } from 'kysely';
import { blockedBy, withoutBlocked } from '../blocking/withhold.js';
import type { AttachmentsTable, Database, MessagesTable } from '../storage/schema.js';

export type MessageRow = Selectable<MessagesTable>;

export function toAttachment(row: Selectable<AttachmentsTable>): Attachment {
  return {
    id: row.id,
    filename: row.filename,
    contentType: row.content_type,
    size: row.size,
    url: `/api/attachments/${row.id}`,
    createdAt: row.created_at,
  };
}

/**
 * Builds full messages (attachments and reactions included) from rows, in the rows' order. With
 * `viewerId`, as that reader sees them: without the reactions of accounts they blocked [EL15].
 */
export async function toMessages(db: Kysely<Database>, rows: MessageRow[], viewerId?: string): Promise<Message[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((row) => row.id);
  const attachmentRows = await db
    .selectFrom('message_attachments')
    .innerJoin('attachments', 'attachments.id', 'message_attachments.attachment_id')
    .selectAll('attachments')
    .select(['message_attachments.message_id', 'message_attachments.position'])
    .where('message_attachments.message_id', 'in', ids)
    .orderBy('message_attachments.position')
    .execute();
  const reactionRows = await db
    .selectFrom('reactions')
    .select(['message_id', 'user_id', 'emoji'])
    .where('message_id', 'in', ids)
    .orderBy('seq')
    .execute();
  const attachments = new Map<string, Attachment[]>();
  for (const row of attachmentRows) {
    const list = attachments.get(row.message_id) ?? [];
    list.push(toAttachment(row));
    attachments.set(row.message_id, list);
  }
  const reactions = new Map<string, Map<string, string[]>>();
  for (const row of reactionRows) {
    const byEmoji = reactions.get(row.message_id) ?? new Map<string, string[]>();
    const users = byEmoji.get(row.emoji) ?? [];
    users.push(row.user_id);
    byEmoji.set(row.emoji, users);
    reactions.set(row.message_id, byEmoji);
  }
  const messages = rows.map((row) => toMessage(row, attachments.get(row.id) ?? [], reactions.get(row.id)));
  if (viewerId === undefined) return messages;
  const blocked = await blockedBy(db, viewerId);
  return messages.map((message) => (blocked.size === 0 ? message : { ...message, reactions: withoutBlocked(message.reactions, blocked) }));
}

export function toMessage(row: MessageRow, attachments: Attachment[], reactions?: Map<string, string[]>): Message {
  const deleted = row.deleted_at !== null;
  return {
    id: row.id,
    conversationId: row.conversation_id,
    seq: row.seq,
    authorId: row.author_id,
    text: deleted ? '' : row.text,
    mentions: deleted ? [] : (JSON.parse(row.mentions) as string[]),
    replyToId: row.reply_to_id,
    attachments: deleted ? [] : attachments,
    reactions: deleted ? [] : [...(reactions ?? new Map<string, string[]>())].map(([emoji, userIds]) => ({ emoji, userIds })),
    createdAt: row.created_at,
    editedAt: row.edited_at,
    deletedAt: row.deleted_at,
    turn: row.turn_id !== null && row.turn_status !== null ? { id: row.turn_id, status: row.turn_status, error: parseTurnError(row.turn_error) } : null,
  };
}

/** A stored TurnError (JSON text), or null. Parsed with its schema: it came from a bot. */
export function parseTurnError(text: string | null): TurnError | null {
  if (text === null) return null;
  try {
    const parsed = TurnErrorSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export async function loadMessage(db: Kysely<Database>, conversationId: string, messageId: string): Promise<Message | undefined> {
  const row = await db
    .selectFrom('messages')
    .selectAll()
    .where('id', '=', messageId)
    .where('conversation_id', '=', conversationId)
    .executeTakeFirst();
  if (!row) return undefined;
  const [message] = await toMessages(db, [row]);
  return message;
}
