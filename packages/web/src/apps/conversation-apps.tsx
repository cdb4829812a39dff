import type { App } from '@parley/protocol';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { ConversationEntry } from '../live/live.js';
import { useLiveStore } from '../live/use-live.js';
import { ConfirmDialog } from '../shell/dialog.js';
import { errorText } from '../shell/errors.js';
import { changesThings, switchOnWarning } from './model.js';


/**
 * The group panel's "Apps" [WB72]: every approved app with a switch any member may flip; what is
 * on follows the conversation's `app-enabled` / `app-disabled` events, so every open panel agrees.
 */
export function ConversationApps({ entry }: { entry: ConversationEntry }) {
  const { t } = useTranslation();
  const live = useLiveStore();
  const id = entry.view.conversation.id;
  const [offered, setOffered] = useState<App[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [warn, setWarn] = useState<App | null>(null);
  /** Bumped to read the apps again (after a member disconnects an app). */
  const [reads, setReads] = useState(0);

  const enabled = entry.apps ?? [];
  // Read again whenever what is on changes: an app removed from the directory goes off (and out
  // of the list) by an event, an app back in review is no longer offered [AP6].
  const onKey = enabled.map((app) => app.appId).join(',');
  useEffect(() => {
    let gone = false;
    live.client.api.listApps().then(
      (list) => !gone && setOffered(list.apps),
      (caught: unknown) => !gone && setError(errorText(t, caught)),
    );
    return () => {
      gone = true;
    };
  }, [live, t, onKey, reads]);

  const on = new Set(enabled.map((app) => app.appId));
  const offeredIds = new Set((offered ?? []).map((app) => app.id));
  // On here, but no longer offered: back in review [AP6]; it can still be switched off.
  const inReview = offered ? enabled.filter((app) => !offeredIds.has(app.appId)) : [];

  const set = async (appId: string, next: boolean) => {
    setError(null);
    setBusy(appId);
    try {
      await live.client.api.setConversationApp({ params: { conversationId: id, appId }, body: { enabled: next } });
    } catch (caught) {
      setError(errorText(t, caught));
    } finally {
      setBusy(null);
    }
  };
  // An app behind OAuth acts with each member's own account: Connect sends them to its
  // authorisation server and back here; Disconnect forgets their tokens [AP17], [AP19].
  const connect = async (app: App) => {
    setError(null);
    setBusy(app.id);
    try {
      const returnTo = `${window.location.pathname}${window.location.search}`;
      const { authorizationUrl } = await live.client.api.startAppAuthorization({ params: { appId: app.id }, body: { returnTo } });
      if (authorizationUrl) window.location.assign(authorizationUrl);
      else setReads((count) => count + 1);
    } catch (caught) {
      setError(errorText(t, caught));
    } finally {
      setBusy(null);
    }
  };
  const disconnect = async (app: App) => {
    setError(null);
    setBusy(app.id);
    try {
      await live.client.api.deleteAppAuthorization({ params: { appId: app.id } });
      setReads((count) => count + 1);
    } catch (caught) {
      setError(errorText(t, caught));
    } finally {
      setBusy(null);
    }
  };
  const flip = (app: App) => {
    if (on.has(app.id)) void set(app.id, false);
    else if (switchOnWarning(app)) setWarn(app);
    else void set(app.id, true);
  };

  return (
    <section className="space-y-2" aria-labelledby={`apps-${id}`} data-testid="conversation-apps">
      <h3 id={`apps-${id}`} className="text-xs font-semibold text-zinc-600 uppercase dark:text-zinc-400">{t('apps.panel.title')}</h3>
      {error && <p role="alert" className="text-sm text-red-600 dark:text-red-400">{error}</p>}
      {offered === null && !error && <p className="text-sm text-zinc-600 dark:text-zinc-400">{t('common.loading')}</p>}
      {offered?.length === 0 && inReview.length === 0 && <p className="text-sm text-zinc-600 dark:text-zinc-400">{t('apps.panel.none')}</p>}
      <ul className="space-y-2">
        {offered?.map((app) => {
          const checked = on.has(app.id);
          return (
            <li key={app.id} className="flex items-center gap-2">
              <div className="min-w-0 flex-1">
                <p className="truncate text-sm font-medium">{app.name}</p>
                <p className="text-xs text-zinc-600 dark:text-zinc-400">
                  {t('apps.panel.tools', { count: app.tools.length })}
                  {changesThings(app) && <> · {t('apps.panel.writes')}</>}
                </p>
                {app.oauth && (
                  <p className="text-xs text-zinc-600 dark:text-zinc-400" data-testid="app-connection">
                    {app.connected ? t('apps.panel.connected') : t('apps.panel.notConnected')}
                    {' · '}
                    <button
                      type="button"
                      className="font-medium text-indigo-700 underline disabled:opacity-60 dark:text-indigo-300"
                      disabled={busy === app.id}
                      aria-label={t(app.connected ? 'apps.panel.disconnectLabel' : 'apps.panel.connectLabel', { name: app.name })}
                      onClick={() => void (app.connected ? disconnect(app) : connect(app))}
                    >
                      {app.connected ? t('apps.panel.disconnect') : t('apps.panel.connect')}
                    </button>
                  </p>
                )}
              </div>
              <Switch label={app.name} checked={checked} disabled={busy === app.id} onClick={() => flip(app)} />
            </li>
          );
        })}
        {inReview.map((app) => (
          <li key={app.appId} className="flex items-center gap-2">
            <div className="min-w-0 flex-1">
              <p className="truncate text-sm font-medium">{app.name}</p>
              <p className="text-xs text-amber-800 dark:text-amber-300">{t('apps.panel.inReview')}</p>
            </div>
            <Switch label={app.name} checked disabled={busy === app.appId} onClick={() => void set(app.appId, false)} />
          </li>
        ))}
      </ul>
      {warn && (
        <ConfirmDialog
          title={t('apps.panel.warnTitle', { name: warn.name })}
          text={t(switchOnWarning(warn) === 'reads' ? 'apps.panel.warnTextReads' : 'apps.panel.warnText', { name: warn.name })}
          confirmLabel={t('apps.panel.switchOn')}
          busy={busy === warn.id}
          onCancel={() => setWarn(null)}
          onConfirm={() => {
            const app = warn;
            setWarn(null);
            void set(app.id, true);
          }}
        />
      )}
    </section>
  );
}

/** An on/off switch: a button with `role="switch"`, named by what it switches. */
function Switch({ label, checked, disabled, onClick }: { label: string; checked: boolean; disabled: boolean; onClick: () => void }) {
  return (
    <button
      type="button"
      role="switch"
      aria-checked={checked}
      aria-label={label}
      disabled={disabled}
      onClick={onClick}
      className={`relative h-6 w-11 shrink-0 rounded-full transition-colors disabled:opacity-60 ${checked ? 'bg-indigo-600' : 'bg-zinc-400 dark:bg-zinc-600'}`}
    >
      <span aria-hidden="true" className={`absolute top-0.5 left-0.5 h-5 w-5 rounded-full bg-white shadow transition-transform ${checked ? 'translate-x-5' : ''}`} />
    </button>
  );
}
