import type { ConversationView, Member, Message, UserSummary } from '@parley/protocol';
import { type FormEvent, type KeyboardEvent, memo, useEffect, useMemo, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { PendingMessage, StreamingTurn } from '../live/live.js';
import { nameOf, previewOf } from '../live/names.js';
import { useLiveStore } from '../live/use-live.js';
import { hasCard } from '../profile/person-card.js';
import { Avatar } from '../shell/avatar.js';
import { AttachmentList } from './attachment-view.js';
import { turnErrorText } from '../shell/errors.js';
import { EmojiGlyph } from './emoji-support.js';
import { Markdown } from './lazy-markdown.js';
import { chipNames } from './mentions.js';

export const QUICK_REACTIONS = ['👍', '❤️', '😂', '🎉', '😮', '🙏'] as const;

function time(at: string, language: string): string {
  return new Date(at).toLocaleTimeString(language, { hour: '2-digit', minute: '2-digit' });
}

interface MessageItemProps {
  message: Message;
  view: ConversationView;
  author: UserSummary | undefined;
  meId: string;
  /** The message this one replies to, when it is held. */
  original: Message | undefined;
  originalAuthor: UserSummary | undefined;
  /** Other members whose read marker stops at this message [WB28]. */
  seenBy: readonly Member[];
  editing: boolean;
  highlighted: boolean;
  onEdit: (messageId: string) => void;
  onEndEdit: () => void;
  onReply: (message: Message) => void;
  onJump: (messageId: string) => void;
  onMoreEmoji: (messageId: string) => void;
  /** Opens why the assistant answered, reacted or kept quiet after this message [WB32]. */
  onWhy: (messageId: string) => void;
  /** Opens the author's card [WB56]. */
  onPerson: (user: UserSummary) => void;
}

/** One message: author, time, what it replies to, safe markdown with mention chips, reactions, "seen by", and edit/delete for one's own [WB13]–[WB14], [WB24]–[WB28], [WB32]. */
export const MessageItem = memo(function MessageItem({ message, view, author, meId, original, originalAuthor, seenBy, editing, highlighted, onEdit, onEndEdit, onReply, onJump, onMoreEmoji, onWhy, onPerson }: MessageItemProps) {
  const { t, i18n } = useTranslation();
  const live = useLiveStore();
  const [draft, setDraft] = useState(message.text);
  const [picking, setPicking] = useState(false);
  // On a touch screen there is no hover: a tap on the message shows its actions.
  const [tapped, setTapped] = useState(false);
  const mine = message.authorId === meId;
  const deleted = message.deletedAt !== null;
  const params = { conversationId: message.conversationId, messageId: message.id };
  const chips = useMemo(() => chipNames(message.text, view), [message.text, view]);
  const editor = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    if (!editing) return;
    setDraft(message.text);
    requestAnimationFrame(() => {
      const field = editor.current;
      if (!field) return;
      field.focus();
      field.setSelectionRange(field.value.length, field.value.length);
    });
    // Only when editing starts: the text may change under an edit in progress.
  }, [editing]);

  const toggle = (emoji: string) => {
    setPicking(false);
    const reacted = message.reactions.some((reaction) => reaction.emoji === emoji && reaction.userIds.includes(meId));
    const call = reacted ? live.client.api.removeReaction({ params: { ...params, emoji } }) : live.client.api.addReaction({ params: { ...params, emoji } });
    call.catch(() => undefined);
  };
  const saveEdit = async (event?: FormEvent) => {
    event?.preventDefault();
    if (draft.trim() === '' || draft === message.text) return onEndEdit();
    await live.client.api.editMessage({ params, body: { text: draft } });
    onEndEdit();
  };
  const onEditKey = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.nativeEvent.isComposing) return;
    if (event.key === 'Escape') {
      event.preventDefault();
      onEndEdit();
    } else if (event.key === 'Enter' && !event.shiftKey) {
      event.preventDefault();
      void saveEdit();
    }
  };
  const remove = () => {
    if (window.confirm(t('message.confirmDelete'))) void live.client.api.deleteMessage({ params });
  };
  const seenNames = seenBy.map((member) => nameOf(member.user)).join(', ');

  return (
    <article
      className={`group relative flex gap-3 px-4 py-1.5 hover:bg-zinc-50 dark:hover:bg-zinc-900/60 ${highlighted ? 'bg-amber-100 dark:bg-amber-900/40' : ''}`}
      data-message-id={message.id}
      data-highlighted={highlighted || undefined}
      aria-label={nameOf(author)}
      onClick={(event) => {
        if (!(event.target as Element).closest('a, button, textarea, input')) setTapped(!tapped);
      }}
      onMouseLeave={() => {
        setTapped(false);
        setPicking(false);
      }}
    >
      {author && hasCard(author, meId) ? (
        // The name is the card's button for the keyboard; the picture is the same one for the mouse.
        <button type="button" tabIndex={-1} aria-hidden="true" className="h-fit shrink-0 rounded-full" onClick={() => onPerson(author)}>
          <Avatar user={author} id={message.authorId} />
        </button>
      ) : (
        <Avatar user={author} id={message.authorId} />
      )}
      <div className="min-w-0 flex-1">
        <div className="flex items-baseline gap-2">
          {author && hasCard(author, meId) ? (
            <button type="button" className="text-sm font-semibold hover:underline" onClick={() => onPerson(author)} data-person={author.username}>
              {nameOf(author)}
            </button>
          ) : (
            <span className="text-sm font-semibold">{nameOf(author)}</span>
          )}
          <time className="text-xs text-zinc-600 dark:text-zinc-400" dateTime={message.createdAt}>{time(message.createdAt, i18n.language)}</time>
          {message.editedAt && !deleted && <span className="text-xs text-zinc-600 dark:text-zinc-400">{t('message.edited')}</span>}
        </div>
        {message.replyToId && !deleted && <ReplyQuote original={original} originalAuthor={originalAuthor} onJump={() => onJump(message.replyToId ?? '')} />}
        {deleted ? (
          <p className="text-sm text-zinc-600 italic dark:text-zinc-400">{t('message.deleted')}</p>
        ) : editing ? (
          <form onSubmit={(event) => void saveEdit(event)} className="mt-1 space-y-1">
            <textarea ref={editor} aria-label={t('message.edit')} className="w-full rounded-lg border border-zinc-300 bg-white p-2 text-sm dark:border-zinc-700 dark:bg-zinc-900" value={draft} onChange={(event) => setDraft(event.target.value)} onKeyDown={onEditKey} rows={3} />
            <div className="flex items-center gap-2">
              <button type="submit" className="rounded-md bg-indigo-600 px-2 py-1 text-xs font-medium text-white">{t('common.save')}</button>
              <button type="button" onClick={onEndEdit} className="rounded-md px-2 py-1 text-xs hover:bg-zinc-200 dark:hover:bg-zinc-800">{t('common.cancel')}</button>
              <span className="text-xs text-zinc-600 dark:text-zinc-400">{t('message.editHint')}</span>
            </div>
          </form>
        ) : (
          <div className="text-[0.95rem] leading-relaxed">
            {message.text !== '' && <Markdown text={message.text} mentions={chips} />}
          </div>
        )}
        {!deleted && <AttachmentList attachments={message.attachments} />}
        {message.turn && message.turn.status !== 'completed' && (
          <p className="mt-0.5 text-xs text-amber-700 dark:text-amber-400">{t(`turn.${message.turn.status}`)}{message.turn.error ? ` — ${turnErrorText(t, message.turn.error)}` : ''}</p>
        )}
        {message.reactions.length > 0 && (
          <div className="mt-1 flex flex-wrap gap-1">
            {message.reactions.map((reaction) => {
              const mineToo = reaction.userIds.includes(meId);
              return (
                <button
                  key={reaction.emoji}
                  type="button"
                  onClick={() => toggle(reaction.emoji)}
                  aria-pressed={mineToo}
                  className={`rounded-full border px-2 py-0.5 text-xs ${mineToo ? 'border-indigo-400 bg-indigo-50 dark:border-indigo-600 dark:bg-indigo-950' : 'border-zinc-300 dark:border-zinc-700'}`}
                >
                  <EmojiGlyph emoji={reaction.emoji} /> {reaction.userIds.length}
                </button>
              );
            })}
          </div>
        )}
        {seenBy.length > 0 && (
          <div className="mt-1 flex items-center justify-end gap-0.5" data-testid="seen-by" role="img" aria-label={t('message.seenBy', { names: seenNames })} title={t('message.seenBy', { names: seenNames })}>
            {seenBy.slice(0, 8).map((member) => (
              <Avatar key={member.userId} user={member.user} size="xs" />
            ))}
            {seenBy.length > 8 && <span className="text-xs text-zinc-600 dark:text-zinc-400">+{seenBy.length - 8}</span>}
          </div>
        )}
      </div>
      {!deleted && !editing && (
        <div className={`absolute top-0 right-3 flex -translate-y-1/2 gap-0.5 rounded-lg border border-zinc-200 bg-white p-0.5 shadow-sm dark:border-zinc-700 dark:bg-zinc-900 ${tapped || picking ? 'opacity-100' : 'opacity-0 group-focus-within:opacity-100 [@media(hover:hover)]:group-hover:opacity-100'}`}>
          {picking ? (
            <>
              {QUICK_REACTIONS.map((emoji) => (
                <button key={emoji} type="button" onClick={() => toggle(emoji)} className="rounded px-1.5 py-0.5 hover:bg-zinc-100 dark:hover:bg-zinc-800" aria-label={t('message.reactWith', { emoji })}>
                  <EmojiGlyph emoji={emoji} />
                </button>
              ))}
              <button type="button" onClick={() => { setPicking(false); onMoreEmoji(message.id); }} className="rounded px-1.5 py-0.5 text-sm hover:bg-zinc-100 dark:hover:bg-zinc-800" aria-label={t('emoji.more')} title={t('emoji.more')}>
                ＋
              </button>
            </>
          ) : (
            <>
              <button type="button" onClick={() => setPicking(true)} className="rounded px-1.5 py-0.5 text-sm hover:bg-zinc-100 dark:hover:bg-zinc-800" aria-label={t('message.react')} title={t('message.react')}>
                ☺
              </button>
              <button type="button" onClick={() => onReply(message)} className="rounded px-1.5 py-0.5 text-xs hover:bg-zinc-100 dark:hover:bg-zinc-800">{t('reply.reply')}</button>
              {((author?.kind !== 'bot' && view.conversation.assistant) || message.turn) && (
                <button type="button" onClick={() => onWhy(message.id)} className="rounded px-1.5 py-0.5 text-xs hover:bg-zinc-100 dark:hover:bg-zinc-800" title={t('why.openLabel')}>
                  {t('why.open')}
                </button>
              )}
            </>
          )}
          {mine && !picking && (
            <>
              <button type="button" onClick={() => onEdit(message.id)} className="rounded px-1.5 py-0.5 text-xs hover:bg-zinc-100 dark:hover:bg-zinc-800">{t('message.edit')}</button>
              <button type="button" onClick={remove} className="rounded px-1.5 py-0.5 text-xs text-red-700 hover:bg-zinc-100 dark:text-red-400 dark:hover:bg-zinc-800">{t('message.delete')}</button>
            </>
          )}
        </div>
      )}
    </article>
  );
});

/** What a message replies to: its author and first line, or "an earlier message" when it is not loaded; a click goes to it [WB27]. */
function ReplyQuote({ original, originalAuthor, onJump }: { original: Message | undefined; originalAuthor: UserSummary | undefined; onJump: () => void }) {
  const { t } = useTranslation();
  return (
    <button
      type="button"
      onClick={onJump}
      className="mt-0.5 mb-1 flex max-w-full items-baseline gap-1.5 rounded border-l-4 border-zinc-300 bg-zinc-50 px-2 py-0.5 text-left text-xs hover:bg-zinc-100 dark:border-zinc-600 dark:bg-zinc-900 dark:hover:bg-zinc-800"
      title={t('reply.goToOriginal')}
      data-testid="reply-quote"
    >
      {original ? (
        <>
          <span className="shrink-0 font-semibold">{nameOf(originalAuthor)}</span>
          <span className="truncate text-zinc-600 dark:text-zinc-400">{original.deletedAt ? t('message.deleted') : previewOf(original.text)}</span>
        </>
      ) : (
        <span className="text-zinc-600 italic dark:text-zinc-400">{t('reply.earlier')}</span>
      )}
    </button>
  );
}

/** A message sent from here that the server has not put in order yet, or that failed [WB11]. */
export function PendingItem({ pending, me, original, originalAuthor, onJump }: { pending: PendingMessage; me: UserSummary; original: Message | undefined; originalAuthor: UserSummary | undefined; onJump: (messageId: string) => void }) {
  const { t } = useTranslation();
  const live = useLiveStore();
  const failed = pending.status === 'failed';
  return (
    <article className={`flex gap-3 px-4 py-1.5 ${failed ? '' : 'opacity-60'}`} data-pending-id={pending.id} data-status={pending.status} aria-label={nameOf(me)}>
      <Avatar user={me} />
      <div className="min-w-0 flex-1">
        <div className="flex items-baseline gap-2">
          <span className="text-sm font-semibold">{nameOf(me)}</span>
          <span className="text-xs text-zinc-600 dark:text-zinc-400">{failed ? '' : t('message.sending')}</span>
        </div>
        {pending.replyToId && <ReplyQuote original={original} originalAuthor={originalAuthor} onJump={() => onJump(pending.replyToId ?? '')} />}
        <div className="text-[0.95rem] leading-relaxed">
          {pending.text !== '' && <Markdown text={pending.text} />}
        </div>
        <AttachmentList attachments={pending.attachments} />
        {failed && (
          <p className="mt-1 flex items-center gap-2 text-xs text-red-600 dark:text-red-400" role="alert">
            {t('message.failed')}
            <button type="button" onClick={() => live.retry(pending.conversationId, pending.id)} className="rounded border border-red-300 px-2 py-0.5 font-medium dark:border-red-800">
              {t('message.retry')}
            </button>
            <button type="button" onClick={() => live.discard(pending.conversationId, pending.id)} className="px-1 text-zinc-600 dark:text-zinc-400 hover:underline">
              {t('message.discard')}
            </button>
          </p>
        )}
      </div>
    </article>
  );
}

/** The assistant's answer as it streams, token by token [WB12]. */
export function TurnItem({ turn, author }: { turn: StreamingTurn; author: UserSummary | undefined }) {
  const { t } = useTranslation();
  return (
    <article className="flex gap-3 px-4 py-1.5" data-turn-id={turn.turnId} aria-live="polite" aria-label={nameOf(author)}>
      <Avatar user={author ?? { id: turn.userId, username: 'assistant', displayName: null, avatarUrl: null, kind: 'bot' }} />
      <div className="min-w-0 flex-1">
        <div className="flex items-baseline gap-2">
          <span className="text-sm font-semibold">{author ? nameOf(author) : t('sidebar.assistantChat')}</span>
          {/* Only a dot pulses: text that fades falls under the contrast the page must keep [WB30]. */}
          {!turn.ended && (
            <span className="inline-flex items-center gap-1 text-xs text-indigo-700 dark:text-indigo-300">
              <span aria-hidden="true" className="inline-block h-1.5 w-1.5 animate-pulse rounded-full bg-current" />
              {t('turn.streaming')}
            </span>
          )}
        </div>
        <div className="text-[0.95rem] leading-relaxed">{turn.text ? <Markdown text={turn.text} /> : <span className="text-zinc-600 dark:text-zinc-400">…</span>}</div>
      </div>
    </article>
  );
}
