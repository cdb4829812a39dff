import {
  type ConversationEvent,
  PROTOCOL_VERSION,
  type ServerFrame,
  SOCKET_CLOSE,
} from '@parley/protocol';
import type { Kysely } from 'kysely';
import { asSeenBy, type BlockedProfiles, blockedBy, NO_BLOCKS } from '../blocking/withhold.js';
import { onSqlite, PreparedQuery } from '../storage/prepared.js';
import type { Database } from '../storage/schema.js';
import type { AssistantStreamEvent, Bus, BusMessage } from './bus.js';
import { type LiveTurn, LiveTurns } from './live-turns.js';

/** Bytes sent as a text frame (`ws` would send a Buffer as a binary one). */
const TEXT_FRAME = { binary: false } as const;

/** The least a socket must do: tldraw's WebSocketMinimal, in spirit. */
export interface MinimalSocket {
  /**
   * A frame of JSON text. The hub encodes a frame that goes to many sockets once, as UTF-8 bytes,
   * and sends those with `binary: false` (a text frame, as `ws` takes it); one socket's own frames
   * go as strings.
   */
  send(data: string): void;
  send(data: Buffer, options: { binary: false }): void;
  close(code?: number, reason?: string): void;
  /** Bytes queued and not yet sent, as `ws` and browsers report it. */
  readonly bufferedAmount?: number;
}

/** A conversation the account is a member of, with its last sequence number. */
export interface Membership {
  conversationId: string;
  lastSeq: number;
}

/** Reads the conversations an account is a member of. */
export type MembershipReader = (userId: string) => Promise<Membership[]>;

/** The part of the event log the hub reads: events after `after`, in order, up to `upTo`. */
export interface EventReader {
  read(conversationId: string, after: number, limit: number, upTo?: number): Promise<ConversationEvent[]>;
}

/** Reads the accounts an account blocked: what comes from them is withheld from its sockets [EL15]. */
export type BlockReader = (userId: string) => Promise<BlockedProfiles>;

export function readBlocks(reader: Kysely<Database>): BlockReader {
  return (userId) => blockedBy(reader, userId);
}

const membershipsJoined = new PreparedQuery((db, p: { userId: string }) =>
  db
    .selectFrom('members')
    .innerJoin('conversations', 'conversations.id', 'members.conversation_id')
    .select(['conversations.id', 'conversations.last_seq'])
    .where('members.user_id', '=', p.userId),
);
const membershipsOnly = new PreparedQuery((db, p: { userId: string }) => db.selectFrom('members').select('conversation_id').where('user_id', '=', p.userId));
const lastSeqOf = new PreparedQuery((db, p: { id: string }) => db.selectFrom('conversations').select('last_seq').where('id', '=', p.id));

/**
 * Read by every hello, so by every client of a node that comes back after a restart, all at
 * once: compiled once, and on SQLite point lookups rather than a join (see onSqlite).
 */
export function readMemberships(reader: Kysely<Database>): MembershipReader {
  return async (userId) => {
    if (!onSqlite(reader)) {
      const rows = await membershipsJoined.all(reader, { userId });
      return rows.map((row) => ({ conversationId: row.id, lastSeq: row.last_seq }));
    }
    // A write may land between two lookups: what it appends is caught as after any read [EL5].
    const memberships: Membership[] = [];
    for (const { conversation_id: conversationId } of await membershipsOnly.all(reader, { userId })) {
      const conversation = await lastSeqOf.first(reader, { id: conversationId });
      if (conversation) memberships.push({ conversationId, lastSeq: conversation.last_seq });
    }
    return memberships;
  };
}

/** A read from the log under way for one cursor: live events wait in `pending` until it ends. */
interface Fill {
  upTo: number;
  pending: ConversationEvent[];
}

/** One member conversation as seen by one connection: how far it has been sent. */
interface Cursor {
  /** The last sequence number sent on this connection. */
  seq: number;
  fill: Fill | null;
}

/**
 * `waiting` for hello; `reading` memberships for hello; `open` once welcome is sent; `closed`.
 * Nothing of a conversation is sent before `open` [EL5].
 */
export type ConnectionState = 'waiting' | 'reading' | 'open' | 'closed';

export interface Connection {
  readonly socket: MinimalSocket;
  readonly userId: string;
  readonly sessionId: string;
  readonly cursors: Map<string, Cursor>;
  state: ConnectionState;
  /** Set once `synced` is sent: answers being streamed reach the connection from then on ([AT6] in ../assistant/SPEC.md). */
  live: boolean;
  /** While hello reads memberships: the events that let this account into a conversation meanwhile [EL8]. */
  joined: ConversationEvent[] | null;
  /** Conversations this connection saw the account leave, with the seq of that event: a late repeat of an older admission must not reopen them. */
  ended: Map<string, number> | null;
  /** The accounts this account blocked: nothing of theirs reaches this connection [EL15]. */
  blocked: BlockedProfiles;
  /** Set once `my-blocks-updated` came by: newer than what hello reads, which then does not overwrite it. */
  blocksUpdated: boolean;
}

/** Whether a session still exists (a sign-out elsewhere may have been missed with the bus). */
export type SessionReader = (sessionId: string) => Promise<boolean>;

export interface HubOptions {
  memberships: MembershipReader;
  /** Defaults to nobody blocked. */
  blocks?: BlockReader;
  /** Checked for every connection on resync; without it sessions are not checked then. */
  sessions?: SessionReader;
  log: EventReader;
  bus: Bus;
  /** A socket with more than this queued and unsent is closed with 1013 [EL12]. */
  maxBufferedBytes?: number;
  /** Events of one page read from the log. */
  pageSize?: number;
  /** Live events held per cursor while a log read is under way; past it they are read again from the log [EL12]. */
  pendingLimit?: number;
  /** The answers in flight, shared with the node's turn service; the hub keeps it up to date from the bus. */
  liveTurns?: LiveTurns;
}

const DRAIN_POLL_MS = 10;

function sameAccounts(a: BlockedProfiles, b: BlockedProfiles): boolean {
  if (a.size !== b.size) return false;
  for (const id of a.keys()) if (!b.has(id)) return false;
  return true;
}

function endsMembership(event: ConversationEvent, userId: string): boolean {
  return (event.type === 'member-removed' || event.type === 'member-left') && event.userId === userId;
}

function admits(event: ConversationEvent, userId: string): boolean {
  if (event.type === 'member-added') return event.member.userId === userId;
  if (event.type === 'conversation-created') return event.members.some((member) => member.userId === userId);
  return false;
}

function admitted(event: ConversationEvent): string[] {
  if (event.type === 'member-added') return [event.member.userId];
  if (event.type === 'conversation-created') return event.members.map((member) => member.userId);
  return [];
}

/**
 * Delivers each conversation's events to the sockets of its members, in sequence order, with
 * no gap and no duplicate. See ../events/SPEC.md, rules [EL4]–[EL9] and [EL12].
 */
export class Hub {
  readonly #memberships: MembershipReader;
  readonly #blocks: BlockReader;
  readonly #sessions: SessionReader | undefined;
  readonly #log: EventReader;
  readonly #maxBufferedBytes: number;
  readonly #pageSize: number;
  readonly #pendingLimit: number;
  readonly #byUser = new Map<string, Set<Connection>>();
  readonly #byConversation = new Map<string, Set<Connection>>();
  /**
   * Newest sequence number seen go by per conversation while some hello is reading memberships:
   * an event committed after that read and published before the subscription would otherwise be
   * missed [EL5]. Cleared whenever no read is under way, so it does not grow with the node's age.
   */
  readonly #seen = new Map<string, number>();
  #reading = 0;
  readonly #unsubscribe: () => void;
  readonly #encoded = new WeakMap<ConversationEvent, Buffer>();
  readonly #encodedWithheld = new WeakMap<ConversationEvent, Buffer>();
  readonly #liveTurns: LiveTurns;

  constructor(options: HubOptions) {
    this.#liveTurns = options.liveTurns ?? new LiveTurns({ clock: { now: () => new Date() } });
    this.#memberships = options.memberships;
    this.#blocks = options.blocks ?? (async () => NO_BLOCKS);
    this.#sessions = options.sessions;
    this.#log = options.log;
    this.#maxBufferedBytes = options.maxBufferedBytes ?? 4 * 1024 * 1024;
    this.#pageSize = options.pageSize ?? 500;
    this.#pendingLimit = options.pendingLimit ?? 1000;
    const unsubscribe = options.bus.subscribe((message) => this.#onBus(message));
    const unwatch = options.bus.onResync?.(() => void this.resync());
    this.#unsubscribe = () => {
      unsubscribe();
      unwatch?.();
    };
  }

  get connectionCount(): number {
    let count = 0;
    for (const set of this.#byUser.values()) count += set.size;
    return count;
  }

  /** Registers an authenticated socket; it receives nothing until `hello`. */
  connect(socket: MinimalSocket, userId: string, sessionId: string): Connection {
    const connection: Connection = {
      socket,
      userId,
      sessionId,
      cursors: new Map(),
      state: 'waiting',
      live: false,
      joined: null,
      ended: null,
      blocked: NO_BLOCKS,
      blocksUpdated: false,
    };
    let set = this.#byUser.get(userId);
    if (!set) this.#byUser.set(userId, (set = new Set()));
    set.add(connection);
    return connection;
  }

  disconnect(connection: Connection): void {
    if (connection.state === 'closed') return;
    connection.state = 'closed';
    connection.joined = null;
    const set = this.#byUser.get(connection.userId);
    set?.delete(connection);
    if (set?.size === 0) this.#byUser.delete(connection.userId);
    for (const conversationId of [...connection.cursors.keys()]) this.#unsubscribeFrom(connection, conversationId);
  }

  /**
   * Answers `hello`: lists the member's conversations, replays what the client missed after the
   * positions it holds, then goes live [EL5]–[EL6], [EL8].
   */
  async hello(connection: Connection, positions: Record<string, number>): Promise<void> {
    if (connection.state !== 'waiting') return;
    connection.state = 'reading';
    connection.joined = [];
    this.#reading += 1;
    let fills: Promise<number>[];
    try {
      const [memberships, blocked] = await Promise.all([this.#memberships(connection.userId), this.#blocks(connection.userId)]);
      // Closed while reading: nothing to send.
      if (connection.state !== 'reading') return;
      if (!connection.blocksUpdated) connection.blocked = blocked;
      const joined = connection.joined;
      connection.joined = null;
      connection.state = 'open';
      const member = new Set(memberships.map((row) => row.conversationId));
      this.#send(connection, {
        type: 'welcome',
        protocolVersion: PROTOCOL_VERSION,
        userId: connection.userId,
        conversations: memberships,
        revoked: Object.keys(positions).filter((id) => !member.has(id)),
      });
      fills = [];
      for (const row of memberships) {
        const position = positions[row.conversationId];
        const from = position === undefined ? row.lastSeq : Math.min(position, row.lastSeq);
        const cursor = this.#subscribe(connection, row.conversationId, from);
        const newest = Math.max(row.lastSeq, this.#seen.get(row.conversationId) ?? 0);
        if (newest > from) fills.push(this.#fill(connection, row.conversationId, cursor, newest, []));
      }
      // Let in while the read was under way, too late for the read to see it.
      for (const event of joined ?? []) {
        if (connection.cursors.has(event.conversationId)) continue;
        const cursor = this.#subscribe(connection, event.conversationId, event.seq - 1);
        const newest = Math.max(event.seq, this.#seen.get(event.conversationId) ?? 0);
        fills.push(this.#fill(connection, event.conversationId, cursor, newest, []));
      }
    } finally {
      this.#reading -= 1;
      if (this.#reading === 0) this.#seen.clear();
    }
    const replayed = (await Promise.all(fills)).reduce((sum, count) => sum + count, 0);
    if (connection.state !== 'open') return;
    this.#send(connection, { type: 'synced', replayed });
    // In the same turn of the event loop as `synced`: no delta can slip between the snapshot and
    // the live stream, and none was sent before it [AT6].
    connection.live = true;
    for (const turn of this.#liveTurns.all()) {
      if (connection.cursors.has(turn.conversationId) && !this.#withholdsTurn(connection, turn.triggeredBy)) this.#sendTurnSoFar(connection, turn);
    }
  }

  /** Sends a frame on one connection, with the same limit on unsent bytes as events [EL12]. */
  sendFrame(connection: Connection, frame: Exclude<ServerFrame, { type: 'event' }>): void {
    this.#send(connection, frame);
  }

  /** Sends a frame to every open socket of one account. */
  sendToUser(userId: string, frame: Exclude<ServerFrame, { type: 'event' }>): void {
    for (const connection of this.#byUser.get(userId) ?? []) if (connection.state === 'open') this.#send(connection, frame);
  }

  closeSession(userId: string, sessionId: string): void {
    for (const connection of [...(this.#byUser.get(userId) ?? [])]) {
      if (connection.sessionId === sessionId) this.#drop(connection, SOCKET_CLOSE.unauthenticated, 'signed out');
    }
  }

  /**
   * Catches up after bus traffic may have been lost (Redis restarted, a network pause) [MN2]:
   * reads each connected account's conversations again and sends every connection what the log
   * holds past its cursors. A connection whose memberships changed meanwhile, or whose session
   * ended, is closed so that its client reconnects (and resumes exactly, or signs in again).
   * Resolves once every read has been made.
   */
  async resync(): Promise<void> {
    const work: Promise<unknown>[] = [];
    for (const [userId, connections] of [...this.#byUser]) {
      work.push(
        (async () => {
          const [memberships, blocked] = await Promise.all([this.#memberships(userId), this.#blocks(userId)]);
          const lastSeq = new Map(memberships.map((row) => [row.conversationId, row.lastSeq]));
          for (const connection of [...connections]) {
            if (connection.state !== 'open') continue;
            if (this.#sessions && !(await this.#sessions(connection.sessionId))) {
              this.#drop(connection, SOCKET_CLOSE.unauthenticated, 'signed out');
              continue;
            }
            // A block or unblock whose message was lost: filter by what is stored, and say so [EL18].
            if (!sameAccounts(connection.blocked, blocked)) {
              connection.blocked = blocked;
              this.#send(connection, { type: 'my-blocks-updated', blocked: [...blocked.keys()].sort() });
            }
            const current = [...connection.cursors.keys()];
            const changed =
              current.some((conversationId) => !lastSeq.has(conversationId)) ||
              memberships.some((row) => !connection.cursors.has(row.conversationId) && (connection.ended?.get(row.conversationId) ?? -1) < row.lastSeq);
            if (changed) {
              this.#drop(connection, SOCKET_CLOSE.goingAway, 'memberships changed while this node was cut off; reconnect and resume');
              continue;
            }
            for (const [conversationId, cursor] of connection.cursors) {
              const newest = lastSeq.get(conversationId) ?? cursor.seq;
              if (cursor.fill) cursor.fill.upTo = Math.max(cursor.fill.upTo, newest);
              else if (newest > cursor.seq) work.push(this.#fill(connection, conversationId, cursor, newest, []));
            }
          }
        })().catch(() => {
          // The database could not be read: these connections resume on their next gap or reconnect.
        }),
      );
    }
    // Fills started inside the loop are added to `work` as it runs.
    for (let index = 0; index < work.length; index += 1) await work[index];
  }

  close(): void {
    this.#unsubscribe();
    for (const set of [...this.#byUser.values()]) {
      for (const connection of [...set]) this.#drop(connection, SOCKET_CLOSE.goingAway, 'server shutting down');
    }
  }

  #onBus(message: BusMessage): void {
    switch (message.kind) {
      case 'event':
        this.#onEvent(message.event);
        return;
      case 'typing':
        // Ephemeral: no seq, not stored, not to the sender's own sockets [EL9], nor to whoever blocked the sender [EL15].
        for (const connection of this.#byConversation.get(message.event.conversationId) ?? []) {
          if (connection.userId !== message.event.userId && !connection.blocked.has(message.event.userId)) this.#send(connection, message.event);
        }
        return;
      case 'assistant':
        this.#onAssistant(message.event);
        return;
      case 'user':
        this.sendToUser(message.userId, message.event);
        return;
      case 'blocks': {
        // Every connection, open or still in hello: from here on it is the truth [EL18].
        const blocked: BlockedProfiles = new Map(message.blocked.map((entry) => [entry.userId, entry.profile]));
        for (const connection of this.#byUser.get(message.userId) ?? []) {
          connection.blocked = blocked;
          connection.blocksUpdated = true;
        }
        this.sendToUser(message.userId, { type: 'my-blocks-updated', blocked: message.blocked.map((entry) => entry.userId) });
        return;
      }
      case 'session-ended':
        this.closeSession(message.userId, message.sessionId);
        return;
      case 'resync':
        void this.resync();
        return;
    }
  }

  /**
   * An answer being streamed: kept up to date here for late joiners, and sent to the member
   * connections subscribed to the conversation, so a removed member gets nothing more [AT6]–[AT7].
   * The bot streaming a turn is not sent its own text back.
   */
  #onAssistant(event: AssistantStreamEvent): void {
    const held = this.#liveTurns.get(event.turnId);
    const botId = held?.botId;
    const triggeredBy = event.type === 'assistant-turn-start' ? event.triggeredBy : (held?.triggeredBy ?? null);
    this.#liveTurns.apply(event);
    const subscribers = this.#byConversation.get(event.conversationId);
    if (!subscribers) return;
    const data = Buffer.from(JSON.stringify(event));
    for (const connection of subscribers) {
      if (!connection.live) continue;
      if (event.type === 'assistant-text-delta' && connection.userId === botId) continue;
      if (this.#withholdsTurn(connection, triggeredBy)) continue;
      this.#write(connection, data);
    }
  }

  /** An answer triggered by someone this account blocked is not streamed to it; the message it ends as is the group's [EL17]. */
  #withholdsTurn(connection: Connection, triggeredBy: string | null): boolean {
    return triggeredBy !== null && connection.blocked.has(triggeredBy);
  }

  /** The start of a turn in flight and, in one delta at offset 0, all its text so far [AT6]. */
  #sendTurnSoFar(connection: Connection, turn: LiveTurn): void {
    this.#send(connection, {
      type: 'assistant-turn-start',
      conversationId: turn.conversationId,
      turnId: turn.turnId,
      userId: turn.botId,
      triggerMessageId: turn.triggerMessageId,
      triggeredBy: turn.triggeredBy,
      at: turn.startedAt,
    });
    if (turn.text !== '' && connection.userId !== turn.botId) {
      this.#send(connection, { type: 'assistant-text-delta', conversationId: turn.conversationId, turnId: turn.turnId, offset: 0, delta: turn.text });
    }
  }

  #onEvent(event: ConversationEvent): void {
    const { conversationId } = event;
    if (this.#reading > 0 && event.seq > (this.#seen.get(conversationId) ?? 0)) this.#seen.set(conversationId, event.seq);
    // Deleting the current element while iterating a Set is safe; nothing is added to this set here.
    const subscribers = this.#byConversation.get(conversationId);
    if (subscribers) for (const connection of subscribers) this.#route(connection, event);
    for (const userId of admitted(event)) {
      for (const connection of this.#byUser.get(userId) ?? []) {
        if (!connection.cursors.has(conversationId)) this.#route(connection, event);
      }
    }
  }

  /** Hands one event to a connection: to its cursor, or, for an event that lets the account in, to a new one [EL8]. */
  #route(connection: Connection, event: ConversationEvent): void {
    if (connection.state === 'closed' || connection.state === 'waiting') return;
    const cursor = connection.cursors.get(event.conversationId);
    if (cursor) {
      this.#deliver(connection, event, cursor);
      return;
    }
    if (!admits(event, connection.userId)) return;
    const ended = connection.ended?.get(event.conversationId);
    if (ended !== undefined && event.seq <= ended) return;
    if (connection.state === 'reading') {
      connection.joined?.push(event);
      return;
    }
    this.#deliver(connection, event, this.#subscribe(connection, event.conversationId, event.seq - 1));
    // Let in mid-answer: the answer so far follows [AT6].
    const turn = this.#liveTurns.inConversation(event.conversationId);
    if (turn && connection.live && connection.cursors.has(event.conversationId) && !this.#withholdsTurn(connection, turn.triggeredBy)) {
      this.#sendTurnSoFar(connection, turn);
    }
  }

  #subscribe(connection: Connection, conversationId: string, seq: number): Cursor {
    const cursor: Cursor = { seq, fill: null };
    connection.cursors.set(conversationId, cursor);
    let set = this.#byConversation.get(conversationId);
    if (!set) this.#byConversation.set(conversationId, (set = new Set()));
    set.add(connection);
    return cursor;
  }

  #unsubscribeFrom(connection: Connection, conversationId: string): void {
    connection.cursors.delete(conversationId);
    const set = this.#byConversation.get(conversationId);
    set?.delete(connection);
    if (set?.size === 0) this.#byConversation.delete(conversationId);
  }

  /** Sends the event if it is the next one, drops it if already sent, and fills a gap from the log [EL4]. */
  #deliver(connection: Connection, event: ConversationEvent, cursor: Cursor): void {
    const { fill } = cursor;
    if (fill) {
      if (fill.pending.length < this.#pendingLimit) {
        fill.pending.push(event);
      } else {
        // The log holds every one of them: read them again later rather than hold them all [EL12].
        for (const waiting of fill.pending) fill.upTo = Math.max(fill.upTo, waiting.seq);
        fill.upTo = Math.max(fill.upTo, event.seq);
        fill.pending = [];
      }
      return;
    }
    if (event.seq <= cursor.seq) return;
    if (event.seq === cursor.seq + 1) {
      this.#emit(connection, event, cursor);
      return;
    }
    void this.#fill(connection, event.conversationId, cursor, event.seq - 1, [event]);
  }

  /** Sends one event and advances the cursor; the member's own removal ends the subscription [EL7]. */
  #emit(connection: Connection, event: ConversationEvent, cursor: Cursor): void {
    cursor.seq = event.seq;
    if (endsMembership(event, connection.userId)) {
      this.#unsubscribeFrom(connection, event.conversationId);
      (connection.ended ??= new Map()).set(event.conversationId, event.seq);
    }
    // What this reader may see of it [EL14]–[EL16]; the same seq either way, so the cursor holds.
    const seen = asSeenBy(event, connection.blocked);
    if (seen !== event) {
      // The placeholder is the same for every reader it is sent to: encoded once per event.
      let withheld = seen.type === 'event-withheld' ? this.#encodedWithheld.get(event) : undefined;
      if (withheld === undefined) {
        withheld = Buffer.from(JSON.stringify({ type: 'event', event: seen }));
        if (seen.type === 'event-withheld') this.#encodedWithheld.set(event, withheld);
      }
      this.#write(connection, withheld);
      return;
    }
    let data = this.#encoded.get(event);
    if (data === undefined) {
      data = Buffer.from(JSON.stringify({ type: 'event', event }));
      this.#encoded.set(event, data);
    }
    this.#write(connection, data);
  }

  /**
   * Reads the log from the cursor up to `upTo` and sends it, paced by the socket's send buffer,
   * then hands on the live events that waited. Resolves to the number of events sent.
   */
  async #fill(connection: Connection, conversationId: string, cursor: Cursor, upTo: number, pending: ConversationEvent[]): Promise<number> {
    const fill: Fill = { upTo, pending };
    cursor.fill = fill;
    const holds = () => connection.cursors.get(conversationId) === cursor;
    let sent = 0;
    try {
      while (holds() && cursor.seq < fill.upTo) {
        const events = await this.#log.read(conversationId, cursor.seq, this.#pageSize, fill.upTo);
        const before = cursor.seq;
        for (const event of events) {
          if (holds() && event.seq === cursor.seq + 1 && this.#overLimit(connection, 2)) await this.#drained(connection);
          if (!holds()) {
            // The membership ended within this page: a later event may let the account in again.
            this.#route(connection, event);
            continue;
          }
          if (event.seq !== cursor.seq + 1) continue;
          this.#emit(connection, event, cursor);
          sent += 1;
        }
        if (holds() && cursor.seq === before) throw new Error(`the log has no event ${before + 1} of ${conversationId}`);
      }
    } catch {
      // The log could not be read, or has a hole: close so the client reconnects and resumes [EL3].
      this.#drop(connection, 1011, 'could not read the event log');
      return sent;
    }
    if (cursor.fill === fill) cursor.fill = null;
    for (const event of fill.pending.sort((a, b) => a.seq - b.seq)) this.#route(connection, event);
    return sent;
  }

  #overLimit(connection: Connection, divisor = 1): boolean {
    return (connection.socket.bufferedAmount ?? 0) > this.#maxBufferedBytes / divisor;
  }

  /** Waits until the socket has sent most of what it holds, or closed. */
  async #drained(connection: Connection): Promise<void> {
    while (connection.state !== 'closed' && this.#overLimit(connection, 2)) {
      await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
    }
  }

  /** Control and ephemeral frames; conversation events go through #emit, which keeps the cursor. */
  #send(connection: Connection, frame: Exclude<ServerFrame, { type: 'event' }>): void {
    this.#write(connection, JSON.stringify(frame));
  }

  /**
   * One frame to one socket. A frame fanned out to many comes as bytes encoded once: `ws` then
   * sends the same bytes to each socket after its own header, where a string would be encoded
   * into a new buffer per socket (the 19 copies were a quarter of what a send allocated).
   */
  #write(connection: Connection, data: string | Buffer): void {
    if (connection.state === 'closed') return;
    try {
      if (typeof data === 'string') connection.socket.send(data);
      else connection.socket.send(data, TEXT_FRAME);
    } catch {
      this.#drop(connection, 1011, 'could not send');
      return;
    }
    // A reader too slow to keep up is cut off rather than buffered without bound; it resumes [EL12].
    if (this.#overLimit(connection)) this.#drop(connection, SOCKET_CLOSE.tooSlow, 'fell too far behind; reconnect and resume');
  }

  #drop(connection: Connection, code: number, reason: string): void {
    if (connection.state === 'closed') return;
    this.disconnect(connection);
    try {
      connection.socket.close(code, reason);
    } catch {
      // Already closed.
    }
  }
}
