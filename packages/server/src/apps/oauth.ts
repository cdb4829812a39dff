import crypto from 'node:crypto';
import type {
  OAuthClientInformationContext,
  OAuthClientMetadata,
  OAuthClientProvider,
  OAuthDiscoveryState,
  StoredOAuthClientInformation,
  StoredOAuthTokens,
} from '@parley/apps';
import type { Kysely } from 'kysely';
import type { Clock, EventLog } from '../events/event-log.js';
import type { Database } from '../storage/schema.js';
import type { SecretBox } from './sealing.js';

/** The callback's path on this server (the redirect URI Parley registers with authorisation servers). */
export const CALLBACK_PATH = '/api/app-authorization/callback';

export interface AppOAuthOptions {
  reader: Kysely<Database>;
  log: EventLog;
  clock: Clock;
  box: SecretBox;
  /** The address people reach this server at (`PARLEY_PUBLIC_URL`, or where it listens). */
  publicUrl: () => string;
}

/** What an authorisation under way keeps between its start and the callback, sealed in `app_oauth_flows`. */
export interface FlowSecrets {
  codeVerifier: string;
  discovery: OAuthDiscoveryState | null;
}

/** The members' OAuth credentials for apps: the client registered per app and issuer, each member's sealed tokens. */
export class AppOAuth {
  readonly options: AppOAuthOptions;

  constructor(options: AppOAuthOptions) {
    this.options = options;
  }

  get redirectUrl(): string {
    return `${this.options.publicUrl()}${CALLBACK_PATH}`;
  }

  /** The credentials of `userId` for the app at `url`, as the MCP SDK asks for them. */
  provider(app: { id: string; url: string }, userId: string, flow?: FlowSecrets): MemberOAuthProvider {
    return new MemberOAuthProvider(this, app, userId, flow);
  }

  /** Whether the member holds tokens for the app (from any issuer). */
  async hasTokens(appId: string, userId: string): Promise<boolean> {
    const row = await this.options.reader.selectFrom('app_oauth_tokens').select('issuer').where('app_id', '=', appId).where('user_id', '=', userId).executeTakeFirst();
    return row !== undefined;
  }

  /** Forgets the member's tokens for the app [AP19]. */
  async forgetTokens(appId: string, userId: string): Promise<void> {
    await this.options.log.write(async ({ db }) => {
      await db.deleteFrom('app_oauth_tokens').where('app_id', '=', appId).where('user_id', '=', userId).execute();
      await db.deleteFrom('app_oauth_flows').where('app_id', '=', appId).where('user_id', '=', userId).execute();
    });
  }

  /**
   * Deletes the authorisations under way whose ten minutes are over, whoever started them: their
   * callback would be refused anyway [AP25]. Returns how many went.
   */
  async forgetExpiredFlows(): Promise<number> {
    return this.options.log.write(async ({ db, now }) => {
      const result = await db.deleteFrom('app_oauth_flows').where('expires_at', '<', now).executeTakeFirst();
      return Number(result.numDeletedRows);
    });
  }

  sealFlow(secrets: FlowSecrets, stateHash: string): string {
    return this.options.box.seal(JSON.stringify(secrets), ['flow', stateHash]);
  }

  openFlow(sealed: string, stateHash: string): FlowSecrets | undefined {
    const text = this.options.box.open(sealed, ['flow', stateHash]);
    if (text === undefined) return undefined;
    const value = parseJson(text) as Partial<FlowSecrets> | undefined;
    return typeof value?.codeVerifier === 'string' ? { codeVerifier: value.codeVerifier, discovery: value.discovery ?? null } : undefined;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * One member's OAuth credentials for one app, for the MCP SDK (which does discovery, the issuer
 * check, registration, PKCE, the `resource` parameter and refreshes): the client registered per
 * issuer, the member's tokens per issuer (sealed, bound to app, member, issuer and resource), and,
 * during an authorisation, its state, PKCE verifier and discovery state (kept by the caller in
 * `app_oauth_flows`) [AP16].
 */
export class MemberOAuthProvider implements OAuthClientProvider {
  readonly #store: AppOAuth;
  readonly #app: { id: string; url: string };
  readonly #userId: string;
  #codeVerifier: string | undefined;
  #discovery: OAuthDiscoveryState | undefined;
  #resource: string;
  #state: string | undefined;
  /** Where `auth` would send the member: the authorisation server's page. */
  authorizationUrl: URL | undefined;
  /** Whether a request carried this member's token: the app is one that needs OAuth. */
  presentedToken = false;

  constructor(store: AppOAuth, app: { id: string; url: string }, userId: string, flow?: FlowSecrets) {
    this.#store = store;
    this.#app = app;
    this.#userId = userId;
    this.#codeVerifier = flow?.codeVerifier;
    this.#discovery = flow?.discovery ?? undefined;
    this.#resource = app.url;
  }

  get redirectUrl(): string {
    return this.#store.redirectUrl;
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'Parley',
      redirect_uris: [this.#store.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }

  /** A new, unguessable `state` for the authorisation request (the callback finds the flow by its hash). */
  state(): string {
    this.#state ??= crypto.randomBytes(32).toString('base64url');
    return this.#state;
  }

  /** The state of the authorisation request this provider started, if it started one. */
  get issuedState(): string | undefined {
    return this.#state;
  }

  async clientInformation(context?: OAuthClientInformationContext): Promise<StoredOAuthClientInformation | undefined> {
    const { reader, box } = this.#store.options;
    let query = reader.selectFrom('app_oauth_clients').select(['issuer', 'sealed']).where('app_id', '=', this.#app.id);
    if (context) query = query.where('issuer', '=', context.issuer);
    const row = await query.orderBy('created_at', 'desc').executeTakeFirst();
    const text = row ? box.open(row.sealed, ['client', this.#app.id, row.issuer]) : undefined;
    return text === undefined ? undefined : (parseJson(text) as StoredOAuthClientInformation | undefined);
  }

  async saveClientInformation(information: StoredOAuthClientInformation, context?: OAuthClientInformationContext): Promise<void> {
    const issuer = context?.issuer ?? information.issuer ?? '';
    const sealed = this.#store.options.box.seal(JSON.stringify(information), ['client', this.#app.id, issuer]);
    await this.#store.options.log.write(async ({ db, now }) => {
      await db
        .insertInto('app_oauth_clients')
        .values({ app_id: this.#app.id, issuer, sealed, created_at: now })
        .onConflict((conflict) => conflict.columns(['app_id', 'issuer']).doUpdateSet({ sealed, created_at: now }))
        .execute();
    });
  }

  async tokens(context?: OAuthClientInformationContext): Promise<StoredOAuthTokens | undefined> {
    const { reader, box } = this.#store.options;
    let query = reader.selectFrom('app_oauth_tokens').select(['issuer', 'resource', 'sealed']).where('app_id', '=', this.#app.id).where('user_id', '=', this.#userId);
    if (context) query = query.where('issuer', '=', context.issuer);
    // Without a context (the transport's per-request read), the newest tokens.
    const row = await query.orderBy('updated_at', 'desc').executeTakeFirst();
    const text = row ? box.open(row.sealed, ['tokens', this.#app.id, this.#userId, row.issuer, row.resource]) : undefined;
    const tokens = text === undefined ? undefined : (parseJson(text) as StoredOAuthTokens | undefined);
    if (tokens && !context) this.presentedToken = true;
    return tokens;
  }

  async saveTokens(tokens: StoredOAuthTokens, context?: OAuthClientInformationContext): Promise<void> {
    const issuer = context?.issuer ?? tokens.issuer ?? '';
    const resource = this.#resource;
    const sealed = this.#store.options.box.seal(JSON.stringify(tokens), ['tokens', this.#app.id, this.#userId, issuer, resource]);
    await this.#store.options.log.write(async ({ db, now }) => {
      await db
        .insertInto('app_oauth_tokens')
        .values({ app_id: this.#app.id, user_id: this.#userId, issuer, resource, sealed, updated_at: now })
        .onConflict((conflict) => conflict.columns(['app_id', 'user_id', 'issuer']).doUpdateSet({ resource, sealed, updated_at: now }))
        .execute();
    });
  }

  redirectToAuthorization(authorizationUrl: URL): void {
    this.authorizationUrl = authorizationUrl;
  }

  saveCodeVerifier(codeVerifier: string): void {
    this.#codeVerifier = codeVerifier;
  }

  codeVerifier(): string {
    if (this.#codeVerifier === undefined) throw new Error('no authorisation is under way for this app and member');
    return this.#codeVerifier;
  }

  saveDiscoveryState(state: OAuthDiscoveryState): void {
    this.#discovery = state;
  }

  discoveryState(): OAuthDiscoveryState | undefined {
    return this.#discovery;
  }

  saveResourceUrl(resource: string): void {
    this.#resource = resource;
  }

  async invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery'): Promise<void> {
    if (scope === 'verifier' || scope === 'all') this.#codeVerifier = undefined;
    if (scope === 'discovery' || scope === 'all') this.#discovery = undefined;
    if (scope === 'tokens' || scope === 'all') {
      await this.#store.options.log.write(async ({ db }) => {
        await db.deleteFrom('app_oauth_tokens').where('app_id', '=', this.#app.id).where('user_id', '=', this.#userId).execute();
      });
    }
    if (scope === 'client' || scope === 'all') {
      await this.#store.options.log.write(async ({ db }) => {
        await db.deleteFrom('app_oauth_clients').where('app_id', '=', this.#app.id).execute();
      });
    }
  }

  /** What the callback needs to finish this authorisation. */
  flowSecrets(): FlowSecrets {
    return { codeVerifier: this.codeVerifier(), discovery: this.#discovery ?? null };
  }
}
