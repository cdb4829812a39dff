import { type Invite, ParleyError, type UserSummary } from '@parley/protocol';
import type { FastifyInstance } from 'fastify';
import type { Kysely, Selectable } from 'kysely';
import { getUser, requireGroupReady, toUserSummary } from '../accounts/users.js';
import type { ServerContext } from '../context.js';
import { requireGroup, requireMember, requireMembership } from '../conversations/access.js';
import { admitMember, memberCount, requireNotRemoved } from '../conversations/membership.js';
import { loadView } from '../conversations/views.js';
import { parseSnapshot } from '../blocking/withhold.js';
import { bindRoute } from '../http/bind.js';
import { newId, newSecret, sha256 } from '../ids/ids.js';
import type { Database, InvitesTable } from '../storage/schema.js';

type InviteRow = Selectable<InvitesTable>;

function toInvite(row: InviteRow, token?: string): Invite {
  return {
    id: row.id,
    conversationId: row.conversation_id,
    ...(token !== undefined ? { token } : {}),
    createdBy: row.created_by,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    maxUses: row.max_uses,
    uses: row.uses,
    revokedAt: row.revoked_at,
  };
}

/** Only the token's hash is stored, so a leaked database holds no working link. */
async function findInvite(db: Kysely<Database>, token: string): Promise<InviteRow> {
  const invite = await db.selectFrom('invites').selectAll().where('token_hash', '=', sha256(token)).executeTakeFirst();
  if (!invite) throw new ParleyError('NOT_FOUND', 'no such invite link', { field: 'params.token' });
  return invite;
}

function requireUsable(invite: InviteRow, now: string): void {
  const gone = (reason: string) => new ParleyError('INVITE_EXPIRED', `this invite link ${reason}`, { field: 'params.token' });
  if (invite.revoked_at !== null) throw gone('was revoked');
  // ISO-8601 UTC strings of one format compare in time order.
  if (invite.expires_at !== null && invite.expires_at <= now) throw gone('has expired');
  if (invite.max_uses !== null && invite.uses >= invite.max_uses) throw gone('has been used up');
}

/** Members of a conversation whom `userId` has blocked. */
async function blockedMembers(db: Kysely<Database>, conversationId: string, userId: string): Promise<UserSummary[]> {
  const rows = await db
    .selectFrom('members')
    .innerJoin('blocks', 'blocks.blocked_id', 'members.user_id')
    .innerJoin('users', 'users.id', 'members.user_id')
    .selectAll('users')
    .select('blocks.profile_snapshot')
    .where('members.conversation_id', '=', conversationId)
    .where('blocks.blocker_id', '=', userId)
    .orderBy('users.username')
    .execute();
  // Named as the blocker knows them: by the profile of the block [EL16].
  return rows.map(({ profile_snapshot, ...user }) => parseSnapshot(profile_snapshot) ?? toUserSummary(user));
}

async function isMember(db: Kysely<Database>, conversationId: string, userId: string): Promise<boolean> {
  const row = await db
    .selectFrom('members')
    .select('user_id')
    .where('conversation_id', '=', conversationId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return row !== undefined;
}

export function registerInviteRoutes(app: FastifyInstance, context: ServerContext): void {
  const { reader } = context.storage;

  bindRoute(app, context, 'listInvites', async ({ auth, params }) => {
    await requireMembership(reader, params.conversationId, auth.userId);
    const rows = await reader
      .selectFrom('invites')
      .selectAll()
      .where('conversation_id', '=', params.conversationId)
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .execute();
    return { invites: rows.map((row) => toInvite(row)) };
  });

  bindRoute(app, context, 'createInvite', async ({ auth, params, body }) => {
    const token = newSecret();
    const row = await context.log.write(async (write) => {
      const { conversation } = await requireMember(write.db, params.conversationId, auth.userId);
      requireGroup(conversation);
      const invite: InviteRow = {
        id: newId(),
        conversation_id: conversation.id,
        token_hash: sha256(token),
        created_by: auth.userId,
        created_at: write.now,
        expires_at:
          body.expiresInSeconds !== undefined ? new Date(Date.parse(write.now) + body.expiresInSeconds * 1000).toISOString() : null,
        max_uses: body.maxUses ?? null,
        uses: 0,
        revoked_at: null,
      };
      await write.db.insertInto('invites').values(invite).execute();
      return invite;
    });
    return toInvite(row, token);
  });

  bindRoute(app, context, 'revokeInvite', async ({ auth, params }) => {
    await context.log.write(async (write) => {
      await requireMember(write.db, params.conversationId, auth.userId);
      const invite = await write.db
        .selectFrom('invites')
        .select(['id', 'revoked_at'])
        .where('id', '=', params.inviteId)
        .where('conversation_id', '=', params.conversationId)
        .executeTakeFirst();
      if (!invite) throw new ParleyError('NOT_FOUND', 'no such invite in this group', { field: 'params.inviteId' });
      // Revoking twice keeps the first time.
      if (invite.revoked_at === null) {
        await write.db.updateTable('invites').set({ revoked_at: write.now }).where('id', '=', invite.id).execute();
      }
    });
  });

  bindRoute(app, context, 'previewInvite', async ({ auth, params }) => {
    const invite = await findInvite(reader, params.token);
    requireUsable(invite, context.clock.now().toISOString());
    // Before anything of the group is read out: a removed person learns nothing of it here [MB3].
    await requireNotRemoved(reader, invite.conversation_id, auth.userId);
    const alreadyMember = await isMember(reader, invite.conversation_id, auth.userId);
    const conversation = await reader.selectFrom('conversations').selectAll().where('id', '=', invite.conversation_id).executeTakeFirstOrThrow();
    return {
      conversationId: conversation.id,
      title: conversation.title,
      // People, as the group's limit counts them: the assistant takes no seat.
      memberCount: await memberCount(reader, conversation.id),
      memberLimit: conversation.member_limit,
      blockedMembers: await blockedMembers(reader, conversation.id, auth.userId),
      alreadyMember,
    };
  });

  bindRoute(app, context, 'joinInvite', async ({ auth, params, body }) => {
    const conversationId = await context.log.write(async (write) => {
      const invite = await findInvite(write.db, params.token);
      // Joining twice is a no-op that spends nothing.
      if (await isMember(write.db, invite.conversation_id, auth.userId)) return invite.conversation_id;
      requireUsable(invite, write.now);
      // Before the blocked-member warning, which would name members [MB1], [MB3].
      await requireNotRemoved(write.db, invite.conversation_id, auth.userId);
      const conversation = await write.db
        .selectFrom('conversations')
        .selectAll()
        .where('id', '=', invite.conversation_id)
        .executeTakeFirstOrThrow();
      const user = await getUser(write.db, auth.userId);
      // Before the warning: a person who cannot join at all should not be asked to confirm first.
      requireGroupReady(user);
      const blocked = await blockedMembers(write.db, conversation.id, auth.userId);
      if (blocked.length > 0 && !body.acknowledgeBlocked) {
        throw new ParleyError(
          'BLOCKED_MEMBER_WARNING',
          `this group contains ${blocked.map((member) => `@${member.username}`).join(', ')}, whom you blocked; join with acknowledgeBlocked to go ahead`,
          { field: 'body.acknowledgeBlocked', details: { blockedMembers: blocked } },
        );
      }
      // The use is counted by a conditional update, so two joiners can never both take the last one.
      const used = await write.db
        .updateTable('invites')
        .set((eb) => ({ uses: eb('uses', '+', 1) }))
        .where('id', '=', invite.id)
        .where('revoked_at', 'is', null)
        .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', write.now)]))
        .where((eb) => eb.or([eb('max_uses', 'is', null), eb('uses', '<', eb.ref('max_uses'))]))
        .executeTakeFirst();
      if (Number(used.numUpdatedRows) !== 1) {
        throw new ParleyError('INVITE_EXPIRED', 'this invite link is no longer valid', { field: 'params.token' });
      }
      // If admission fails (the group is full), the savepoint takes the use back with it.
      await admitMember(write, { conversation, user, actorId: auth.userId, via: 'invite' });
      return conversation.id;
    });
    return loadView(context.storage.writer, auth.userId, conversationId);
  });
}
