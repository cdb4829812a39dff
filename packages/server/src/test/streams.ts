import { type ConversationEvent, PROTOCOL_VERSION, type ServerFrame, type ServerFrameOf } from '@parley/protocol';
import { EventStream, type EventStreamOptions, type ParleyClient, type SocketLike } from '@parley/sdk';
import WebSocket from 'ws';

/** Test support for the realtime tests: SDK streams whose reconnects can be held, and raw sockets. */

function waitFor(check: () => boolean, describe: () => string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = () => {
      if (check()) return resolve();
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out: ${describe()}`));
      setTimeout(poll, 5);
    };
    poll();
  });
}

export interface HeldStream {
  stream: EventStream;
  events: ConversationEvent[];
  typing: ServerFrameOf<'member-typing'>[];
  welcomes: ServerFrameOf<'welcome'>[];
  synced: ServerFrameOf<'synced'>[];
  revoked: string[][];
  errors: Error[];
  /** How many sockets the stream has opened, and how many of them have closed. */
  readonly opened: number;
  readonly closed: number;
  /** Holds the next (re)connections until `release`: an outage of known length. */
  hold(): void;
  release(): void;
  /** The seq of every event received of one conversation, in order. */
  seqs(conversationId: string): number[];
  until(check: () => boolean, timeoutMs?: number): Promise<void>;
  close(): void;
  [Symbol.dispose](): void;
}

/** An SDK EventStream with a socket factory whose connections can be held back. */
export function openStream(client: ParleyClient, options: Omit<EventStreamOptions, 'socketFactory'> = {}): HeldStream {
  let gate: Promise<void> | undefined;
  let open: (() => void) | undefined;
  let opened = 0;
  let closed = 0;
  const events: ConversationEvent[] = [];
  const typing: ServerFrameOf<'member-typing'>[] = [];
  const welcomes: ServerFrameOf<'welcome'>[] = [];
  const synced: ServerFrameOf<'synced'>[] = [];
  const revoked: string[][] = [];
  const errors: Error[] = [];
  const stream = new EventStream(
    client,
    {
      event: (event) => events.push(event),
      typing: (event) => typing.push(event),
      welcome: (frame) => welcomes.push(frame),
      synced: (frame) => synced.push(frame),
      revoked: (ids) => revoked.push(ids),
      error: (error) => errors.push(error),
      status: (status) => {
        if (status === 'closed') closed += 1;
      },
    },
    {
      maxBackoffMs: 100,
      ...options,
      socketFactory: async (url, headers) => {
        await gate;
        opened += 1;
        return new WebSocket(url, { headers }) as unknown as SocketLike;
      },
    },
  );
  const held: HeldStream = {
    stream,
    events,
    typing,
    welcomes,
    synced,
    revoked,
    errors,
    get opened() {
      return opened;
    },
    get closed() {
      return closed;
    },
    hold() {
      gate = new Promise((resolve) => (open = resolve));
    },
    release() {
      gate = undefined;
      open?.();
    },
    seqs(conversationId) {
      return events.filter((event) => event.conversationId === conversationId).map((event) => event.seq);
    },
    until(check, timeoutMs = 5000) {
      return waitFor(check, () => `${events.length} events: ${events.map((event) => `${event.type}#${event.seq}`).join(', ')}`, timeoutMs);
    },
    close() {
      held.release();
      stream.close();
    },
    [Symbol.dispose]() {
      held.close();
    },
  };
  return held;
}

export interface RawSocket {
  ws: WebSocket;
  frames: ServerFrame[];
  closed: Promise<{ code: number; reason: string }>;
  send(frame: unknown): void;
  /** Waits for a frame that matches, from the frame at index `after` on (received or still to come). */
  frame<T extends ServerFrame>(match: (frame: ServerFrame) => frame is T, after?: number): Promise<T>;
  frame(match: (frame: ServerFrame) => boolean, after?: number): Promise<ServerFrame>;
  /** Frames received after the given count, for "nothing more came" checks. */
  since(count: number): ServerFrame[];
}

export function socketUrl(baseUrl: string): string {
  return `${baseUrl.replace(/^http/, 'ws')}/api/socket`;
}

/** Result of an upgrade attempt: the socket, or the HTTP status it was refused with. */
export async function tryConnect(baseUrl: string, headers: Record<string, string>): Promise<{ status: number; body: string } | { socket: RawSocket }> {
  const ws = new WebSocket(socketUrl(baseUrl), { headers });
  return new Promise((resolve, reject) => {
    ws.once('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    ws.once('open', () => resolve({ socket: wrap(ws) }));
    ws.once('error', (error) => {
      if (!/Unexpected server response/.test(error.message)) reject(error);
    });
  });
}

/** A raw `ws` socket, for tests that need to send or see exact frames. */
export async function rawSocket(baseUrl: string, token: string, hello: Record<string, number> | false = {}): Promise<RawSocket> {
  const result = await tryConnect(baseUrl, { authorization: `Bearer ${token}` });
  if (!('socket' in result)) throw new Error(`upgrade refused with ${result.status}: ${result.body}`);
  const { socket } = result;
  if (hello !== false) {
    socket.send({ type: 'hello', protocolVersion: PROTOCOL_VERSION, positions: hello });
    await socket.frame((frame) => frame.type === 'synced');
  }
  return socket;
}

function wrap(ws: WebSocket): RawSocket {
  const frames: ServerFrame[] = [];
  const listeners = new Set<() => void>();
  ws.on('message', (data, isBinary) => {
    // Every frame of the protocol is text (a browser would get a Blob for a binary one): fail loudly.
    if (isBinary) throw new Error(`the server sent a binary frame: ${data.toString().slice(0, 80)}`);
    frames.push(JSON.parse(data.toString()) as ServerFrame);
    for (const listener of [...listeners]) listener();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  ws.on('error', () => undefined);
  const socket: RawSocket = {
    ws,
    frames,
    closed,
    send(frame) {
      ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
    },
    frame(match: (frame: ServerFrame) => boolean, after = 0) {
      return new Promise<ServerFrame>((resolve, reject) => {
        let seen = after;
        const check = () => {
          for (; seen < frames.length; seen += 1) {
            const frame = frames[seen]!;
            if (match(frame)) {
              listeners.delete(check);
              clearTimeout(timer);
              resolve(frame);
              return;
            }
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`no matching frame; got ${frames.map((frame) => frame.type).join(', ')}`));
        }, 5000);
        listeners.add(check);
        check();
      });
    },
    since(count) {
      return frames.slice(count);
    },
  } as RawSocket;
  return socket;
}
