import {
  type ConversationEvent,
  PROTOCOL_VERSION,
  type ServerFrame,
  SOCKET_CLOSE,
} from '@parley/protocol';
import type { Kysely } from 'kysely';
import type { EventLog } from '../events/event-log.js';
import type { Database } from '../storage/schema.js';
import type { Bus, BusMessage } from './bus.js';

/** The least a socket must do: tldraw's WebSocketMinimal, in spirit. */
export interface MinimalSocket {
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** One member conversation as seen by one connection: how far it has been sent. */
interface Cursor {
  /** The last sequence number sent on this connection. */
  seq: number;
  /** A refill from the log is under way; live events wait in `pending`. */
  filling: boolean;
  pending: ConversationEvent[];
}

export interface Connection {
  readonly socket: MinimalSocket;
  readonly userId: string;
  readonly sessionId: string;
  readonly cursors: Map<string, Cursor>;
  ready: boolean;
}

const REFILL_PAGE = 500;

function endsMembership(event: ConversationEvent, userId: string): boolean {
  return (event.type === 'member-removed' || event.type === 'member-left') && event.userId === userId;
}

/**
 * Delivers each conversation's events to the sockets of its members, in sequence order, with
 * no gap and no duplicate. See ../events/SPEC.md, rules [EL4]–[EL8].
 */
export class Hub {
  readonly #reader: Kysely<Database>;
  readonly #log: EventLog;
  readonly #byUser = new Map<string, Set<Connection>>();
  readonly #byConversation = new Map<string, Set<Connection>>();
  /** Newest sequence number seen go by, per conversation: closes the race between a read and a subscription. */
  readonly #seen = new Map<string, number>();
  readonly #unsubscribe: () => void;
  readonly #encoded = new WeakMap<ConversationEvent, string>();

  constructor(options: { reader: Kysely<Database>; log: EventLog; bus: Bus }) {
    this.#reader = options.reader;
    this.#log = options.log;
    this.#unsubscribe = options.bus.subscribe((message) => this.#onBus(message));
  }

  get connectionCount(): number {
    let count = 0;
    for (const set of this.#byUser.values()) count += set.size;
    return count;
  }

  /** Registers an authenticated socket; it receives nothing until `hello`. */
  connect(socket: MinimalSocket, userId: string, sessionId: string): Connection {
    const connection: Connection = { socket, userId, sessionId, cursors: new Map(), ready: false };
    let set = this.#byUser.get(userId);
    if (!set) this.#byUser.set(userId, (set = new Set()));
    set.add(connection);
    return connection;
  }

  disconnect(connection: Connection): void {
    this.#byUser.get(connection.userId)?.delete(connection);
    if (this.#byUser.get(connection.userId)?.size === 0) this.#byUser.delete(connection.userId);
    for (const conversationId of connection.cursors.keys()) this.#unsubscribeFrom(connection, conversationId);
  }

  /**
   * Answers `hello`: lists the member's conversations, replays what the client missed after the
   * positions it holds, then subscribes it to live events.
   */
  async hello(connection: Connection, positions: Record<string, number>): Promise<void> {
    const memberships = await this.#reader
      .selectFrom('members')
      .innerJoin('conversations', 'conversations.id', 'members.conversation_id')
      .select(['conversations.id', 'conversations.last_seq'])
      .where('members.user_id', '=', connection.userId)
      .execute();
    const member = new Set(memberships.map((row) => row.id));
    this.#send(connection, {
      type: 'welcome',
      protocolVersion: PROTOCOL_VERSION,
      userId: connection.userId,
      conversations: memberships.map((row) => ({ conversationId: row.id, lastSeq: row.last_seq })),
      revoked: Object.keys(positions).filter((id) => !member.has(id)),
    });
    let replayed = 0;
    const fills: Promise<void>[] = [];
    for (const row of memberships) {
      // A member-added seen live while this read was under way may have subscribed it already.
      if (connection.cursors.has(row.id)) continue;
      const position = positions[row.id];
      const from = position === undefined ? row.last_seq : Math.min(position, row.last_seq);
      const cursor = this.#subscribe(connection, row.id, from);
      const newest = Math.max(row.last_seq, this.#seen.get(row.id) ?? 0);
      if (newest > cursor.seq) {
        const before = cursor.seq;
        fills.push(this.#fill(connection, row.id, cursor, newest).then(() => void (replayed += Math.max(0, cursor.seq - before))));
      }
    }
    await Promise.all(fills);
    connection.ready = true;
    this.#send(connection, { type: 'synced', replayed });
  }

  /** Sends a frame to every socket of one account. */
  sendToUser(userId: string, frame: ServerFrame): void {
    for (const connection of this.#byUser.get(userId) ?? []) if (connection.ready) this.#send(connection, frame);
  }

  closeSession(userId: string, sessionId: string): void {
    for (const connection of [...(this.#byUser.get(userId) ?? [])]) {
      if (connection.sessionId === sessionId) {
        connection.socket.close(SOCKET_CLOSE.unauthenticated, 'signed out');
        this.disconnect(connection);
      }
    }
  }

  close(): void {
    this.#unsubscribe();
    for (const set of this.#byUser.values()) {
      for (const connection of set) connection.socket.close(SOCKET_CLOSE.goingAway, 'server shutting down');
    }
    this.#byUser.clear();
    this.#byConversation.clear();
  }

  #onBus(message: BusMessage): void {
    switch (message.kind) {
      case 'event':
        this.#onEvent(message.event);
        return;
      case 'typing':
        for (const connection of this.#byConversation.get(message.event.conversationId) ?? []) {
          if (connection.userId !== message.event.userId) this.#send(connection, message.event);
        }
        return;
      case 'user':
        this.sendToUser(message.userId, message.event);
        return;
      case 'session-ended':
        this.closeSession(message.userId, message.sessionId);
        return;
    }
  }

  #onEvent(event: ConversationEvent): void {
    const seen = this.#seen.get(event.conversationId) ?? 0;
    if (event.seq > seen) this.#seen.set(event.conversationId, event.seq);
    const subscribers = this.#byConversation.get(event.conversationId);
    if (subscribers) for (const connection of [...subscribers]) this.#deliver(connection, event);
    if (event.type === 'member-added' || event.type === 'conversation-created') {
      const added = event.type === 'member-added' ? [event.member.userId] : event.members.map((member) => member.userId);
      for (const userId of added) {
        for (const connection of this.#byUser.get(userId) ?? []) {
          if (connection.cursors.has(event.conversationId)) continue;
          // The new member's sockets start at the event that let them in.
          this.#deliver(connection, event, this.#subscribe(connection, event.conversationId, event.seq - 1));
        }
      }
    }
  }

  #subscribe(connection: Connection, conversationId: string, seq: number): Cursor {
    const cursor: Cursor = { seq, filling: false, pending: [] };
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

  #deliver(connection: Connection, event: ConversationEvent, given?: Cursor): void {
    const cursor = given ?? connection.cursors.get(event.conversationId);
    if (!cursor) return;
    if (cursor.filling) {
      cursor.pending.push(event);
      return;
    }
    if (event.seq <= cursor.seq) return;
    if (event.seq === cursor.seq + 1) {
      this.#emit(connection, event, cursor);
      return;
    }
    cursor.pending.push(event);
    void this.#fill(connection, event.conversationId, cursor, event.seq - 1);
  }

  /** Sends one event and advances the cursor; a member's own removal ends the subscription. */
  #emit(connection: Connection, event: ConversationEvent, cursor: Cursor): void {
    this.#send(connection, { type: 'event', event });
    cursor.seq = event.seq;
    if (endsMembership(event, connection.userId)) this.#unsubscribeFrom(connection, event.conversationId);
  }

  /** Reads the log from the cursor up to `upTo`, sends it, then the live events that waited. */
  async #fill(connection: Connection, conversationId: string, cursor: Cursor, upTo: number): Promise<void> {
    cursor.filling = true;
    try {
      while (cursor.seq < upTo && connection.cursors.get(conversationId) === cursor) {
        const events = await this.#log.read(conversationId, cursor.seq, REFILL_PAGE, upTo);
        if (events.length === 0) break;
        for (const event of events) {
          if (connection.cursors.get(conversationId) !== cursor) break;
          if (event.seq === cursor.seq + 1) this.#emit(connection, event, cursor);
        }
      }
    } catch {
      // The log could not be read: close the socket so the client reconnects and resumes.
      connection.socket.close(1011, 'could not read the event log');
      this.disconnect(connection);
    } finally {
      cursor.filling = false;
    }
    const pending = cursor.pending.sort((a, b) => a.seq - b.seq);
    cursor.pending = [];
    for (const event of pending) {
      if (connection.cursors.get(conversationId) !== cursor) break;
      this.#deliver(connection, event, cursor);
    }
  }

  #send(connection: Connection, frame: ServerFrame): void {
    let data: string;
    if (frame.type === 'event') {
      data = this.#encoded.get(frame.event) ?? JSON.stringify(frame);
      this.#encoded.set(frame.event, data);
    } else {
      data = JSON.stringify(frame);
    }
    try {
      connection.socket.send(data);
    } catch {
      this.disconnect(connection);
    }
  }
}
