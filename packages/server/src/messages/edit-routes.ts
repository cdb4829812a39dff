import { type ConversationEvent, type Message, ParleyError } from '@parley/protocol';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { ServerContext } from '../context.js';
import { requireMember } from '../conversations/access.js';
import { bindRoute } from '../http/bind.js';
import type { Database } from '../storage/schema.js';
import { requireNotBlockedInDirect, resolveMentions } from './routes.js';
import { type MessageRow, toMessages } from './views.js';

/** A message of the conversation, or NOT_FOUND naming the message id. Call after requireMember. */
export async function requireMessageRow(db: Kysely<Database>, conversationId: string, messageId: string): Promise<MessageRow> {
  const row = await db
    .selectFrom('messages')
    .selectAll()
    .where('id', '=', messageId)
    .where('conversation_id', '=', conversationId)
    .executeTakeFirst();
  if (!row) throw new ParleyError('NOT_FOUND', 'no such message in this conversation', { field: 'params.messageId' });
  return row;
}

/**
 * Charges one token of the member's flood bucket. Sending is not the only way to make every
 * member's client do work: edits and reactions are events too, and without a charge a script
 * could rewrite one message or toggle one reaction without end.
 */
export async function chargeFlood(context: ServerContext, userId: string): Promise<void> {
  // The assistant reacts across every group: its output is limited per member who triggers it [AT9].
  if (userId === context.assistant.userId) return;
  const { wait } = await context.limits.flood.take(userId);
  if (wait > 0) throw new ParleyError('RATE_LIMITED', 'you are changing messages too fast', { retryAfter: wait });
}

function requireAuthor(row: MessageRow, userId: string, action: 'edit' | 'delete'): void {
  if (row.author_id !== userId) throw new ParleyError('FORBIDDEN', `you can only ${action} your own messages`, { field: 'params.messageId' });
}

async function messageOf(db: Kysely<Database>, row: MessageRow): Promise<Message> {
  const [message] = await toMessages(db, [row]);
  if (!message) throw new Error(`message ${row.id} just read`);
  return message;
}

/**
 * Blanks a deleted message's content in the events that carried it (its creation and its edits),
 * since any member can read the log from the start. Replaying the redacted events followed by
 * `message-deleted` ends in the same state as before, so a client resuming from any point still
 * converges; only what a deleted message said is gone.
 */
async function redactLoggedContent(db: Kysely<Database>, conversationId: string, row: MessageRow): Promise<void> {
  // The message's seq is that of the event that created it; its edits come later. The LIKE only
  // narrows the search (`_` in an id is a wildcard there); the parsed payload decides.
  const logged = await db
    .selectFrom('events')
    .select(['seq', 'payload'])
    .where('conversation_id', '=', conversationId)
    .where((eb) =>
      eb.or([
        eb.and([eb('seq', '=', row.seq), eb('type', '=', 'message-created')]),
        eb.and([eb('seq', '>', row.seq), eb('type', '=', 'message-edited'), eb('payload', 'like', `%${row.id}%`)]),
      ]),
    )
    .execute();
  for (const entry of logged) {
    // The log holds only what this server wrote, so it is parsed as trusted (as EventLog.read does).
    const event = JSON.parse(entry.payload) as ConversationEvent;
    let redacted: ConversationEvent;
    if (event.type === 'message-created' && event.message.id === row.id) {
      redacted = { ...event, message: { ...event.message, text: '', mentions: [], attachments: [], reactions: [] } };
    } else if (event.type === 'message-edited' && event.messageId === row.id) {
      redacted = { ...event, text: '', mentions: [] };
    } else {
      continue;
    }
    await db
      .updateTable('events')
      .set({ payload: JSON.stringify(redacted) })
      .where('conversation_id', '=', conversationId)
      .where('seq', '=', entry.seq)
      .execute();
  }
}

export function registerMessageEditRoutes(app: FastifyInstance, context: ServerContext): void {
  bindRoute(app, context, 'editMessage', async ({ auth, params, body }) =>
    context.log.writeTo(params.conversationId, async (write) => {
      const { db } = write;
      const { conversation } = await requireMember(db, params.conversationId, auth.userId);
      const row = await requireMessageRow(db, conversation.id, params.messageId);
      requireAuthor(row, auth.userId, 'edit');
      // CONFLICT rather than NOT_FOUND: the tombstone is still listed in the history, so the
      // message exists; it is its state that refuses the edit (typically a delete from another
      // device that won the race).
      if (row.deleted_at !== null) {
        throw new ParleyError('CONFLICT', 'this message was deleted and can no longer be edited', { field: 'params.messageId' });
      }
      await requireNotBlockedInDirect(db, conversation, auth.userId);
      // Mentions are resolved again: the text changed, and so may have the member list.
      const mentions = await resolveMentions(db, conversation.id, body.text);
      const mentionsJson = JSON.stringify(mentions);
      // A retried edit (same text, same mentions) answers the message without a second event.
      if (row.text === body.text && row.mentions === mentionsJson) return messageOf(db, row);
      await chargeFlood(context, auth.userId);
      await db
        .updateTable('messages')
        .set({ text: body.text, mentions: mentionsJson, edited_at: write.now })
        .where('id', '=', row.id)
        .execute();
      await write.append(conversation.id, {
        type: 'message-edited',
        actorId: auth.userId,
        messageId: row.id,
        text: body.text,
        mentions,
        editedAt: write.now,
      });
      return messageOf(db, { ...row, text: body.text, mentions: mentionsJson, edited_at: write.now });
    }),
  );

  bindRoute(app, context, 'deleteMessage', async ({ auth, params }) => {
    const orphans = await context.log.writeTo(params.conversationId, async (write): Promise<string[]> => {
      const { db } = write;
      const { conversation } = await requireMember(db, params.conversationId, auth.userId);
      const row = await requireMessageRow(db, conversation.id, params.messageId);
      requireAuthor(row, auth.userId, 'delete');
      // Deleting twice is a no-op: the first delete already said so to everyone.
      if (row.deleted_at !== null) return [];
      // No block check: withdrawing one's own words is always allowed, even in a blocked DM.
      // The tombstone keeps the message's place (its seq, author and time) but not its content.
      await db
        .updateTable('messages')
        .set({ text: '', mentions: '[]', deleted_at: write.now })
        .where('id', '=', row.id)
        .execute();
      await db.deleteFrom('reactions').where('message_id', '=', row.id).execute();
      const linked = await db.selectFrom('message_attachments').select('attachment_id').where('message_id', '=', row.id).execute();
      await db.deleteFrom('message_attachments').where('message_id', '=', row.id).execute();
      // The files go too, unless another of the author's messages still shows them. The rows go
      // in this transaction and the bytes only after the commit, so no row ever points to a
      // missing file.
      const attachmentIds = linked.map((link) => link.attachment_id);
      const stillLinked = attachmentIds.length
        ? await db.selectFrom('message_attachments').select('attachment_id').where('attachment_id', 'in', attachmentIds).execute()
        : [];
      const orphans = attachmentIds.filter((id) => !stillLinked.some((link) => link.attachment_id === id));
      if (orphans.length > 0) await db.deleteFrom('attachments').where('id', 'in', orphans).execute();
      await redactLoggedContent(db, conversation.id, row);
      await write.append(conversation.id, { type: 'message-deleted', actorId: auth.userId, messageId: row.id, deletedAt: write.now });
      return orphans;
    });
    // Answered once the bytes are gone too. A failure here leaves an orphan file, which is
    // harmless (nothing points to it), so it is logged rather than reported to the caller.
    for (const id of orphans) {
      await context.files.remove('attachments', id).catch((error: unknown) => console.error(`could not remove attachment file ${id}`, error));
    }
  });
}
