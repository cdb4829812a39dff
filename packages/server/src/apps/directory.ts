import { type AdminApp, type App, type AppListing as WireListing, AppListingSchema, ParleyError } from '@parley/protocol';
import type { AppListing, AppSource } from '@parley/apps';
import type { Kysely, Selectable } from 'kysely';
import type { WriteContext } from '../events/event-log.js';
import type { AppsTable, Database } from '../storage/schema.js';

export type AppRow = Selectable<AppsTable>;

/** Reads JSON this server wrote itself; a row that does not parse is treated as having none. */
function parseStored<T>(text: string | null, parse: (value: unknown) => T | undefined): T | null {
  if (text === null) return null;
  try {
    return parse(JSON.parse(text)) ?? null;
  } catch {
    return null;
  }
}

export function listingOf(row: AppRow): WireListing | null {
  return parseStored(row.listing, (value) => {
    const parsed = AppListingSchema.safeParse(value);
    return parsed.success ? parsed.data : undefined;
  });
}

export function commandOf(row: AppRow): string[] | null {
  return parseStored(row.command, (value) => (Array.isArray(value) && value.every((item) => typeof item === 'string') ? value : undefined));
}

export function sourceOf(row: AppRow): AppSource {
  if (row.transport === 'stdio') return { transport: 'stdio', command: commandOf(row) ?? [] };
  return { transport: 'http', url: row.url ?? '' };
}

export function toAdminApp(row: AppRow): AdminApp {
  return {
    id: row.id,
    name: row.name,
    transport: row.transport,
    url: row.url,
    command: commandOf(row),
    status: row.status,
    listing: listingOf(row),
    approvedHash: row.approved_hash,
    error: row.error,
    oauth: row.oauth === 1,
    addedBy: row.added_by,
    reviewedBy: row.reviewed_by,
    reviewedAt: row.reviewed_at,
    createdAt: row.created_at,
  };
}

/** An approved app as members see it [AP5]; `connected`: the member holds OAuth tokens for it [AP16]. */
export function toApp(row: AppRow, connected: boolean): App {
  const listing = listingOf(row);
  return {
    id: row.id,
    name: row.name,
    tools: listing?.tools ?? [],
    uiResources: (listing?.uiResources ?? []).map(({ uri, name, mimeType }) => ({ uri, name, mimeType })),
    oauth: row.oauth === 1,
    connected: row.oauth === 1 && connected,
  };
}

/** The apps among `appIds` that the member holds OAuth tokens for [AP16]. */
export async function connectedApps(db: Kysely<Database>, userId: string, appIds: readonly string[]): Promise<Set<string>> {
  if (appIds.length === 0) return new Set();
  const rows = await db.selectFrom('app_oauth_tokens').select('app_id').distinct().where('user_id', '=', userId).where('app_id', 'in', [...appIds]).execute();
  return new Set(rows.map((row) => row.app_id));
}

export function toWireListing(listing: AppListing, listedAt: string): WireListing {
  return { ...listing, listedAt };
}

export async function findApp(db: Kysely<Database>, appId: string): Promise<AppRow> {
  const row = await db.selectFrom('apps').selectAll().where('id', '=', appId).executeTakeFirst();
  if (!row) throw new ParleyError('NOT_FOUND', 'no such app', { field: 'params.appId' });
  return row;
}

/** An app members may use: approved, and its current listing the one approved [AP5]. */
export function isOffered(row: AppRow): boolean {
  return row.status === 'approved' && row.approved_hash !== null && row.approved_hash === row.listing_hash;
}

/** An app as one conversation has it: not switched on there (or gone), on but not offered (back in review), or on and offered. */
export type AppInConversation = { state: 'off' } | { state: 'in-review'; app: AppRow } | { state: 'on'; app: AppRow };

/**
 * Whether the app is switched on in the conversation and offered [AP6]: the one answer to it for
 * calls [AP7], widget tickets and widget pages [AP20]. An app back in review stays on but is
 * used nowhere [AP4].
 */
export async function appInConversation(db: Kysely<Database>, conversationId: string, appId: string): Promise<AppInConversation> {
  const app = await db
    .selectFrom('apps')
    .innerJoin('conversation_apps', 'conversation_apps.app_id', 'apps.id')
    .selectAll('apps')
    .where('conversation_apps.conversation_id', '=', conversationId)
    .where('apps.id', '=', appId)
    .executeTakeFirst();
  if (!app) return { state: 'off' };
  return isOffered(app) ? { state: 'on', app } : { state: 'in-review', app };
}

/** The app, switched on in the conversation and offered; otherwise `403 FORBIDDEN` on `field`, saying which it is not [AP7]. */
export async function requireEnabledApp(db: Kysely<Database>, conversationId: string, appId: string, field = 'params.appId'): Promise<AppRow> {
  const found = await appInConversation(db, conversationId, appId);
  if (found.state === 'off') throw new ParleyError('FORBIDDEN', 'this app is not switched on in this conversation', { field });
  if (found.state === 'in-review') throw new ParleyError('FORBIDDEN', "this app's tools changed since it was approved: it waits for an administrator's review", { field });
  return found.app;
}

/**
 * Records a new listing of an app. An approved app whose listing differs from the one approved
 * goes back to review, and is offered nowhere until an administrator approves it again [AP4].
 * Returns the row as written.
 */
export async function recordListing(write: WriteContext, appId: string, listing: AppListing): Promise<AppRow> {
  const row = await findApp(write.db, appId);
  const drifted = row.status === 'approved' && row.approved_hash !== listing.hash;
  if (row.listing_hash === listing.hash && !drifted && row.error === null) return row;
  await write.db
    .updateTable('apps')
    .set({
      listing: JSON.stringify(toWireListing(listing, write.now)),
      listing_hash: listing.hash,
      error: null,
      updated_at: write.now,
      ...(drifted ? { status: 'review' as const } : {}),
    })
    .where('id', '=', appId)
    .execute();
  return findApp(write.db, appId);
}

/** Records why Parley could not list an app (it keeps its last listing and status). */
export async function recordListingError(write: WriteContext, appId: string, error: unknown): Promise<AppRow> {
  const message = (error instanceof Error ? error.message : String(error)).slice(0, 2000);
  await write.db.updateTable('apps').set({ error: message, updated_at: write.now }).where('id', '=', appId).execute();
  return findApp(write.db, appId);
}
