import { type EnabledApp, ParleyError } from '@parley/protocol';
import type { AppSource } from '@parley/apps';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { ServerContext } from '../context.js';
import { requireMember } from '../conversations/access.js';
import { bindRoute } from '../http/bind.js';
import { newId } from '../ids/ids.js';
import type { Database } from '../storage/schema.js';
import { authorizationFailurePage } from './authorization-page.js';
import { completeAuthorization, disconnect, listAndRecord, startAuthorization } from './authorization.js';
import { connectedApps, findApp, isOffered, sourceOf, toAdminApp, toApp } from './directory.js';

async function enabledApps(db: Kysely<Database>, conversationId: string): Promise<EnabledApp[]> {
  const rows = await db
    .selectFrom('conversation_apps')
    .innerJoin('apps', 'apps.id', 'conversation_apps.app_id')
    .select(['conversation_apps.app_id', 'apps.name', 'conversation_apps.enabled_by', 'conversation_apps.enabled_at'])
    .where('conversation_apps.conversation_id', '=', conversationId)
    .orderBy('conversation_apps.enabled_at')
    .orderBy('conversation_apps.app_id')
    .execute();
  return rows.map((row) => ({ appId: row.app_id, name: row.name, enabledBy: row.enabled_by, enabledAt: row.enabled_at }));
}

/** The directory (administrators) and the apps of each conversation (members). Rules in SPEC.md beside this file. */
export function registerAppRoutes(app: FastifyInstance, context: ServerContext): void {
  bindRoute(app, context, 'listAdminApps', async () => {
    const rows = await context.storage.reader.selectFrom('apps').selectAll().orderBy('created_at').orderBy('id').execute();
    return { apps: rows.map(toAdminApp), localApps: context.config.appsStdio };
  });

  bindRoute(app, context, 'createApp', async ({ auth, body }) => {
    let source: AppSource;
    if ('url' in body) {
      source = { transport: 'http', url: body.url };
    } else {
      // A local app runs a command on this machine: only when the installation allows it [AP2].
      if (!context.config.appsStdio) {
        throw new ParleyError('FORBIDDEN', 'local (stdio) apps are off on this server (PARLEY_APPS_STDIO=on allows them)', { field: 'body.command' });
      }
      if (!body.command[0]?.startsWith('/')) {
        throw new ParleyError('INVALID_INPUT', 'body.command.0: must be the absolute path of the executable', { field: 'body.command.0' });
      }
      source = { transport: 'stdio', command: body.command };
    }
    const id = newId();
    await context.log.write(async ({ db, now }) => {
      await db
        .insertInto('apps')
        .values({
          id,
          name: body.name,
          transport: source.transport,
          url: source.transport === 'http' ? source.url : null,
          command: source.transport === 'stdio' ? JSON.stringify(source.command) : null,
          status: 'review',
          listing: null,
          listing_hash: null,
          approved_hash: null,
          error: null,
          added_by: auth.userId,
          reviewed_by: null,
          reviewed_at: null,
          created_at: now,
          updated_at: now,
        })
        .execute();
    });
    return toAdminApp(await listAndRecord(context, id, source, auth.userId));
  });

  bindRoute(app, context, 'getAdminApp', async ({ params }) => toAdminApp(await findApp(context.storage.reader, params.appId)));

  bindRoute(app, context, 'refreshApp', async ({ auth, params }) => {
    const row = await findApp(context.storage.reader, params.appId);
    return toAdminApp(await listAndRecord(context, row.id, sourceOf(row), auth.userId));
  });

  bindRoute(app, context, 'reviewApp', async ({ auth, params, body }) => {
    const row = await context.log.write(async ({ db, now }) => {
      const current = await findApp(db, params.appId);
      if (current.listing_hash === null) {
        throw new ParleyError('CONFLICT', 'Parley could not list this app yet: refresh it first', { field: 'params.appId' });
      }
      // An approval is of the tools the administrator read, never of what the app lists now [AP4].
      if (current.listing_hash !== body.hash) {
        throw new ParleyError('CONFLICT', "the app's tools changed since this listing was read: review the new one", { field: 'body.hash' });
      }
      const approve = body.decision === 'approve';
      await db
        .updateTable('apps')
        .set({ status: approve ? 'approved' : 'rejected', approved_hash: approve ? body.hash : null, reviewed_by: auth.userId, reviewed_at: now, updated_at: now })
        .where('id', '=', current.id)
        .execute();
      return findApp(db, current.id);
    });
    context.apps.forget(row.id);
    return toAdminApp(row);
  });

  bindRoute(app, context, 'deleteApp', async ({ auth, params }) => {
    await context.log.write(async (write) => {
      const row = await findApp(write.db, params.appId);
      const enabled = await write.db.selectFrom('conversation_apps').select('conversation_id').where('app_id', '=', row.id).orderBy('conversation_id').execute();
      // Every conversation it was on in learns it is off, in its own log [AP6].
      for (const { conversation_id } of enabled) {
        await write.lock(conversation_id);
        await write.append(conversation_id, { type: 'app-disabled', actorId: auth.userId, appId: row.id });
      }
      await write.db.deleteFrom('conversation_apps').where('app_id', '=', row.id).execute();
      await write.db.deleteFrom('app_call_grants').where('app_id', '=', row.id).execute();
      await write.db.deleteFrom('app_oauth_flows').where('app_id', '=', row.id).execute();
      await write.db.deleteFrom('app_oauth_tokens').where('app_id', '=', row.id).execute();
      await write.db.deleteFrom('app_oauth_clients').where('app_id', '=', row.id).execute();
      await write.db.deleteFrom('apps').where('id', '=', row.id).execute();
    });
    context.apps.forget(params.appId);
  });

  // OAuth for apps that need it: each member authorises the app for themselves [AP16]-[AP19].
  bindRoute(app, context, 'startAppAuthorization', async ({ auth, params, body }) => startAuthorization(context, auth, params.appId, body.returnTo));
  // A person's browser lands on the callback: what it refuses is a page, unless the caller asks for JSON [AP24].
  bindRoute(app, context, 'appAuthorizationCallback', async ({ auth, query }) => ({ location: await completeAuthorization(context, auth, query) }), {
    errorPage: authorizationFailurePage,
  });
  bindRoute(app, context, 'deleteAppAuthorization', async ({ auth, params }) => disconnect(context, auth, params.appId));

  bindRoute(app, context, 'listApps', async ({ auth }) => {
    const rows = (await context.storage.reader.selectFrom('apps').selectAll().where('status', '=', 'approved').orderBy('name').orderBy('id').execute()).filter(isOffered);
    const connected = await connectedApps(context.storage.reader, auth.userId, rows.map((row) => row.id));
    return { apps: rows.map((row) => toApp(row, connected.has(row.id))) };
  });

  bindRoute(app, context, 'listConversationApps', async ({ auth, params }) => {
    const db = context.storage.reader;
    await requireMember(db, params.conversationId, auth.userId);
    const enabled = await enabledApps(db, params.conversationId);
    const rows = enabled.length === 0 ? [] : await db.selectFrom('apps').selectAll().where('id', 'in', enabled.map((item) => item.appId)).execute();
    const offered = new Map(rows.filter(isOffered).map((row) => [row.id, row]));
    const connected = await connectedApps(db, auth.userId, [...offered.keys()]);
    return { enabled, apps: enabled.flatMap((item) => (offered.has(item.appId) ? [toApp(offered.get(item.appId)!, connected.has(item.appId))] : [])) };
  });

  bindRoute(app, context, 'setConversationApp', async ({ auth, params, body }) => {
    const enabled = await context.log.write(async (write) => {
      await write.lock(params.conversationId);
      const { conversation } = await requireMember(write.db, params.conversationId, auth.userId);
      if (conversation.kind === 'direct') {
        throw new ParleyError('FORBIDDEN', 'a direct conversation has no assistant to use apps', { field: 'params.conversationId' });
      }
      const current = await write.db
        .selectFrom('conversation_apps')
        .select('app_id')
        .where('conversation_id', '=', conversation.id)
        .where('app_id', '=', params.appId)
        .executeTakeFirst();
      if (body.enabled) {
        const row = await write.db.selectFrom('apps').selectAll().where('id', '=', params.appId).executeTakeFirst();
        // Members see only approved apps; one in review or rejected is as if it did not exist [AP5].
        if (!row || !isOffered(row)) throw new ParleyError('NOT_FOUND', 'no such approved app', { field: 'params.appId' });
        if (!current) {
          await write.db.insertInto('conversation_apps').values({ conversation_id: conversation.id, app_id: row.id, enabled_by: auth.userId, enabled_at: write.now }).execute();
          await write.append(conversation.id, {
            type: 'app-enabled',
            actorId: auth.userId,
            app: { appId: row.id, name: row.name, enabledBy: auth.userId, enabledAt: write.now },
          });
        }
      } else if (current) {
        await write.db.deleteFrom('conversation_apps').where('conversation_id', '=', conversation.id).where('app_id', '=', params.appId).execute();
        await write.append(conversation.id, { type: 'app-disabled', actorId: auth.userId, appId: params.appId });
      }
      return enabledApps(write.db, conversation.id);
    });
    return { enabled };
  });
}
