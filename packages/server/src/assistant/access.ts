import { ParleyError } from '@parley/protocol';
import type { Kysely } from 'kysely';
import { requireMember } from '../conversations/access.js';
import type { ConversationRow, MemberRow } from '../conversations/views.js';
import type { Database } from '../storage/schema.js';

/**
 * The conversation, for a bot member: NOT_FOUND for a non-member (as everywhere), FORBIDDEN for
 * a person. What only the assistant does (streaming, recording decisions, reading the context)
 * is refused to people even inside their own conversations [AS3].
 */
export async function requireBotMember(
  db: Kysely<Database>,
  conversationId: string,
  userId: string,
): Promise<{ conversation: ConversationRow; member: MemberRow }> {
  const found = await requireMember(db, conversationId, userId);
  const user = await db.selectFrom('users').select('kind').where('id', '=', userId).executeTakeFirstOrThrow();
  if (user.kind !== 'bot') throw new ParleyError('FORBIDDEN', 'only a bot member (the assistant) may do this');
  return found;
}
