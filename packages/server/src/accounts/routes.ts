import { ParleyError } from '@parley/protocol';
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { bindRoute } from '../http/bind.js';
import { newId } from '../ids/ids.js';
import { RESERVED_USERNAMES } from '../assistant/account.js';
import { decoyHash, hashPassword, verifyPassword } from './passwords.js';
import { clearSessionCookie, createSession, endSession, setSessionCookie } from './sessions.js';
import { announceProfile, getUser, getUserByUsername, toMe, toUserSummary } from './users.js';

/** Names kept for the server's own accounts, such as the assistant's [AS1]. */
function refuseReserved(username: string): void {
  if (RESERVED_USERNAMES.has(username)) throw new ParleyError('USERNAME_TAKEN', `@${username} is reserved`, { field: 'body.username' });
}

export function registerAccountRoutes(app: FastifyInstance, context: ServerContext): void {
  bindRoute(app, context, 'signUp', async ({ body, reply }) => {
    const passwordHash = await hashPassword(body.password);
    const id = newId();
    const user = await context.log.write(async ({ db, now }) => {
      refuseReserved(body.username);
      const taken = await db.selectFrom('users').select('id').where('username', '=', body.username).executeTakeFirst();
      if (taken) throw new ParleyError('USERNAME_TAKEN', `@${body.username} is taken`, { field: 'body.username' });
      // The first person of a fresh install administers it [AP1]. Writes run one at a time, so two
      // first sign-ups cannot both see an empty install.
      const anyone = await db.selectFrom('users').select('id').where('kind', '=', 'human').limit(1).executeTakeFirst();
      const row = {
        id,
        username: body.username,
        display_name: body.displayName ?? null,
        password_hash: passwordHash,
        age_band: body.ageBand,
        kind: 'human' as const,
        avatar_id: null,
        profile_complete: body.displayName ? 1 : 0,
        group_chats_allowed: 1,
        admin: anyone ? 0 : 1,
        created_at: now,
      };
      await db.insertInto('users').values(row).execute();
      return row;
    });
    const session = await createSession(context, id, body.session);
    if (body.session === 'cookie') {
      setSessionCookie(context, reply, session.token, session.expiresAt);
      return { user: toMe(user, context.config) };
    }
    return { user: toMe(user, context.config), token: session.token };
  });

  bindRoute(app, context, 'signIn', async ({ body, reply, request }) => {
    const address = request.ip;
    const [waitUser, waitAddress] = await Promise.all([
      context.limits.loginByUsername.peek(body.username),
      context.limits.loginByAddress.peek(address),
    ]);
    if (waitUser > 0 || waitAddress > 0) {
      throw new ParleyError('RATE_LIMITED', 'too many failed sign-ins; wait and try again', {
        retryAfter: Math.max(waitUser, waitAddress),
      });
    }
    const user = await context.storage.reader.selectFrom('users').selectAll().where('username', '=', body.username).executeTakeFirst();
    const valid = await verifyPassword(user?.password_hash ?? (await decoyHash()), body.password);
    if (!user || !valid) {
      await Promise.all([context.limits.loginByUsername.take(body.username), context.limits.loginByAddress.take(address)]);
      throw new ParleyError('INVALID_CREDENTIALS', 'wrong username or password');
    }
    await context.limits.loginByUsername.reset(body.username);
    const session = await createSession(context, user.id, body.session);
    if (body.session === 'cookie') {
      setSessionCookie(context, reply, session.token, session.expiresAt);
      return { user: toMe(user, context.config) };
    }
    return { user: toMe(user, context.config), token: session.token };
  });

  bindRoute(app, context, 'signOut', async ({ auth, reply }) => {
    await endSession(context, auth);
    clearSessionCookie(context, reply);
  });

  bindRoute(app, context, 'getMe', async ({ auth }) => toMe(await getUser(context.storage.reader, auth.userId), context.config));

  bindRoute(app, context, 'updateMe', async ({ auth, body }) => {
    const user = await context.log.write(async (write) => {
      const { db } = write;
      const before = await getUser(db, auth.userId);
      if (body.username !== undefined) {
        if (before.username !== body.username) refuseReserved(body.username);
        const taken = await db
          .selectFrom('users')
          .select('id')
          .where('username', '=', body.username)
          .where('id', '!=', auth.userId)
          .executeTakeFirst();
        if (taken) throw new ParleyError('USERNAME_TAKEN', `@${body.username} is taken`, { field: 'body.username' });
      }
      await db
        .updateTable('users')
        .set({
          ...(body.username !== undefined ? { username: body.username } : {}),
          ...(body.displayName !== undefined ? { display_name: body.displayName, profile_complete: 1 } : {}),
        })
        .where('id', '=', auth.userId)
        .execute();
      const after = await getUser(db, auth.userId);
      await announceProfile(write, before, after);
      return after;
    });
    return toMe(user, context.config);
  });

  bindRoute(app, context, 'getUser', async ({ params }) => toUserSummary(await getUser(context.storage.reader, params.userId)));

  bindRoute(app, context, 'getUserByUsername', async ({ params }) =>
    toUserSummary(await getUserByUsername(context.storage.reader, params.username)),
  );
}
