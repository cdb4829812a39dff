/**
 * The clients of the drop and restart benchmarks (B6, B7): one per member, connecting, dropping
 * and coming back, recording what it received. Parley's is the SDK's EventStream, which resumes
 * from the positions it holds; the ceiling's is a bare `ws` socket, which keeps nothing.
 */
import { EventStream, ParleyClient } from '@parley/sdk';
import WebSocket from 'ws';
import type { ClientMessage, ServerMessage } from './wire.js';

export interface Member {
  connect(): void;
  /** Closes the socket as a network fault would, until the next `connect`. */
  drop(): void;
  send(id: string, text: string): Promise<void>;
  /** Resolves once connected (and, for Parley, caught up). */
  ready(): Promise<void>;
  close(): void;
  readonly received: Set<string>;
  duplicates: number;
  reorders: number;
  /** ms from each connection after the first to its `synced` (Parley) or `joined` (ceiling). */
  readonly replays: number[];
  /** performance.now() of each `synced` / `joined`. */
  readonly syncedAt: number[];
}

export function parleyMember(url: string, conversationId: string, token: string, options: { maxBackoffMs?: number } = {}): Member {
  const client = new ParleyClient({ baseUrl: url, token });
  let stream: EventStream | undefined;
  let positions: Record<string, number> = {};
  let lastSeq = 0;
  let connectedAt = 0;
  const member: Member = {
    received: new Set(),
    duplicates: 0,
    reorders: 0,
    replays: [],
    syncedAt: [],
    connect() {
      const first = stream === undefined;
      connectedAt = performance.now();
      stream = new EventStream(
        client,
        {
          event: (event) => {
            if (event.type !== 'message-created' || event.conversationId !== conversationId) return;
            if (event.seq <= lastSeq) member.reorders += 1;
            lastSeq = Math.max(lastSeq, event.seq);
            if (member.received.has(event.message.id)) member.duplicates += 1;
            member.received.add(event.message.id);
          },
          synced: () => {
            const now = performance.now();
            member.syncedAt.push(now);
            if (!first) member.replays.push(now - connectedAt);
          },
        },
        { positions, ...(options.maxBackoffMs !== undefined ? { maxBackoffMs: options.maxBackoffMs } : {}) },
      );
    },
    drop() {
      if (!stream) return;
      positions = stream.positions;
      stream.close();
    },
    async send(id, text) {
      await client.api.sendMessage({ params: { conversationId }, body: { id, text } });
    },
    ready: () => stream?.synced() ?? Promise.resolve(),
    close: () => stream?.close(),
  };
  return member;
}

/** A ceiling client; with `reconnect`, it comes back by itself after the server drops it (full-jitter backoff, as the SDK's). */
export function ceilingMember(url: string, room: string, options: { reconnect?: boolean; maxBackoffMs?: number } = {}): Member {
  let socket: WebSocket | undefined;
  let joined: Promise<void> = Promise.resolve();
  let closed = false;
  let attempt = 0;
  let connectedAt = 0;
  let first = true;
  const acks = new Map<string, { resolve: () => void; reject: (error: Error) => void }>();
  const member: Member = {
    received: new Set(),
    duplicates: 0,
    reorders: 0,
    replays: [],
    syncedAt: [],
    connect() {
      closed = false;
      const current = new WebSocket(url.replace(/^http/, 'ws'), { perMessageDeflate: false });
      socket = current;
      if (first || attempt === 0) connectedAt = performance.now();
      let settle: () => void = () => undefined;
      joined = new Promise((resolve) => (settle = resolve));
      current.on('open', () => current.send(JSON.stringify({ t: 'join', rooms: [room] } satisfies ClientMessage)));
      current.on('error', () => undefined);
      current.on('close', () => {
        // A send the server took but never acknowledged: the sender cannot know, and tries again.
        for (const pending of acks.values()) pending.reject(new Error('closed before the acknowledgement'));
        acks.clear();
        if (socket !== current || closed || !options.reconnect) return settle();
        const base = Math.min(options.maxBackoffMs ?? 10_000, 250 * 2 ** attempt);
        attempt += 1;
        setTimeout(() => {
          if (!closed && socket === current) member.connect();
        }, Math.random() * base);
      });
      current.on('message', (data) => {
        const message = JSON.parse(String(data)) as ServerMessage;
        if (message.t === 'joined') {
          const now = performance.now();
          member.syncedAt.push(now);
          if (!first) member.replays.push(now - connectedAt);
          first = false;
          attempt = 0;
          settle();
        } else if (message.t === 'msg') {
          if (member.received.has(message.id)) member.duplicates += 1;
          member.received.add(message.id);
        } else if (message.t === 'ack') {
          acks.get(message.id)?.resolve();
          acks.delete(message.id);
        }
      });
    },
    drop() {
      closed = true;
      socket?.close();
      socket = undefined;
    },
    send(id, text) {
      const current = socket;
      if (current?.readyState !== WebSocket.OPEN) return Promise.reject(new Error('not connected'));
      return new Promise<void>((resolve, reject) => {
        acks.set(id, { resolve, reject });
        current.send(JSON.stringify({ t: 'send', room, id, text } satisfies ClientMessage));
      });
    },
    ready: () => joined,
    close() {
      closed = true;
      socket?.close();
    },
  };
  return member;
}

/** Connects every member, a few hundred handshakes at a time as clients arrive in life, each caught up before the next batch. */
export async function connectAll(members: readonly Member[], batch = 200): Promise<void> {
  for (let start = 0; start < members.length; start += batch) {
    const slice = members.slice(start, start + batch);
    for (const member of slice) member.connect();
    await Promise.all(slice.map((member) => member.ready()));
  }
}

/**
 * Of every acknowledged message (id → its sender's index, group × size + position), the
 * deliveries to the group's other members that arrived.
 */
export function deliveriesOf(groups: readonly (readonly Member[])[], acknowledged: ReadonlyMap<string, number>): number {
  const size = groups[0]?.length ?? 0;
  let delivered = 0;
  for (const [id, sender] of acknowledged) {
    const group = Math.floor(sender / size);
    groups[group]?.forEach((member, position) => {
      if (group * size + position !== sender && member.received.has(id)) delivered += 1;
    });
  }
  return delivered;
}
