import crypto from 'node:crypto';
import type { Socket } from 'node:net';
import type { FastifyListenOptions } from 'fastify';
import os from 'node:os';
import path from 'node:path';
import { type ServerConfig, defaultConfig } from './config.js';
import type { ServerContext } from './context.js';
import { buildApp, type SiteHandler } from './app.js';
import { LimitStore, windowOf } from './abuse/limits.js';
import { sessionReader } from './accounts/sessions.js';
import { type AssistantAccount, ensureAssistantAccount } from './assistant/account.js';
import { Turns } from './assistant/turns.js';
import { AppHost } from './apps/host.js';
import { AppCallRuns } from './apps/runs.js';
import { isOffered, recordListing } from './apps/directory.js';
import { AppOAuth } from './apps/oauth.js';
import { SecretBox, secretKeyMaterial } from './apps/sealing.js';
import { startWidgetSite, type WidgetSite } from './apps/widgets.js';
import { ParleyError } from '@parley/protocol';
import { FileStore } from './attachments/file-store.js';
import { startUnsentUploadSweeper } from './attachments/unsent-uploads.js';
import { type Clock, EventLog, systemClock } from './events/event-log.js';
import type { Logger } from './logger.js';
import { type Bus, MemoryBus } from './realtime/bus.js';
import { RedisBus } from './realtime/redis-bus.js';
import { Hub, readBlocks, readMemberships } from './realtime/hub.js';
import { LiveTurns } from './realtime/live-turns.js';
import { SocketServer } from './realtime/socket-server.js';
import { openStorage } from './storage/database.js';
import { WriteQueue } from './storage/write-queue.js';
import { connectionLimit } from './http/overload.js';

export interface RunningServer {
  /** Base URL, such as http://127.0.0.1:3000. */
  readonly url: string;
  /** The widget origin, such as http://127.0.0.1:3001; null when this node serves no widgets. */
  readonly widgetOrigin: string | null;
  readonly context: ServerContext;
  readonly hub: Hub;
  /** The assistant's bot account: the composition root hands it to the in-process assistant. */
  readonly assistant: AssistantAccount;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * The node's address, listened on by the process before it loaded the server (parley's main.ts):
 * a client that connects while the node starts waits in line instead of being refused, and a
 * refused client backs off for longer with every try. The HTTP server takes the listening handle
 * over once it can answer. Not for `localhost`, which Fastify binds once per address.
 */
export interface HeldPort {
  /** The listening socket's handle (a `net.Server`'s `_handle`), as `server.listen({ handle })` takes it. */
  readonly handle: object;
  /** Stops holding; the connections accepted meanwhile, paused and not yet read, for the HTTP server. */
  release(): Socket[];
}

export interface StartOptions {
  config?: Partial<ServerConfig>;
  clock?: Clock;
  /** The process's logger (`createLogger`); tests pass `silentLogger()` or one that records. */
  logger: Logger;
  bus?: Bus;
  /** Serves what is not the API (the web client's files); without it, such paths answer 404. */
  site?: SiteHandler;
  /** Listens there rather than on `config.port` (which it was opened on). */
  held?: HeldPort;
}

/** Opens storage (migrating it), starts the HTTP API and the event socket, and listens. */
export async function startServer(options: StartOptions): Promise<RunningServer> {
  const config = defaultConfig(options.config);
  const clock = options.clock ?? systemClock;
  const { logger } = options;
  const storage = await openStorage(
    config.databaseUrl
      ? // Each lane holds a connection while its batch runs; reads take the others.
        { kind: 'postgres', url: config.databaseUrl, poolSize: Math.max(10, config.writeLanes + 6), logger }
      : { kind: 'sqlite', file: path.join(config.dataDir, 'parley.sqlite'), durability: config.durability, logger },
  );
  const queue = new WriteQueue(storage.writer, {
    backend: storage.kind,
    // SQLite has one writer: one batch at a time.
    lanes: storage.kind === 'postgres' ? config.writeLanes : 1,
    ...(storage.sync ? { sync: storage.sync } : {}),
    ...(storage.beforeBatch ? { beforeBatch: storage.beforeBatch } : {}),
  });
  // A node started again under the same name ends the answers it left streaming [AT8]; with port 0 it cannot be the same node.
  const nodeId = config.nodeId ?? (config.port === 0 ? crypto.randomUUID() : `${os.hostname()}:${config.port}`);
  const bus =
    options.bus ??
    (config.redisUrl ? await RedisBus.connect({ url: config.redisUrl, channel: config.redisChannel, nodeId, log: (line) => logger.warn(line) }) : new MemoryBus());
  const limitStore = config.redisUrl
    ? await LimitStore.redis({ url: config.redisUrl, prefix: config.redisChannel, log: (line) => logger.warn(line) })
    : LimitStore.memory();
  const log = new EventLog({ queue, reader: storage.reader, bus, backend: storage.kind, clock });
  const assistant = await ensureAssistantAccount({ log, reader: storage.reader, config });
  const liveTurns = new LiveTurns({ clock });
  const turns = new Turns({
    log,
    reader: storage.reader,
    bus,
    clock,
    logger,
    live: liveTurns,
    rateLimit: config.assistantRateLimit,
    limits: limitStore,
    nodeId,
    soleNode: storage.kind === 'sqlite',
    timeoutMs: config.assistantTurnTimeoutMs,
  });
  // Answers cut off when this node last stopped end now, before anyone is answered [AT8] (a
  // held port has connections waiting already).
  await turns.recover();
  // Every connection to an app lists it first: an app whose tools changed since its approval
  // goes back to review and is not used [AP4].
  // So does every listing after the app says its tools changed [AP14].
  const apps = new AppHost({
    timeoutMs: config.appTimeoutMs,
    onConnect: async (appId, listing) => {
      const row = await log.write((write) => recordListing(write, appId, listing));
      if (!isOffered(row)) {
        throw new ParleyError('CONFLICT', "this app's tools changed since it was approved: it waits for an administrator's review", { field: 'params.appId' });
      }
    },
    onRelistError: (appId, error) => {
      if (!(error instanceof ParleyError)) logger.warn({ err: error, appId }, 'could not list an app again after it said its tools changed');
    },
  });
  // The OAuth callback's address is known once the server listens, unless PARLEY_PUBLIC_URL says it.
  let listeningUrl = '';
  const appOAuth = new AppOAuth({
    reader: storage.reader,
    log,
    clock,
    box: new SecretBox(secretKeyMaterial(config)),
    publicUrl: () => config.publicUrl ?? listeningUrl,
  });
  const appRuns = new AppCallRuns({
    log,
    reader: storage.reader,
    bus,
    clock,
    logger,
    nodeId,
    soleNode: storage.kind === 'sqlite',
    timeoutMs: config.appTimeoutMs,
    progressIntervalMs: config.appProgressIntervalMs,
    leaseGraceMs: config.appLeaseGraceMs,
    // Its sweep also deletes the authorisations under way that expired unfinished [AP25].
    housekeeping: () => appOAuth.forgetExpiredFlows(),
  });
  // Tool calls this node left running when it stopped fail as interrupted, for the group to see [AP15].
  await appRuns.recover();
  const perSecond = (perMinute: number) => perMinute / 60;
  const context: ServerContext = {
    config,
    storage,
    log,
    bus,
    clock,
    logger,
    files: new FileStore(config.dataDir),
    assistant,
    turns,
    apps,
    appRuns,
    appOAuth,
    widgets: { origin: null },
    limitStore,
    limits: {
      flood: limitStore.limit('flood', windowOf(config.floodLimit.burst, perSecond(config.floodLimit.perMinute))),
      loginByUsername: limitStore.limit('sign-in-username', { points: config.loginThrottle.perUsername, seconds: config.loginThrottle.windowSeconds }),
      loginByAddress: limitStore.limit('sign-in-address', { points: config.loginThrottle.perAddress, seconds: config.loginThrottle.windowSeconds }),
    },
  };
  const hub = new Hub({
    memberships: readMemberships(storage.reader),
    blocks: readBlocks(storage.reader),
    sessions: sessionReader(storage.reader, clock),
    log,
    bus,
    maxBufferedBytes: config.socketMaxBufferedBytes,
    liveTurns,
  });
  const sockets = new SocketServer(context, hub);
  // Unsent uploads expire keepHours after their upload: looked for every hour (or a quarter of that).
  const sweeper = startUnsentUploadSweeper(context, Math.min(3_600_000, (config.unsentUploads.keepHours * 3_600_000) / 4));
  // The widget origin listens first: the API's tickets name it [AP20].
  let widgetSite: WidgetSite | undefined;
  if (config.widgetPort !== null) {
    widgetSite = await startWidgetSite(context, { port: config.widgetPort, host: config.widgetHost ?? config.host, origin: config.widgetOrigin }, logger);
    context.widgets.origin = widgetSite.origin;
  }
  const app = buildApp(context, options.site ? { site: options.site } : {});
  // Past this many connections a new one is closed at once, so that descriptors remain for storage [PB7].
  const maxConnections = config.maxConnections ?? connectionLimit();
  if (maxConnections !== undefined) app.server.maxConnections = maxConnections;
  app.server.on('upgrade', (request, socket, head) => sockets.handleUpgrade(request, socket, head));
  if (options.held) {
    // Fastify hands these options to `server.listen`, which takes a handle in place of a port.
    await app.listen({ handle: options.held.handle, host: config.host } as FastifyListenOptions);
    for (const socket of options.held.release()) {
      app.server.emit('connection', socket);
      socket.resume();
    }
  } else {
    await app.listen({ port: config.port, host: config.host });
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  listeningUrl = `http://${host}:${port}`;
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      // Running tool calls are cancelled and recorded before the requests waiting on them drain [AP15].
      appRuns.stopAll();
      sockets.close();
      hub.close();
      // A request in flight when closing begins is answered, but its keep-alive connection then
      // stays open and app.close() would wait for it until the keep-alive timeout (72 s): close
      // such connections as soon as they fall idle.
      const reaper = setInterval(() => app.server.closeIdleConnections(), 10);
      await app.close().finally(() => clearInterval(reaper));
      await widgetSite?.close();
      await sweeper.stop();
      await turns.close();
      await appRuns.close();
      await apps.close();
      await queue.close();
      await bus.close();
      await limitStore.close();
      await storage.close();
    })());
  return { url: `http://${host}:${port}`, widgetOrigin: widgetSite?.origin ?? null, context, hub, assistant, close, [Symbol.asyncDispose]: close };
}
