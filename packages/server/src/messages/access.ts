import { ParleyError } from '@parley/protocol';
import type { Kysely } from 'kysely';
import type { ServerContext } from '../context.js';
import type { Database } from '../storage/schema.js';
import type { MessageRow } from './views.js';

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
