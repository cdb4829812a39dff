import { ParleyError } from '@parley/protocol';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { findUser, toUserSummary } from '../accounts/users.js';
import type { ServerContext } from '../context.js';
import type { WriteContext } from '../events/event-log.js';
import { bindRoute } from '../http/bind.js';
import type { Database } from '../storage/schema.js';
import { parseSnapshot } from './withhold.js';

/**
 * Blocking. What a block prevents is enforced where it matters: starting a DM
 * (conversations/routes.ts), adding someone to a group (conversations/membership.ts and
 * resolveGroupPeople) and sending in an existing DM (messages/routes.ts). What reaches the
 * blocker's sockets is filtered by the hub and `listEvents` (withhold.ts, [EL14]–[EL18]).
 */
export function registerBlockingRoutes(app: FastifyInstance, context: ServerContext): void {
  const { reader } = context.storage;

  bindRoute(app, context, 'listBlocks', async ({ auth }) => {
    const rows = await reader
      .selectFrom('blocks')
      .innerJoin('users', 'users.id', 'blocks.blocked_id')
      .selectAll('users')
      .select(['blocks.created_at as blocked_at', 'blocks.profile_snapshot'])
      .where('blocks.blocker_id', '=', auth.userId)
      .orderBy('blocks.created_at', 'desc')
      .orderBy('users.username')
      .execute();
    // The profile as it was at the block, as everywhere else the blocker sees it [EL16].
    return {
      blocked: rows.map(({ blocked_at, profile_snapshot, ...user }) => ({
        user: parseSnapshot(profile_snapshot) ?? toUserSummary(user),
        blockedAt: blocked_at,
      })),
    };
  });

  // Idempotent: blocking again keeps the original time.
  bindRoute(app, context, 'blockUser', async ({ auth, params }) => {
    if (params.userId === auth.userId) throw new ParleyError('INVALID_INPUT', 'you cannot block yourself', { field: 'params.userId' });
    await context.log.write(async (write) => {
      const { db, now } = write;
      const user = await requireUser(db, params.userId);
      // The profile as the blocker saw it: later changes to it do not reach them [EL16].
      const inserted = await db
        .insertInto('blocks')
        .values({ blocker_id: auth.userId, blocked_id: params.userId, created_at: now, profile_snapshot: JSON.stringify(toUserSummary(user)) })
        .onConflict((conflict) => conflict.columns(['blocker_id', 'blocked_id']).doNothing())
        .executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) > 0) await announceBlocks(context, write, auth.userId);
    });
  });

  // Idempotent: unblocking someone not blocked succeeds and changes nothing.
  bindRoute(app, context, 'unblockUser', async ({ auth, params }) => {
    if (params.userId === auth.userId) throw new ParleyError('INVALID_INPUT', 'you cannot unblock yourself', { field: 'params.userId' });
    await context.log.write(async (write) => {
      const { db } = write;
      await requireUser(db, params.userId);
      const deleted = await db.deleteFrom('blocks').where('blocker_id', '=', auth.userId).where('blocked_id', '=', params.userId).executeTakeFirst();
      if (Number(deleted.numDeletedRows) > 0) await announceBlocks(context, write, auth.userId);
    });
  });
}

async function requireUser(db: Kysely<Database>, userId: string) {
  const user = await findUser(db, userId);
  if (!user) throw new ParleyError('NOT_FOUND', 'no such user', { field: 'params.userId' });
  return user;
}

/**
 * After the blocker's blocks changed in `write`: the full list, to the blocker's own sockets, once
 * committed. Their hubs filter by it from then on; the client reloads what it holds [EL18].
 */
async function announceBlocks(context: ServerContext, write: WriteContext, blockerId: string): Promise<void> {
  const rows = await write.db
    .selectFrom('blocks')
    .select(['blocked_id', 'profile_snapshot'])
    .where('blocker_id', '=', blockerId)
    .orderBy('blocked_id')
    .execute();
  const blocked = rows.map((row) => ({ userId: row.blocked_id, profile: parseSnapshot(row.profile_snapshot) }));
  write.afterCommit(() => context.bus.publish({ kind: 'blocks', userId: blockerId, blocked }));
}
