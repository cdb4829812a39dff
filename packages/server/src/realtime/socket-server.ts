import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  ClientFrameSchema,
  type ErrorCode,
  errorFromZod,
  isParleyError,
  ParleyError,
  PROTOCOL_VERSION,
  type ServerFrame,
  SOCKET_CLOSE,
  type TurnError,
} from '@parley/protocol';
import { type WebSocket, WebSocketServer } from 'ws';
import { authenticateHeaders, originAllowed } from '../accounts/sessions.js';
import type { ServerContext } from '../context.js';
import type { Connection, Hub } from './hub.js';

export const SOCKET_PATH = '/api/socket';
/**
 * The heartbeat period is cut in this many slices, one pinged per tick: pinging every socket in
 * one go held the event loop for milliseconds per thousand sockets once each period.
 */
const HEARTBEAT_SLICES = 30;
/** Any frame but hello; a larger one gets an error frame [EL10]. */
const MAX_FRAME_BYTES = 64 * 1024;
/** The hard limit, which `ws` enforces by closing with 1009: a hello naming many conversations must fit [EL10]. */
const MAX_HELLO_BYTES = 1024 * 1024;
const TYPING_TTL_MS = 6_000;

/** The frames of a bot streaming an answer, which run in the order they came. */
type ClientTurnFrame =
  | { type: 'turn-delta'; conversationId: string; turnId: string; text: string }
  | { type: 'turn-end'; conversationId: string; turnId: string; status: 'completed' | 'stopped' | 'failed'; error?: TurnError | undefined };

function refuse(socket: Duplex, status: number, code: ErrorCode, message: string): void {
  const body = JSON.stringify({ error: { code, message } });
  socket.end(
    `HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : 'Forbidden'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * The event socket: refuses foreign origins and unauthenticated upgrades, then speaks the
 * protocol's frames. A bad frame gets an `error` frame; it never closes the socket. See
 * ../events/SPEC.md, rules [EL9]–[EL11].
 */
/** The longest delay setTimeout takes (2^31 − 1 ms). */
const MAX_TIMER_MS = 2_147_483_647;

export class SocketServer {
  readonly #context: ServerContext;
  readonly #hub: Hub;
  readonly #wss: WebSocketServer;
  readonly #heartbeat: NodeJS.Timeout;
  readonly #alive = new WeakMap<WebSocket, boolean>();
  /** Every accepted socket, in the heartbeat slice that pings it. */
  readonly #slices = Array.from({ length: HEARTBEAT_SLICES }, () => new Set<WebSocket>());
  #nextSlice = 0;
  #tick = 0;

  constructor(context: ServerContext, hub: Hub) {
    this.#context = context;
    this.#hub = hub;
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: MAX_HELLO_BYTES, perMessageDeflate: false });
    this.#heartbeat = setInterval(() => this.#beat(), context.config.socketHeartbeatMs / HEARTBEAT_SLICES);
    this.#heartbeat.unref();
  }

  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== SOCKET_PATH) {
      socket.destroy();
      return;
    }
    // Checked before credentials: a cookie riding along from a foreign page must not even be looked up [EL11].
    if (!originAllowed(this.#context, request.headers)) {
      refuse(socket, 403, 'ORIGIN_REFUSED', `origin ${String(request.headers.origin)} is not allowed`);
      return;
    }
    authenticateHeaders(this.#context, request.headers).then(
      (auth) => {
        if (!auth) {
          refuse(socket, 401, 'UNAUTHENTICATED', 'sign in first');
          return;
        }
        this.#wss.handleUpgrade(request, socket, head, (ws) => this.#accept(ws, auth.userId, auth.sessionId));
      },
      (error: unknown) => {
        if (isParleyError(error)) refuse(socket, error.status, error.code, error.message);
        else socket.destroy();
      },
    );
  }

  #accept(ws: WebSocket, userId: string, sessionId: string): void {
    this.#alive.set(ws, true);
    ws.on('pong', () => this.#alive.set(ws, true));
    const slice = this.#slices[this.#nextSlice++ % HEARTBEAT_SLICES];
    slice?.add(ws);
    const connection = this.#hub.connect(ws, userId, sessionId);
    let greeted = false;
    const helloTimer = setTimeout(() => {
      this.#hub.disconnect(connection);
      ws.close(SOCKET_CLOSE.helloTimeout, 'no hello');
    }, this.#context.config.socketHelloTimeoutMs);
    // Made on the first typing frame: an idle socket should cost little [EL12].
    let typingSent: Map<string, number> | undefined;
    const reply = (frame: Exclude<ServerFrame, { type: 'event' }>) => this.#hub.sendFrame(connection, frame);
    const fail = (code: ErrorCode, message: string, field?: string) =>
      reply({ type: 'error', error: { code, message, ...(field ? { field } : {}) } });
    // A bot's turn frames run in the order they came: a delta that must read the turn from storage
    // makes the frames after it wait behind it, so the text stays in order and the end comes last.
    let turnFramesWaiting: Promise<void> | undefined;
    let isBot: boolean | undefined;
    const turnFrame = (frame: ClientTurnFrame) => {
      const report = (error: unknown) => {
        if (!isParleyError(error)) return fail('INTERNAL', frame.type === 'turn-end' ? 'could not end the turn' : 'could not add the text');
        const body = error.toBody();
        // Which turn and frame the refusal is about, so a bot streaming several can tell.
        const about = { conversationId: frame.conversationId, turnId: frame.turnId, ...(frame.type === 'turn-end' ? { frame: 'turn-end' } : {}) };
        reply({ type: 'error', error: { ...body, details: { ...body.details, ...about } } });
      };
      const run = (): void | Promise<void> => {
        if (!connection.cursors.has(frame.conversationId)) {
          throw new ParleyError('NOT_FOUND', 'no such conversation', { field: 'frame.conversationId' });
        }
        // Read once per socket: a person's frames are refused without touching storage again.
        if (isBot === undefined) {
          return this.#context.storage.reader
            .selectFrom('users')
            .select('kind')
            .where('id', '=', connection.userId)
            .executeTakeFirst()
            .then((user) => {
              isBot = user?.kind === 'bot';
              return run();
            });
        }
        if (!isBot) throw new ParleyError('FORBIDDEN', 'only a bot member (the assistant) streams answers', { field: 'frame.turnId' });
        if (frame.type === 'turn-end') {
          const { conversationId, turnId, status, error } = frame;
          return this.#context.turns.endStreamed(connection.userId, conversationId, turnId, { status, error }).then((ended) => {
            reply({ type: 'turn-ended', conversationId, turnId, ...ended });
          });
        }
        return this.#context.turns.append(connection.userId, frame.conversationId, frame.turnId, frame.text, {
          turnId: 'frame.turnId',
          text: 'frame.text',
        });
      };
      const wait = (promise: Promise<void>) => {
        const next = promise.catch(report);
        turnFramesWaiting = next;
        void next.finally(() => {
          if (turnFramesWaiting === next) turnFramesWaiting = undefined;
        });
      };
      if (turnFramesWaiting) return wait(turnFramesWaiting.then(run));
      try {
        const pending = run();
        if (pending) wait(pending);
      } catch (error) {
        report(error);
      }
    };

    ws.on('message', (data, isBinary) => {
      if (isBinary) return fail('INVALID_INPUT', 'frames are JSON text');
      const text = data.toString();
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        return fail('INVALID_INPUT', 'frame is not valid JSON');
      }
      if (Buffer.byteLength(text) > MAX_FRAME_BYTES && (value as { type?: unknown } | null)?.type !== 'hello') {
        return fail('PAYLOAD_TOO_LARGE', `frames other than hello hold at most ${MAX_FRAME_BYTES} bytes`, 'frame');
      }
      const parsed = ClientFrameSchema.safeParse(value);
      if (!parsed.success) {
        const error = errorFromZod(parsed.error, 'frame');
        return fail(error.code, error.message, error.field);
      }
      const frame = parsed.data;
      switch (frame.type) {
        case 'hello': {
          if (greeted) return fail('CONFLICT', 'hello was already said');
          if (frame.protocolVersion !== PROTOCOL_VERSION) {
            fail('UNSUPPORTED_PROTOCOL_VERSION', `this server speaks protocol ${PROTOCOL_VERSION}`);
            ws.close(SOCKET_CLOSE.unsupportedVersion, 'unsupported protocol version');
            return;
          }
          greeted = true;
          clearTimeout(helloTimer);
          this.#greet(ws, connection, frame.positions).catch(() => {
            this.#hub.disconnect(connection);
            ws.close(1011, 'could not resume');
          });
          return;
        }
        case 'ping':
          return reply({ type: 'pong', ...(frame.nonce !== undefined ? { nonce: frame.nonce } : {}) });
        case 'typing':
          return this.#typing(connection, frame.conversationId, (typingSent ??= new Map()), fail);
        case 'turn-delta':
        case 'turn-end':
          return turnFrame(frame);
      }
    });
    ws.on('close', () => {
      slice?.delete(ws);
      clearTimeout(helloTimer);
      this.#hub.disconnect(connection);
    });
    // `ws` closes the socket itself after an error (1009 for an oversized frame, 1002 for a
    // protocol fault); terminating here would cut off that close frame.
    ws.on('error', () => undefined);
  }

  /**
   * The session is checked again once the connection is registered: a sign-out that committed
   * between the upgrade's check and the registration found no socket to close [EL11].
   */
  async #greet(ws: WebSocket, connection: Connection, positions: Record<string, number>): Promise<void> {
    const session = await this.#context.storage.reader
      .selectFrom('sessions')
      .select('expires_at')
      .where('token_hash', '=', connection.sessionId)
      .executeTakeFirst();
    if (!session || session.expires_at <= this.#context.clock.now().toISOString()) {
      this.#hub.disconnect(connection);
      ws.close(SOCKET_CLOSE.unauthenticated, 'the session ended');
      return;
    }
    this.#closeAtExpiry(ws, connection, Date.parse(session.expires_at));
    await this.#hub.hello(connection, positions);
  }

  /** A session that expires while its socket is open closes the socket then, as a sign-out would [EL11]. */
  #closeAtExpiry(ws: WebSocket, connection: Connection, expiresAt: number): void {
    // A timer waits at most about 24.8 days; a longer session is looked at again then.
    const delay = Math.min(Math.max(0, expiresAt - this.#context.clock.now().getTime()), MAX_TIMER_MS);
    const timer = setTimeout(() => {
      ws.off('close', cancel);
      if (this.#context.clock.now().getTime() < expiresAt) return this.#closeAtExpiry(ws, connection, expiresAt);
      this.#hub.disconnect(connection);
      ws.close(SOCKET_CLOSE.unauthenticated, 'the session expired');
    }, delay);
    timer.unref();
    const cancel = () => clearTimeout(timer);
    ws.once('close', cancel);
  }

  #typing(
    connection: Connection,
    conversationId: string,
    typingSent: Map<string, number>,
    fail: (code: ErrorCode, message: string, field?: string) => void,
  ): void {
    if (!connection.cursors.has(conversationId)) return fail('NOT_FOUND', 'no such conversation', 'frame.conversationId');
    const now = this.#context.clock.now().getTime();
    // At most one typing signal a second per conversation and socket.
    if (now - (typingSent.get(conversationId) ?? 0) < 1000) return;
    typingSent.set(conversationId, now);
    this.#context.bus.publish({
      kind: 'typing',
      event: {
        type: 'member-typing',
        conversationId,
        userId: connection.userId,
        until: new Date(now + TYPING_TTL_MS).toISOString(),
      },
    });
  }

  /** Pings one slice of the sockets; one that did not answer its previous ping is cut off. */
  #beat(): void {
    const slice = this.#slices[this.#tick++ % HEARTBEAT_SLICES] ?? [];
    for (const ws of slice) {
      if (this.#alive.get(ws) === false) {
        ws.terminate();
        continue;
      }
      this.#alive.set(ws, false);
      ws.ping();
    }
  }

  close(): void {
    clearInterval(this.#heartbeat);
    for (const ws of this.#wss.clients) ws.close(SOCKET_CLOSE.goingAway, 'server shutting down');
    this.#wss.close();
  }
}
