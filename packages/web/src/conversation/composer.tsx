import { type Attachment, type ConversationView, type Message, ParleyError } from '@parley/protocol';
import { type ClipboardEvent, forwardRef, type KeyboardEvent, useCallback, useEffect, useId, useImperativeHandle, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { previewOf } from '../live/names.js';
import { useLiveStore } from '../live/use-live.js';
import { Avatar } from '../shell/avatar.js';
import { errorText } from '../shell/errors.js';
import { ACCEPTED_TYPES, formatSize, isImage, MAX_ATTACHMENTS_PER_MESSAGE, uploadName, uploadType } from './attachments.js';
import { mentionCandidates, mentionQuery, suggest } from './mentions.js';

export interface ComposerHandle {
  focus(): void;
  /** Files dropped on the conversation or picked elsewhere: uploaded at once, sent with the next message [WB34]. */
  addFiles(files: readonly File[]): void;
}

/** A file in the composer: uploading, uploaded (ready to send) or refused. */
interface DraftFile {
  key: string;
  name: string;
  size: number;
  /** A local preview of an image (a `blob:` URL, revoked when the chip goes). */
  preview: string | null;
  status: 'uploading' | 'ready' | 'failed';
  attachment: Attachment | null;
  error: string | null;
}

let draftKeys = 0;

interface ComposerProps {
  view: ConversationView;
  meId: string;
  streaming: boolean;
  replyTo: Message | null;
  replyAuthor: string;
  onCancelReply: () => void;
  /** The composer is empty and the person pressed the up arrow: edit their last message [WB25]. */
  onEditLast: () => boolean;
}

/**
 * Writes and sends a message: Enter sends, Shift+Enter breaks the line; `@` opens the mention list
 * (an ARIA combobox: arrows move, Enter or Tab picks, Escape closes) [WB24]; a reply shows what it
 * answers above the field [WB27].
 */
export const Composer = forwardRef<ComposerHandle, ComposerProps>(function Composer({ view, meId, streaming, replyTo, replyAuthor, onCancelReply, onEditLast }, ref) {
  const { t, i18n } = useTranslation();
  const live = useLiveStore();
  const conversationId = view.conversation.id;
  const [text, setText] = useState('');
  const [caret, setCaret] = useState(0);
  const [active, setActive] = useState(0);
  const [dismissed, setDismissed] = useState<number | null>(null);
  const input = useRef<HTMLTextAreaElement>(null);
  const placeCaret = useRef<number | null>(null);
  const listId = useId();
  const [files, setFiles] = useState<DraftFile[]>([]);
  const picker = useRef<HTMLInputElement>(null);
  const previews = useRef(new Set<string>());
  const forget = (file: DraftFile) => {
    if (file.preview) {
      URL.revokeObjectURL(file.preview);
      previews.current.delete(file.preview);
    }
  };
  const update = (key: string, change: Partial<DraftFile>) => setFiles((current) => current.map((file) => (file.key === key ? { ...file, ...change } : file)));
  /** Checks each file against the server's types, then uploads it; a refusal shows on its chip and never reaches a message [WB34]. */
  const addFiles = useCallback(
    (picked: readonly File[]) => {
      const added: DraftFile[] = [];
      for (const file of picked) {
        const contentType = uploadType(file);
        const key = `file-${(draftKeys += 1)}`;
        const preview = contentType && isImage(contentType) ? URL.createObjectURL(file) : null;
        if (preview) previews.current.add(preview);
        const draft: DraftFile = { key, name: file.name || uploadName('', contentType ?? 'image/png'), size: file.size, preview, status: 'uploading', attachment: null, error: null };
        if (!contentType) {
          added.push({ ...draft, status: 'failed', error: t('attachment.refusedType') });
          continue;
        }
        added.push(draft);
        live.client.api.uploadAttachment({ query: { filename: uploadName(file.name, contentType) }, upload: { data: file, contentType } }).then(
          (attachment) => update(key, { status: 'ready', attachment }),
          (caught: unknown) => update(key, { status: 'failed', error: uploadError(caught) }),
        );
      }
      setFiles((current) => {
        const room = MAX_ATTACHMENTS_PER_MESSAGE - current.length;
        // Past the limit per message, a file is shown refused rather than dropped without a word.
        return [...current, ...added.map((file, index) => (index < room || file.status === 'failed' ? file : { ...file, status: 'failed' as const, error: t('attachment.tooMany', { count: MAX_ATTACHMENTS_PER_MESSAGE }) }))];
      });
    },
    // `uploadError` and `update` only read stable things (t, setFiles).
    [live, t],
  );
  const uploadError = (caught: unknown): string => {
    if (caught instanceof ParleyError && caught.code === 'PAYLOAD_TOO_LARGE') return t('attachment.tooLarge');
    if (caught instanceof ParleyError && caught.code === 'UNSUPPORTED_MEDIA_TYPE') return t('attachment.refusedType');
    return errorText(t, caught);
  };
  const removeFile = (key: string) =>
    setFiles((current) => {
      const file = current.find((candidate) => candidate.key === key);
      if (file) forget(file);
      return current.filter((candidate) => candidate.key !== key);
    });
  useEffect(
    () => () => {
      for (const url of previews.current) URL.revokeObjectURL(url);
    },
    [],
  );
  useImperativeHandle(ref, () => ({ focus: () => input.current?.focus(), addFiles }), [addFiles]);
  useEffect(() => {
    setText('');
    setFiles((current) => {
      current.forEach(forget);
      return [];
    });
    if (window.matchMedia('(hover: hover)').matches) input.current?.focus();
  }, [conversationId]);
  useEffect(() => {
    if (replyTo) input.current?.focus();
  }, [replyTo]);

  const candidates = useMemo(() => mentionCandidates(view, meId), [view, meId]);
  const query = mentionQuery(text, caret);
  const options = query && dismissed !== query.start ? suggest(candidates, query.query) : [];
  const open = options.length > 0;
  const current = Math.min(active, Math.max(0, options.length - 1));

  const resize = (element: HTMLTextAreaElement) => {
    // Grows with its text up to its max-height, then scrolls.
    element.style.height = 'auto';
    element.style.height = `${element.scrollHeight + 2}px`;
  };
  const change = (value: string, at: number) => {
    setText(value);
    setCaret(at);
    setActive(0);
    if (value !== '') live.typing(conversationId);
  };
  const pick = (index: number) => {
    const option = options[index];
    if (!option || !query) return;
    const before = text.slice(0, query.start);
    const after = text.slice(caret).replace(/^\s*/, ' ');
    const value = `${before}@${option.handle}${after}`;
    const at = before.length + option.handle.length + 2;
    placeCaret.current = at;
    setText(value);
    setCaret(at);
  };
  // The caret goes after the inserted mention as the new text is committed, before the next key
  // is handled: a later frame would land it inside what was typed meanwhile.
  useLayoutEffect(() => {
    const at = placeCaret.current;
    if (at === null) return;
    placeCaret.current = null;
    input.current?.setSelectionRange(at, at);
  }, [text]);
  const uploading = files.some((file) => file.status === 'uploading');
  const refused = files.some((file) => file.status === 'failed');
  const ready = files.flatMap((file) => (file.attachment ? [file.attachment] : []));
  // Nothing half-uploaded or refused goes out: the person sees why and removes it first [WB34].
  const canSend = !uploading && !refused && (text.trim() !== '' || ready.length > 0);
  const send = () => {
    if (!canSend) return;
    live.send(conversationId, text, replyTo?.id ?? null, ready);
    files.forEach(forget);
    setFiles([]);
    setText('');
    setCaret(0);
    onCancelReply();
    if (input.current) input.current.style.height = '';
  };
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.nativeEvent.isComposing) return;
    if (open) {
      if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
        event.preventDefault();
        const step = event.key === 'ArrowDown' ? 1 : -1;
        setActive((current + step + options.length) % options.length);
        return;
      }
      if (event.key === 'Enter' || event.key === 'Tab') {
        event.preventDefault();
        pick(current);
        return;
      }
      if (event.key === 'Escape') {
        event.preventDefault();
        setDismissed(query?.start ?? null);
        return;
      }
    }
    if (event.key === 'Escape' && replyTo) {
      event.preventDefault();
      onCancelReply();
      return;
    }
    if (event.key === 'ArrowUp' && text === '' && !event.shiftKey && !event.altKey && !event.metaKey && !event.ctrlKey) {
      if (onEditLast()) event.preventDefault();
      return;
    }
    if (event.key === 'Enter' && !event.shiftKey) {
      event.preventDefault();
      send();
    }
  };
  /** Images (or other files) pasted from the clipboard are attached; pasted text stays text [WB34]. */
  const onPaste = (event: ClipboardEvent<HTMLTextAreaElement>) => {
    const pasted = [...event.clipboardData.files];
    if (pasted.length === 0) return;
    event.preventDefault();
    addFiles(pasted);
  };
  const optionId = (index: number) => `${listId}-option-${index}`;

  return (
    <div className="border-t border-zinc-200 p-3 dark:border-zinc-800">
      {replyTo && (
        <div className="mb-2 flex items-center gap-2 rounded-lg border-l-4 border-indigo-400 bg-zinc-50 px-3 py-1.5 text-sm dark:bg-zinc-900" data-testid="replying-to">
          <span className="min-w-0 flex-1 truncate">
            <span className="font-semibold">{t('reply.replyingTo', { name: replyAuthor })}</span>{' '}
            <span className="text-zinc-600 dark:text-zinc-400">{previewOf(replyTo.text)}</span>
          </span>
          <button type="button" onClick={onCancelReply} className="rounded px-1.5 hover:bg-zinc-200 dark:hover:bg-zinc-800" aria-label={t('reply.cancel')}>
            ✕
          </button>
        </div>
      )}
      {files.length > 0 && (
        <ul className="mb-2 flex flex-wrap gap-2" aria-label={t('attachment.list')} data-testid="composer-files">
          {files.map((file) => (
            <li
              key={file.key}
              data-status={file.status}
              className={`flex max-w-64 items-center gap-2 rounded-lg border px-2 py-1.5 text-sm ${file.status === 'failed' ? 'border-red-300 bg-red-50 dark:border-red-800 dark:bg-red-950/40' : 'border-zinc-300 bg-zinc-50 dark:border-zinc-700 dark:bg-zinc-900'}`}
            >
              {file.preview ? <img src={file.preview} alt="" className="h-10 w-10 shrink-0 rounded object-cover" /> : <span aria-hidden="true" className="text-lg">📄</span>}
              <span className="min-w-0 flex-1">
                <span className="block truncate font-medium" title={file.name}>{file.name}</span>
                <span className={`block truncate text-xs ${file.status === 'failed' ? 'text-red-700 dark:text-red-300' : 'text-zinc-600 dark:text-zinc-400'}`} role={file.status === 'failed' ? 'alert' : undefined}>
                  {file.status === 'failed' ? file.error : file.status === 'uploading' ? t('attachment.uploading') : formatSize(file.size, i18n.language)}
                </span>
              </span>
              <button type="button" onClick={() => removeFile(file.key)} className="shrink-0 rounded px-1.5 hover:bg-zinc-200 dark:hover:bg-zinc-800" aria-label={t('attachment.remove', { name: file.name })}>
                ✕
              </button>
            </li>
          ))}
        </ul>
      )}
      <div className="relative flex items-end gap-2">
        <input
          ref={picker}
          type="file"
          multiple
          accept={ACCEPTED_TYPES.join(',')}
          className="hidden"
          tabIndex={-1}
          aria-hidden="true"
          data-testid="file-input"
          onChange={(event) => {
            addFiles([...(event.target.files ?? [])]);
            event.target.value = '';
          }}
        />
        <button type="button" onClick={() => picker.current?.click()} className="rounded-xl border border-zinc-300 px-3 py-2 text-base hover:bg-zinc-100 dark:border-zinc-700 dark:hover:bg-zinc-800" aria-label={t('attachment.attach')} title={t('attachment.attach')}>
          <span aria-hidden="true">📎</span>
        </button>
        {open && (
          <ul id={listId} role="listbox" aria-label={t('mention.list')} className="absolute bottom-full left-0 z-20 mb-2 max-h-64 w-72 max-w-full overflow-y-auto rounded-xl border border-zinc-200 bg-white p-1 shadow-lg dark:border-zinc-700 dark:bg-zinc-900">
            {options.map((option, index) => (
              <li
                key={option.userId}
                id={optionId(index)}
                role="option"
                aria-selected={index === current}
                className={`flex cursor-pointer items-center gap-2 rounded-lg px-2 py-1.5 text-sm ${index === current ? 'bg-indigo-100 dark:bg-indigo-900/60' : ''}`}
                onMouseDown={(event) => {
                  // Keep the focus in the field.
                  event.preventDefault();
                  pick(index);
                }}
                onMouseEnter={() => setActive(index)}
              >
                <Avatar user={option.member.user} size="sm" />
                <span className="min-w-0 flex-1 truncate">{option.label}</span>
                <span className="text-xs text-zinc-600 dark:text-zinc-400">@{option.handle}</span>
              </li>
            ))}
          </ul>
        )}
        <textarea
          ref={input}
          role="combobox"
          aria-expanded={open}
          aria-controls={open ? listId : undefined}
          aria-autocomplete="list"
          aria-activedescendant={open ? optionId(current) : undefined}
          aria-label={t('conversation.message')}
          placeholder={t('conversation.placeholder')}
          rows={1}
          className="max-h-40 min-h-10 min-w-0 flex-1 resize-none rounded-xl border border-zinc-300 bg-white px-3 py-2 text-base outline-none focus:border-indigo-500 focus:ring-2 focus:ring-indigo-500/30 dark:border-zinc-700 dark:bg-zinc-900"
          value={text}
          onChange={(event) => {
            change(event.target.value, event.target.selectionStart);
            resize(event.target);
          }}
          onSelect={(event) => setCaret(event.currentTarget.selectionStart)}
          onBlur={() => setDismissed(query?.start ?? null)}
          onFocus={() => setDismissed(null)}
          onKeyDown={onKeyDown}
          onPaste={onPaste}
        />
        {streaming && (
          // On a phone Stop and Send are icons, so the field keeps room for its placeholder.
          <button type="button" onClick={() => void live.stopTurn(conversationId)} aria-label={t('turn.stop')} title={t('turn.stop')} className="rounded-xl border border-zinc-300 px-3 py-2 text-sm font-medium hover:bg-zinc-100 dark:border-zinc-700 dark:hover:bg-zinc-800">
            <svg aria-hidden="true" className="h-5 w-5 sm:hidden" viewBox="0 0 24 24" fill="currentColor">
              <rect x="6" y="6" width="12" height="12" rx="2" />
            </svg>
            <span className="hidden sm:inline">{t('turn.stop')}</span>
          </button>
        )}
        <button type="button" onClick={send} disabled={!canSend} aria-label={t('conversation.send')} title={t('conversation.send')} className="rounded-xl bg-indigo-600 px-3 py-2 text-sm font-medium text-white hover:bg-indigo-500 disabled:opacity-50 sm:px-4">
          <svg aria-hidden="true" className="h-5 w-5 sm:hidden" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round">
            <path d="M5 12h14M13 6l6 6-6 6" />
          </svg>
          <span className="hidden sm:inline">{t('conversation.send')}</span>
        </button>
      </div>
    </div>
  );
});

