import type { TFunction } from 'i18next';
import { useEffect, useState, useSyncExternalStore } from 'react';
import { useTranslation } from 'react-i18next';
import type { IncomingMessage, Live } from '../live/live.js';
import { nameOf, titleOf } from '../live/names.js';
import { useLive, useLiveStore } from '../live/use-live.js';
import { navigate } from '../router/router.js';
import { bodyOf, shouldNotify, titleWithUnread, unreadTotal } from './rules.js';

export type Permission = NotificationPermission | 'unsupported';

const listeners = new Set<() => void>();
const changed = () => {
  for (const listener of listeners) listener();
};

function permission(): Permission {
  return typeof Notification === 'undefined' ? 'unsupported' : Notification.permission;
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

// The browser's own settings can change the answer while the page is open.
void navigator.permissions
  ?.query({ name: 'notifications' })
  .then((status) => status.addEventListener('change', changed))
  .catch(() => undefined);

/** The browser's notification permission, re-rendering when it changes. */
export function usePermission(): Permission {
  return useSyncExternalStore(subscribe, permission);
}

/**
 * Asks the browser for permission: only ever from a click of the person's [WB66], never on load.
 * The answer is remembered by the browser; this page asks again only if it is still undecided.
 */
export async function askPermission(): Promise<Permission> {
  if (permission() !== 'default') return permission();
  // Asked once: the offer goes even if the browser never answers (a prompt left open).
  remember();
  await Notification.requestPermission();
  changed();
  return permission();
}

const ASKED = 'parley.notifications.asked';

/** The banner offering notifications was answered (either way): it does not come back. */
function remember(): void {
  localStorage.setItem(ASKED, '1');
  changed();
}

function answered(): boolean {
  return localStorage.getItem(ASKED) === '1';
}

/**
 * Desktop notifications and the tab's title, for the signed-in page [WB66]–[WB67]: a message of
 * someone else that its conversation's setting lets through, arriving while that conversation is
 * not on screen or the tab is hidden, shows a notification (when the browser allows them);
 * clicking it brings the tab forward on that conversation. Returns whether to offer the
 * permission (a message would have been shown and the browser has not been asked yet).
 */
export function useDesktopNotifications(): boolean {
  const { t } = useTranslation();
  const live = useLiveStore();
  const { conversations } = useLive();
  const allowed = usePermission();
  const [missed, setMissed] = useState(false);
  const asked = useSyncExternalStore(subscribe, answered);

  useEffect(() => {
    document.title = titleWithUnread(unreadTotal(conversations.values()));
  }, [conversations]);
  useEffect(
    () => () => {
      document.title = 'Parley';
    },
    [],
  );

  useEffect(
    () =>
      live.onIncoming((incoming) => {
        const meId = live.getSnapshot().me.id;
        if (!shouldNotify({ message: incoming.message, level: incoming.entry.view.me.notifications, meId, onScreen: incoming.onScreen })) return;
        if (permission() === 'granted') show(live, incoming, t);
        else if (permission() === 'default') setMissed(true);
      }),
    [live, t],
  );

  return allowed === 'default' && missed && !asked;
}

function show(live: Live, { conversationId, message, entry }: IncomingMessage, t: TFunction): void {
  const meId = live.getSnapshot().me.id;
  const { view } = entry;
  const author = view.members.find((member) => member.userId === message.authorId);
  const who = author?.role === 'assistant' && view.conversation.assistant ? view.conversation.assistant.name : nameOf(author?.user);
  const where = titleOf(t, view, meId);
  const title = view.conversation.kind === 'group' ? t('notify.inGroup', { name: who, group: where }) : who;
  const text = bodyOf(message.text);
  const files = message.attachments.length;
  const body = text !== '' ? text : files > 0 ? t('notify.files', { count: files }) : '';
  try {
    const notification = new Notification(title, { body, tag: `message-${message.id}`, icon: '/favicon.svg', lang: document.documentElement.lang });
    notification.addEventListener('click', () => {
      window.focus();
      navigate({ name: 'conversation', conversationId });
      notification.close();
    });
  } catch {
    // Some browsers (Chrome on Android) only show notifications from a service worker.
  }
}

/** The one-time offer of desktop notifications, after a message it would have shown [WB66]. */
export function NotificationOffer() {
  const { t } = useTranslation();
  return (
    <div role="region" aria-label={t('notify.offerLabel')} data-testid="notification-offer" className="flex flex-wrap items-center justify-center gap-3 bg-indigo-50 px-3 py-1.5 text-sm text-indigo-950 dark:bg-indigo-950/60 dark:text-indigo-100">
      <span>{t('notify.offer')}</span>
      <span className="flex gap-2">
        <button type="button" onClick={() => void askPermission()} className="rounded bg-indigo-600 px-2 py-0.5 font-medium text-white hover:bg-indigo-500">
          {t('notify.turnOn')}
        </button>
        <button type="button" onClick={remember} className="rounded border border-indigo-300 px-2 py-0.5 font-medium dark:border-indigo-700">
          {t('notify.notNow')}
        </button>
      </span>
    </div>
  );
}

/** The settings page's section: the browser's answer, and the button that asks for it [WB66]. */
export function NotificationSettings() {
  const { t } = useTranslation();
  const allowed = usePermission();
  return (
    <section className="space-y-2" aria-labelledby="notifications-title">
      <h2 id="notifications-title" className="text-lg font-semibold">{t('notify.title')}</h2>
      <p className="text-sm text-zinc-600 dark:text-zinc-400" data-testid="notification-status">{t(`notify.status.${allowed}`)}</p>
      {allowed === 'default' && (
        <button type="button" onClick={() => void askPermission()} className="rounded-lg bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-indigo-500">
          {t('notify.enable')}
        </button>
      )}
      <p className="text-sm text-zinc-600 dark:text-zinc-400">{t('notify.perConversation')}</p>
    </section>
  );
}
