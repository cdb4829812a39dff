import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type ErrorCode, isParleyError, SOCKET_CLOSE } from '@parley/protocol';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { authenticateHeaders, originAllowed } from '../accounts/sessions.js';
import type { ServerContext } from '../context.js';
import type { Hub } from './hub.js';
import { SocketSession } from './socket-session.js';

export const SOCKET_PATH = '/api/socket';
/**
 * The heartbeat period is cut in this many slices, one pinged per tick: pinging every socket in
 * one go held the event loop for milliseconds per thousand sockets once each period.
 */
const HEARTBEAT_SLICES = 30;
/** The hard limit, which `ws` enforces by closing with 1009: a hello naming many conversations must fit [EL10]. */
const MAX_HELLO_BYTES = 1024 * 1024;

/** A socket's errors are `ws`'s to handle (it closes the socket itself); nothing to add. */
function ignore(): void {}

/**
 * What an accepted socket carries: its session and the heartbeat slice it is in. On the socket
 * itself, so that its listeners are the same four functions for every socket (`this` is the
 * socket) rather than closures made per socket [EL12].
 */
interface Accepted extends WebSocket {
  [SESSION]: { session: SocketSession; slice: Map<WebSocket, SocketSession> };
}
const SESSION = Symbol('parley.session');

function onPong(this: WebSocket): void {
  (this as Accepted)[SESSION].session.alive = true;
}

function onMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  (this as Accepted)[SESSION].session.receive(data, isBinary);
}

function onClose(this: WebSocket): void {
  const { session, slice } = (this as Accepted)[SESSION];
  slice.delete(this);
  session.closed();
}

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
export class SocketServer {
  readonly #context: ServerContext;
  readonly #hub: Hub;
  readonly #wss: WebSocketServer;
  readonly #heartbeat: NodeJS.Timeout;
  /** Every accepted socket, in the heartbeat slice that pings it and looks at its session's expiry. */
  readonly #slices = Array.from({ length: HEARTBEAT_SLICES }, () => new Map<WebSocket, SocketSession>());
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
        this.#wss.handleUpgrade(request, socket, head, (ws) => this.#accept(ws, socket, auth.userId, auth.sessionId));
      },
      (error: unknown) => {
        if (isParleyError(error)) refuse(socket, error.status, error.code, error.message);
        else socket.destroy();
      },
    );
  }

  #accept(ws: WebSocket, socket: Duplex, userId: string, sessionId: string): void {
    const session = new SocketSession(this.#context, this.#hub, ws, this.#hub.connect(ws, userId, sessionId), socket);
    const slice = this.#slices[this.#nextSlice++ % HEARTBEAT_SLICES] ?? new Map<WebSocket, SocketSession>();
    slice.set(ws, session);
    const accepted = ws as Accepted;
    accepted[SESSION] = { session, slice };
    accepted.on('pong', onPong);
    accepted.on('message', onMessage);
    accepted.on('close', onClose);
    // `ws` closes the socket itself after an error (1009 for an oversized frame, 1002 for a
    // protocol fault); terminating here would cut off that close frame.
    accepted.on('error', ignore);
  }

  /**
   * Pings one slice of the sockets; one that did not answer its previous ping is cut off, and one
   * whose session has expired is closed as a sign-out would close it [EL11]. Each socket is
   * looked at once per heartbeat period: one sweep rather than a timer per socket, which an idle
   * socket would pay for in memory [EL12].
   */
  #beat(): void {
    const slice = this.#slices[this.#tick++ % HEARTBEAT_SLICES];
    if (!slice) return;
    const now = this.#context.clock.now().getTime();
    for (const [ws, session] of slice) {
      if (!session.alive) {
        ws.terminate();
        continue;
      }
      if (now >= session.expiresAt) {
        this.#hub.disconnect(session.connection);
        ws.close(SOCKET_CLOSE.unauthenticated, 'the session expired');
        continue;
      }
      session.alive = false;
      ws.ping();
    }
  }

  close(): void {
    clearInterval(this.#heartbeat);
    for (const ws of this.#wss.clients) ws.close(SOCKET_CLOSE.goingAway, 'server shutting down');
    this.#wss.close();
  }
}
