import type { ConversationEvent, ServerFrame } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { MemoryBus } from './bus.js';
import { type EventReader, Hub, type HubOptions, type Membership, type MinimalSocket } from './hub.js';

/** One end of an in-memory socket pair: what the hub sent, and how it was closed. */
class TestSocket implements MinimalSocket {
  readonly frames: ServerFrame[] = [];
  closed: { code: number | undefined; reason: string | undefined } | undefined;
  bufferedAmount = 0;

  send(data: string): void;
  send(data: Buffer, options: { binary: false }): void;
  send(data: string | Buffer, options?: { binary: false }): void {
    if (this.closed) throw new Error('send after close');
    // Bytes must be marked as a text frame, as `ws` needs them to be.
    if (typeof data !== 'string' && options?.binary !== false) throw new Error('bytes sent as a binary frame');
    this.frames.push(JSON.parse(typeof data === 'string' ? data : data.toString('utf8')) as ServerFrame);
  }

  close(code?: number, reason?: string): void {
    this.closed ??= { code, reason };
  }

  /** The seq of every event frame of one conversation, in the order sent. */
  seqs(conversationId: string): number[] {
    return this.frames.flatMap((frame) => (frame.type === 'event' && frame.event.conversationId === conversationId ? [frame.event.seq] : []));
  }

  types(): string[] {
    return this.frames.map((frame) => (frame.type === 'event' ? `${frame.event.type}#${frame.event.seq}` : frame.type));
  }
}

function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => (resolve = done));
  return { promise, resolve };
}

/** A fake event log: events per conversation; reads can be held until released. */
class TestLog implements EventReader {
  readonly events = new Map<string, ConversationEvent[]>();
  reads = 0;
  gate: Promise<void> | undefined;

  add(event: ConversationEvent): ConversationEvent {
    const list = this.events.get(event.conversationId) ?? [];
    list.push(event);
    this.events.set(event.conversationId, list);
    return event;
  }

  async read(conversationId: string, after: number, limit: number, upTo?: number): Promise<ConversationEvent[]> {
    this.reads += 1;
    await this.gate;
    return (this.events.get(conversationId) ?? [])
      .filter((event) => event.seq > after && (upTo === undefined || event.seq <= upTo))
      .sort((a, b) => a.seq - b.seq)
      .slice(0, limit);
  }

  lastSeq(conversationId: string): number {
    return Math.max(0, ...(this.events.get(conversationId) ?? []).map((event) => event.seq));
  }
}

const at = '2025-01-01T00:00:00.000Z';

function updated(conversationId: string, seq: number): ConversationEvent {
  return { type: 'conversation-updated', conversationId, seq, at, actorId: 'someone', title: `title ${seq}` };
}

function memberAdded(conversationId: string, seq: number, userId: string): ConversationEvent {
  return {
    type: 'member-added',
    conversationId,
    seq,
    at,
    actorId: 'someone',
    via: 'username',
    member: { userId, user: { id: userId, username: userId, displayName: null, avatarUrl: null, kind: 'human' }, role: 'member', joinedAt: at, lastReadSeq: 0 },
  } as ConversationEvent;
}

function memberRemoved(conversationId: string, seq: number, userId: string): ConversationEvent {
  return { type: 'member-removed', conversationId, seq, at, actorId: 'someone', userId };
}

const settle = async (rounds = 5) => {
  for (let round = 0; round < rounds; round += 1) await new Promise((resolve) => setImmediate(resolve));
};

function setup(options: { members?: Record<string, string[]>; hub?: Partial<HubOptions> } = {}) {
  const log = new TestLog();
  const bus = new MemoryBus();
  const members = new Map<string, Set<string>>(Object.entries(options.members ?? {}).map(([user, ids]) => [user, new Set(ids)]));
  let membershipGate: Promise<void> | undefined;
  const hub = new Hub({
    memberships: async (userId): Promise<Membership[]> => {
      // The read's snapshot is taken when it starts, as a database read would be.
      const snapshot = [...(members.get(userId) ?? [])].map((conversationId) => ({ conversationId, lastSeq: log.lastSeq(conversationId) }));
      await membershipGate;
      return snapshot;
    },
    log,
    bus,
    ...options.hub,
  });
  /** Appends to the log and publishes, as EventLog.write does after a commit. */
  const commit = (event: ConversationEvent) => {
    log.add(event);
    bus.publish({ kind: 'event', event });
  };
  const open = async (userId: string, positions: Record<string, number> = {}) => {
    const socket = new TestSocket();
    const connection = hub.connect(socket, userId, `session-${userId}`);
    await hub.hello(connection, positions);
    return { socket, connection };
  };
  return {
    hub,
    log,
    bus,
    members,
    commit,
    open,
    holdMemberships: () => {
      const gate = deferred();
      membershipGate = gate.promise;
      return () => {
        membershipGate = undefined;
        gate.resolve();
      };
    },
  };
}

describe('hub', () => {
  it('[EL4] fills a gap from the log when the bus delivers out of order, and drops the late copies', async () => {
    const { log, bus, open } = setup({ members: { ann: ['c'] } });
    const { socket } = await open('ann');
    for (let seq = 1; seq <= 5; seq += 1) log.add(updated('c', seq));
    const event = (seq: number) => log.events.get('c')![seq - 1]!;
    bus.publish({ kind: 'event', event: event(3) });
    await settle();
    expect(socket.seqs('c')).toEqual([1, 2, 3]);
    bus.publish({ kind: 'event', event: event(1) });
    bus.publish({ kind: 'event', event: event(2) });
    bus.publish({ kind: 'event', event: event(5) });
    await settle();
    bus.publish({ kind: 'event', event: event(4) });
    await settle();
    expect(socket.seqs('c')).toEqual([1, 2, 3, 4, 5]);
  });

  it('[EL4] drops duplicates delivered by the bus', async () => {
    const { log, bus, open } = setup({ members: { ann: ['c'] } });
    const { socket } = await open('ann');
    const one = log.add(updated('c', 1));
    const two = log.add(updated('c', 2));
    for (const event of [one, one, two, one, two, two]) bus.publish({ kind: 'event', event });
    await settle();
    expect(socket.seqs('c')).toEqual([1, 2]);
    expect(log.reads).toBe(0);
  });

  it('[EL4] holds live events while a fill is under way and sends each once, in order, after it', async () => {
    const { log, bus, open } = setup({ members: { ann: ['c'] } });
    const { socket } = await open('ann');
    for (let seq = 1; seq <= 6; seq += 1) log.add(updated('c', seq));
    const event = (seq: number) => log.events.get('c')![seq - 1]!;
    const gate = deferred();
    log.gate = gate.promise;
    bus.publish({ kind: 'event', event: event(3) });
    await settle();
    expect(socket.seqs('c')).toEqual([]);
    // While the read is held: later events, an earlier one, and duplicates.
    for (const seq of [5, 4, 2, 6, 3, 5]) bus.publish({ kind: 'event', event: event(seq) });
    await settle();
    expect(socket.seqs('c')).toEqual([]);
    gate.resolve();
    log.gate = undefined;
    await settle();
    expect(socket.seqs('c')).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('[EL12] past the pending limit, events waiting behind a fill are read again from the log', async () => {
    const { log, bus, open } = setup({ members: { ann: ['c'] }, hub: { pendingLimit: 2 } });
    const { socket } = await open('ann');
    for (let seq = 1; seq <= 10; seq += 1) log.add(updated('c', seq));
    const gate = deferred();
    log.gate = gate.promise;
    bus.publish({ kind: 'event', event: log.events.get('c')![2]! });
    await settle();
    for (let seq = 4; seq <= 10; seq += 1) bus.publish({ kind: 'event', event: log.events.get('c')![seq - 1]! });
    gate.resolve();
    log.gate = undefined;
    await settle(10);
    expect(socket.seqs('c')).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('[EL5] replays exactly the events after the position, before the live ones, then says synced', async () => {
    const { log, commit, open } = setup({ members: { ann: ['c', 'd'] } });
    for (let seq = 1; seq <= 4; seq += 1) log.add(updated('c', seq));
    for (let seq = 1; seq <= 3; seq += 1) log.add(updated('d', seq));
    const { socket } = await open('ann', { c: 1 });
    expect(socket.types()).toEqual(['welcome', 'conversation-updated#2', 'conversation-updated#3', 'conversation-updated#4', 'synced']);
    expect(socket.frames[0]).toMatchObject({ conversations: [{ conversationId: 'c', lastSeq: 4 }, { conversationId: 'd', lastSeq: 3 }], revoked: [] });
    expect(socket.frames.at(-1)).toEqual({ type: 'synced', replayed: 3 });
    commit(updated('c', 5));
    commit(updated('d', 4));
    expect(socket.seqs('c')).toEqual([2, 3, 4, 5]);
    // Not named in the positions: starts at its lastSeq.
    expect(socket.seqs('d')).toEqual([4]);
  });

  it('[EL5] sends nothing before welcome and loses nothing committed while hello reads memberships', async () => {
    const setupResult = setup({ members: { ann: ['c'] } });
    const { hub, log, commit, holdMemberships } = setupResult;
    log.add(updated('c', 1));
    const release = holdMemberships();
    const socket = new TestSocket();
    const connection = hub.connect(socket, 'ann', 'session');
    const hello = hub.hello(connection, { c: 0 });
    await settle();
    // Committed after the read's snapshot, published before the subscription.
    commit(updated('c', 2));
    commit(updated('c', 3));
    expect(socket.frames).toEqual([]);
    release();
    await hello;
    commit(updated('c', 4));
    expect(socket.types()).toEqual(['welcome', 'conversation-updated#1', 'conversation-updated#2', 'conversation-updated#3', 'synced', 'conversation-updated#4']);
  });

  it('[EL5] a socket that has not said hello receives nothing, not even a conversation it is let into', async () => {
    const { hub, commit } = setup({ members: { ann: [] } });
    const socket = new TestSocket();
    hub.connect(socket, 'ann', 'session');
    commit(memberAdded('c', 1, 'ann'));
    commit(updated('c', 2));
    await settle();
    expect(socket.frames).toEqual([]);
  });

  it('[EL6] lists conversations named in positions but no longer joined as revoked, and sends nothing of them', async () => {
    const { log, commit, open } = setup({ members: { ann: ['c'] } });
    log.add(updated('gone', 1));
    log.add(updated('gone', 2));
    const { socket } = await open('ann', { c: 0, gone: 1 });
    commit(updated('gone', 3));
    expect(socket.frames[0]).toMatchObject({ type: 'welcome', revoked: ['gone'] });
    expect(socket.seqs('gone')).toEqual([]);
  });

  it('[EL7] the member-removed of the account is the last event of that conversation it is sent', async () => {
    const { commit, open, bus } = setup({ members: { ann: ['c'], bob: ['c'] } });
    const ann = await open('ann');
    const bob = await open('bob');
    commit(updated('c', 1));
    commit(memberRemoved('c', 2, 'ann'));
    commit(updated('c', 3));
    bus.publish({ kind: 'typing', event: { type: 'member-typing', conversationId: 'c', userId: 'bob', until: at } });
    expect(ann.socket.seqs('c')).toEqual([1, 2]);
    expect(ann.socket.frames.filter((frame) => frame.type === 'member-typing')).toEqual([]);
    expect(bob.socket.seqs('c')).toEqual([1, 2, 3]);
  });

  it('[EL7] [EL8] a removal and re-admission reordered by the bus: removed, then back from the member-added on', async () => {
    const { log, bus, open } = setup({ members: { ann: ['c'] } });
    const { socket } = await open('ann');
    const events = [updated('c', 1), memberRemoved('c', 2, 'ann'), updated('c', 3), memberAdded('c', 4, 'ann'), updated('c', 5)];
    for (const event of events) log.add(event);
    for (const index of [4, 1, 0, 3, 2]) bus.publish({ kind: 'event', event: events[index]! });
    await settle();
    expect(socket.seqs('c')).toEqual([1, 2, 4, 5]);
  });

  it('[EL7] a late copy of an older admission does not reopen a conversation the account left', async () => {
    const { commit, bus, log, open } = setup({ members: { ann: [] } });
    const { socket } = await open('ann');
    commit(memberAdded('c', 1, 'ann'));
    commit(memberRemoved('c', 2, 'ann'));
    bus.publish({ kind: 'event', event: log.events.get('c')![0]! });
    commit(updated('c', 3));
    await settle();
    expect(socket.seqs('c')).toEqual([1, 2]);
  });

  it('[EL8] a member added while connected is sent the conversation from the member-added on', async () => {
    const { commit, open, members } = setup({ members: { ann: [] } });
    const { socket } = await open('ann');
    commit(updated('c', 1));
    members.set('ann', new Set(['c']));
    commit(memberAdded('c', 2, 'ann'));
    commit(updated('c', 3));
    expect(socket.seqs('c')).toEqual([2, 3]);
  });

  it('[EL8] a member added while hello reads memberships is sent the conversation after welcome, from the member-added on', async () => {
    const { hub, commit, members, holdMemberships } = setup({ members: { ann: [] } });
    const release = holdMemberships();
    const socket = new TestSocket();
    const connection = hub.connect(socket, 'ann', 'session');
    const hello = hub.hello(connection, {});
    await settle();
    commit(updated('c', 1));
    members.set('ann', new Set(['c']));
    commit(memberAdded('c', 2, 'ann'));
    commit(updated('c', 3));
    expect(socket.frames).toEqual([]);
    release();
    await hello;
    commit(updated('c', 4));
    expect(socket.types()).toEqual(['welcome', 'member-added#2', 'conversation-updated#3', 'synced', 'conversation-updated#4']);
  });

  it('[EL9] typing reaches the other members, not the sender, and only sockets subscribed to the conversation', async () => {
    const { bus, open } = setup({ members: { ann: ['c'], bob: ['c'], cat: ['d'] } });
    const ann = await open('ann');
    const annPhone = await open('ann');
    const bob = await open('bob');
    const cat = await open('cat');
    bus.publish({ kind: 'typing', event: { type: 'member-typing', conversationId: 'c', userId: 'ann', until: at } });
    const typing = (socket: TestSocket) => socket.frames.filter((frame) => frame.type === 'member-typing');
    expect(typing(bob.socket)).toEqual([{ type: 'member-typing', conversationId: 'c', userId: 'ann', until: at }]);
    expect(typing(ann.socket)).toEqual([]);
    expect(typing(annPhone.socket)).toEqual([]);
    expect(typing(cat.socket)).toEqual([]);
  });

  it('[EL12] closes a socket with 1013 once more than the limit is queued, and sends it nothing more', async () => {
    const { commit, open, hub } = setup({ members: { ann: ['c'], bob: ['c'] }, hub: { maxBufferedBytes: 1000 } });
    const ann = await open('ann');
    const bob = await open('bob');
    commit(updated('c', 1));
    ann.socket.bufferedAmount = 1001;
    commit(updated('c', 2));
    expect(ann.socket.closed).toEqual({ code: 1013, reason: expect.any(String) });
    commit(updated('c', 3));
    expect(ann.socket.seqs('c')).toEqual([1, 2]);
    expect(bob.socket.seqs('c')).toEqual([1, 2, 3]);
    expect(hub.connectionCount).toBe(1);
  });

  it('[EL12] paces a replay by the send buffer instead of queueing it whole', async () => {
    const { log, hub } = setup({ members: { ann: ['c'] }, hub: { maxBufferedBytes: 1000, pageSize: 2 } });
    for (let seq = 1; seq <= 6; seq += 1) log.add(updated('c', seq));
    const socket = new TestSocket();
    const connection = hub.connect(socket, 'ann', 'session');
    // The socket reports a full buffer after the third event.
    const send = socket.send.bind(socket) as (data: string | Buffer, options?: { binary: false }) => void;
    socket.send = ((data: string | Buffer, options?: { binary: false }) => {
      send(data, options);
      if (socket.seqs('c').length === 3) socket.bufferedAmount = 900;
    }) as TestSocket['send'];
    const hello = hub.hello(connection, { c: 0 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(socket.seqs('c')).toEqual([1, 2, 3]);
    expect(socket.closed).toBeUndefined();
    socket.bufferedAmount = 0;
    await hello;
    expect(socket.seqs('c')).toEqual([1, 2, 3, 4, 5, 6]);
    expect(socket.frames.at(-1)).toEqual({ type: 'synced', replayed: 6 });
  });

  it('[EL3] a log that lacks an event it should hold closes the socket with 1011 so the client resumes', async () => {
    const { log, bus, open } = setup({ members: { ann: ['c'] } });
    const { socket } = await open('ann');
    bus.publish({ kind: 'event', event: log.add(updated('c', 3)) });
    await settle();
    expect(socket.closed?.code).toBe(1011);
    expect(socket.seqs('c')).toEqual([]);
  });

  it('closing a session closes its sockets with 4401 and no other', async () => {
    const { hub, open } = setup({ members: { ann: ['c'] } });
    const first = await open('ann');
    const other = new TestSocket();
    await hub.hello(hub.connect(other, 'ann', 'another-session'), {});
    hub.closeSession('ann', 'session-ann');
    expect(first.socket.closed?.code).toBe(4401);
    expect(other.closed).toBeUndefined();
  });

  it('[EL14] [EL18] a block that commits while hello reads is not undone by the older read; replay and live events are withheld alike', async () => {
    let blocked = new Map<string, null>();
    const { bus, commit, log, holdMemberships, hub } = setup({
      members: { ann: ['c'] },
      hub: {
        // As a database read would: the snapshot is taken when the read starts.
        blocks: async () => new Map(blocked),
      },
    });
    const reaction = (seq: number): ConversationEvent => ({ type: 'reaction-added', conversationId: 'c', seq, at, actorId: 'bob', messageId: 'm', userId: 'bob', emoji: '👍' });
    log.add(updated('c', 1));
    log.add(reaction(2));
    const release = holdMemberships();
    const socket = new TestSocket();
    const connection = hub.connect(socket, 'ann', 'session-ann');
    const hello = hub.hello(connection, { c: 0 });
    blocked = new Map([['bob', null]]);
    bus.publish({ kind: 'blocks', userId: 'ann', blocked: [{ userId: 'bob', profile: null }] });
    release();
    await hello;
    commit(reaction(3));
    await settle();
    expect(socket.types()).toEqual(['welcome', 'conversation-updated#1', 'event-withheld#2', 'synced', 'event-withheld#3']);

    bus.publish({ kind: 'blocks', userId: 'ann', blocked: [] });
    commit(reaction(4));
    await settle();
    expect(socket.types().slice(-2)).toEqual(['my-blocks-updated', 'reaction-added#4']);
  });

  it('[EL18] [MN2] a block whose bus message was lost is caught up on resync: the socket is told, and filters from then on', async () => {
    let blocked = new Map<string, null>();
    const { commit, open, hub } = setup({ members: { ann: ['c'] }, hub: { blocks: async () => new Map(blocked) } });
    const { socket } = await open('ann');
    blocked = new Map([['bob', null]]); // stored, but its message never came
    await hub.resync();
    commit({ type: 'reaction-added', conversationId: 'c', seq: 1, at, actorId: 'bob', messageId: 'm', userId: 'bob', emoji: '👍' });
    await settle();
    expect(socket.types()).toEqual(['welcome', 'synced', 'my-blocks-updated', 'event-withheld#1']);
    await hub.resync();
    expect(socket.types()).toHaveLength(4);
  });
});
