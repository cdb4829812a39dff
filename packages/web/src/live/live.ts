import type {
  AppCall,
  Attachment,
  AssistantTextDeltaEvent,
  AssistantTurnEndEvent,
  AssistantTurnStartEvent,
  ConversationEvent,
  ConversationView,
  EnabledApp,
  Me,
  MemberTypingEvent,
  Message,
  MySettingsUpdatedEvent,
  NotificationLevel,
} from '@parley/protocol';
import { ParleyError } from '@parley/protocol';
import { applyEvent, type ConversationState, EventStream, type ParleyClient } from '@parley/sdk';
import { newClientId } from './client-id.js';

/** A message this client sent that the server's event has not confirmed yet [WB11]. */
export interface PendingMessage {
  id: string;
  conversationId: string;
  text: string;
  /** The message this one answers, if any. */
  replyToId: string | null;
  /** Files uploaded before sending; a retry sends the same ones [WB34]. */
  attachments: readonly Attachment[];
  /** `sent`: the server answered; the event that puts it in order is on its way. */
  status: 'sending' | 'sent' | 'failed';
  error: string | null;
  createdAt: string;
}

/** An assistant answer being streamed token by token [WB12]. */
export interface StreamingTurn {
  turnId: string;
  userId: string;
  text: string;
  /** Ended; kept until its message arrives so the text does not blink. */
  ended: boolean;
}

export interface ConversationEntry {
  /** The conversation, its members, the signed-in member's settings and its newest message, kept current by events. */
  view: ConversationView;
  unread: number;
  /** Unread messages that mention the signed-in account. */
  mentions: number;
  /** Loaded history in sequence order; null until the conversation is opened. */
  messages: Message[] | null;
  /** Pass as `before` to load older messages; null when the start is loaded. */
  olderBefore: number | null;
  /** Timestamp of the newest activity: the sidebar's order [WB7]. */
  lastActivity: string;
  /** The apps switched on, kept by `app-enabled` / `app-disabled` events; null until the conversation is opened [WB72]. */
  apps: EnabledApp[] | null;
  /** The apps' tool calls, oldest first, kept by `app-call-*` events; null until the conversation is opened [WB70]. */
  appCalls: AppCall[] | null;
}

const CALL_RANK: Record<AppCall['status'], number> = { pending: 0, authorization: 1, running: 1, completed: 2, failed: 2, denied: 2 };

/**
 * Applies an event that arrived while a conversation's state was being read. The calls were read
 * at some point during that time, so an update older than what was read must not undo it (a call
 * read as completed stays completed when its `running` update is replayed).
 */
function replay(state: ConversationState, event: ConversationEvent): ConversationState {
  if (event.type === 'app-call-updated') {
    const held = state.appCalls.find((call) => call.id === event.call.id);
    if (held && CALL_RANK[held.status] > CALL_RANK[event.call.status]) return state;
    if (!held) return { ...state, appCalls: [...state.appCalls, event.call] };
  }
  return applyEvent(state, event);
}

export type ConnectionStatus = 'connecting' | 'open' | 'closed';

export interface LiveSnapshot {
  me: Me;
  status: ConnectionStatus;
  /** The stream was open once: a later drop shows the lost-connection banner [WB15]. */
  everConnected: boolean;
  /** The session ended elsewhere (signed out, expired). */
  signedOut: boolean;
  activeId: string | null;
  conversations: ReadonlyMap<string, ConversationEntry>;
  pending: ReadonlyMap<string, readonly PendingMessage[]>;
  turns: ReadonlyMap<string, StreamingTurn>;
  /** Per conversation: who is typing, until when (ms since the epoch). */
  typing: ReadonlyMap<string, ReadonlyMap<string, number>>;
  /**
   * Per conversation: the signed-in member's read marker and the conversation's last sequence
   * number when it was opened, so the "new messages" divider stays where it was while the marker
   * moves on, and marks only what was unread then, not what arrives while it is open [WB26].
   */
  readFrom: ReadonlyMap<string, { lastReadSeq: number; lastSeq: number }>;
  /** Grows each time the accounts this one blocks change (here or in another tab): what lists them reads them again [WB57]. */
  blocksVersion: number;
}

const PAGE = 100;
/** Sends of one message the server may refuse as busy before it shows as failed, the first included. */
const AUTOMATIC_SENDS = 4;

/**
 * A message of someone else that just arrived live, with what a notifier needs to decide whether
 * to show it: whether its conversation was on screen in a visible tab [WB66].
 */
export interface IncomingMessage {
  conversationId: string;
  message: Message;
  entry: ConversationEntry;
  onScreen: boolean;
}

function activityOf(view: ConversationView): string {
  return view.lastMessage?.createdAt ?? view.conversation.createdAt;
}

/**
 * Everything the signed-in person sees, kept live: the conversation list from one HTTP read,
 * then the account's event stream, which resumes after any drop from the last sequence number
 * it holds. The React tree reads immutable snapshots of it; every change goes through here.
 */
export class Live {
  readonly client: ParleyClient;
  #snapshot: LiveSnapshot;
  #listeners = new Set<() => void>();
  #stream: EventStream | undefined;
  /** Conversations being fetched because an event named one this client did not know (a join) [WB8]. */
  #adopting = new Map<string, ConversationEvent[]>();
  /** Conversations whose history is being loaded: events meanwhile are applied to it afterwards. */
  #loading = new Map<string, ConversationEvent[]>();
  /** Older pages being read: one at a time per conversation, so a scroll and a jump do not read one twice. */
  #loadingOlder = new Map<string, Promise<void>>();
  #readTimers = new Map<string, ReturnType<typeof setTimeout>>();
  /** Sends waiting to go again after the server said it was busy. */
  #retryTimers = new Set<ReturnType<typeof setTimeout>>();
  #typingTimer: ReturnType<typeof setTimeout> | undefined;
  #typingSent = new Map<string, number>();
  #incoming = new Set<(incoming: IncomingMessage) => void>();
  #closed = false;

  constructor(client: ParleyClient, me: Me) {
    this.client = client;
    this.#snapshot = {
      me,
      status: 'connecting',
      everConnected: false,
      signedOut: false,
      activeId: null,
      conversations: new Map(),
      pending: new Map(),
      turns: new Map(),
      typing: new Map(),
      readFrom: new Map(),
      blocksVersion: 0,
    };
  }

  subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  getSnapshot = (): LiveSnapshot => this.#snapshot;

  /** Calls `listener` for each message of someone else that arrives live (not history, not one's own). */
  onIncoming(listener: (incoming: IncomingMessage) => void): () => void {
    this.#incoming.add(listener);
    return () => this.#incoming.delete(listener);
  }

  #set(change: Partial<LiveSnapshot>): void {
    this.#snapshot = { ...this.#snapshot, ...change };
    for (const listener of this.#listeners) listener();
  }

  #setEntry(id: string, entry: ConversationEntry | undefined): void {
    const conversations = new Map(this.#snapshot.conversations);
    if (entry) conversations.set(id, entry);
    else conversations.delete(id);
    this.#set({ conversations });
  }

  /** The account's own profile changed (saved from this client). */
  setMe(me: Me): void {
    this.#set({ me });
  }

  /** Reads the conversation list, then follows the event stream from the positions it read. */
  async start(): Promise<void> {
    // The browser knows at once when the network goes: say so and reconnect when it is back,
    // rather than waiting for the keepalive to notice [WB15].
    if (typeof window !== 'undefined') {
      window.addEventListener('offline', this.#onOffline);
      window.addEventListener('online', this.#onOnline);
      document.addEventListener('visibilitychange', this.#onVisible);
    }
    const { conversations } = await this.client.api.listConversations();
    const entries = new Map<string, ConversationEntry>();
    for (const view of conversations) entries.set(view.conversation.id, this.#entryOf(view));
    this.#set({ conversations: entries });
    await this.#countMentions([...entries.values()]);
    this.#connect(Object.fromEntries(conversations.map((view) => [view.conversation.id, view.conversation.lastSeq])));
  }

  #entryOf(view: ConversationView): ConversationEntry {
    return { view, unread: view.me.unreadCount, mentions: 0, messages: null, olderBefore: null, lastActivity: activityOf(view), apps: null, appCalls: null };
  }

  /** Mention badges of unread messages: the newest page of each conversation with unread messages. */
  async #countMentions(entries: ConversationEntry[]): Promise<void> {
    const me = this.#snapshot.me.id;
    await Promise.all(
      entries
        .filter((entry) => entry.unread > 0)
        .map(async (entry) => {
          const id = entry.view.conversation.id;
          const page = await this.client.api.listMessages({ params: { conversationId: id }, query: { limit: Math.min(200, entry.unread + 20) } });
          const marker = entry.view.members.find((member) => member.userId === me)?.lastReadSeq ?? 0;
          const mentions = page.messages.filter((message) => message.seq > marker && message.authorId !== me && message.mentions.includes(me)).length;
          const current = this.#snapshot.conversations.get(id);
          if (current) this.#setEntry(id, { ...current, mentions });
        }),
    );
  }

  #connect(positions: Record<string, number>): void {
    this.#stream = new EventStream(
      this.client,
      {
        event: (event) => this.#onEvent(event),
        turn: (event) => this.#onTurn(event),
        typing: (event) => this.#onTyping(event),
        settings: (event) => this.#onSettings(event),
        welcome: (frame) => {
          // Conversations joined while this client was away or between its list and its stream.
          for (const { conversationId } of frame.conversations) {
            if (!this.#snapshot.conversations.has(conversationId)) void this.#adopt(conversationId);
          }
        },
        blocks: () => this.#set({ blocksVersion: this.#snapshot.blocksVersion + 1 }),
        revoked: (ids) => {
          for (const id of ids) this.#setEntry(id, undefined);
        },
        status: (status) => {
          if (this.#closed) return;
          this.#set({ status, everConnected: this.#snapshot.everConnected || status === 'open' });
        },
        error: (error) => {
          if (error instanceof ParleyError && error.code === 'UNAUTHENTICATED') this.#set({ signedOut: true, status: 'closed' });
        },
      },
      { positions },
    );
  }

  /** Reconnects now rather than after the backoff, resuming from the positions held [WB15]. */
  reconnect(): void {
    const positions = this.#stream?.positions ?? {};
    this.#stream?.close();
    this.#set({ status: 'connecting' });
    this.#connect(positions);
  }

  /** Drops the socket as a network fault would (for the banner's test and for diagnosis). */
  dropConnection(): void {
    this.#stream?.drop();
  }

  #onOffline = () => this.#stream?.drop();
  #onOnline = () => {
    if (this.#snapshot.status !== 'open') this.reconnect();
  };

  /** Back to a tab left in the background: what arrived meanwhile in the open conversation is read now. */
  #onVisible = () => {
    const id = this.#snapshot.activeId;
    if (id && this.#visible()) void this.open(id);
  };

  close(): void {
    this.#closed = true;
    if (typeof window !== 'undefined') {
      window.removeEventListener('offline', this.#onOffline);
      window.removeEventListener('online', this.#onOnline);
      document.removeEventListener('visibilitychange', this.#onVisible);
    }
    this.#stream?.close();
    for (const timer of this.#readTimers.values()) clearTimeout(timer);
    for (const timer of this.#retryTimers) clearTimeout(timer);
    clearTimeout(this.#typingTimer);
    this.#listeners.clear();
    this.#incoming.clear();
  }

  /**
   * A conversation this client does not hold yet: a group just created or joined, by invite or
   * by someone adding this account. Its events are held while it is fetched, then those after
   * the fetched state are applied, so nothing is missed or applied twice [WB8].
   */
  async #adopt(conversationId: string, first?: ConversationEvent): Promise<void> {
    const held = this.#adopting.get(conversationId);
    if (held) {
      if (first) held.push(first);
      return;
    }
    this.#adopting.set(conversationId, first ? [first] : []);
    try {
      const view = await this.client.api.getConversation({ params: { conversationId } });
      this.add(view, { countUnread: true });
    } catch {
      // Removed again meanwhile, or not visible: nothing to show.
    } finally {
      const events = this.#adopting.get(conversationId) ?? [];
      this.#adopting.delete(conversationId);
      for (const event of events) this.#onEvent(event);
    }
  }

  /**
   * Adds a conversation the client learned of from an HTTP answer (created, joined). One it holds
   * already is left alone: its events bring it up to date, and replacing it could skip some.
   */
  add(view: ConversationView, options: { countUnread?: boolean } = {}): void {
    if (this.#snapshot.conversations.has(view.conversation.id)) return;
    const entry = this.#entryOf(view);
    this.#setEntry(view.conversation.id, options.countUnread ? entry : { ...entry, unread: 0 });
  }

  #onEvent(event: ConversationEvent): void {
    const id = event.conversationId;
    if (this.#adopting.has(id)) {
      this.#adopting.get(id)?.push(event);
      return;
    }
    const entry = this.#snapshot.conversations.get(id);
    if (!entry) {
      void this.#adopt(id, event);
      return;
    }
    if (event.seq <= entry.view.conversation.lastSeq) return;
    const me = this.#snapshot.me.id;
    if ((event.type === 'member-removed' || event.type === 'member-left') && event.userId === me) {
      this.#setEntry(id, undefined);
      return;
    }
    this.#loading.get(id)?.push(event);
    const loaded = entry.messages !== null && !this.#loading.has(id);
    const base = loaded ? (entry.messages ?? []) : entry.view.lastMessage ? [entry.view.lastMessage] : [];
    const next = applyEvent({ conversation: entry.view.conversation, members: entry.view.members, messages: base, apps: entry.apps ?? [], appCalls: entry.appCalls ?? [] }, event);
    const lastMessage = next.messages.at(-1) ?? null;
    let { unread, mentions, lastActivity } = entry;
    let incoming: IncomingMessage | undefined;
    if (event.type === 'message-created') {
      lastActivity = event.at;
      const message = event.message;
      if (message.authorId !== me) {
        const onScreen = this.#snapshot.activeId === id && this.#visible();
        if (onScreen) this.#markReadSoon(id);
        else {
          unread += 1;
          if (message.mentions.includes(me)) mentions += 1;
        }
        incoming = { conversationId: id, message, entry, onScreen };
        this.#stopTyping(id, message.authorId);
      }
      this.#confirm(id, message);
    }
    if (event.type === 'read-marker-updated' && event.userId === me && event.lastReadSeq >= next.conversation.lastSeq) {
      unread = 0;
      mentions = 0;
    }
    this.#setEntry(id, {
      ...entry,
      view: { ...entry.view, conversation: next.conversation, members: next.members, lastMessage },
      messages: loaded ? next.messages : entry.messages,
      // Apps and calls are read with the history: until then (or while it loads) events are held, not applied.
      apps: loaded ? next.apps : entry.apps,
      appCalls: loaded ? next.appCalls : entry.appCalls,
      unread,
      mentions,
      lastActivity,
    });
    if (incoming) {
      const current = this.#snapshot.conversations.get(id);
      for (const listener of this.#incoming) listener({ ...incoming, entry: current ?? incoming.entry });
    }
  }

  /** The account's own setting of a conversation changed, here or on another device [WB65]. */
  #onSettings(event: MySettingsUpdatedEvent): void {
    const entry = this.#snapshot.conversations.get(event.conversationId);
    if (!entry || entry.view.me.notifications === event.notifications) return;
    this.#setEntry(event.conversationId, { ...entry, view: { ...entry.view, me: { ...entry.view.me, notifications: event.notifications } } });
  }

  /** Saves the account's notification setting of a conversation; the entry follows the server's answer [WB65]. */
  async setNotifications(conversationId: string, notifications: NotificationLevel): Promise<void> {
    const settings = await this.client.api.updateMySettings({ params: { conversationId }, body: { notifications } });
    const entry = this.#snapshot.conversations.get(conversationId);
    if (entry) this.#setEntry(conversationId, { ...entry, view: { ...entry.view, me: { ...entry.view.me, notifications: settings.notifications } } });
  }

  #visible(): boolean {
    return typeof document === 'undefined' || document.visibilityState !== 'hidden';
  }

  /** The server's event for a message this client sent, or for a streamed answer: the pending copy goes. */
  #confirm(conversationId: string, message: Message): void {
    const pending = this.#snapshot.pending.get(conversationId);
    if (pending?.some((item) => item.id === message.id)) {
      const map = new Map(this.#snapshot.pending);
      map.set(conversationId, pending.filter((item) => item.id !== message.id));
      this.#set({ pending: map });
    }
    const turn = this.#snapshot.turns.get(conversationId);
    if (turn && message.turn?.id === turn.turnId) {
      const turns = new Map(this.#snapshot.turns);
      turns.delete(conversationId);
      this.#set({ turns });
    }
  }

  /** Shows a conversation: loads its newest messages once and marks it read. */
  async open(conversationId: string | null): Promise<void> {
    const switched = conversationId !== this.#snapshot.activeId;
    this.#set({ activeId: conversationId });
    if (!conversationId) return;
    const entry = this.#snapshot.conversations.get(conversationId);
    if (!entry) return;
    if (switched) {
      const marker = entry.view.members.find((member) => member.userId === this.#snapshot.me.id)?.lastReadSeq ?? 0;
      const readFrom = new Map(this.#snapshot.readFrom);
      readFrom.set(conversationId, { lastReadSeq: marker, lastSeq: entry.view.conversation.lastSeq });
      this.#set({ readFrom });
    }
    if (entry.unread > 0 || entry.mentions > 0) this.#setEntry(conversationId, { ...entry, unread: 0, mentions: 0 });
    this.#markReadSoon(conversationId);
    if (entry.messages !== null || this.#loading.has(conversationId)) return;
    this.#loading.set(conversationId, []);
    try {
      const [page, apps, calls] = await Promise.all([
        this.client.api.listMessages({ params: { conversationId }, query: { limit: PAGE } }),
        this.client.api.listConversationApps({ params: { conversationId } }),
        this.client.api.listAppCalls({ params: { conversationId } }),
      ]);
      const held = this.#loading.get(conversationId) ?? [];
      this.#loading.delete(conversationId);
      const current = this.#snapshot.conversations.get(conversationId);
      if (!current) return;
      let state: ConversationState = { conversation: current.view.conversation, members: current.view.members, messages: page.messages, apps: apps.enabled, appCalls: calls.calls };
      const newest = page.messages.at(-1)?.seq ?? 0;
      // Events that came while the page was read: those after it change the history too; the
      // apps' events are replayed without undoing what was read [WB70].
      for (const event of held) {
        if (event.type.startsWith('app-')) state = replay(state, event);
        else if (event.seq > newest) state = applyEvent(state, event);
      }
      this.#setEntry(conversationId, { ...current, messages: state.messages, olderBefore: page.nextBefore, apps: state.apps, appCalls: state.appCalls });
    } catch {
      this.#loading.delete(conversationId);
    }
  }

  /**
   * Loads older pages until the message is held (the original of a reply further up), or the
   * start of the conversation is reached. True when it is held.
   */
  async loadUntil(conversationId: string, messageId: string): Promise<boolean> {
    for (;;) {
      const entry = this.#snapshot.conversations.get(conversationId);
      if (!entry?.messages) return false;
      if (entry.messages.some((message) => message.id === messageId)) return true;
      if (entry.olderBefore === null) return false;
      await this.loadOlder(conversationId);
    }
  }

  /** Loads the page of messages before the oldest one held. */
  async loadOlder(conversationId: string): Promise<void> {
    const entry = this.#snapshot.conversations.get(conversationId);
    if (!entry?.messages || entry.olderBefore === null) return;
    const running = this.#loadingOlder.get(conversationId);
    if (running) return running;
    const work = this.#loadOlderPage(conversationId, entry.olderBefore).finally(() => this.#loadingOlder.delete(conversationId));
    this.#loadingOlder.set(conversationId, work);
    return work;
  }

  async #loadOlderPage(conversationId: string, before: number): Promise<void> {
    const page = await this.client.api.listMessages({ params: { conversationId }, query: { limit: PAGE, before } });
    const current = this.#snapshot.conversations.get(conversationId);
    if (!current?.messages) return;
    const known = new Set(current.messages.map((message) => message.id));
    this.#setEntry(conversationId, {
      ...current,
      messages: [...page.messages.filter((message) => !known.has(message.id)), ...current.messages],
      olderBefore: page.nextBefore,
    });
  }

  #markReadSoon(conversationId: string): void {
    clearTimeout(this.#readTimers.get(conversationId));
    this.#readTimers.set(
      conversationId,
      setTimeout(() => {
        this.#readTimers.delete(conversationId);
        const entry = this.#snapshot.conversations.get(conversationId);
        if (!entry) return;
        const seq = entry.view.conversation.lastSeq;
        const mine = entry.view.members.find((member) => member.userId === this.#snapshot.me.id);
        if (mine && mine.lastReadSeq >= seq) return;
        this.client.api.markRead({ params: { conversationId }, body: { seq } }).catch(() => undefined);
      }, 300),
    );
  }

  /** Sends a message at once as pending; the server's event confirms it [WB11]. */
  send(conversationId: string, text: string, replyToId: string | null = null, attachments: readonly Attachment[] = []): void {
    const item: PendingMessage = { id: newClientId(), conversationId, text, replyToId, attachments, status: 'sending', error: null, createdAt: new Date().toISOString() };
    this.#setPending(conversationId, [...(this.#snapshot.pending.get(conversationId) ?? []), item]);
    void this.#deliver(item);
  }

  /** Sends a failed message again with the same client id: the server never stores it twice [WB11]. */
  retry(conversationId: string, id: string): void {
    const item = this.#snapshot.pending.get(conversationId)?.find((pending) => pending.id === id);
    if (!item || item.status !== 'failed') return;
    this.#updatePending(conversationId, id, { status: 'sending', error: null });
    void this.#deliver(item);
  }

  discard(conversationId: string, id: string): void {
    this.#setPending(conversationId, (this.#snapshot.pending.get(conversationId) ?? []).filter((item) => item.id !== id));
  }

  /**
   * Sends a pending message. A server too busy to take it says when to come back (503 with
   * Retry-After, http/SPEC.md [PB7]): the message stays "sending" and goes again by itself, with
   * the same id, a few times before it is shown as failed with Retry [WB11].
   */
  async #deliver(item: PendingMessage, attempt = 1): Promise<void> {
    try {
      const message = await this.client.api.sendMessage({ params: { conversationId: item.conversationId }, body: { id: item.id, text: item.text, attachmentIds: item.attachments.map((attachment) => attachment.id), ...(item.replyToId ? { replyToId: item.replyToId } : {}) } });
      const entry = this.#snapshot.conversations.get(item.conversationId);
      const arrived = entry?.messages?.some((held) => held.id === message.id) ?? false;
      if (arrived) this.discard(item.conversationId, item.id);
      else this.#updatePending(item.conversationId, item.id, { status: 'sent' });
    } catch (error) {
      const wait = error instanceof ParleyError && error.code === 'UNAVAILABLE' ? error.retryAfter : undefined;
      if (wait !== undefined && attempt < AUTOMATIC_SENDS && !this.#closed) {
        const timer = setTimeout(() => {
          this.#retryTimers.delete(timer);
          if (this.#snapshot.pending.get(item.conversationId)?.some((pending) => pending.id === item.id)) void this.#deliver(item, attempt + 1);
        }, Math.min(wait, 30) * 1000);
        this.#retryTimers.add(timer);
        return;
      }
      this.#updatePending(item.conversationId, item.id, { status: 'failed', error: error instanceof Error ? error.message : String(error) });
    }
  }

  #setPending(conversationId: string, items: PendingMessage[]): void {
    const pending = new Map(this.#snapshot.pending);
    pending.set(conversationId, items);
    this.#set({ pending });
  }

  #updatePending(conversationId: string, id: string, change: Partial<PendingMessage>): void {
    const items = this.#snapshot.pending.get(conversationId);
    if (!items?.some((item) => item.id === id)) return;
    this.#setPending(conversationId, items.map((item) => (item.id === id ? { ...item, ...change } : item)));
  }

  /** Tells the others this account is typing, at most every three seconds per conversation. */
  typing(conversationId: string): void {
    const now = Date.now();
    if (now - (this.#typingSent.get(conversationId) ?? 0) < 3000) return;
    this.#typingSent.set(conversationId, now);
    this.#stream?.sendTyping(conversationId);
  }

  #onTyping(event: MemberTypingEvent): void {
    if (event.userId === this.#snapshot.me.id) return;
    const typing = new Map(this.#snapshot.typing);
    const people = new Map(typing.get(event.conversationId) ?? []);
    people.set(event.userId, Date.parse(event.until));
    typing.set(event.conversationId, people);
    this.#set({ typing });
    this.#expireTyping();
  }

  /** A message of someone who was typing ends their indicator at once, not when it would expire [WB84]. */
  #stopTyping(conversationId: string, userId: string): void {
    const people = this.#snapshot.typing.get(conversationId);
    if (!people?.has(userId)) return;
    const typing = new Map(this.#snapshot.typing);
    const still = new Map(people);
    still.delete(userId);
    if (still.size > 0) typing.set(conversationId, still);
    else typing.delete(conversationId);
    this.#set({ typing });
  }

  #expireTyping(): void {
    clearTimeout(this.#typingTimer);
    const now = Date.now();
    let soonest = Infinity;
    let changed = false;
    const typing = new Map<string, ReadonlyMap<string, number>>();
    for (const [conversationId, people] of this.#snapshot.typing) {
      const still = new Map([...people].filter(([, until]) => until > now));
      if (still.size !== people.size) changed = true;
      for (const until of still.values()) soonest = Math.min(soonest, until);
      if (still.size > 0) typing.set(conversationId, still);
    }
    if (changed) this.#set({ typing });
    if (soonest !== Infinity) this.#typingTimer = setTimeout(() => this.#expireTyping(), soonest - now + 50);
  }

  #onTurn(event: AssistantTurnStartEvent | AssistantTextDeltaEvent | AssistantTurnEndEvent): void {
    const turns = new Map(this.#snapshot.turns);
    const current = turns.get(event.conversationId);
    if (event.type === 'assistant-turn-start') {
      turns.set(event.conversationId, { turnId: event.turnId, userId: event.userId, text: '', ended: false });
    } else if (event.type === 'assistant-text-delta') {
      const base = current?.turnId === event.turnId ? current : { turnId: event.turnId, userId: '', text: '', ended: false };
      // Offsets let a delta that overlaps what is held add only its new part.
      const overlap = base.text.length - event.offset;
      const text = overlap <= 0 ? base.text + event.delta : base.text + event.delta.slice(overlap);
      turns.set(event.conversationId, { ...base, text });
    } else if (current?.turnId === event.turnId) {
      const entry = this.#snapshot.conversations.get(event.conversationId);
      const arrived = event.messageId === null || (entry?.messages?.some((message) => message.id === event.messageId) ?? false);
      if (arrived) turns.delete(event.conversationId);
      else turns.set(event.conversationId, { ...current, ended: true });
    }
    this.#set({ turns });
  }

  /** Stops the answer being streamed; what came so far is kept, marked stopped [WB12]. */
  async stopTurn(conversationId: string): Promise<void> {
    const turn = this.#snapshot.turns.get(conversationId);
    if (!turn) return;
    await this.client.api.stopTurn({ params: { conversationId, turnId: turn.turnId } });
  }
}
