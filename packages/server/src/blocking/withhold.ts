import type { ConversationEvent } from '@parley/protocol';
import type { Kysely } from 'kysely';
import type { Database } from '../storage/schema.js';

/** The accounts `userId` blocked. */
export async function blockedBy(db: Kysely<Database>, userId: string): Promise<Set<string>> {
  const rows = await db.selectFrom('blocks').select('blocked_id').where('blocker_id', '=', userId).execute();
  return new Set(rows.map((row) => row.blocked_id));
}

/**
 * The account an event comes from, when what it carries is that account's own doing and not the
 * group's shared record: a reaction, a profile change. Messages are the group's and stay visible.
 */
function personalSource(event: ConversationEvent): string | null {
  switch (event.type) {
    case 'reaction-added':
    case 'reaction-removed':
      return event.userId;
    case 'member-updated':
      return event.user.id;
    default:
      return null;
  }
}

/**
 * An event as a reader who blocked the accounts in `blocked` sees it ([EL14]–[EL16] in
 * ../events/SPEC.md): one of theirs becomes `event-withheld` with the same seq, and their
 * reactions are left out of the reaction lists others' events carry. Anything else is the
 * event itself, so the common case allocates nothing.
 */
export function asSeenBy(event: ConversationEvent, blocked: ReadonlySet<string>): ConversationEvent {
  if (blocked.size === 0) return event;
  const source = personalSource(event);
  if (source !== null && blocked.has(source)) {
    return { type: 'event-withheld', conversationId: event.conversationId, seq: event.seq, at: event.at };
  }
  if (event.type === 'reaction-removed' && event.reactions.some((reaction) => reaction.userIds.some((id) => blocked.has(id)))) {
    return { ...event, reactions: withoutBlocked(event.reactions, blocked) };
  }
  return event;
}

/** Reaction groups without the blocked accounts' reactions; a group left empty goes. */
export function withoutBlocked<R extends { emoji: string; userIds: string[] }>(reactions: R[], blocked: ReadonlySet<string>): R[] {
  if (blocked.size === 0) return reactions;
  return reactions
    .map((reaction) => ({ ...reaction, userIds: reaction.userIds.filter((id) => !blocked.has(id)) }))
    .filter((reaction) => reaction.userIds.length > 0);
}
