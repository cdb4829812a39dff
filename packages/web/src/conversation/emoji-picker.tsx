import { defaultEmojiDataResolver, type EmojiDataResolver, EmojiPicker, type EmojiPickerListComponents } from 'frimousse';
import { useTranslation } from 'react-i18next';
import { Dialog } from '../shell/dialog.js';
import { drawableOnly, EMOJIBASE_URL } from './emoji-support.js';

/**
 * The languages whose emoji names the build ships (vite.config.ts copies them from
 * emojibase-data): the picker reads them from this server, never from a CDN [WB29].
 */
const SHIPPED = new Set(['en', 'fr']);

/**
 * This server's emojibase data, every version, keeping only what this browser draws [WB90]:
 * frimousse's own version check takes an emoji drawn as nothing for one it supports.
 */
const drawableEmojiData: EmojiDataResolver = async (locale, options) => {
  const data = await defaultEmojiDataResolver(locale, { ...options, emojiVersion: Number.MAX_SAFE_INTEGER });
  return { ...data, emojis: drawableOnly(data.emojis) };
};

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
  const locale = SHIPPED.has(i18n.language) ? i18n.language : 'en';
  return (
    <Dialog title={t('emoji.title')} onClose={onClose} testId="emoji-dialog">
      <EmojiPicker.Root locale={locale} emojibaseUrl={EMOJIBASE_URL} resolveEmojiData={drawableEmojiData} columns={9} onEmojiSelect={({ emoji }) => onPick(emoji)}>
        <EmojiPicker.Search data-autofocus aria-label={t('emoji.search')} placeholder={t('emoji.search')} />
        <EmojiPicker.Viewport>
          <EmojiPicker.Loading>{t('common.loading')}</EmojiPicker.Loading>
          <EmojiPicker.Empty>{t('emoji.none')}</EmojiPicker.Empty>
          <EmojiPicker.List aria-label={t('emoji.title')} components={listComponents} />
        </EmojiPicker.Viewport>
      </EmojiPicker.Root>
    </Dialog>
  );
}
