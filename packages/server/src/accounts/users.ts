import { type Me, ParleyError, type UserSummary } from '@parley/protocol';
import type { Kysely, Selectable } from 'kysely';
import type { ServerConfig } from '../config.js';
import type { WriteContext } from '../events/event-log.js';
import { isAdmin } from './admins.js';
import type { Database, UsersTable } from '../storage/schema.js';

export type UserRow = Selectable<UsersTable>;

export function avatarUrl(avatarId: string | null): string | null {
  return avatarId ? `/api/avatars/${avatarId}` : null;
}

export function toUserSummary(row: UserRow): UserSummary {
  return {
    id: row.id,
    username: row.username,
    displayName: row.display_name,
    avatarUrl: avatarUrl(row.avatar_id),
    kind: row.kind,
  };
}

export function toMe(row: UserRow, config: Pick<ServerConfig, 'admins'>): Me {
  return {
    ...toUserSummary(row),
    ageBand: row.age_band,
    profileComplete: row.profile_complete === 1,
    groupChatsAllowed: row.group_chats_allowed === 1,
    admin: isAdmin(config, row),
    createdAt: row.created_at,
  };
}

export async function findUser(db: Kysely<Database>, userId: string): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', userId).executeTakeFirst();
}

export async function getUser(db: Kysely<Database>, userId: string): Promise<UserRow> {
  const user = await findUser(db, userId);
  if (!user) throw new ParleyError('NOT_FOUND', 'no such user');
  return user;
}

export async function getUserByUsername(db: Kysely<Database>, username: string, field = 'username'): Promise<UserRow> {
  const user = await db.selectFrom('users').selectAll().where('username', '=', username.toLowerCase()).executeTakeFirst();
  if (!user) throw new ParleyError('NOT_FOUND', `no user @${username}`, { field });
  return user;
}

/** A person must complete the mini-profile once before creating or joining a group. */
export function requireGroupReady(user: UserRow, field?: string): void {
  const who = field ? `@${user.username}` : 'you';
  if (user.profile_complete !== 1) {
    throw new ParleyError('PROFILE_INCOMPLETE', `${who} must complete the profile (display name) before joining a group`, field ? { field } : {});
  }
  if (user.group_chats_allowed !== 1) {
    throw new ParleyError('GROUP_CHATS_DISABLED', `group chats are switched off for ${who} by a guardian`, field ? { field } : {});
  }
}

/**
 * After a profile change in `write`: a `member-updated` event in every conversation the account
 * is a member of, so every member's list shows the new name or picture live [EL1]. Nothing when
 * what others see did not change.
 */
export async function announceProfile(write: WriteContext, before: UserRow, after: UserRow): Promise<void> {
  const was = toUserSummary(before);
  const user = toUserSummary(after);
  if (was.username === user.username && was.displayName === user.displayName && was.avatarUrl === user.avatarUrl) return;
  const memberships = await write.db
    .selectFrom('members')
    .select('conversation_id')
    .where('user_id', '=', after.id)
    // One order for every such write, so two on PostgreSQL take the conversations' rows in the same order.
    .orderBy('conversation_id')
    .execute();
  for (const { conversation_id } of memberships) await write.append(conversation_id, { type: 'member-updated', actorId: after.id, user });
}
