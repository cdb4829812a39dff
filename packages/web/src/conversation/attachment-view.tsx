import type { Attachment } from '@parley/protocol';
import { type KeyboardEvent, useEffect, useId, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { formatSize, isImage } from './attachments.js';

/** The box a thumbnail takes before and after its image loads, so the list never jumps [WB35]. */
const THUMB_WIDTH = 240;
const THUMB_HEIGHT = 180;

/**
 * A message's files: images as thumbnails of a fixed size that open a lightbox, other files
 * (PDF, text) as download chips with name and size [WB35]. Names are text nodes, never markup.
 */
export function AttachmentList({ attachments }: { attachments: readonly Attachment[] }) {
  const { t, i18n } = useTranslation();
  const [open, setOpen] = useState<Attachment | null>(null);
  const opener = useRef<HTMLButtonElement | null>(null);
  if (attachments.length === 0) return null;
  const images = attachments.filter((attachment) => isImage(attachment.contentType));
  const others = attachments.filter((attachment) => !isImage(attachment.contentType));
  return (
    <div className="mt-1 space-y-1" data-testid="attachments">
      {images.length > 0 && (
        <div className="flex flex-wrap gap-2">
          {images.map((attachment) => (
            <button
              key={attachment.id}
              type="button"
              onClick={(event) => {
                opener.current = event.currentTarget;
                setOpen(attachment);
              }}
              className="block max-w-full overflow-hidden rounded-lg border border-zinc-200 bg-zinc-100 dark:border-zinc-700 dark:bg-zinc-800"
              aria-label={t('attachment.openImage', { name: attachment.filename })}
              data-attachment-id={attachment.id}
            >
              <img src={attachment.url} alt={attachment.filename} width={THUMB_WIDTH} height={THUMB_HEIGHT} loading="lazy" decoding="async" className="block h-[180px] w-[240px] max-w-full object-cover" />
            </button>
          ))}
        </div>
      )}
      {others.length > 0 && (
        <ul className="flex flex-wrap gap-2">
          {others.map((attachment) => (
            <li key={attachment.id}>
              <a
                href={attachment.url}
                download={attachment.filename}
                className="flex max-w-72 items-center gap-2 rounded-lg border border-zinc-300 bg-zinc-50 px-3 py-2 text-sm hover:bg-zinc-100 dark:border-zinc-700 dark:bg-zinc-900 dark:hover:bg-zinc-800"
                data-attachment-id={attachment.id}
                title={t('attachment.download', { name: attachment.filename, size: formatSize(attachment.size, i18n.language) })}
              >
                <span aria-hidden="true" className="text-lg">{attachment.contentType.startsWith('application/pdf') ? '📕' : '📄'}</span>
                <span className="min-w-0 flex-1">
                  <span className="block truncate font-medium">{attachment.filename}</span>
                  <span className="block text-xs text-zinc-600 dark:text-zinc-400">{formatSize(attachment.size, i18n.language)}</span>
                </span>
                <span aria-hidden="true">⬇</span>
              </a>
            </li>
          ))}
        </ul>
      )}
      {open && (
        <Lightbox
          attachment={open}
          onClose={() => {
            setOpen(null);
            opener.current?.focus();
          }}
        />
      )}
    </div>
  );
}

/**
 * An image at full size over the page: a modal dialog named by the file; Escape, ✕ or a click
 * beside the image closes it; Tab stays inside; the focus goes back to the thumbnail [WB35].
 */
function Lightbox({ attachment, onClose }: { attachment: Attachment; onClose: () => void }) {
  const { t, i18n } = useTranslation();
  const titleId = useId();
  const dialog = useRef<HTMLDivElement>(null);
  const closeButton = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    closeButton.current?.focus();
    const onKey = (event: globalThis.KeyboardEvent) => {
      if (event.key === 'Escape') {
        event.stopPropagation();
        onClose();
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [onClose]);
  const trap = (event: KeyboardEvent<HTMLDivElement>) => {
    if (event.key !== 'Tab' || !dialog.current) return;
    const focusable = [...dialog.current.querySelectorAll<HTMLElement>('a[href], button')];
    const first = focusable[0];
    const last = focusable.at(-1);
    if (!first || !last) return;
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  };
  return (
    <div className="fixed inset-0 z-50 flex items-center justify-center bg-black/80 p-4" onMouseDown={(event) => event.target === event.currentTarget && onClose()}>
      <div ref={dialog} role="dialog" aria-modal="true" aria-labelledby={titleId} onKeyDown={trap} data-testid="lightbox" className="flex max-h-full max-w-full flex-col gap-2">
        <div className="flex items-center gap-3 text-sm text-white">
          <h2 id={titleId} className="min-w-0 flex-1 truncate font-medium">{attachment.filename}</h2>
          <span className="shrink-0 text-zinc-300">{formatSize(attachment.size, i18n.language)}</span>
          <a href={attachment.url} download={attachment.filename} className="shrink-0 rounded-md px-2 py-1 hover:bg-white/15">
            {t('attachment.save')}
          </a>
          <button ref={closeButton} type="button" onClick={onClose} className="shrink-0 rounded-md px-2 py-1 hover:bg-white/15" aria-label={t('common.close')}>
            ✕
          </button>
        </div>
        <img src={attachment.url} alt={attachment.filename} className="max-h-[calc(100vh-6rem)] max-w-full rounded object-contain" />
      </div>
    </div>
  );
}
