import { type KeyboardEvent, type ReactNode, useEffect, useId, useRef } from 'react';
import { createPortal } from 'react-dom';
import { useTranslation } from 'react-i18next';

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

function focusableIn(root: HTMLElement): HTMLElement[] {
  return [...root.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((element) => !element.closest('[inert]') && element.getClientRects().length > 0);
}

/**
 * A modal dialog [WB50]: named by its title, Tab and Shift+Tab kept inside, Escape (or ✕, or a
 * click beside it) closes it, and the focus goes back to where it was when it opened. The first
 * element marked `data-autofocus` takes the focus, else the first control. Keys handled here do
 * not reach the page behind (the shell's Escape closes the drawer and the group panel), and a
 * dialog opened from a dialog keeps them to itself too.
 */
export function Dialog({ title, onClose, children, description, testId, wide = false, closeLabel }: {
  title: string;
  onClose: () => void;
  children: ReactNode;
  /** A line under the title that describes the dialog (`aria-describedby`). */
  description?: string;
  testId?: string;
  wide?: boolean;
  closeLabel?: string;
}) {
  const { t } = useTranslation();
  const titleId = useId();
  const descriptionId = useId();
  const box = useRef<HTMLDivElement>(null);
  const close = useRef(onClose);
  close.current = onClose;

  useEffect(() => {
    const previous = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const root = box.current;
    if (root) (root.querySelector<HTMLElement>('[data-autofocus]:not([disabled])') ?? focusableIn(root)[0] ?? root).focus();
    return () => {
      // The element that opened the dialog may have been replaced meanwhile; then nothing is focused.
      if (previous?.isConnected) previous.focus();
    };
  }, []);

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    // React passes a key from a dialog opened by this one (a portal) up to this one: it is not ours.
    if (event.key === 'Escape' || event.key === 'Tab') event.stopPropagation();
    if (event.key === 'Escape') {
      event.preventDefault();
      close.current();
      return;
    }
    if (event.key !== 'Tab' || !box.current) return;
    const items = focusableIn(box.current);
    const first = items[0];
    const last = items[items.length - 1];
    if (!first || !last) {
      event.preventDefault();
      return;
    }
    const active = document.activeElement;
    if (event.shiftKey && (active === first || !box.current.contains(active))) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (active === last || !box.current.contains(active))) {
      event.preventDefault();
      first.focus();
    }
  };

  return createPortal(
    <div
      className="fixed inset-0 z-50 flex items-end justify-center bg-black/40 p-3 sm:items-center sm:p-4"
      onMouseDown={(event) => event.target === event.currentTarget && close.current()}
      onKeyDown={onKeyDown}
    >
      <div
        ref={box}
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        aria-describedby={description ? descriptionId : undefined}
        tabIndex={-1}
        data-testid={testId}
        className={`flex max-h-[90vh] w-full flex-col overflow-hidden rounded-2xl border border-zinc-200 bg-white shadow-xl outline-none dark:border-zinc-700 dark:bg-zinc-900 ${wide ? 'max-w-lg' : 'max-w-sm'}`}
      >
        <div className="flex items-start gap-2 border-b border-zinc-200 px-4 py-3 dark:border-zinc-800">
          <div className="min-w-0 flex-1">
            <h2 id={titleId} className="font-semibold">{title}</h2>
            {description && <p id={descriptionId} className="mt-0.5 text-sm text-zinc-600 dark:text-zinc-400">{description}</p>}
          </div>
          <button type="button" onClick={() => close.current()} className="rounded-md px-2 py-0.5 hover:bg-zinc-100 dark:hover:bg-zinc-800" aria-label={closeLabel ?? t('common.close')}>
            ✕
          </button>
        </div>
        <div className="min-h-0 overflow-y-auto p-4">{children}</div>
      </div>
    </div>,
    document.body,
  );
}

/** A yes-or-no question in a dialog: the safe answer (Cancel) has the focus [WB50]. */
export function ConfirmDialog({ title, text, confirmLabel, onConfirm, onCancel, danger = false, busy = false, error }: {
  title: string;
  text: string;
  confirmLabel: string;
  onConfirm: () => void;
  onCancel: () => void;
  danger?: boolean;
  busy?: boolean;
  error?: string | null;
}) {
  const { t } = useTranslation();
  return (
    <Dialog title={title} onClose={onCancel} testId="confirm-dialog">
      <p className="text-sm">{text}</p>
      {error && <p role="alert" className="mt-2 text-sm text-red-600 dark:text-red-400">{error}</p>}
      <div className="mt-4 flex justify-end gap-2">
        <button type="button" data-autofocus onClick={onCancel} className="rounded-lg px-3 py-1.5 text-sm hover:bg-zinc-100 dark:hover:bg-zinc-800">{t('common.cancel')}</button>
        <button
          type="button"
          disabled={busy}
          onClick={onConfirm}
          className={`rounded-lg px-3 py-1.5 text-sm font-medium text-white disabled:opacity-60 ${danger ? 'bg-red-700 hover:bg-red-600' : 'bg-indigo-600 hover:bg-indigo-500'}`}
        >
          {confirmLabel}
        </button>
      </div>
    </Dialog>
  );
}
