import { type KeyboardEvent, useEffect, useMemo, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Virtuoso, type VirtuosoHandle } from 'react-virtuoso';
import type { ConversationEntry } from '../live/live.js';
import { memberMap, nameOf, titleOf } from '../live/names.js';
import { useLive, useLiveStore } from '../live/use-live.js';
import { MessageItem, PendingItem, TurnItem } from './message-item.js';

type Item =
  | { kind: 'message'; key: string; index: number }
  | { kind: 'pending'; key: string; index: number }
  | { kind: 'turn'; key: string };

/** The first index Virtuoso counts from, so that loading older messages keeps the view still. */
const FIRST = 1_000_000;

/** One conversation, live: its messages in order, what is pending or streaming, who types, and the composer [WB9]–[WB14]. */
export function ConversationView({ entry, onOpenMenu, onTogglePanel }: { entry: ConversationEntry; onOpenMenu: () => void; onTogglePanel: () => void }) {
  const { t } = useTranslation();
  const live = useLiveStore();
  const snapshot = useLive();
  const { view } = entry;
  const id = view.conversation.id;
  const users = useMemo(() => memberMap(view.members), [view.members]);
  const messages = entry.messages ?? [];
  const pending = snapshot.pending.get(id) ?? [];
  const turn = snapshot.turns.get(id);
  const typing = [...(snapshot.typing.get(id)?.keys() ?? [])].map((userId) => nameOf(users.get(userId)));
  const virtuoso = useRef<VirtuosoHandle>(null);

  const items = useMemo<Item[]>(() => {
    const list: Item[] = messages.map((message, index) => ({ kind: 'message', key: message.id, index }));
    pending.forEach((item, index) => list.push({ kind: 'pending', key: `pending-${item.id}`, index }));
    if (turn) list.push({ kind: 'turn', key: `turn-${turn.turnId}` });
    return list;
  }, [messages, pending, turn]);

  const firstItemIndex = FIRST - messages.length;
  const memberCount = view.members.filter((member) => member.role !== 'assistant').length;

  return (
    <section className="flex h-full min-w-0 flex-1 flex-col" aria-label={titleOf(t, view, snapshot.me.id)}>
      <header className="flex items-center gap-2 border-b border-zinc-200 px-3 py-2 dark:border-zinc-800">
        <button type="button" onClick={onOpenMenu} className="rounded-md p-2 hover:bg-zinc-100 md:hidden dark:hover:bg-zinc-800" aria-label={t('shell.openMenu')}>
          ☰
        </button>
        <div className="min-w-0 flex-1">
          <h1 className="truncate text-base font-semibold">{titleOf(t, view, snapshot.me.id)}</h1>
          {view.conversation.kind === 'group' && <p className="text-xs text-zinc-500">{t('group.memberCount', { count: memberCount })}</p>}
        </div>
        {view.conversation.kind === 'group' && (
          <button type="button" onClick={onTogglePanel} className="rounded-md border border-zinc-300 px-3 py-1.5 text-sm hover:bg-zinc-100 dark:border-zinc-700 dark:hover:bg-zinc-800">
            {t('group.details')}
          </button>
        )}
      </header>
      <div className="min-h-0 flex-1" data-testid="message-list">
        {entry.messages === null ? (
          <p className="p-6 text-center text-sm text-zinc-500">{t('common.loading')}</p>
        ) : items.length === 0 ? (
          <p className="p-6 text-center text-sm text-zinc-500">{t('conversation.empty')}</p>
        ) : (
          <Virtuoso
            key={id}
            ref={virtuoso}
            className="h-full"
            data={items}
            firstItemIndex={firstItemIndex}
            initialTopMostItemIndex={Math.max(0, items.length - 1)}
            followOutput={(atBottom) => (atBottom ? 'smooth' : false)}
            alignToBottom
            startReached={() => void live.loadOlder(id)}
            computeItemKey={(_index, item) => item.key}
            increaseViewportBy={{ top: 400, bottom: 200 }}
            itemContent={(_index, item) => {
              if (item.kind === 'message') {
                const message = messages[item.index];
                return message ? <MessageItem message={message} author={users.get(message.authorId)} meId={snapshot.me.id} /> : null;
              }
              if (item.kind === 'pending') {
                const held = pending[item.index];
                return held ? <PendingItem pending={held} me={snapshot.me} /> : null;
              }
              return turn ? <TurnItem turn={turn} author={users.get(turn.userId)} /> : null;
            }}
            components={{ Footer: () => <div className="h-2" /> }}
          />
        )}
      </div>
      <div className="h-5 px-4 text-xs text-zinc-500" aria-live="polite" data-testid="typing">
        {typing.length > 0 && t('conversation.typing', { names: typing.join(', '), count: typing.length })}
      </div>
      <Composer conversationId={id} streaming={turn !== undefined && !turn.ended} />
    </section>
  );
}

function Composer({ conversationId, streaming }: { conversationId: string; streaming: boolean }) {
  const { t } = useTranslation();
  const live = useLiveStore();
  const [text, setText] = useState('');
  const input = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    setText('');
    if (window.matchMedia('(hover: hover)').matches) input.current?.focus();
  }, [conversationId]);

  const send = () => {
    if (text.trim() === '') return;
    live.send(conversationId, text);
    setText('');
    if (input.current) input.current.style.height = '';
  };
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      send();
    }
  };
  return (
    <div className="border-t border-zinc-200 p-3 dark:border-zinc-800">
      <div className="flex items-end gap-2">
        <textarea
          ref={input}
          aria-label={t('conversation.message')}
          placeholder={t('conversation.placeholder')}
          rows={1}
          className="max-h-40 min-h-10 flex-1 resize-none rounded-xl border border-zinc-300 bg-white px-3 py-2 text-base outline-none focus:border-indigo-500 focus:ring-2 focus:ring-indigo-500/30 dark:border-zinc-700 dark:bg-zinc-900"
          value={text}
          onChange={(event) => {
            setText(event.target.value);
            // Grows with its text up to its max-height, then scrolls.
            event.target.style.height = 'auto';
            event.target.style.height = `${event.target.scrollHeight + 2}px`;
            if (event.target.value !== '') live.typing(conversationId);
          }}
          onKeyDown={onKeyDown}
        />
        {streaming && (
          <button type="button" onClick={() => void live.stopTurn(conversationId)} className="rounded-xl border border-zinc-300 px-3 py-2 text-sm font-medium hover:bg-zinc-100 dark:border-zinc-700 dark:hover:bg-zinc-800">
            {t('turn.stop')}
          </button>
        )}
        <button type="button" onClick={send} disabled={text.trim() === ''} className="rounded-xl bg-indigo-600 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-500 disabled:opacity-50">
          {t('conversation.send')}
        </button>
      </div>
    </div>
  );
}
