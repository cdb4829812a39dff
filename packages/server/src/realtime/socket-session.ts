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
import type { Duplex } from 'node:stream';
import type { RawData, WebSocket } from 'ws';
import type { ServerContext } from '../context.js';
import { PreparedQuery } from '../storage/prepared.js';
import type { Connection, Hub } from './hub.js';

/** Any frame but hello; a larger one gets an error frame [EL10]. */
const MAX_FRAME_BYTES = 64 * 1024;
const TYPING_TTL_MS = 6_000;

/** The frames of a bot streaming an answer, which run in the order they came. */
type ClientTurnFrame =
  | { type: 'turn-delta'; conversationId: string; turnId: string; text: string }
  | { type: 'turn-end'; conversationId: string; turnId: string; status: 'completed' | 'stopped' | 'failed'; error?: TurnError | undefined };

/** Read by every hello, so by every client of a restarted node at once: compiled once. */
const sessionExpiry = new PreparedQuery((db, p: { tokenHash: string }) => db.selectFrom('sessions').select('expires_at').where('token_hash', '=', p.tokenHash));

/**
 * One accepted socket: its frames, from `hello` on, and what the heartbeat needs to know of it.
 * An object with its methods on the class, not a dozen closures per socket: an idle socket
 * should cost little [EL12].
 */
export class SocketSession {
  readonly connection: Connection;
  /** Answered the last ping (or has not been pinged yet). */
  alive = true;
  /** When the session expires, in ms since the epoch; not known before `hello`. */
  expiresAt = Number.POSITIVE_INFINITY;
  readonly #context: ServerContext;
  readonly #hub: Hub;
  readonly #ws: WebSocket;
  #greeted = false;
  #helloTimer: NodeJS.Timeout | undefined;
  /** Made on the first typing frame. */
  #typingSent: Map<string, number> | undefined;
  /**
   * A bot's turn frames run in the order they came: a delta that must read the turn from storage
   * makes the frames after it wait behind it, so the text stays in order and the end comes last.
   */
  #turnFramesWaiting: Promise<void> | undefined;
  /** Read once per socket: a person's turn frames are refused without touching storage again. */
  #isBot: boolean | undefined;

  /** The connection under the WebSocket, where writes can be held and sent together. */
  readonly #socket: Duplex | undefined;

  constructor(context: ServerContext, hub: Hub, ws: WebSocket, connection: Connection, socket?: Duplex) {
    this.#context = context;
    this.#hub = hub;
    this.#ws = ws;
    this.#socket = socket;
    this.connection = connection;
    this.#helloTimer = setTimeout(() => this.#end(SOCKET_CLOSE.helloTimeout, 'no hello'), context.config.socketHelloTimeoutMs);
  }

  /** One frame from the client. A bad frame gets an `error` frame; it never closes the socket [EL10]. */
  receive(data: RawData, isBinary: boolean): void {
    if (isBinary) return this.#fail('INVALID_INPUT', 'frames are JSON text');
    const text = data.toString();
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return this.#fail('INVALID_INPUT', 'frame is not valid JSON');
    }
    if (Buffer.byteLength(text) > MAX_FRAME_BYTES && (value as { type?: unknown } | null)?.type !== 'hello') {
      return this.#fail('PAYLOAD_TOO_LARGE', `frames other than hello hold at most ${MAX_FRAME_BYTES} bytes`, 'frame');
    }
    const parsed = ClientFrameSchema.safeParse(value);
    if (!parsed.success) {
      const error = errorFromZod(parsed.error, 'frame');
      return this.#fail(error.code, error.message, error.field);
    }
    const frame = parsed.data;
    switch (frame.type) {
      case 'hello': {
        if (this.#greeted) return this.#fail('CONFLICT', 'hello was already said');
        if (frame.protocolVersion !== PROTOCOL_VERSION) {
          this.#fail('UNSUPPORTED_PROTOCOL_VERSION', `this server speaks protocol ${PROTOCOL_VERSION}`);
          this.#ws.close(SOCKET_CLOSE.unsupportedVersion, 'unsupported protocol version');
          return;
        }
        this.#greeted = true;
        this.#stopHelloTimer();
        // Welcome, what was missed and synced go out in one write once this turn of the event loop
        // is done, rather than a system call per frame: after a restart every client says hello at
        // once. A resume longer than that turn (a slow read, a full buffer) writes the rest as usual.
        this.#socket?.cork();
        setImmediate(() => this.#socket?.uncork());
        this.#greet(frame.positions).catch(() => this.#end(1011, 'could not resume'));
        return;
      }
      case 'ping':
        return this.#reply({ type: 'pong', ...(frame.nonce !== undefined ? { nonce: frame.nonce } : {}) });
      case 'typing':
        return this.#typing(frame.conversationId);
      case 'turn-delta':
      case 'turn-end':
        return this.#turnFrame(frame);
    }
  }

  /** The socket closed, whoever closed it. */
  closed(): void {
    this.#stopHelloTimer();
    this.#hub.disconnect(this.connection);
  }

  /** Closes the socket from the server's side, its connection first so nothing more is sent. */
  #end(code: number, reason: string): void {
    this.#hub.disconnect(this.connection);
    this.#ws.close(code, reason);
  }

  #stopHelloTimer(): void {
    clearTimeout(this.#helloTimer);
    this.#helloTimer = undefined;
  }

  #reply(frame: Exclude<ServerFrame, { type: 'event' }>): void {
    this.#hub.sendFrame(this.connection, frame);
  }

  #fail(code: ErrorCode, message: string, field?: string): void {
    this.#reply({ type: 'error', error: { code, message, ...(field ? { field } : {}) } });
  }

  /**
   * The session is checked again once the connection is registered: a sign-out that committed
   * between the upgrade's check and the registration found no socket to close [EL11].
   */
  async #greet(positions: Record<string, number>): Promise<void> {
    const session = await sessionExpiry.first(this.#context.storage.reader, { tokenHash: this.connection.sessionId });
    if (!session || session.expires_at <= this.#context.clock.now().toISOString()) {
      this.#end(SOCKET_CLOSE.unauthenticated, 'the session ended');
      return;
    }
    // The heartbeat closes the socket once this has passed [EL11].
    this.expiresAt = Date.parse(session.expires_at);
    await this.#hub.hello(this.connection, positions);
  }

  #typing(conversationId: string): void {
    const { connection } = this;
    if (!connection.cursors.has(conversationId)) return this.#fail('NOT_FOUND', 'no such conversation', 'frame.conversationId');
    const now = this.#context.clock.now().getTime();
    const typingSent = (this.#typingSent ??= new Map());
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

  #turnFrame(frame: ClientTurnFrame): void {
    const report = (error: unknown) => {
      if (!isParleyError(error)) return this.#fail('INTERNAL', frame.type === 'turn-end' ? 'could not end the turn' : 'could not add the text');
      const body = error.toBody();
      // Which turn and frame the refusal is about, so a bot streaming several can tell.
      const about = { conversationId: frame.conversationId, turnId: frame.turnId, ...(frame.type === 'turn-end' ? { frame: 'turn-end' } : {}) };
      this.#reply({ type: 'error', error: { ...body, details: { ...body.details, ...about } } });
    };
    const wait = (promise: Promise<void>) => {
      const next = promise.catch(report);
      this.#turnFramesWaiting = next;
      void next.finally(() => {
        if (this.#turnFramesWaiting === next) this.#turnFramesWaiting = undefined;
      });
    };
    if (this.#turnFramesWaiting) return wait(this.#turnFramesWaiting.then(() => this.#runTurnFrame(frame)));
    try {
      const pending = this.#runTurnFrame(frame);
      if (pending) wait(pending);
    } catch (error) {
      report(error);
    }
  }

  #runTurnFrame(frame: ClientTurnFrame): void | Promise<void> {
    const { connection } = this;
    if (!connection.cursors.has(frame.conversationId)) {
      throw new ParleyError('NOT_FOUND', 'no such conversation', { field: 'frame.conversationId' });
    }
    if (this.#isBot === undefined) {
      return this.#context.storage.reader
        .selectFrom('users')
        .select('kind')
        .where('id', '=', connection.userId)
        .executeTakeFirst()
        .then((user) => {
          this.#isBot = user?.kind === 'bot';
          return this.#runTurnFrame(frame);
        });
    }
    if (!this.#isBot) throw new ParleyError('FORBIDDEN', 'only a bot member (the assistant) streams answers', { field: 'frame.turnId' });
    if (frame.type === 'turn-end') {
      const { conversationId, turnId, status, error } = frame;
      return this.#context.turns.endStreamed(connection.userId, conversationId, turnId, { status, error }).then((ended) => {
        this.#reply({ type: 'turn-ended', conversationId, turnId, ...ended });
      });
    }
    return this.#context.turns.append(connection.userId, frame.conversationId, frame.turnId, frame.text, {
      turnId: 'frame.turnId',
      text: 'frame.text',
    });
  }
}
