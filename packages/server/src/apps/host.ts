import { ParleyError } from '@parley/protocol';
import {
  AppConnection,
  type AppListing,
  type AppSource,
  AuthorizationRequiredError,
  isAuthorizationRequired,
  type OAuthClientProvider,
  type ToolProgress,
  type ToolResult,
} from '@parley/apps';

/** What the host needs of an app's row to reach it. */
export interface AppTarget {
  id: string;
  source: AppSource;
  /** For an app that needs OAuth: the member whose credentials the connection uses (one connection per member) [AP16]. */
  member?: { userId: string; authProvider: OAuthClientProvider };
}

/** The connection's key: the app's id, and the member's for an app reached with their own credentials. */
function keyOf(appId: string, userId?: string): string {
  return userId === undefined ? appId : `${appId}\u0000${userId}`;
}

export interface AppHostOptions {
  timeoutMs: number;
  /**
   * Told the listing read when a connection to an app opens (first use, or again after a
   * failure), and again each time the app says its tools or resources changed [AP14]; it decides
   * whether the app may still be used [AP4]. A throw refuses (or drops) the connection.
   */
  onConnect: (appId: string, listing: AppListing) => Promise<void>;
  /** Told why listing an app again after its `list_changed` failed (the connection is dropped). */
  onRelistError?: (appId: string, error: unknown) => void;
}

/**
 * This node's connections to apps, one per app (one per member and app for an app that needs
 * OAuth), opened when first needed and dropped when a call fails, so the next use connects
 * again and lists the tools again (where drift is found).
 */
export class AppHost {
  readonly #options: AppHostOptions;
  readonly #connections = new Map<string, Promise<AppConnection>>();
  /** Listings after `list_changed` in progress, one at a time per app. */
  readonly #relisting = new Map<string, Promise<void>>();
  #closed = false;

  constructor(options: AppHostOptions) {
    this.#options = options;
  }

  /** Connects once and lists what the app offers, without keeping the connection. */
  async list(source: AppSource, authProvider?: OAuthClientProvider): Promise<AppListing> {
    const connection = await AppConnection.open(source, { timeoutMs: this.#options.timeoutMs, ...(authProvider ? { authProvider } : {}) });
    try {
      return await connection.list();
    } finally {
      await connection.close().catch(() => undefined);
    }
  }

  async #connection(target: AppTarget): Promise<AppConnection> {
    if (this.#closed) throw new Error('the app host is closed');
    const key = keyOf(target.id, target.member?.userId);
    let pending = this.#connections.get(key);
    if (!pending) {
      pending = (async () => {
        const connection = await AppConnection.open(target.source, {
          timeoutMs: this.#options.timeoutMs,
          onListChanged: () => this.#relist(target.id, key, pending),
          ...(target.member ? { authProvider: target.member.authProvider } : {}),
        });
        try {
          await this.#options.onConnect(target.id, await connection.list());
        } catch (error) {
          await connection.close().catch(() => undefined);
          throw error;
        }
        return connection;
      })();
      this.#connections.set(key, pending);
      pending.catch(() => {
        if (this.#connections.get(key) === pending) this.#connections.delete(key);
      });
    }
    return pending;
  }

  /**
   * The app said its tools or resources changed: list it again on the same connection, and let
   * `onConnect` judge the listing at once, so a changed app goes back to review without waiting
   * for a refresh or a reconnection [AP14]. One listing at a time per app; a failure drops the
   * connection (the next use connects and lists again).
   */
  #relist(appId: string, key: string, pending: Promise<AppConnection> | undefined): void {
    const previous = this.#relisting.get(key) ?? Promise.resolve();
    const next = previous.then(async () => {
      if (this.#closed || !pending || this.#connections.get(key) !== pending) return;
      try {
        const connection = await pending;
        await this.#options.onConnect(appId, await connection.list());
      } catch (error) {
        if (this.#connections.get(key) === pending) this.#drop(key);
        this.#options.onRelistError?.(appId, error);
      }
    });
    this.#relisting.set(key, next);
    void next.finally(() => {
      if (this.#relisting.get(key) === next) this.#relisting.delete(key);
    });
  }

  /**
   * Opens the app's connection if it has none (listing the app, which may find drift [AP4]).
   * A failure to reach the app is `UNAVAILABLE`; drift is what `onConnect` throws; an app that
   * needs the member's authorisation first throws `AuthorizationRequiredError` [AP16].
   */
  async ensure(target: AppTarget): Promise<void> {
    try {
      await this.#connection(target);
    } catch (error) {
      if (error instanceof ParleyError || error instanceof AuthorizationRequiredError) throw error;
      throw new ParleyError('UNAVAILABLE', `the app could not be reached: ${error instanceof Error ? error.message : String(error)}`.slice(0, 2000));
    }
  }

  /**
   * Calls a tool on the app's connection; `signal` cancels it [AP13], `onProgress` hears the
   * app's progress [AP12]. A failure drops the connection; a cancellation does not.
   */
  async call(
    target: AppTarget,
    tool: string,
    args: Record<string, unknown>,
    options: { signal?: AbortSignal; onProgress?: (progress: ToolProgress) => void } = {},
  ): Promise<ToolResult> {
    const connection = await this.#connection(target);
    try {
      return await connection.callTool(tool, args, {
        timeoutMs: this.#options.timeoutMs,
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      });
    } catch (error) {
      if (!options.signal?.aborted) this.#drop(keyOf(target.id, target.member?.userId));
      // The member's tokens stopped working and could not be refreshed: they authorise again [AP16].
      if (isAuthorizationRequired(error)) throw new AuthorizationRequiredError();
      throw error;
    }
  }

  /** Drops the app's connections, every member's (it was changed, refreshed or removed). */
  forget(appId: string): void {
    for (const key of [...this.#connections.keys()]) if (key === appId || key.startsWith(`${appId}\u0000`)) this.#drop(key);
  }

  /** Drops one member's connection to an app (their tokens changed or were removed). */
  forgetMember(appId: string, userId: string): void {
    this.#drop(keyOf(appId, userId));
  }

  #drop(key: string): void {
    const pending = this.#connections.get(key);
    this.#connections.delete(key);
    void pending?.then((connection) => connection.close()).catch(() => undefined);
  }

  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#connections.values()];
    this.#connections.clear();
    await Promise.all([...this.#relisting.values()]);
    await Promise.all(all.map((pending) => pending.then((connection) => connection.close()).catch(() => undefined)));
  }
}
