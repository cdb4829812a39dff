import {
  type AssistantTextDeltaEvent,
  type AssistantTurnEndEvent,
  type AssistantTurnStartEvent,
  type ConversationEvent,
  type MemberTypingEvent,
  type MyBlocksUpdatedEvent,
  type MySettingsUpdatedEvent,
  ParleyError,
  PROTOCOL_VERSION,
  type ServerFrameOf,
  ServerFrameSchema,
  SOCKET_CLOSE,
  type TurnError,
} from '@parley/protocol';
import type { ParleyClient } from '../http/client.js';

/** The part of a WebSocket the stream uses: the browser's and the `ws` package's both fit. */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

export type SocketFactory = (url: string, headers: Record<string, string>) => SocketLike | Promise<SocketLike>;

export interface EventStreamHandlers {
  /** A conversation event, in sequence order per conversation, each exactly once. */
  event?: (event: ConversationEvent) => void;
  /** An assistant's answer being streamed: start, text deltas (with offsets), end. Ephemeral. */
  turn?: (event: AssistantTurnStartEvent | AssistantTextDeltaEvent | AssistantTurnEndEvent) => void;
  typing?: (event: MemberTypingEvent) => void;
  settings?: (event: MySettingsUpdatedEvent) => void;
  /**
   * The accounts this account blocks changed. What was withheld from them (profiles, reactions)
   * may now show: reload the conversations held (`fetchConversationState`) to see them live again.
   */
  blocks?: (event: MyBlocksUpdatedEvent) => void;
  welcome?: (frame: ServerFrameOf<'welcome'>) => void;
  /** Caught up after (re)connecting. */
  synced?: (frame: ServerFrameOf<'synced'>) => void;
  /** Conversations the account lost access to while away. */
  revoked?: (conversationIds: string[]) => void;
  /** A frame-level error from the server, or a failure to connect. */
  error?: (error: ParleyError | Error) => void;
  status?: (status: 'connecting' | 'open' | 'closed') => void;
}

/** How a bot's turn ended, as the server answered its `turn-end` frame. */
export interface TurnEnded {
  status: ServerFrameOf<'turn-ended'>['status'];
  /** The answer's message. */
  messageId: string;
}

interface PendingEnd {
  socket: SocketLike;
  resolve: (ended: TurnEnded | undefined) => void;
  reject: (error: ParleyError) => void;
}

export interface EventStreamOptions {
  /** Positions to resume from: the last sequence number held per conversation. */
  positions?: Record<string, number>;
  /** Opens the socket; defaults to the `ws` package in Node and the global WebSocket in browsers. */
  socketFactory?: SocketFactory;
  /** Reconnect after a drop (default true). */
  reconnect?: boolean;
  /** Largest wait between reconnect attempts, in ms. */
  maxBackoffMs?: number;
}

async function defaultFactory(url: string, headers: Record<string, string>): Promise<SocketLike> {
  if (Object.keys(headers).length === 0 && typeof globalThis.WebSocket === 'function') {
    return new globalThis.WebSocket(url) as unknown as SocketLike;
  }
  const { default: WebSocket } = await import('ws');
  return new WebSocket(url, { headers }) as unknown as SocketLike;
}

/**
 * The live event stream of one account, over `/api/socket`. It keeps the last sequence number
 * of every conversation, resumes from those positions after any drop, and hands each event on
 * exactly once and in order.
 */
export class EventStream {
  readonly #client: ParleyClient;
  readonly #handlers: EventStreamHandlers;
  readonly #positions = new Map<string, number>();
  readonly #factory: SocketFactory;
  readonly #reconnect: boolean;
  readonly #maxBackoffMs: number;
  #socket: SocketLike | undefined;
  #closed = false;
  #attempt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #syncedWaiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  /** Why the stream stopped for good (signed out, unsupported version, refused); it does not reconnect. */
  #stopped: ParleyError | undefined;
  /** A socket being closed because it skipped an event: nothing more is taken from it. */
  #abandoned: SocketLike | undefined;
  #keepalive: ReturnType<typeof setInterval> | undefined;
  #lastHeard = 0;
  #isSynced = false;
  /** Counts the sockets opened, so a bot can tell whether its deltas and its end share one. */
  #opened = 0;
  /** Ends sent with `endTurn`, by turn id, waiting for the server's answer. */
  readonly #ends = new Map<string, PendingEnd>();

  constructor(client: ParleyClient, handlers: EventStreamHandlers, options: EventStreamOptions = {}) {
    this.#client = client;
    this.#handlers = handlers;
    this.#factory = options.socketFactory ?? defaultFactory;
    this.#reconnect = options.reconnect ?? true;
    this.#maxBackoffMs = options.maxBackoffMs ?? 10_000;
    for (const [id, seq] of Object.entries(options.positions ?? {})) this.#positions.set(id, seq);
    void this.#open();
  }

  /** The last sequence number received per conversation. */
  get positions(): Record<string, number> {
    return Object.fromEntries(this.#positions);
  }

  /**
   * Resolves once the stream has caught up after its current (re)connection; rejects if the stream
   * stopped for good (signed out, unsupported protocol version, upgrade refused) or was closed.
   */
  synced(): Promise<void> {
    if (this.#stopped) return Promise.reject(this.#stopped);
    if (this.#isSynced) return Promise.resolve();
    if (this.#closed) return Promise.reject(new Error('the event stream is closed'));
    return new Promise((resolve, reject) => this.#syncedWaiters.push({ resolve, reject }));
  }

  sendTyping(conversationId: string): void {
    if (this.#socket?.readyState === 1) this.#socket.send(JSON.stringify({ type: 'typing', conversationId }));
  }

  /**
   * For a bot streaming a turn: sends text over the socket (no HTTP round trip). Returns false
   * when the socket is not open; the caller then falls back to `appendTurnDelta`.
   */
  sendTurnDelta(conversationId: string, turnId: string, text: string): boolean {
    if (this.#socket?.readyState !== 1) return false;
    this.#socket.send(JSON.stringify({ type: 'turn-delta', conversationId, turnId, text }));
    return true;
  }

  /**
   * The open socket, numbered from 1 in the order they opened; undefined while none is open. A
   * frame sent now goes out on it. It changes with every reconnection.
   */
  get connection(): number | undefined {
    return this.#socket?.readyState === 1 ? this.#opened : undefined;
  }

  /**
   * For a bot: ends its turn on the socket, behind every delta sent before, so the answer is the
   * text streamed [AT4]. Give `connection` as it was when the turn's first delta went out: if the
   * socket is another one now, some deltas may have been lost with the old one, and nothing is
   * sent. Resolves with the ending; rejects with the server's refusal (a `ParleyError`, such as
   * CONFLICT when a member stopped the turn first). Resolves undefined when the frame could not go
   * out or the socket closed before the answer: end it over HTTP then (`endTurn`, with the text),
   * where a repeat of an end that did land answers with it.
   */
  endTurn(
    conversationId: string,
    turnId: string,
    body: { status: 'completed' | 'stopped' | 'failed'; error?: TurnError },
    options: { connection?: number } = {},
  ): Promise<TurnEnded | undefined> {
    const socket = this.#socket;
    if (socket?.readyState !== 1 || (options.connection !== undefined && options.connection !== this.#opened) || this.#ends.has(turnId)) {
      return Promise.resolve(undefined);
    }
    return new Promise((resolve, reject) => {
      this.#ends.set(turnId, { socket, resolve, reject });
      socket.send(JSON.stringify({ type: 'turn-end', conversationId, turnId, ...body }));
    });
  }

  /** The ends still waiting on this socket (or on any, when it closes for good) will get no answer. */
  #abandonEnds(socket?: SocketLike): void {
    for (const [turnId, pending] of this.#ends) {
      if (socket !== undefined && pending.socket !== socket) continue;
      this.#ends.delete(turnId);
      pending.resolve(undefined);
    }
  }

  /** Drops the socket as a network fault would; the stream reconnects and resumes. */
  drop(): void {
    this.#socket?.close(4000, 'dropped by the client');
  }

  /** Stops the stream: no handler is called after this, even for frames already on their way. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    clearInterval(this.#keepalive);
    // Detached first: a socket delivers what it had received until its close handshake ends, and a
    // client that resumes elsewhere from `positions` would otherwise get those events twice.
    const socket = this.#socket;
    this.#socket = undefined;
    socket?.close(1000, 'closed by the client');
    this.#abandonEnds();
    this.#handlers.status?.('closed');
    for (const waiter of this.#syncedWaiters.splice(0)) waiter.reject(new Error('the event stream is closed'));
  }

  [Symbol.dispose](): void {
    this.close();
  }

  async #open(): Promise<void> {
    if (this.#closed) return;
    this.#isSynced = false;
    this.#handlers.status?.('connecting');
    const url = `${this.#client.baseUrl.replace(/^http/, 'ws')}/api/socket`;
    const headers: Record<string, string> = {};
    if (this.#client.token) headers.authorization = `Bearer ${this.#client.token}`;
    let socket: SocketLike;
    try {
      socket = await this.#factory(url, headers);
    } catch (error) {
      this.#handlers.error?.(error as Error);
      this.#scheduleReconnect();
      return;
    }
    if (this.#closed) {
      socket.close(1000);
      return;
    }
    this.#socket = socket;
    let opened = false;
    socket.onopen = () => {
      opened = true;
      this.#opened += 1;
      this.#lastHeard = Date.now();
      clearInterval(this.#keepalive);
      // A silent server is a dead one: ping every 20 s, drop after 45 s without a word.
      this.#keepalive = setInterval(() => {
        if (Date.now() - this.#lastHeard > 45_000) socket.close(4000, 'server silent');
        else if (socket.readyState === 1) socket.send(JSON.stringify({ type: 'ping' }));
      }, 20_000);
      (this.#keepalive as { unref?: () => void }).unref?.();
      socket.send(JSON.stringify({ type: 'hello', protocolVersion: PROTOCOL_VERSION, positions: this.positions }));
    };
    socket.onmessage = (message) => this.#onMessage(socket, message.data);
    let refusedWith: string | undefined;
    /** Whether the error said what went wrong: `ws` does (a refused upgrade's status, or a network fault such as ECONNREFUSED), a browser never. */
    let explained = false;
    socket.onerror = (event) => {
      // The close event that follows decides what to do. `ws` names the HTTP status of a refused
      // upgrade; a browser does not say, and keeps retrying with backoff.
      const message = String((event as { message?: unknown } | null)?.message ?? '');
      explained = message !== '';
      refusedWith = /Unexpected server response: (401|403)\b/.exec(message)?.[1];
    };
    socket.onclose = (event) => {
      if (this.#socket !== socket) return;
      clearInterval(this.#keepalive);
      this.#socket = undefined;
      this.#abandonEnds(socket);
      this.#isSynced = false;
      if (this.#closed) return;
      this.#handlers.status?.('closed');
      // Retrying cannot help these: stop and say why [EL13].
      if (event.code === SOCKET_CLOSE.unauthenticated || refusedWith === '401') {
        this.#stop(new ParleyError('UNAUTHENTICATED', event.reason || 'the session ended or the token is not valid'));
      } else if (event.code === SOCKET_CLOSE.unsupportedVersion) {
        this.#stop(new ParleyError('UNSUPPORTED_PROTOCOL_VERSION', event.reason || 'the server speaks another protocol version'));
      } else if (refusedWith === '403') {
        this.#stop(new ParleyError('ORIGIN_REFUSED', 'the server refused this origin'));
      } else if (!opened && !explained) {
        // A browser does not say why an upgrade failed: a refused session (401) looks like a
        // network fault. Ask over HTTP before retrying, so a session that ended stops the stream
        // instead of retrying for ever [EL13]. When the error said why (a node down, refusing
        // connections), asking would only double what every client sends at a restarting node.
        void this.#checkSession();
      } else {
        this.#scheduleReconnect();
      }
    };
  }

  /** After a failed upgrade: stops on a session the server refuses, else retries as usual. */
  async #checkSession(): Promise<void> {
    try {
      await this.#client.api.getMe();
    } catch (error) {
      if (error instanceof ParleyError && error.code === 'UNAUTHENTICATED') {
        if (!this.#closed) this.#stop(error);
        return;
      }
    }
    if (!this.#closed) this.#scheduleReconnect();
  }

  #stop(error: ParleyError): void {
    this.#stopped = error;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#handlers.error?.(error);
    for (const waiter of this.#syncedWaiters.splice(0)) waiter.reject(error);
  }

  #scheduleReconnect(): void {
    if (this.#closed || !this.#reconnect) return;
    const base = Math.min(this.#maxBackoffMs, 250 * 2 ** this.#attempt);
    this.#attempt += 1;
    // Full jitter spreads a crowd of clients reconnecting after a restart.
    this.#timer = setTimeout(() => void this.#open(), Math.random() * base);
  }

  #onMessage(socket: SocketLike, data: unknown): void {
    if (this.#socket !== socket || this.#abandoned === socket) return;
    this.#lastHeard = Date.now();
    let value: unknown;
    try {
      value = JSON.parse(String(data));
    } catch {
      this.#handlers.error?.(new ParleyError('INVALID_INPUT', 'the server sent a frame that is not JSON'));
      return;
    }
    const parsed = ServerFrameSchema.safeParse(value);
    if (!parsed.success) {
      this.#handlers.error?.(new ParleyError('INVALID_INPUT', `unexpected frame: ${parsed.error.issues[0]?.message ?? ''}`));
      return;
    }
    const frame = parsed.data;
    switch (frame.type) {
      case 'welcome':
        this.#selfId = frame.userId;
        for (const id of frame.revoked) this.#positions.delete(id);
        // The server starts a conversation the stream holds no position for at its lastSeq (and
        // a position beyond it at lastSeq): hold the same, so a later resume asks for what
        // follows rather than skipping it [EL13].
        for (const { conversationId, lastSeq } of frame.conversations) {
          const position = this.#positions.get(conversationId);
          if (position === undefined || position > lastSeq) this.#positions.set(conversationId, lastSeq);
        }
        if (frame.revoked.length > 0) this.#handlers.revoked?.(frame.revoked);
        this.#handlers.welcome?.(frame);
        return;
      case 'synced':
        this.#attempt = 0;
        this.#isSynced = true;
        this.#handlers.status?.('open');
        this.#handlers.synced?.(frame);
        for (const waiter of this.#syncedWaiters.splice(0)) waiter.resolve();
        return;
      case 'event': {
        const { event } = frame;
        const position = this.#positions.get(event.conversationId);
        // The server guarantees order; this guard keeps a client correct even if it did not.
        if (position !== undefined && event.seq <= position) return;
        if (position !== undefined && event.seq > position + 1) {
          // A hole would leave this client's state wrong: resume from what it holds instead.
          this.#handlers.error?.(new ParleyError('INTERNAL', `event ${event.seq} of ${event.conversationId} came after ${position}; resuming`));
          this.#abandoned = socket;
          socket.close(4000, 'gap in the event sequence');
          return;
        }
        this.#positions.set(event.conversationId, event.seq);
        if ((event.type === 'member-removed' || event.type === 'member-left') && event.userId === this.#selfId) {
          this.#positions.delete(event.conversationId);
        }
        this.#handlers.event?.(event);
        return;
      }
      case 'member-typing':
        this.#handlers.typing?.(frame);
        return;
      case 'assistant-turn-start':
      case 'assistant-text-delta':
      case 'assistant-turn-end':
        this.#handlers.turn?.(frame);
        return;
      case 'my-settings-updated':
        this.#handlers.settings?.(frame);
        return;
      case 'my-blocks-updated':
        this.#handlers.blocks?.(frame);
        return;
      case 'pong':
        return;
      case 'turn-ended': {
        const pending = this.#ends.get(frame.turnId);
        this.#ends.delete(frame.turnId);
        pending?.resolve({ status: frame.status, messageId: frame.messageId });
        return;
      }
      case 'error': {
        const error = ParleyError.fromBody(frame.error);
        const about = frame.error.details;
        const pending = about?.frame === 'turn-end' && typeof about.turnId === 'string' ? this.#ends.get(about.turnId) : undefined;
        if (pending && typeof about?.turnId === 'string') {
          this.#ends.delete(about.turnId);
          pending.reject(error);
          return;
        }
        this.#handlers.error?.(error);
        return;
      }
    }
  }

  #selfId: string | undefined;
}
