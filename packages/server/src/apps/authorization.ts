import { ParleyError } from '@parley/protocol';
import { AppAuthorizationError, authorizeApp, AuthorizationRequiredError, type AppSource } from '@parley/apps';
import type { Auth } from '../accounts/sessions.js';
import type { ServerContext } from '../context.js';
import type { WriteContext } from '../events/event-log.js';
import { sha256 } from '../ids/ids.js';
import { type AppRow, findApp, isOffered, recordListing, recordListingError, sourceOf } from './directory.js';
import { resumeAuthorizedCalls } from './calls.js';

/** An authorisation must come back within this long after it started [AP17]. */
export const FLOW_TTL_MS = 10 * 60_000;

/** The error an app that needs OAuth keeps until an administrator authorises it and it is listed [AP16]. */
export const NEEDS_AUTHORIZATION = 'authorization: this app needs OAuth; an administrator connects it (POST /api/apps/:appId/authorization) so Parley can list its tools';

async function markNeedsAuthorization(write: WriteContext, appId: string, error: string): Promise<AppRow> {
  await write.db.updateTable('apps').set({ oauth: 1, error, updated_at: write.now }).where('id', '=', appId).execute();
  return findApp(write.db, appId);
}

/**
 * Connects to the app, lists it and records the listing (or why it failed) [AP3]. A remote app
 * is reached with the credentials of `userId` (the administrator): one that answers 401 is marked
 * as needing OAuth, and is listed once they authorised it [AP16].
 */
export async function listAndRecord(context: ServerContext, appId: string, source: AppSource, userId: string): Promise<AppRow> {
  context.apps.forget(appId);
  const provider = source.transport === 'http' ? context.appOAuth.provider({ id: appId, url: source.url }, userId) : undefined;
  try {
    const listing = await context.apps.list(source, provider);
    return await context.log.write(async (write) => {
      const row = await recordListing(write, appId, listing);
      if (!provider?.presentedToken || row.oauth === 1) return row;
      await write.db.updateTable('apps').set({ oauth: 1 }).where('id', '=', appId).execute();
      return findApp(write.db, appId);
    });
  } catch (error) {
    if (error instanceof ParleyError) throw error;
    if (error instanceof AuthorizationRequiredError) return context.log.write((write) => markNeedsAuthorization(write, appId, NEEDS_AUTHORIZATION));
    // It answered 401, and its authorisation server could not be used: it needs OAuth all the same.
    if (error instanceof AppAuthorizationError) return context.log.write((write) => markNeedsAuthorization(write, appId, `authorization: ${error.message}`.slice(0, 2000)));
    return context.log.write((write) => recordListingError(write, appId, error));
  }
}

/** The app, if the member may authorise it: offered to members, or any app for an administrator [AP17]. */
async function authorizableApp(context: ServerContext, auth: Auth, appId: string): Promise<AppRow & { url: string }> {
  const row = await context.storage.reader.selectFrom('apps').selectAll().where('id', '=', appId).executeTakeFirst();
  // Members see only offered apps; anything else is as if it did not exist [AP5].
  if (!row || (!auth.admin && !isOffered(row))) throw new ParleyError('NOT_FOUND', 'no such approved app', { field: 'params.appId' });
  if (row.transport !== 'http' || row.url === null || row.oauth !== 1) {
    throw new ParleyError('CONFLICT', 'this app does not use OAuth: there is nothing to authorise', { field: 'params.appId' });
  }
  return { ...row, url: row.url };
}

function parleyErrorOf(error: unknown, field: string): ParleyError {
  if (error instanceof ParleyError) return error;
  if (error instanceof AppAuthorizationError) {
    if (error.kind === 'issuer') {
      return new ParleyError('FORBIDDEN', `the authorisation server is not the one this app names (issuer check): ${error.message}`.slice(0, 2000), { field });
    }
    if (error.kind === 'refused') {
      return new ParleyError('CONFLICT', `the authorisation server refused (${error.code ?? 'error'}): ${error.message}; start again`.slice(0, 2000), { field });
    }
  }
  const message = error instanceof Error ? error.message : String(error);
  return new ParleyError('UNAVAILABLE', `the app's authorisation server could not be reached: ${message}`.slice(0, 2000));
}

/**
 * Starts a member's authorisation of an app [AP17]: the SDK discovers the authorisation server
 * (checking its issuer), registers Parley once per issuer and makes the PKCE challenge; the
 * state, verifier and discovery are kept, sealed, bound to the member's session, for the
 * callback. Tokens that still work or refresh need no visit: null, and the waiting calls run.
 */
export async function startAuthorization(context: ServerContext, auth: Auth, appId: string, returnTo: string | undefined): Promise<{ authorizationUrl: string | null }> {
  const row = await authorizableApp(context, auth, appId);
  const provider = context.appOAuth.provider({ id: row.id, url: row.url }, auth.userId);
  let result: 'authorized' | 'redirect';
  try {
    result = await authorizeApp(row.url, provider);
  } catch (error) {
    throw parleyErrorOf(error, 'params.appId');
  }
  if (result === 'authorized') {
    await afterAuthorized(context, row, auth.userId);
    return { authorizationUrl: null };
  }
  const state = provider.issuedState;
  if (!state || !provider.authorizationUrl) throw new Error('the OAuth client gave no authorisation request');
  const stateHash = sha256(state);
  const sealed = context.appOAuth.sealFlow(provider.flowSecrets(), stateHash);
  await context.log.write(async ({ db, now }) => {
    // A member's authorisations that were never finished are forgotten once they expired.
    await db.deleteFrom('app_oauth_flows').where('user_id', '=', auth.userId).where('expires_at', '<', now).execute();
    await db
      .insertInto('app_oauth_flows')
      .values({
        state_hash: stateHash,
        app_id: row.id,
        user_id: auth.userId,
        session_id: auth.sessionId,
        sealed,
        return_to: returnTo ?? null,
        created_at: now,
        expires_at: new Date(Date.parse(now) + FLOW_TTL_MS).toISOString(),
      })
      .execute();
  });
  return { authorizationUrl: provider.authorizationUrl.href };
}

export interface CallbackQuery {
  state: string;
  code?: string | undefined;
  iss?: string | undefined;
  error?: string | undefined;
  error_description?: string | undefined;
}

/**
 * The authorisation server sent the member back [AP17]: the state must name an authorisation of
 * this member's session, not expired, used once; the code is exchanged (the SDK checks `iss`
 * against the issuer recorded at the start, and the `resource`); then the member's calls
 * waiting for this app run [AP18]. Returns where the browser goes next.
 */
export async function completeAuthorization(context: ServerContext, auth: Auth, query: CallbackQuery): Promise<string> {
  const stateHash = sha256(query.state);
  const flow = await context.storage.reader.selectFrom('app_oauth_flows').selectAll().where('state_hash', '=', stateHash).executeTakeFirst();
  if (!flow) throw new ParleyError('NOT_FOUND', 'query.state: no authorisation under way has this state (it was used already, or never started)', { field: 'query.state' });
  // Only the session that started it may finish it: a link sent to someone else does nothing.
  if (flow.user_id !== auth.userId || flow.session_id !== auth.sessionId) {
    throw new ParleyError('FORBIDDEN', 'query.state: this authorisation was started by another session', { field: 'query.state' });
  }
  // Used once, whatever comes of it.
  await context.log.write(async ({ db }) => {
    await db.deleteFrom('app_oauth_flows').where('state_hash', '=', stateHash).execute();
  });
  if (flow.expires_at < context.clock.now().toISOString()) {
    throw new ParleyError('CONFLICT', 'query.state: this authorisation took too long and expired; start again', { field: 'query.state' });
  }
  if (query.error !== undefined) {
    throw new ParleyError('CONFLICT', `the authorisation server answered ${query.error}${query.error_description ? `: ${query.error_description}` : ''}`.slice(0, 2000), { field: 'query.error' });
  }
  if (query.code === undefined) throw new ParleyError('INVALID_INPUT', 'query.code: the authorisation server sent no code', { field: 'query.code' });
  const secrets = context.appOAuth.openFlow(flow.sealed, stateHash);
  if (!secrets) throw new ParleyError('CONFLICT', 'query.state: this authorisation could not be read (the secret key changed); start again', { field: 'query.state' });
  const row = await authorizableApp(context, auth, flow.app_id);
  const provider = context.appOAuth.provider({ id: row.id, url: row.url }, auth.userId, secrets);
  try {
    await authorizeApp(row.url, provider, { code: query.code, ...(query.iss !== undefined ? { iss: query.iss } : {}) });
  } catch (error) {
    throw parleyErrorOf(error, error instanceof AppAuthorizationError && error.kind === 'issuer' ? 'query.iss' : 'query.code');
  }
  await afterAuthorized(context, row, auth.userId);
  return flow.return_to ?? '/';
}

/** Disconnect: the member's tokens for the app are forgotten, and their connection dropped [AP19]. */
export async function disconnect(context: ServerContext, auth: Auth, appId: string): Promise<void> {
  const row = await context.storage.reader.selectFrom('apps').select('id').where('id', '=', appId).executeTakeFirst();
  if (!row) throw new ParleyError('NOT_FOUND', 'no such app', { field: 'params.appId' });
  await context.appOAuth.forgetTokens(appId, auth.userId);
  context.apps.forgetMember(appId, auth.userId);
}

/**
 * The member now holds working tokens: their connection is opened again with them; an app not
 * offered yet (an administrator authorising it) is listed; the member's calls of the app waiting
 * for authorisation run [AP18].
 */
async function afterAuthorized(context: ServerContext, row: AppRow, userId: string): Promise<void> {
  context.apps.forgetMember(row.id, userId);
  if (!isOffered(row)) await listAndRecord(context, row.id, sourceOf(row), userId);
  resumeAuthorizedCalls(context, row.id, userId);
}
