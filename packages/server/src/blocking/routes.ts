import { ParleyError } from '@parley/protocol';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { findUser, toUserSummary } from '../accounts/users.js';
import type { ServerContext } from '../context.js';
import { bindRoute } from '../http/bind.js';
import type { Database } from '../storage/schema.js';

/**
 * Blocking. What a block prevents is enforced where it matters: starting a DM
 * (conversations/routes.ts), adding someone to a group (conversations/membership.ts and
 * resolveGroupPeople) and sending in an existing DM (messages/routes.ts).
 */
export function registerBlockingRoutes(app: FastifyInstance, context: ServerContext): void {
  const { reader } = context.storage;

  bindRoute(app, context, 'listBlocks', async ({ auth }) => {
    const rows = await reader
      .selectFrom('blocks')
      .innerJoin('users', 'users.id', 'blocks.blocked_id')
      .selectAll('users')
      .select('blocks.created_at as blocked_at')
      .where('blocks.blocker_id', '=', auth.userId)
      .orderBy('blocks.created_at', 'desc')
      .orderBy('users.username')
      .execute();
    return { blocked: rows.map(({ blocked_at, ...user }) => ({ user: toUserSummary(user), blockedAt: blocked_at })) };
  });

  // Idempotent: blocking again keeps the original time.
  bindRoute(app, context, 'blockUser', async ({ auth, params }) => {
    if (params.userId === auth.userId) throw new ParleyError('INVALID_INPUT', 'you cannot block yourself', { field: 'params.userId' });
    await context.log.write(async ({ db, now }) => {
      await requireUser(db, params.userId);
      await db
        .insertInto('blocks')
        .values({ blocker_id: auth.userId, blocked_id: params.userId, created_at: now })
        .onConflict((conflict) => conflict.columns(['blocker_id', 'blocked_id']).doNothing())
        .execute();
    });
  });

  // Idempotent: unblocking someone not blocked succeeds and changes nothing.
  bindRoute(app, context, 'unblockUser', async ({ auth, params }) => {
    if (params.userId === auth.userId) throw new ParleyError('INVALID_INPUT', 'you cannot unblock yourself', { field: 'params.userId' });
    await context.log.write(async ({ db }) => {
      await requireUser(db, params.userId);
      await db.deleteFrom('blocks').where('blocker_id', '=', auth.userId).where('blocked_id', '=', params.userId).execute();
    });
  });
}

async function requireUser(db: Kysely<Database>, userId: string): Promise<void> {
  if (!(await findUser(db, userId))) throw new ParleyError('NOT_FOUND', 'no such user', { field: 'params.userId' });
}
