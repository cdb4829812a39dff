import type {
  AssistantTextDeltaEvent,
  AssistantTurnEndEvent,
  AssistantTurnStartEvent,
  ConversationEvent,
  MemberTypingEvent,
  MySettingsUpdatedEvent,
  UserSummary,
} from '@parley/protocol';

/** The ephemeral events of an answer being streamed (no seq): see ../assistant/SPEC.md. */
export type AssistantStreamEvent = AssistantTurnStartEvent | AssistantTextDeltaEvent | AssistantTurnEndEvent;

/** What travels between the nodes: committed events and ephemeral signals. */
export type BusMessage =
  | { kind: 'event'; event: ConversationEvent }
  | { kind: 'typing'; event: MemberTypingEvent }
  | { kind: 'assistant'; event: AssistantStreamEvent }
  | { kind: 'user'; userId: string; event: MySettingsUpdatedEvent }
  /** An account's blocks changed: every account it blocks now, with the profile it keeps seeing of each. Hubs filter by it and tell the account's sockets. */
  | { kind: 'blocks'; userId: string; blocked: Array<{ userId: string; profile: UserSummary | null }> }
  | { kind: 'session-ended'; userId: string; sessionId: string }
  /** A node that could not publish for a while tells the others to catch up from the log. */
  | { kind: 'resync' };

/**
 * Fire-and-forget fan-out between nodes. The event log, not the bus, is the source of truth: a
 * hub that sees a gap in a conversation's sequence reads the missing events from the log.
 */
export interface Bus {
  publish(message: BusMessage): void;
  subscribe(handler: (message: BusMessage) => void): () => void;
  /**
   * Calls `handler` whenever messages may have been lost (the bus reconnected, or a node could
   * not publish for a while): subscribers then catch up from the log [MN2]. A bus that never
   * loses a message need not offer it.
   */
  onResync?(handler: () => void): () => void;
  close(): Promise<void>;
}

/** The default bus: one process, delivered synchronously in publish order. */
export class MemoryBus implements Bus {
  readonly #handlers = new Set<(message: BusMessage) => void>();

  publish(message: BusMessage): void {
    for (const handler of this.#handlers) handler(message);
  }

  subscribe(handler: (message: BusMessage) => void): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }

  async close(): Promise<void> {
    this.#handlers.clear();
  }
}
