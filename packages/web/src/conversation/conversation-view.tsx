import type { Member, Message, UserSummary } from '@parley/protocol';
import { firstUnread, seenBy } from '@parley/sdk';
import { type DragEvent, lazy, Suspense, type UIEvent, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Virtuoso, type VirtuosoHandle } from 'react-virtuoso';
import type { ConversationEntry } from '../live/live.js';
import { memberMap, nameOf, titleOf } from '../live/names.js';
import { useLive, useLiveStore } from '../live/use-live.js';
import { Composer, type ComposerHandle } from './composer.js';
import { MessageItem, PendingItem, TurnItem } from './message-item.js';
import { ForkDialog } from './fork-dialog.js';
import { timelineStart, type TimelineStart } from './timeline-start.js';
import { WhyDialog } from './why-dialog.js';
import { PersonCard } from '../profile/person-card.js';
import { CallCard } from '../apps/call-card.js';
import type { AppCall } from '@parley/protocol';
import { useProfileStep } from '../profile/profile-step.js';

const EmojiPickerDialog = lazy(() => import('./emoji-picker.js'));

type Item =
  | { kind: 'message'; key: string; index: number }
  | { kind: 'divider'; key: string }
  | { kind: 'pending'; key: string; index: number }
  | { kind: 'call'; key: string; index: number }
  | { kind: 'turn'; key: string };

/** The first index Virtuoso counts from, so that loading older messages keeps the view still. */
const FIRST = 1_000_000;
/** How close to the bottom, in pixels, counts as at the bottom: the list then keeps to its newest item. */
const PINNED_WITHIN = 16;
const NO_SEEN: Member[] = [];

/** One conversation, live: its messages in order, what is pending or streaming, who types, and the composer [WB9]–[WB14], [WB24]–[WB28]. */
export function ConversationView({ entry, onOpenMenu, onTogglePanel }: { entry: ConversationEntry; onOpenMenu: () => void; onTogglePanel: () => void }) {
  const { t } = useTranslation();
  const live = useLiveStore();
  const snapshot = useLive();
  const { view } = entry;
  const id = view.conversation.id;
  const meId = snapshot.me.id;
  const users = useMemo(() => memberMap(view.members, view.conversation.assistant?.name), [view.members, view.conversation.assistant?.name]);
  const messages = useMemo(() => entry.messages ?? [], [entry.messages]);
  const pending = snapshot.pending.get(id) ?? [];
  const turn = snapshot.turns.get(id);
  const typing = [...(snapshot.typing.get(id)?.keys() ?? [])].map((userId) => nameOf(users.get(userId)));
  const virtuoso = useRef<VirtuosoHandle>(null);
  const composer = useRef<ComposerHandle>(null);
  const [replyTo, setReplyTo] = useState<Message | null>(null);
  const [editingId, setEditingId] = useState<string | null>(null);
  const [pickerFor, setPickerFor] = useState<string | null>(null);
  const [whyFor, setWhyFor] = useState<string | null>(null);
  const [forking, setForking] = useState(false);
  // Starting a group asks for the profile first, as New group does [WB52].
  const profileStep = useProfileStep();
  const [personFor, setPersonFor] = useState<UserSummary | null>(null);
  const closeWhy = useCallback(() => setWhyFor(null), []);
  const findMessage = useCallback((messageId: string) => messages.find((candidate) => candidate.id === messageId), [messages]);
  const whyMessage = whyFor === null ? undefined : findMessage(whyFor);
  const [highlight, setHighlight] = useState<string | null>(null);
  // Files dragged over the conversation: it shows where they go, and a drop attaches them [WB34].
  const [dragging, setDragging] = useState(false);
  const dragDepth = useRef(0);
  const carriesFiles = (event: DragEvent) => event.dataTransfer.types.includes('Files');
  const onDragEnter = (event: DragEvent) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    dragDepth.current += 1;
    setDragging(true);
  };
  const onDragOver = (event: DragEvent) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
  };
  const onDragLeave = (event: DragEvent) => {
    if (!carriesFiles(event)) return;
    dragDepth.current = Math.max(0, dragDepth.current - 1);
    if (dragDepth.current === 0) setDragging(false);
  };
  const onDrop = (event: DragEvent) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    dragDepth.current = 0;
    setDragging(false);
    composer.current?.addFiles([...event.dataTransfer.files]);
  };
  useEffect(() => {
    setReplyTo(null);
    setEditingId(null);
    setPickerFor(null);
    setWhyFor(null);
    setForking(false);
  }, [id]);

  const byId = useMemo(() => new Map(messages.map((message) => [message.id, message])), [messages]);
  const readFrom = snapshot.readFrom.get(id);
  // The "new messages" divider: before the first message of someone else after the marker held when the conversation was opened [WB26].
  const unreadAtOpen = readFrom === undefined ? undefined : firstUnread(messages, readFrom.lastReadSeq, meId);
  const dividerBefore = readFrom && unreadAtOpen && unreadAtOpen.seq <= readFrom.lastSeq ? unreadAtOpen.id : undefined;
  // "Seen by": each other person under the newest message their read marker reached [WB28].
  const seen = useMemo(() => {
    const except = new Set([meId, ...view.members.filter((member) => member.role === 'assistant').map((member) => member.userId)]);
    return seenBy(messages, view.members, except);
  }, [messages, view.members, meId]);

  const calls = useMemo(() => entry.appCalls ?? [], [entry.appCalls]);
  // Where each app call goes in the timeline [WB70]: before the answer of the turn that made it,
  // else after the last message written before it; one older than the loaded history waits for it.
  const callsBefore = useMemo(() => {
    const before = new Map<number, number[]>();
    const byTurn = new Map<string, number>();
    messages.forEach((message, index) => {
      if (message.turn) byTurn.set(message.turn.id, index);
    });
    const startLoaded = entry.olderBefore === null;
    calls.forEach((call: AppCall, callIndex) => {
      let at = call.turnId ? byTurn.get(call.turnId) : undefined;
      if (at === undefined) {
        at = messages.findIndex((message) => message.createdAt > call.createdAt);
        if (at === -1) at = messages.length;
        if (at === 0 && !startLoaded) return;
      }
      before.set(at, [...(before.get(at) ?? []), callIndex]);
    });
    return before;
  }, [messages, calls, entry.olderBefore]);

  const items = useMemo<Item[]>(() => {
    const list: Item[] = [];
    const pushCalls = (at: number) => {
      for (const index of callsBefore.get(at) ?? []) list.push({ kind: 'call', key: `call-${calls[index]?.id ?? index}`, index });
    };
    messages.forEach((message, index) => {
      if (message.id === dividerBefore) list.push({ kind: 'divider', key: 'divider' });
      pushCalls(index);
      list.push({ kind: 'message', key: message.id, index });
    });
    pushCalls(messages.length);
    pending.forEach((item, index) => list.push({ kind: 'pending', key: `pending-${item.id}`, index }));
    if (turn) list.push({ kind: 'turn', key: `turn-${turn.turnId}` });
    return list;
  }, [messages, pending, turn, dividerBefore, callsBefore, calls]);

  // Kept from render to render: it moves only when items come before the first one [WB9].
  const start = useRef<TimelineStart>({ key: '', index: FIRST });
  const firstItemIndex = useMemo(() => {
    start.current = timelineStart(start.current, items.map((item) => item.key));
    return start.current.index;
  }, [items]);
  // Whether the list keeps to its newest item [WB9]: from the bottom until the person scrolls up,
  // and again once they are back. Not Virtuoso's own at-bottom, which an item at the end turns
  // false as well when it grows (a "seen by" row, a card changing state): nothing that arrived
  // after was followed, and a card far enough below was not even rendered.
  const pinned = useRef(true);
  const lastTop = useRef(0);
  useEffect(() => {
    pinned.current = true;
    lastTop.current = 0;
  }, [id]);
  const onScroll = useCallback((event: UIEvent<HTMLDivElement>) => {
    const { scrollTop, scrollHeight, clientHeight } = event.currentTarget;
    pinned.current = scrollHeight - scrollTop - clientHeight <= PINNED_WITHIN || (pinned.current && scrollTop >= lastTop.current);
    lastTop.current = scrollTop;
  }, []);
  const keepPinned = useCallback(() => {
    if (pinned.current) virtuoso.current?.scrollTo({ top: Number.MAX_SAFE_INTEGER });
  }, []);
  const memberCount = view.members.filter((member) => member.role !== 'assistant').length;

  /** Scrolls to a message (the original of a reply), loading older pages until it is held [WB27]. */
  const [jump, setJump] = useState<{ messageId: string; tries: number } | null>(null);
  const jumpTo = useCallback(
    async (messageId: string) => {
      if (await live.loadUntil(id, messageId)) setJump({ messageId, tries: 0 });
    },
    [live, id],
  );
  // Once the list holds the message: scroll to it, once per try, and again if the list was still
  // settling (pages just prepended) and it is not on screen yet. Items that change after a try
  // (a receipt, a message arriving) do not scroll back to it: once it re-ran on every change, so
  // the list stayed pinned to the original, even after one's own send.
  const scrolledFor = useRef<typeof jump>(null);
  useEffect(() => {
    if (!jump || scrolledFor.current === jump) return;
    const index = items.findIndex((item) => item.key === jump.messageId);
    if (index === -1) return;
    scrolledFor.current = jump;
    // Away from the bottom on purpose: what the older pages add must not pull the list back down.
    pinned.current = false;
    virtuoso.current?.scrollToIndex({ index, align: 'center' });
    setHighlight(jump.messageId);
  }, [jump, items]);
  useEffect(() => {
    if (!jump) return;
    const check = setTimeout(() => {
      const shown = scrolledFor.current === jump && document.querySelector(`[data-message-id="${CSS.escape(jump.messageId)}"]`);
      setJump(shown || jump.tries >= 5 ? null : { messageId: jump.messageId, tries: jump.tries + 1 });
    }, 250);
    return () => clearTimeout(check);
  }, [jump]);
  // A message of one's own, just sent, brings the list back to the bottom, wherever the person
  // had scrolled: they want to see it go out, and what answers it [WB9].
  const ownSent = pending.length;
  const ownBefore = useRef(ownSent);
  useEffect(() => {
    if (ownSent > ownBefore.current) {
      setJump(null);
      pinned.current = true;
      virtuoso.current?.scrollToIndex({ index: 'LAST', align: 'end' });
    }
    ownBefore.current = ownSent;
  }, [ownSent]);
  useEffect(() => {
    if (!highlight) return;
    const timer = setTimeout(() => setHighlight(null), 2500);
    return () => clearTimeout(timer);
  }, [highlight]);

  /** Up arrow in an empty composer: the newest own message that is not deleted opens for editing [WB25]. */
  const editLast = () => {
    for (let index = messages.length - 1; index >= 0; index -= 1) {
      const message = messages[index];
      if (message && message.authorId === meId && message.deletedAt === null && message.turn === null) {
        setEditingId(message.id);
        const item = items.findIndex((candidate) => candidate.kind === 'message' && candidate.index === index);
        virtuoso.current?.scrollToIndex({ index: item, align: 'end' });
        return true;
      }
    }
    return false;
  };
  const endEdit = useCallback(() => {
    setEditingId(null);
    composer.current?.focus();
  }, []);

  return (
    <section className="relative flex h-full min-w-0 flex-1 flex-col" aria-label={titleOf(t, view, meId)} onDragEnter={onDragEnter} onDragOver={onDragOver} onDragLeave={onDragLeave} onDrop={onDrop}>
      {dragging && (
        <div className="pointer-events-none absolute inset-2 z-30 flex items-center justify-center rounded-xl border-2 border-dashed border-indigo-500 bg-indigo-50/90 text-base font-medium text-indigo-800 dark:bg-indigo-950/90 dark:text-indigo-200" data-testid="drop-zone">
          {t('attachment.drop')}
        </div>
      )}
      <header className="flex items-center gap-2 border-b border-zinc-200 px-3 py-2 dark:border-zinc-800">
        <button type="button" onClick={onOpenMenu} className="rounded-md p-2 hover:bg-zinc-100 md:hidden dark:hover:bg-zinc-800" aria-label={t('shell.openMenu')}>
          ☰
        </button>
        <div className="min-w-0 flex-1">
          <h1 className="truncate text-base font-semibold">{titleOf(t, view, meId)}</h1>
          {view.conversation.kind === 'group' && <p className="text-xs text-zinc-600 dark:text-zinc-400">{t('group.memberCount', { count: memberCount })}</p>}
        </div>
        <button
          type="button"
          onClick={() => profileStep.guard(() => setForking(true))}
          className="rounded-md border border-zinc-300 px-2 py-1.5 text-sm hover:bg-zinc-100 sm:px-3 dark:border-zinc-700 dark:hover:bg-zinc-800"
          aria-label={t('fork.open')}
          title={t('fork.open')}
        >
          <svg aria-hidden="true" className="h-5 w-5 sm:hidden" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round">
            <circle cx="6" cy="5" r="2" />
            <circle cx="6" cy="19" r="2" />
            <circle cx="18" cy="8" r="2" />
            <path d="M6 7v10M18 10c0 4-6 3-11 7" />
          </svg>
          <span className="hidden sm:inline">{t('fork.open')}</span>
        </button>
        <button type="button" onClick={onTogglePanel} className="rounded-md border border-zinc-300 px-3 py-1.5 text-sm hover:bg-zinc-100 dark:border-zinc-700 dark:hover:bg-zinc-800">
          {view.conversation.kind === 'group' ? t('group.details') : t('conversation.details')}
        </button>
      </header>
      <div className="min-h-0 flex-1" data-testid="message-list">
        {entry.messages === null ? (
          <p className="p-6 text-center text-sm text-zinc-600 dark:text-zinc-400">{t('common.loading')}</p>
        ) : items.length === 0 ? (
          <p className="p-6 text-center text-sm text-zinc-600 dark:text-zinc-400">{t('conversation.empty')}</p>
        ) : (
          <Virtuoso
            key={id}
            ref={virtuoso}
            className="h-full"
            data={items}
            firstItemIndex={firstItemIndex}
            initialTopMostItemIndex={Math.max(0, items.length - 1)}
            // At once, not smoothly: something that arrives while a smooth scroll is on its way
            // (two call cards back to back) found the list not yet at the bottom, and was left below.
            followOutput={() => (pinned.current ? 'auto' : false)}
            totalListHeightChanged={keepPinned}
            onScroll={onScroll}
            alignToBottom
            startReached={() => void live.loadOlder(id)}
            computeItemKey={(_index, item) => item.key}
            increaseViewportBy={{ top: 400, bottom: 200 }}
            itemContent={(_index, item) => {
              if (item.kind === 'message') {
                const message = messages[item.index];
                if (!message) return null;
                const original = message.replyToId ? byId.get(message.replyToId) : undefined;
                return (
                  <MessageItem
                    message={message}
                    view={view}
                    author={users.get(message.authorId)}
                    meId={meId}
                    original={original}
                    originalAuthor={original ? users.get(original.authorId) : undefined}
                    seenBy={seen.get(message.id) ?? NO_SEEN}
                    editing={editingId === message.id}
                    highlighted={highlight === message.id}
                    onEdit={setEditingId}
                    onEndEdit={endEdit}
                    onReply={setReplyTo}
                    onJump={jumpTo}
                    onMoreEmoji={setPickerFor}
                    onWhy={setWhyFor}
                    onPerson={setPersonFor}
                  />
                );
              }
              if (item.kind === 'divider') {
                return (
                  <div className="flex items-center gap-3 px-4 py-1 text-xs font-semibold text-red-700 dark:text-red-400" role="separator" aria-label={t('conversation.newMessages')} data-testid="new-messages">
                    <span className="h-px flex-1 bg-red-300 dark:bg-red-800" />
                    {t('conversation.newMessages')}
                    <span className="h-px flex-1 bg-red-300 dark:bg-red-800" />
                  </div>
                );
              }
              if (item.kind === 'call') {
                const call = calls[item.index];
                return call ? <CallCard call={call} users={users} meId={meId} /> : null;
              }
              if (item.kind === 'pending') {
                const held = pending[item.index];
                if (!held) return null;
                const original = held.replyToId ? byId.get(held.replyToId) : undefined;
                return <PendingItem pending={held} me={snapshot.me} original={original} originalAuthor={original ? users.get(original.authorId) : undefined} onJump={jumpTo} />;
              }
              return turn ? <TurnItem turn={turn} author={users.get(turn.userId)} /> : null;
            }}
            components={{ Footer: () => <div className="h-2" /> }}
          />
        )}
      </div>
      <div className="h-5 px-4 text-xs text-zinc-600 dark:text-zinc-400" aria-live="polite" data-testid="typing">
        {typing.length > 0 && t('conversation.typing', { names: typing.join(', '), count: typing.length })}
      </div>
      <Composer
        ref={composer}
        view={view}
        meId={meId}
        streaming={turn !== undefined && !turn.ended}
        replyTo={replyTo}
        replyAuthor={replyTo ? nameOf(users.get(replyTo.authorId)) : ''}
        onCancelReply={() => setReplyTo(null)}
        onEditLast={editLast}
      />
      {profileStep.step}
      {forking && <ForkDialog view={view} meId={meId} onClose={() => setForking(false)} />}
      {whyMessage && <WhyDialog conversationId={id} message={whyMessage} find={findMessage} onClose={closeWhy} />}
      {personFor && <PersonCard user={personFor} onClose={() => setPersonFor(null)} />}
      {pickerFor && (
        <Suspense fallback={null}>
          <EmojiPickerDialog
            onClose={() => setPickerFor(null)}
            onPick={(emoji) => {
              const message = byId.get(pickerFor);
              setPickerFor(null);
              if (message && !message.reactions.some((reaction) => reaction.emoji === emoji && reaction.userIds.includes(meId))) {
                live.client.api.addReaction({ params: { conversationId: id, messageId: message.id, emoji } }).catch(() => undefined);
              }
            }}
          />
        </Suspense>
      )}
    </section>
  );
}
