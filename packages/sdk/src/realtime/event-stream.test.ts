import { type ConversationEvent, ParleyError, type ServerFrame, SOCKET_CLOSE } from '@parley/protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ParleyClient } from '../http/client.js';
import { EventStream, type EventStreamOptions, type SocketLike } from './event-stream.js';

/** An in-memory socket: the test plays the server. */
class FakeSocket implements SocketLike {
  readyState = 0;
  readonly sent: unknown[] = [];
  closedWith: number | undefined;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;

  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }

  close(code = 1000, reason = ''): void {
    this.closedWith ??= code;
    this.end(code, reason);
  }

  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  receive(frame: ServerFrame): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }

  /** The connection ends, as after a network fault or a server close. */
  end(code: number, reason = ''): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  get hello(): { positions: Record<string, number> } | undefined {
    return this.sent.find((frame) => (frame as { type: string }).type === 'hello') as { positions: Record<string, number> } | undefined;
  }
}

const at = '2025-01-01T00:00:00.000Z';

function event(conversationId: string, seq: number): ConversationEvent {
  return { type: 'conversation-updated', conversationId, seq, at, actorId: 'u2', title: `t${seq}` };
}

/** The HTTP side of the fake server: by default it cannot be reached (a network fault). */
type FakeFetch = (url: string, init?: unknown) => Promise<Response>;
const unreachable: FakeFetch = async () => {
  throw new TypeError('fetch failed');
};

function setup(options: Omit<EventStreamOptions, 'socketFactory'> = {}, fetch: FakeFetch = unreachable) {
  const sockets: FakeSocket[] = [];
  const opensAt: number[] = [];
  const events: ConversationEvent[] = [];
  const errors: Error[] = [];
  const revoked: string[][] = [];
  const client = new ParleyClient({ baseUrl: 'http://parley.test', token: 'x'.repeat(32), fetch });
  const stream = new EventStream(
    client,
    { event: (value) => events.push(value), error: (error) => errors.push(error), revoked: (ids) => revoked.push(ids) },
    {
      ...options,
      socketFactory: (url, headers) => {
        expect(url).toBe('ws://parley.test/api/socket');
        expect(headers).toEqual({ authorization: `Bearer ${'x'.repeat(32)}` });
        const socket = new FakeSocket();
        sockets.push(socket);
        opensAt.push(Date.now());
        return socket;
      },
    },
  );
  const latest = () => sockets.at(-1)!;
  /** Opens the newest socket and plays a server that greets it and is caught up. */
  const greet = (conversations: Array<{ conversationId: string; lastSeq: number }>, replay: ConversationEvent[] = [], revokedIds: string[] = []) => {
    const socket = latest();
    socket.open();
    socket.receive({ type: 'welcome', protocolVersion: 1, userId: 'u1', conversations, revoked: revokedIds });
    for (const value of replay) socket.receive({ type: 'event', event: value });
    socket.receive({ type: 'synced', replayed: replay.length });
    return socket;
  };
  return { stream, sockets, opensAt, events, errors, revoked, latest, greet };
}

describe('EventStream', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('[EL13] reconnects with full-jitter exponential backoff, capped, and resets it once synced', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const { stream, sockets, opensAt, greet, latest } = setup({ maxBackoffMs: 2000 });
    await vi.advanceTimersByTimeAsync(0);
    greet([]);
    const delays: number[] = [];
    for (let attempt = 0; attempt < 6; attempt += 1) {
      const before = Date.now();
      latest().end(1006);
      const count = sockets.length;
      await vi.advanceTimersByTimeAsync(5000);
      expect(sockets.length).toBe(count + 1);
      delays.push(opensAt.at(-1)! - before);
      // Opened, but never synced: the backoff keeps growing.
      latest().open();
    }
    expect(delays).toEqual([125, 250, 500, 1000, 1000, 1000]);
    // A connection that got as far as synced resets it.
    latest().receive({ type: 'welcome', protocolVersion: 1, userId: 'u1', conversations: [], revoked: [] });
    latest().receive({ type: 'synced', replayed: 0 });
    const before = Date.now();
    latest().end(1006);
    await vi.advanceTimersByTimeAsync(5000);
    expect(opensAt.at(-1)! - before).toBe(125);
    stream.close();
  });

  it('[EL13] the delay is random between zero and the cap', async () => {
    const random = vi.spyOn(Math, 'random');
    const { stream, opensAt, greet, latest } = setup({ maxBackoffMs: 2000 });
    await vi.advanceTimersByTimeAsync(0);
    greet([]);
    const delays: number[] = [];
    for (const value of [0, 0.99]) {
      random.mockReturnValueOnce(value);
      const before = Date.now();
      latest().end(1006);
      await vi.advanceTimersByTimeAsync(5000);
      delays.push(opensAt.at(-1)! - before);
      latest().open();
    }
    expect(delays[0]).toBe(0);
    expect(delays[1]).toBeCloseTo(0.99 * 500, -1);
    stream.close();
  });

  it('[EL13] positions survive reconnects and are sent with each hello', async () => {
    const { stream, latest, greet, events } = setup({ positions: { c1: 2 } });
    await vi.advanceTimersByTimeAsync(0);
    const first = greet([{ conversationId: 'c1', lastSeq: 4 }, { conversationId: 'c2', lastSeq: 7 }], [event('c1', 3), event('c1', 4)]);
    expect(first.hello?.positions).toEqual({ c1: 2 });
    first.receive({ type: 'event', event: event('c2', 8) });
    expect(stream.positions).toEqual({ c1: 4, c2: 8 });
    first.end(1006);
    await vi.advanceTimersByTimeAsync(1000);
    latest().open();
    expect(latest().hello?.positions).toEqual({ c1: 4, c2: 8 });
    // Replayed again by a confused server: handed on once only.
    latest().receive({ type: 'welcome', protocolVersion: 1, userId: 'u1', conversations: [{ conversationId: 'c1', lastSeq: 5 }, { conversationId: 'c2', lastSeq: 8 }], revoked: [] });
    latest().receive({ type: 'event', event: event('c1', 4) });
    latest().receive({ type: 'event', event: event('c1', 5) });
    expect(events.map((value) => `${value.conversationId}#${value.seq}`)).toEqual(['c1#3', 'c1#4', 'c2#8', 'c1#5']);
    stream.close();
  });

  it('[EL13] takes its position from welcome for a conversation it held none for, and drops revoked ones', async () => {
    const { stream, greet, revoked } = setup({ positions: { gone: 3, ahead: 50 } });
    await vi.advanceTimersByTimeAsync(0);
    greet([{ conversationId: 'new', lastSeq: 9 }, { conversationId: 'ahead', lastSeq: 12 }], [], ['gone']);
    expect(stream.positions).toEqual({ new: 9, ahead: 12 });
    expect(revoked).toEqual([['gone']]);
    stream.close();
  });

  it('[EL13] a gap in the sequence is not handed on: the stream reconnects and resumes from what it holds', async () => {
    const { stream, latest, greet, events, errors } = setup();
    await vi.advanceTimersByTimeAsync(0);
    const first = greet([{ conversationId: 'c1', lastSeq: 1 }]);
    first.receive({ type: 'event', event: event('c1', 2) });
    first.receive({ type: 'event', event: event('c1', 4) });
    first.receive({ type: 'event', event: event('c1', 5) });
    expect(events.map((value) => value.seq)).toEqual([2]);
    expect(first.closedWith).toBe(4000);
    expect(errors).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1000);
    latest().open();
    expect(latest().hello?.positions).toEqual({ c1: 2 });
    stream.close();
  });

  it('[EL13] hands on nothing after close, even frames the socket receives before its close handshake ends', async () => {
    const { stream, greet, events } = setup();
    await vi.advanceTimersByTimeAsync(0);
    const socket = greet([{ conversationId: 'c1', lastSeq: 1 }]);
    socket.receive({ type: 'event', event: event('c1', 2) });
    // A real socket closes asynchronously: frames already received still arrive meanwhile.
    socket.close = (code = 1000) => {
      socket.closedWith ??= code;
    };
    stream.close();
    socket.receive({ type: 'event', event: event('c1', 3) });
    expect(events.map((value) => value.seq)).toEqual([2]);
    // A client resuming from the positions it held gets event 3 once, from its next stream.
    expect(stream.positions).toEqual({ c1: 2 });
    expect(socket.closedWith).toBe(1000);
    socket.end(1000);
  });

  it('[AT4] a bot ends its turn on the socket of its deltas; a refusal rejects, a socket gone answers undefined (end over HTTP)', async () => {
    const { stream, greet, latest, errors } = setup();
    await vi.advanceTimersByTimeAsync(0);
    const socket = greet([{ conversationId: 'c1', lastSeq: 0 }]);
    expect(stream.connection).toBe(1);
    const connection = 1;
    expect(stream.sendTurnDelta('c1', 't1', 'Hello')).toBe(true);
    const ended = stream.endTurn('c1', 't1', { status: 'completed' }, { connection });
    expect(socket.sent.slice(-2)).toEqual([
      { type: 'turn-delta', conversationId: 'c1', turnId: 't1', text: 'Hello' },
      { type: 'turn-end', conversationId: 'c1', turnId: 't1', status: 'completed' },
    ]);
    // An error about a delta is not the end's answer.
    socket.receive({ type: 'error', error: { code: 'PAYLOAD_TOO_LARGE', message: 'too long', details: { conversationId: 'c1', turnId: 't1' } } });
    socket.receive({ type: 'turn-ended', conversationId: 'c1', turnId: 't1', status: 'completed', messageId: 'm1' });
    await expect(ended).resolves.toEqual({ status: 'completed', messageId: 'm1' });
    expect(errors.map((error) => (error as ParleyError).code)).toEqual(['PAYLOAD_TOO_LARGE']);

    const refused = stream.endTurn('c1', 't2', { status: 'completed' });
    socket.receive({ type: 'error', error: { code: 'CONFLICT', message: 'stopped', details: { conversationId: 'c1', turnId: 't2', frame: 'turn-end', status: 'stopped' } } });
    await expect(refused).rejects.toMatchObject({ code: 'CONFLICT', details: { status: 'stopped' } });
    expect(errors).toHaveLength(1);

    // The socket closes before the answer: undefined, and the caller ends it over HTTP.
    const cut = stream.endTurn('c1', 't3', { status: 'completed' });
    socket.end(1006);
    await expect(cut).resolves.toBeUndefined();
    // Not open: nothing is sent.
    expect(stream.connection).toBeUndefined();
    await expect(stream.endTurn('c1', 't4', { status: 'completed' })).resolves.toBeUndefined();
    // Back on a new socket: an end for deltas sent on the old one is not sent on it.
    await vi.advanceTimersByTimeAsync(20_000);
    const next = latest();
    expect(next).not.toBe(socket);
    greet([{ conversationId: 'c1', lastSeq: 0 }]);
    expect(stream.connection).toBe(2);
    const count = next.sent.length;
    await expect(stream.endTurn('c1', 't5', { status: 'completed' }, { connection })).resolves.toBeUndefined();
    expect(next.sent).toHaveLength(count);
    // Closing the stream answers the ends still waiting.
    const waiting = stream.endTurn('c1', 't6', { status: 'failed' });
    stream.close();
    await expect(waiting).resolves.toBeUndefined();
  });

  it('[EL7] the account leaving a conversation forgets its position', async () => {
    const { stream, greet } = setup();
    await vi.advanceTimersByTimeAsync(0);
    const socket = greet([{ conversationId: 'c1', lastSeq: 1 }]);
    socket.receive({ type: 'event', event: { type: 'member-removed', conversationId: 'c1', seq: 2, at, actorId: 'u2', userId: 'u1' } });
    expect(stream.positions).toEqual({});
    stream.close();
  });

  for (const [code, expected] of [
    [SOCKET_CLOSE.unauthenticated, 'UNAUTHENTICATED'],
    [SOCKET_CLOSE.unsupportedVersion, 'UNSUPPORTED_PROTOCOL_VERSION'],
  ] as const) {
    it(`[EL13] stops for good on close ${code}, with a ${expected} error, and rejects synced()`, async () => {
      const { stream, sockets, latest, errors } = setup();
      await vi.advanceTimersByTimeAsync(0);
      latest().open();
      const synced = stream.synced();
      latest().end(code, 'bye');
      await expect(synced).rejects.toMatchObject({ code: expected });
      await vi.advanceTimersByTimeAsync(60_000);
      expect(sockets).toHaveLength(1);
      expect(errors).toEqual([expect.any(ParleyError)]);
      await expect(stream.synced()).rejects.toMatchObject({ code: expected });
    });
  }

  it('[EL13] stops when the upgrade is refused with 401, as ws reports it', async () => {
    const { stream, sockets, latest } = setup();
    await vi.advanceTimersByTimeAsync(0);
    latest().onerror?.({ message: 'Unexpected server response: 401' });
    latest().end(1006);
    await expect(stream.synced()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sockets).toHaveLength(1);
  });

  it('[EL13] keeps retrying after other refusals and faults', async () => {
    const { stream, sockets, latest } = setup({ maxBackoffMs: 100 });
    await vi.advanceTimersByTimeAsync(0);
    latest().onerror?.({ message: 'Unexpected server response: 503' });
    latest().end(1006);
    await vi.advanceTimersByTimeAsync(200);
    latest().end(SOCKET_CLOSE.tooSlow);
    await vi.advanceTimersByTimeAsync(200);
    latest().end(SOCKET_CLOSE.goingAway);
    await vi.advanceTimersByTimeAsync(200);
    expect(sockets).toHaveLength(4);
    stream.close();
    await vi.advanceTimersByTimeAsync(1000);
    expect(sockets).toHaveLength(4);
  });

  it('[EL13] a connection refused while the node is down is retried without asking over HTTP', async () => {
    let asked = 0;
    const counting: FakeFetch = async (url, init) => {
      asked += 1;
      return unreachable(url, init);
    };
    const { stream, sockets, latest } = setup({ maxBackoffMs: 100 }, counting);
    await vi.advanceTimersByTimeAsync(0);
    for (let attempt = 0; attempt < 3; attempt += 1) {
      latest().onerror?.({ message: 'connect ECONNREFUSED 127.0.0.1:3000' });
      latest().end(1006);
      await vi.advanceTimersByTimeAsync(200);
    }
    expect(sockets).toHaveLength(4);
    expect(asked).toBe(0);
    // Without a word, as a browser reports any failed upgrade, it asks.
    latest().onerror?.({});
    latest().end(1006);
    await vi.advanceTimersByTimeAsync(200);
    expect(asked).toBe(1);
    expect(sockets).toHaveLength(5);
    stream.close();
  });

  it('[EL13] an upgrade refused without a word (as a browser reports a 401) stops once the server says the session ended', async () => {
    const signedOut: FakeFetch = async () =>
      new Response(JSON.stringify({ error: { code: 'UNAUTHENTICATED', message: 'sign in first' } }), { status: 401, headers: { 'content-type': 'application/json' } });
    const { sockets, latest, errors } = setup({ maxBackoffMs: 100 }, signedOut);
    await vi.advanceTimersByTimeAsync(0);
    // A browser gives no status for a failed upgrade: an error without a message, then 1006.
    latest().onerror?.({});
    latest().end(1006);
    await vi.advanceTimersByTimeAsync(1000);
    expect(sockets).toHaveLength(1);
    expect(errors.at(-1)).toMatchObject({ code: 'UNAUTHENTICATED' });
  });
});
