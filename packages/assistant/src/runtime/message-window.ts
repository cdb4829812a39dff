import type { AssistantContext, ConversationEvent, Message } from '@parley/protocol';
import { applyEvent, type ConversationState, type ParleyClient } from '@parley/sdk';
import { LOAD_LIMITS, type RecentMessages } from '../context/load-context.js';
import type { PolicyMessage } from '../policy/types.js';

/** The newest messages turn-taking looks back on. */
const HISTORY_WINDOW = 40;
/** Whole messages kept current from the live events: the first page of every answer's prompt. */
const RECENT_WINDOW = LOAD_LIMITS.firstPageSize;
/** Messages held: enough for both. */
const WINDOW = Math.max(HISTORY_WINDOW, RECENT_WINDOW);

export function toPolicyMessage(message: Message, assistantUserId: string, triggers: ReadonlyMap<string, string>, history: readonly PolicyMessage[]): PolicyMessage {
  const repliedTo = message.replyToId === null ? undefined : history.find((candidate) => candidate.id === message.replyToId);
  return {
    id: message.id,
    authorId: message.authorId,
    text: message.text,
    replyToId: message.replyToId,
    ...(repliedTo ? { replyToAuthorId: repliedTo.authorId } : {}),
    mentions: message.mentions,
    createdAt: message.createdAt,
    byAssistant: message.authorId === assistantUserId,
    triggerId: message.turn ? (triggers.get(message.turn.id) ?? null) : null,
    deleted: message.deletedAt !== null,
  };
}

/** At most WINDOW messages, the oldest dropped (then older messages exist). */
function trimmed(state: ConversationState, hasOlder: boolean): { state: ConversationState; hasOlder: boolean } {
  const excess = state.messages.length - WINDOW;
  if (excess <= 0) return { state, hasOlder };
  return { state: { ...state, messages: state.messages.slice(excess) }, hasOlder: true };
}

/**
 * The newest messages of one conversation, read once (one `listMessages`) and then kept current
 * from the live events with the SDK's reducer. Turn-taking reads its history from it, an
 * answer's prompt its first page.
 */
export class MessageWindow {
  readonly #client: ParleyClient;
  readonly #conversationId: string;
  readonly #assistantUserId: string;
  /** Turn id → the message it answered, for the assistant's own messages in the window. */
  readonly #triggers: ReadonlyMap<string, string>;
  #window: { state: ConversationState; hasOlder: boolean } | undefined;
  #loading: Promise<void> | undefined;
  /** Events that came while the messages were being read: applied once they arrive. */
  #buffer: ConversationEvent[] | undefined;

  constructor(options: { client: ParleyClient; conversationId: string; assistantUserId: string; triggers: ReadonlyMap<string, string> }) {
    this.#client = options.client;
    this.#conversationId = options.conversationId;
    this.#assistantUserId = options.assistantUserId;
    this.#triggers = options.triggers;
  }

  /** Applies one event of the conversation, in order (nothing until the window is read). */
  apply(event: ConversationEvent): void {
    if (this.#buffer) this.#buffer.push(event);
    else if (this.#window) this.#window = trimmed(applyEvent(this.#window.state, event), this.#window.hasOlder);
  }

  /** Reads the window once; later calls wait for that read. */
  async load(context: AssistantContext): Promise<void> {
    if (this.#window) return;
    this.#loading ??= (async () => {
      this.#buffer = [];
      try {
        const page = await this.#client.api.listMessages({ params: { conversationId: this.#conversationId }, query: { limit: WINDOW } });
        let state: ConversationState = { conversation: context.conversation, members: [], messages: page.messages, apps: [], appCalls: [] };
        for (const event of this.#buffer) state = applyEvent(state, event);
        this.#window = trimmed(state, page.nextBefore !== null);
      } finally {
        this.#buffer = undefined;
        this.#loading = undefined;
      }
    })();
    await this.#loading;
    if (!this.#window) throw new Error('the recent messages could not be read');
  }

  /** A message known otherwise (from the backlog): taken into the window in its place, if it is not there. */
  remember(message: Message): void {
    const window = this.#window;
    if (!window || window.state.messages.some((item) => item.id === message.id)) return;
    const messages = [...window.state.messages];
    const later = messages.findIndex((item) => item.seq > message.seq);
    if (later === -1) messages.push(message);
    else messages.splice(later, 0, message);
    this.#window = trimmed({ ...window.state, messages }, window.hasOlder);
  }

  /** The newest messages as turn-taking sees them; empty until the window is read. */
  history(): PolicyMessage[] {
    const history: PolicyMessage[] = [];
    for (const message of this.#window?.state.messages.slice(-HISTORY_WINDOW) ?? []) {
      history.push(toPolicyMessage(message, this.#assistantUserId, this.#triggers, history));
    }
    return history;
  }

  /** The first page of an answer's prompt. */
  async recent(context: AssistantContext): Promise<RecentMessages> {
    await this.load(context);
    const window = this.#window;
    if (!window) throw new Error('the recent messages could not be read');
    const excess = window.state.messages.length - RECENT_WINDOW;
    return excess > 0 ? { messages: window.state.messages.slice(excess), hasOlder: true } : { messages: window.state.messages, hasOlder: window.hasOlder };
  }
}
