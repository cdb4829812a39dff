import { type GuardianLink, ParleyError } from '@parley/protocol';
import type { FastifyInstance } from 'fastify';
import type { Kysely, Selectable } from 'kysely';
import { getUser, getUserByUsername, toUserSummary, type UserRow } from '../accounts/users.js';
import type { ServerContext } from '../context.js';
import type { WriteContext } from '../events/event-log.js';
import { bindRoute } from '../http/bind.js';
import { newId } from '../ids/ids.js';
import type { Database, GuardianLinksTable } from '../storage/schema.js';
import { CODE_TTL_MS, hashLinkCode, MAX_CODE_ATTEMPTS, newLinkCode, sameHash } from './codes.js';

type LinkRow = Selectable<GuardianLinksTable>;

function toGuardianLink(link: LinkRow, guardian: UserRow, teen: UserRow): GuardianLink {
  return {
    id: link.id,
    guardian: toUserSummary(guardian),
    teen: toUserSummary(teen),
    status: link.status,
    groupChatsAllowed: teen.group_chats_allowed === 1,
    createdAt: link.created_at,
    confirmedAt: link.confirmed_at,
  };
}

async function loadLinkView(db: Kysely<Database>, link: LinkRow): Promise<GuardianLink> {
  return toGuardianLink(link, await getUser(db, link.guardian_id), await getUser(db, link.teen_id));
}

/** A pending link whose code can still be used. */
function isLive(link: LinkRow, now: string): boolean {
  return link.status === 'pending' && link.code_hash !== null && link.code_expires_at !== null && link.code_expires_at > now;
}

/**
 * The link and the caller's part in it. Someone with no part in it gets NOT_FOUND, so link ids
 * reveal nothing; the teen gets FORBIDDEN for what only the guardian may do [GL8], [GL10].
 */
async function requireGuardianOf(db: Kysely<Database>, linkId: string, userId: string, action: string): Promise<LinkRow> {
  const link = await db.selectFrom('guardian_links').selectAll().where('id', '=', linkId).executeTakeFirst();
  if (!link || (link.guardian_id !== userId && link.teen_id !== userId)) {
    throw new ParleyError('NOT_FOUND', 'no such guardian link', { field: 'params.linkId' });
  }
  if (link.guardian_id !== userId) throw new ParleyError('FORBIDDEN', `only the guardian can ${action}`, { field: 'params.linkId' });
  return link;
}

/**
 * Takes a teen out of every group they are in, as if they had left: each group gets
 * `member-left` (actor: the guardian), which ends the teen's live subscription to it [GL9].
 */
async function removeFromGroups(write: WriteContext, teenId: string, actorId: string): Promise<void> {
  const groups = await write.db
    .selectFrom('members')
    .innerJoin('conversations', 'conversations.id', 'members.conversation_id')
    .select('conversations.id')
    .where('members.user_id', '=', teenId)
    .where('conversations.kind', '=', 'group')
    .orderBy('conversations.id')
    .execute();
  for (const group of groups) {
    await write.db.deleteFrom('members').where('conversation_id', '=', group.id).where('user_id', '=', teenId).execute();
    await write.append(group.id, { type: 'member-left', actorId, userId: teenId });
  }
}

/** Guardian links and teen controls. The rules, numbered, are in SPEC.md beside this file. */
export function registerGuardianRoutes(app: FastifyInstance, context: ServerContext): void {
  const { reader } = context.storage;

  bindRoute(app, context, 'listGuardianLinks', async ({ auth }) => {
    const now = context.clock.now().toISOString();
    const links = await reader
      .selectFrom('guardian_links')
      .selectAll()
      .where((eb) => eb.or([eb('guardian_id', '=', auth.userId), eb('teen_id', '=', auth.userId)]))
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .execute();
    const visible = links.filter((link) => link.status === 'active' || isLive(link, now));
    const asGuardian = visible.filter((link) => link.guardian_id === auth.userId);
    const asTeen = visible.filter((link) => link.teen_id === auth.userId);
    // The teen sees the active link, or else the newest one waiting for their code.
    const mine = asTeen.find((link) => link.status === 'active') ?? asTeen[0];
    return {
      teens: await Promise.all(asGuardian.map((link) => loadLinkView(reader, link))),
      guardian: mine ? await loadLinkView(reader, mine) : null,
    };
  });

  bindRoute(app, context, 'createGuardianLink', async ({ auth, body }) => {
    const code = newLinkCode();
    const result = await context.log.write(async ({ db, now }) => {
      const guardian = await getUser(db, auth.userId);
      if (guardian.kind !== 'human' || guardian.age_band !== 'adult') {
        throw new ParleyError('FORBIDDEN', 'only an adult account can be a guardian');
      }
      const field = 'body.teenUsername';
      const teen = await getUserByUsername(db, body.teenUsername, field);
      if (teen.kind !== 'human' || teen.age_band !== 'teen') {
        throw new ParleyError('FORBIDDEN', `@${teen.username} is not a teen account; only teen accounts have guardians`, { field });
      }
      const active = await db
        .selectFrom('guardian_links')
        .select('guardian_id')
        .where('teen_id', '=', teen.id)
        .where('status', '=', 'active')
        .executeTakeFirst();
      if (active) {
        const whose = active.guardian_id === guardian.id ? 'you are already the guardian' : 'a guardian is already linked';
        throw new ParleyError('CONFLICT', `${whose} of @${teen.username}`, { field });
      }
      const expiresAt = new Date(Date.parse(now) + CODE_TTL_MS).toISOString();
      const secret = { code_hash: hashLinkCode(code), code_expires_at: expiresAt, code_attempts: 0 };
      // Asking again replaces the pair's pending code rather than piling up links [GL3].
      const pending = await db
        .selectFrom('guardian_links')
        .selectAll()
        .where('guardian_id', '=', guardian.id)
        .where('teen_id', '=', teen.id)
        .where('status', '=', 'pending')
        .executeTakeFirst();
      let link: LinkRow;
      if (pending) {
        await db.updateTable('guardian_links').set(secret).where('id', '=', pending.id).execute();
        link = { ...pending, ...secret };
      } else {
        link = { id: newId(), guardian_id: guardian.id, teen_id: teen.id, status: 'pending', ...secret, created_at: now, confirmed_at: null };
        await db.insertInto('guardian_links').values(link).execute();
      }
      return { link: toGuardianLink(link, guardian, teen), expiresAt };
    });
    return { ...result, code };
  });

  bindRoute(app, context, 'confirmGuardianLink', async ({ auth, body }) => {
    const field = 'body.code';
    const outcome = await context.log.write(async ({ db, now }): Promise<{ link: GuardianLink } | { refused: ParleyError }> => {
      const teen = await getUser(db, auth.userId);
      if (teen.age_band !== 'teen') throw new ParleyError('FORBIDDEN', 'only a teen account confirms a guardian link', { field });
      const pending = await db
        .selectFrom('guardian_links')
        .selectAll()
        .where('teen_id', '=', teen.id)
        .where('status', '=', 'pending')
        .execute();
      const hash = hashLinkCode(body.code);
      const match = pending.find((link) => link.code_hash !== null && sameHash(link.code_hash, hash));
      // Refusals are returned, not thrown, so the attempt counts and voided links are committed.
      if (match && !isLive(match, now)) {
        await db.deleteFrom('guardian_links').where('id', '=', match.id).execute();
        return { refused: new ParleyError('FORBIDDEN', 'this code has expired; ask your guardian for a new one', { field }) };
      }
      if (!match) {
        const live = pending.filter((link) => isLive(link, now));
        if (live.length === 0) {
          return { refused: new ParleyError('FORBIDDEN', 'no guardian link is waiting for a code (it was used, cancelled or never issued)', { field }) };
        }
        let attemptsLeft = 0;
        for (const link of live) {
          const attempts = link.code_attempts + 1;
          if (attempts >= MAX_CODE_ATTEMPTS) {
            await db.deleteFrom('guardian_links').where('id', '=', link.id).execute();
          } else {
            await db.updateTable('guardian_links').set({ code_attempts: attempts }).where('id', '=', link.id).execute();
            attemptsLeft = Math.max(attemptsLeft, MAX_CODE_ATTEMPTS - attempts);
          }
        }
        const message =
          attemptsLeft > 0 ? 'wrong code' : 'wrong code; too many wrong codes, so the link was cancelled: ask your guardian for a new one';
        return { refused: new ParleyError('FORBIDDEN', message, { field, details: { attemptsLeft } }) };
      }
      const active = await db
        .selectFrom('guardian_links')
        .select('id')
        .where('teen_id', '=', teen.id)
        .where('status', '=', 'active')
        .executeTakeFirst();
      if (active) throw new ParleyError('CONFLICT', 'you already have a guardian', { field });
      // The code is spent: its hash goes, so it can never confirm anything again [GL6].
      const confirmed = { status: 'active' as const, code_hash: null, code_expires_at: null, code_attempts: 0, confirmed_at: now };
      await db.updateTable('guardian_links').set(confirmed).where('id', '=', match.id).execute();
      // One guardian at a time: other guardians' pending requests are void [GL7].
      await db.deleteFrom('guardian_links').where('teen_id', '=', teen.id).where('status', '=', 'pending').execute();
      return { link: await loadLinkView(db, { ...match, ...confirmed }) };
    });
    if ('refused' in outcome) throw outcome.refused;
    return outcome.link;
  });

  bindRoute(app, context, 'updateTeenControls', async ({ auth, params, body }) => {
    return context.log.write(async (write) => {
      const link = await requireGuardianOf(write.db, params.linkId, auth.userId, "change a teen's controls");
      if (link.status !== 'active') {
        throw new ParleyError('CONFLICT', 'the teen has not confirmed this link yet', { field: 'params.linkId' });
      }
      await write.db
        .updateTable('users')
        .set({ group_chats_allowed: body.groupChatsAllowed ? 1 : 0 })
        .where('id', '=', link.teen_id)
        .execute();
      if (!body.groupChatsAllowed) await removeFromGroups(write, link.teen_id, auth.userId);
      return loadLinkView(write.db, link);
    });
  });

  // The teen's setting stays as it is when the link ends [GL10].
  bindRoute(app, context, 'deleteGuardianLink', async ({ auth, params }) => {
    await context.log.write(async ({ db }) => {
      const link = await requireGuardianOf(db, params.linkId, auth.userId, 'end a guardian link');
      await db.deleteFrom('guardian_links').where('id', '=', link.id).execute();
    });
  });
}
