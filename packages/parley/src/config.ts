import path from 'node:path';
import { defaultConfig, isLogLevel, LOG_LEVELS, type ServerConfig } from '@parley/server';
import { integer, listenAddressFromEnv } from './listen-address.js';
import { builtWebDir } from './web-site.js';

function list(env: NodeJS.ProcessEnv, name: string): string[] {
  return (env[name] ?? '').split(',').map((item) => item.trim()).filter((item) => item !== '');
}

/**
 * The widget origin's port (`PARLEY_WIDGET_PORT`): the API's port plus one by default (a free one
 * when the API's is 0), `off` for none.
 */
function widgetPort(env: NodeJS.ProcessEnv, apiPort: number): number | null {
  const raw = env.PARLEY_WIDGET_PORT;
  if (raw === 'off') return null;
  if (raw === undefined || raw === '') return apiPort === 0 ? 0 : apiPort + 1;
  return integer(env, 'PARLEY_WIDGET_PORT', 0);
}

/** `PARLEY_WIDGET_ORIGIN`: the widget origin as browsers reach it, an `http(s)://host[:port]` origin with nothing after it. */
function widgetOrigin(env: NodeJS.ProcessEnv): string | undefined {
  const raw = env.PARLEY_WIDGET_ORIGIN;
  if (!raw) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`PARLEY_WIDGET_ORIGIN must be an origin such as https://widgets.example.net, got "${raw}"`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== raw.replace(/\/$/, '')) {
    throw new Error(`PARLEY_WIDGET_ORIGIN must be an origin such as https://widgets.example.net, got "${raw}"`);
  }
  return url.origin;
}

/** Reads the server's configuration from environment variables (documented in README.md). */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const defaults = defaultConfig();
  const durability = env.PARLEY_DURABILITY ?? 'full';
  if (durability !== 'full' && durability !== 'process') {
    throw new Error(`PARLEY_DURABILITY must be "full" or "process", got "${durability}"`);
  }
  const { port, host } = listenAddressFromEnv(env);
  return defaultConfig({
    port,
    host,
    dataDir: path.resolve(env.PARLEY_DATA_DIR || 'data'),
    databaseUrl: env.DATABASE_URL || undefined,
    redisUrl: env.REDIS_URL || undefined,
    redisChannel: env.PARLEY_REDIS_CHANNEL || defaults.redisChannel,
    nodeId: env.PARLEY_NODE_ID || undefined,
    durability,
    allowedOrigins: list(env, 'PARLEY_ALLOWED_ORIGINS'),
    groupMemberLimit: integer(env, 'PARLEY_GROUP_MEMBER_LIMIT', defaults.groupMemberLimit, 1),
    maxUploadBytes: integer(env, 'PARLEY_MAX_UPLOAD_BYTES', defaults.maxUploadBytes, 1),
    unsentUploads: {
      files: integer(env, 'PARLEY_UNSENT_UPLOAD_FILES', defaults.unsentUploads.files, 1),
      bytes: integer(env, 'PARLEY_UNSENT_UPLOAD_BYTES', defaults.unsentUploads.bytes, 1),
      keepHours: integer(env, 'PARLEY_UNSENT_UPLOAD_HOURS', defaults.unsentUploads.keepHours, 1),
    },
    maxAvatarBytes: integer(env, 'PARLEY_MAX_AVATAR_BYTES', defaults.maxAvatarBytes, 1),
    writeLanes: integer(env, 'PARLEY_WRITE_LANES', defaults.writeLanes, 1),
    maxWriteWaitMs: integer(env, 'PARLEY_MAX_WRITE_WAIT_MS', defaults.maxWriteWaitMs, 1),
    maxConnections: env.PARLEY_MAX_CONNECTIONS ? integer(env, 'PARLEY_MAX_CONNECTIONS', 0, 1) : undefined,
    floodLimit: {
      burst: integer(env, 'PARLEY_FLOOD_BURST', defaults.floodLimit.burst, 1),
      perMinute: integer(env, 'PARLEY_FLOOD_PER_MINUTE', defaults.floodLimit.perMinute, 1),
    },
    assistantToken: env.PARLEY_ASSISTANT_TOKEN || undefined,
    assistantRateLimit: {
      burst: integer(env, 'PARLEY_ASSISTANT_RATE_BURST', defaults.assistantRateLimit.burst, 1),
      perHour: integer(env, 'PARLEY_ASSISTANT_RATE_PER_HOUR', defaults.assistantRateLimit.perHour, 1),
    },
    assistantTurnTimeoutMs: integer(env, 'PARLEY_ASSISTANT_TURN_TIMEOUT_MS', defaults.assistantTurnTimeoutMs, 1000),
    admins: list(env, 'PARLEY_ADMINS').map((username) => username.replace(/^@/, '').toLowerCase()),
    appsStdio: env.PARLEY_APPS_STDIO === 'on',
    appTimeoutMs: integer(env, 'PARLEY_APP_TIMEOUT_MS', defaults.appTimeoutMs, 100),
    appProgressIntervalMs: integer(env, 'PARLEY_APP_PROGRESS_INTERVAL_MS', defaults.appProgressIntervalMs, 50),
    appLeaseGraceMs: integer(env, 'PARLEY_APP_LEASE_GRACE_MS', defaults.appLeaseGraceMs, 0),
    secretKey: env.PARLEY_SECRET_KEY || undefined,
    publicUrl: publicUrl(env),
    widgetPort: widgetPort(env, port),
    widgetHost: env.PARLEY_WIDGET_HOST || undefined,
    widgetOrigin: widgetOrigin(env),
    secureCookies: env.PARLEY_SECURE_COOKIES === 'true',
    logRequests: env.PARLEY_LOG_REQUESTS === 'true',
  });
}

/** `PARLEY_PUBLIC_URL`: an absolute http(s) address without a trailing slash, or undefined. */
function publicUrl(env: NodeJS.ProcessEnv): string | undefined {
  const value = env.PARLEY_PUBLIC_URL;
  if (!value) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`PARLEY_PUBLIC_URL must be an absolute http(s) address, got "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`PARLEY_PUBLIC_URL must be an http(s) address, got "${value}"`);
  return url.href.replace(/\/+$/, '');
}

/** `PARLEY_LOG_LEVEL`: how much the process logs (JSON lines on standard error); `info` by default. */
export function logLevelFromEnv(env: NodeJS.ProcessEnv = process.env): (typeof LOG_LEVELS)[number] {
  const level = env.PARLEY_LOG_LEVEL || 'info';
  if (!isLogLevel(level)) throw new Error(`PARLEY_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${level}"`);
  return level;
}

/** The folder of the built web client: PARLEY_WEB_DIR, or the build of the `@parley/web` package. */
export function webDirFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.PARLEY_WEB_DIR ? path.resolve(env.PARLEY_WEB_DIR) : builtWebDir();
}
