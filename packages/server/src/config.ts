import path from 'node:path';
import type { Durability } from './storage/database.js';

export interface ServerConfig {
  /** 0 picks a free port. */
  port: number;
  host: string;
  /** SQLite file, uploads and avatars live here. */
  dataDir: string;
  /** PostgreSQL connection string; SQLite in `dataDir` when absent. */
  databaseUrl: string | undefined;
  /** Redis for fan-out between nodes (`REDIS_URL`); without it the bus is in process (one node). */
  redisUrl: string | undefined;
  /** The Redis pub/sub channel of this installation's nodes (channels are shared by every database of a Redis server). */
  redisChannel: string;
  /**
   * This node's name (`PARLEY_NODE_ID`): on the bus, and on the answers it streams, so that a
   * restart ends only its own. Default: host name and port (a random one with port 0).
   */
  nodeId: string | undefined;
  durability: Durability;
  /** PostgreSQL: write batches committed at once, each on its own connection, writes of one conversation in one lane (`PARLEY_WRITE_LANES`). */
  writeLanes: number;
  /**
   * A write waits at most about this long for the database before new ones are refused: past it,
   * requests that write answer `503 UNAVAILABLE` with Retry-After, and what was admitted
   * finishes (`PARLEY_MAX_WRITE_WAIT_MS`, http/SPEC.md [PB7]).
   */
  maxWriteWaitMs: number;
  /**
   * Most connections (HTTP and event sockets) open at once; past it a new one is closed at once
   * (`PARLEY_MAX_CONNECTIONS`). Default: nine tenths of the process's open-file limit less 64, so
   * the database, uploads and apps always have descriptors left ([PB7]).
   */
  maxConnections: number | undefined;
  /** Origins allowed to open the event socket and to send cookie-authenticated writes, besides the server's own. */
  allowedOrigins: string[];
  /** Most people in a group (the assistant is not counted). */
  groupMemberLimit: number;
  maxUploadBytes: number;
  /**
   * Uploads not (yet) sent in a message: an account holds at most `files` of them and `bytes`
   * in all, and each is deleted `keepHours` after its upload.
   */
  unsentUploads: { files: number; bytes: number; keepHours: number };
  maxAvatarBytes: number;
  /** Human messages: a bucket of `burst` that refills at `perMinute`. */
  floodLimit: { burst: number; perMinute: number };
  /** Failed sign-ins allowed per username and per address within `windowSeconds`. */
  loginThrottle: { perUsername: number; perAddress: number; windowSeconds: number };
  sessionDays: number;
  /** Set the Secure flag on the session cookie (serve over HTTPS). */
  secureCookies: boolean;
  /** Log each request, through the process's logger. */
  logRequests: boolean;
  /** An event socket that says no `hello` within this many ms is closed with 4408 (events/SPEC.md [EL10]). */
  socketHelloTimeoutMs: number;
  /**
   * Each event socket is pinged once in this many ms, and closed when it has not answered the
   * previous ping by then. The sockets are pinged a slice at a time, spread over the period.
   */
  socketHeartbeatMs: number;
  /** An event socket with more than this many bytes queued and unsent is closed with 1013 and resumes ([EL12]). */
  socketMaxBufferedBytes: number;
  /**
   * Bearer token of the assistant's bot account. When unset, one is generated once and kept in
   * `<dataDir>/assistant-token` (mode 0600). Several nodes sharing one database should set it.
   */
  assistantToken: string | undefined;
  /** Assistant answers charged to the member whose message triggered them: a bucket of `burst` that refills at `perHour`. */
  assistantRateLimit: { burst: number; perHour: number };
  /** A turn that receives no text for this long ends as failed (`assistant_timeout`): never a stuck "typing". */
  assistantTurnTimeoutMs: number;
  /** Usernames that are administrators (`PARLEY_ADMINS`), besides the accounts marked so in the database [AP1]. */
  admins: string[];
  /** Whether administrators may add local (stdio) apps, which run a command on this machine (`PARLEY_APPS_STDIO=on`) [AP2]. */
  appsStdio: boolean;
  /** Longest wait for an app: connecting, listing, and each tool call. */
  appTimeoutMs: number;
  /** At most one progress event per running tool call this often (apps/SPEC.md [AP12]). */
  appProgressIntervalMs: number;
  /** A call still running this long after its own timeout would have ended it is failed by any node: its node is gone (apps/SPEC.md [AP15]). */
  appLeaseGraceMs: number;
  /**
   * Key material that seals the members' OAuth tokens for apps (`PARLEY_SECRET_KEY`, at least 32
   * characters). When unset, one is generated once and kept in `<dataDir>/secret-key` (mode
   * 0600). Several nodes sharing one database must set the same one.
   */
  secretKey: string | undefined;
  /**
   * The address people reach this server at (`PARLEY_PUBLIC_URL`), for the OAuth callback of apps
   * (`<publicUrl>/api/app-authorization/callback`) and the page a member comes back to.
   * Default: the address the server listens on.
   */
  publicUrl: string | undefined;
  /**
   * The port of the widget origin (apps/SPEC.md [AP20]), a listener apart from the API's that
   * serves apps' widgets and nothing else; 0 picks a free one, null serves no widgets.
   */
  widgetPort: number | null;
  /** The address the widget listener binds; the API's `host` when unset. */
  widgetHost: string | undefined;
  /** The widget origin as browsers reach it (behind a proxy, another host name); `http://host:widgetPort` when unset. */
  widgetOrigin: string | undefined;
}

export function defaultConfig(overrides: Partial<ServerConfig> = {}): ServerConfig {
  return {
    port: 3000,
    host: '127.0.0.1',
    dataDir: path.resolve('data'),
    databaseUrl: undefined,
    redisUrl: undefined,
    redisChannel: 'parley:bus',
    nodeId: undefined,
    durability: 'full',
    allowedOrigins: [],
    groupMemberLimit: 20,
    maxUploadBytes: 20 * 1024 * 1024,
    unsentUploads: { files: 50, bytes: 200 * 1024 * 1024, keepHours: 24 },
    maxAvatarBytes: 5 * 1024 * 1024,
    writeLanes: 4,
    maxWriteWaitMs: 2000,
    maxConnections: undefined,
    floodLimit: { burst: 30, perMinute: 120 },
    loginThrottle: { perUsername: 10, perAddress: 100, windowSeconds: 15 * 60 },
    sessionDays: 30,
    secureCookies: false,
    logRequests: false,
    socketHelloTimeoutMs: 10_000,
    socketHeartbeatMs: 30_000,
    socketMaxBufferedBytes: 4 * 1024 * 1024,
    assistantToken: undefined,
    assistantRateLimit: { burst: 20, perHour: 60 },
    assistantTurnTimeoutMs: 120_000,
    admins: [],
    appsStdio: false,
    appTimeoutMs: 30_000,
    appProgressIntervalMs: 1000,
    appLeaseGraceMs: 15_000,
    secretKey: undefined,
    publicUrl: undefined,
    widgetPort: null,
    widgetHost: undefined,
    widgetOrigin: undefined,
    ...overrides,
  };
}
