import { type ConversationEvent, type Member, type UserSummary, UserSummarySchema } from '@parley/protocol';
import type { Kysely } from 'kysely';
import { PreparedQuery } from '../storage/prepared.js';
import type { Database } from '../storage/schema.js';

/**
 * The accounts a reader blocked, each with their profile as it was at the block (null for a block
 * older than the snapshots: shown live).
 */
export type BlockedProfiles = ReadonlyMap<string, UserSummary | null>;

/** The snapshot column of a block, read back; a value that does not parse counts as none. */
export function parseSnapshot(text: string | null): UserSummary | null {
  if (text === null) return null;
  try {
    const parsed = UserSummarySchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** The accounts `userId` blocked, with the profiles they keep seeing of them [EL16]. */
/** Most people block nobody: one empty map shared by all of them, not one per socket [EL12]. */
export const NO_BLOCKS: BlockedProfiles = new Map();

/** Read by every hello: compiled once. */
const blocksOf = new PreparedQuery((db, p: { userId: string }) => db.selectFrom('blocks').select(['blocked_id', 'profile_snapshot']).where('blocker_id', '=', p.userId));

export async function blockedBy(db: Kysely<Database>, userId: string): Promise<BlockedProfiles> {
  const rows = await blocksOf.all(db, { userId });
  if (rows.length === 0) return NO_BLOCKS;
  return new Map(rows.map((row) => [row.blocked_id, parseSnapshot(row.profile_snapshot)]));
}

/**
 * A member as the reader sees them: a blocked account with the profile of the block [EL16], and
 * nothing of how far they read (a read marker is theirs, not the group's) [EL15].
 */
export function memberAsSeen(member: Member, blocked: BlockedProfiles): Member {
  if (!blocked.has(member.userId)) return member;
  const frozen = blocked.get(member.userId);
  return { ...member, ...(frozen ? { user: frozen } : {}), lastReadSeq: 0 };
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
    // How far they read: "seen by" is theirs too.
    case 'read-marker-updated':
      return event.userId;
    default:
      return null;
  }
}

/**
 * An event as a reader who blocked the accounts in `blocked` sees it ([EL14]–[EL16] in
 * ../events/SPEC.md): one of theirs becomes `event-withheld` with the same seq, their
 * reactions are left out of the reaction lists others' events carry, and a member entry of
 * theirs shows the profile of the block. Anything else is the event itself, so the common case
 * allocates nothing.
 */
export function asSeenBy(event: ConversationEvent, blocked: BlockedProfiles): ConversationEvent {
  if (blocked.size === 0) return event;
  const source = personalSource(event);
  if (source !== null && blocked.has(source)) {
    return { type: 'event-withheld', conversationId: event.conversationId, seq: event.seq, at: event.at };
  }
  if (event.type === 'reaction-removed' && event.reactions.some((reaction) => reaction.userIds.some((id) => blocked.has(id)))) {
    return { ...event, reactions: withoutBlocked(event.reactions, blocked) };
  }
  // A blocked account let in (again) carries its profile of now: the reader keeps the one of the block.
  if (event.type === 'member-added' && blocked.get(event.member.userId)) return { ...event, member: memberAsSeen(event.member, blocked) };
  if (event.type === 'conversation-created' && event.members.some((member) => blocked.get(member.userId))) {
    return { ...event, members: event.members.map((member) => memberAsSeen(member, blocked)) };
  }
  return event;
}

/** Reaction groups without the blocked accounts' reactions; a group left empty goes. */
export function withoutBlocked<R extends { emoji: string; userIds: string[] }>(reactions: R[], blocked: BlockedProfiles): R[] {
  if (blocked.size === 0) return reactions;
  return reactions
    .map((reaction) => ({ ...reaction, userIds: reaction.userIds.filter((id) => !blocked.has(id)) }))
    .filter((reaction) => reaction.userIds.length > 0);
}
