import type { AssistantTurnStartEvent } from '@parley/protocol';
import type { Clock } from '../events/event-log.js';
import type { AssistantStreamEvent } from './bus.js';

/** An answer being streamed, as one node knows it. */
export interface LiveTurn {
  readonly conversationId: string;
  readonly turnId: string;
  /** The bot streaming it. */
  readonly botId: string;
  readonly triggerMessageId: string | null;
  /** The person whose message triggered it: whoever blocked them is not sent it ([EL17] in ../events/SPEC.md). */
  readonly triggeredBy: string | null;
  readonly startedAt: string;
  /** The text so far; offsets count its UTF-16 code units, as `String.length` does. */
  text: string;
  /** When the last text arrived (ms, by the node's clock): the watchdog reads it. */
  lastDeltaAt: number;
}

export interface LiveTurnsOptions {
  clock: Clock;
  /** Turns held at most; past it the oldest is dropped (the watchdog ends a turn long before). */
  maxTurns?: number;
}

/**
 * The answers in flight, with their text so far, kept on every node from the bus (see
 * ../assistant/SPEC.md [AT6]): a member who connects mid-answer gets the partial text from it,
 * and the node that takes a bot's deltas gets their offsets from it. Entries are dropped at the
 * turn's end.
 */
export class LiveTurns {
  readonly #clock: Clock;
  readonly #maxTurns: number;
  readonly #turns = new Map<string, LiveTurn>();
  /** One turn in flight per conversation [AT2]. */
  readonly #byConversation = new Map<string, string>();

  constructor(options: LiveTurnsOptions) {
    this.#clock = options.clock;
    this.#maxTurns = options.maxTurns ?? 10_000;
  }

  get size(): number {
    return this.#turns.size;
  }

  get(turnId: string): LiveTurn | undefined {
    return this.#turns.get(turnId);
  }

  inConversation(conversationId: string): LiveTurn | undefined {
    const turnId = this.#byConversation.get(conversationId);
    return turnId === undefined ? undefined : this.#turns.get(turnId);
  }

  all(): IterableIterator<LiveTurn> {
    return this.#turns.values();
  }

  /** Holds a turn that started; a repeat keeps the text already held. */
  start(event: Omit<AssistantTurnStartEvent, 'type'>, text = ''): LiveTurn {
    const existing = this.#turns.get(event.turnId);
    if (existing) return existing;
    if (this.#turns.size >= this.#maxTurns) {
      const oldest = this.#turns.keys().next();
      if (!oldest.done) this.end(oldest.value);
    }
    const turn: LiveTurn = {
      conversationId: event.conversationId,
      turnId: event.turnId,
      botId: event.userId,
      triggerMessageId: event.triggerMessageId,
      triggeredBy: event.triggeredBy,
      startedAt: event.at,
      text,
      lastDeltaAt: this.#clock.now().getTime(),
    };
    this.#turns.set(turn.turnId, turn);
    this.#byConversation.set(turn.conversationId, turn.turnId);
    return turn;
  }

  /** Adds text to a turn held here; returns the offset it was added at. */
  append(turn: LiveTurn, text: string): number {
    const offset = turn.text.length;
    turn.text += text;
    turn.lastDeltaAt = this.#clock.now().getTime();
    return offset;
  }

  end(turnId: string): void {
    const turn = this.#turns.get(turnId);
    if (!turn) return;
    this.#turns.delete(turnId);
    if (this.#byConversation.get(turn.conversationId) === turnId) this.#byConversation.delete(turn.conversationId);
  }

  /**
   * Applies an event from the bus. A delta is placed by its offset, so the copy of one the node
   * appended itself, or a repeat, changes nothing.
   */
  apply(event: AssistantStreamEvent): void {
    switch (event.type) {
      case 'assistant-turn-start':
        this.start(event);
        return;
      case 'assistant-text-delta': {
        const turn = this.#turns.get(event.turnId);
        if (!turn) return;
        const end = event.offset + event.delta.length;
        // Past what is held: something was missed and cannot be placed. Already held: nothing to do.
        if (event.offset > turn.text.length || end <= turn.text.length) return;
        this.append(turn, event.delta.slice(turn.text.length - event.offset));
        return;
      }
      case 'assistant-turn-end':
        this.end(event.turnId);
        return;
    }
  }
}
