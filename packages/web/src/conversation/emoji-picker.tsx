import { EmojiPicker, type EmojiPickerListComponents } from 'frimousse';
import { useEffect, useRef } from 'react';
import { useTranslation } from 'react-i18next';

/**
 * The languages whose emoji names the build ships (vite.config.ts copies them from
 * emojibase-data): the picker reads them from this server, never from a CDN [WB29].
 */
const SHIPPED = new Set(['en', 'fr']);
export const EMOJIBASE_URL = '/emojibase';

/**
 * frimousse numbers its grid's rows and columns from 0, which ARIA forbids (they count from 1):
 * the same parts with the numbers moved up one [WB30].
 */
const listComponents: Partial<EmojiPickerListComponents> = {
  Row: ({ 'aria-rowindex': row, ...props }) => <div {...props} aria-rowindex={row === undefined ? undefined : row + 1} />,
  Emoji: ({ emoji, 'aria-colindex': column, ...props }) => (
    <button type="button" {...props} aria-colindex={column === undefined ? undefined : column + 1} data-active={emoji.isActive ? '' : undefined}>
      {emoji.emoji}
    </button>
  ),
};

/** Every emoji, searchable by name in the person's language, in a dialog over the conversation [WB29]. */
export default function EmojiPickerDialog({ onPick, onClose }: { onPick: (emoji: string) => void; onClose: () => void }) {
  const { t, i18n } = useTranslation();
  const dialog = useRef<HTMLDivElement>(null);
  const locale = SHIPPED.has(i18n.language) ? i18n.language : 'en';
  useEffect(() => {
    const previous = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape') onClose();
    };
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('keydown', onKey);
      previous?.focus();
    };
  }, [onClose]);
  return (
    <div className="fixed inset-0 z-40 flex items-end justify-center bg-black/30 p-4 sm:items-center" onMouseDown={(event) => event.target === event.currentTarget && onClose()}>
      <div ref={dialog} role="dialog" aria-modal="true" aria-label={t('emoji.title')} className="overflow-hidden rounded-xl border border-zinc-200 bg-white shadow-xl dark:border-zinc-700 dark:bg-zinc-900">
        <div className="flex items-center justify-between border-b border-zinc-200 px-3 py-2 dark:border-zinc-800">
          <h2 className="text-sm font-semibold">{t('emoji.title')}</h2>
          <button type="button" onClick={onClose} className="rounded-md px-2 py-0.5 hover:bg-zinc-100 dark:hover:bg-zinc-800" aria-label={t('common.close')}>
            ✕
          </button>
        </div>
        <EmojiPicker.Root locale={locale} emojibaseUrl={EMOJIBASE_URL} columns={9} onEmojiSelect={({ emoji }) => onPick(emoji)}>
          <EmojiPicker.Search autoFocus aria-label={t('emoji.search')} placeholder={t('emoji.search')} />
          <EmojiPicker.Viewport>
            <EmojiPicker.Loading>{t('common.loading')}</EmojiPicker.Loading>
            <EmojiPicker.Empty>{t('emoji.none')}</EmojiPicker.Empty>
            <EmojiPicker.List aria-label={t('emoji.title')} components={listComponents} />
          </EmojiPicker.Viewport>
        </EmojiPicker.Root>
      </div>
    </div>
  );
}
