import type { AdminApp, AppTool } from '@parley/protocol';
import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useLive, useLiveStore } from '../live/use-live.js';
import { navigate } from '../router/router.js';
import { ConfirmDialog } from '../shell/dialog.js';
import { errorText } from '../shell/errors.js';
import { backInReview, inputsOf } from './model.js';

const field = 'w-full rounded-lg border border-zinc-300 bg-white px-3 py-2 text-sm dark:border-zinc-700 dark:bg-zinc-950';
const primary = 'rounded-lg bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-indigo-500 disabled:opacity-60';
const plain = 'rounded-md px-2 py-1 text-sm hover:bg-zinc-100 dark:hover:bg-zinc-800';
const outline = 'rounded-lg border border-zinc-300 px-3 py-1.5 text-sm hover:bg-zinc-100 disabled:opacity-60 dark:border-zinc-700 dark:hover:bg-zinc-800';


/**
 * The administrators' directory of apps [WB73]: add one (a remote URL, or a local command where
 * the server allows it), review its listing (server, tools with their annotations and inputs, UI
 * resources), approve the very listing read (its hash) or reject it, refresh, remove.
 */
export function AdminAppsPage({ onOpenMenu }: { onOpenMenu: () => void }) {
  const { t } = useTranslation();
  const live = useLiveStore();
  const { me } = useLive();
  const [apps, setApps] = useState<AdminApp[] | null>(null);
  // Whether the server accepts a local command [AP30]; unknown (null) until the directory is read.
  const [localApps, setLocalApps] = useState<boolean | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    const list = await live.client.api.listAdminApps();
    setApps(list.apps);
    setLocalApps(list.localApps);
  }, [live]);
  useEffect(() => {
    if (me.admin) load().catch((caught: unknown) => setError(errorText(t, caught)));
  }, [load, me.admin, t]);

  const replace = (app: AdminApp) => setApps((list) => (list ? list.map((item) => (item.id === app.id ? app : item)) : list));

  return (
    <section className="flex min-w-0 flex-1 flex-col" aria-labelledby="apps-title">
      <header className="flex items-center gap-2 border-b border-zinc-200 px-3 py-2 dark:border-zinc-800">
        <button type="button" onClick={onOpenMenu} className="rounded-md p-2 hover:bg-zinc-100 md:hidden dark:hover:bg-zinc-800" aria-label={t('shell.openMenu')}>☰</button>
        <h1 id="apps-title" className="min-w-0 flex-1 truncate font-semibold">{t('apps.admin.title')}</h1>
        <button type="button" onClick={() => navigate('/settings')} className={plain}>{t('settings.title')}</button>
      </header>
      <div className="min-h-0 flex-1 overflow-y-auto">
        <div className="mx-auto max-w-3xl space-y-6 p-4">
          {!me.admin ? (
            <p role="alert" className="text-sm text-red-600 dark:text-red-400">{t('apps.admin.notAdmin')}</p>
          ) : (
            <>
              <p className="text-sm text-zinc-600 dark:text-zinc-400">{t('apps.admin.intro')}</p>
              <AddApp localApps={localApps} onAdded={(app) => setApps((list) => [app, ...(list ?? []).filter((item) => item.id !== app.id)])} />
              {error && <p role="alert" className="text-sm text-red-600 dark:text-red-400">{error}</p>}
              {apps === null && !error && <p className="text-sm text-zinc-600 dark:text-zinc-400">{t('common.loading')}</p>}
              {apps?.length === 0 && <p className="text-sm text-zinc-600 dark:text-zinc-400">{t('apps.admin.none')}</p>}
              <ul className="space-y-4">
                {apps?.map((app) => (
                  <li key={app.id}>
                    <AppEntry app={app} onChange={replace} onRemoved={() => setApps((list) => (list ?? []).filter((item) => item.id !== app.id))} onStale={() => void load().catch(() => undefined)} />
                  </li>
                ))}
              </ul>
            </>
          )}
        </div>
      </div>
    </section>
  );
}

function AddApp({ localApps, onAdded }: { localApps: boolean | null; onAdded: (app: AdminApp) => void }) {
  const { t } = useTranslation();
  const live = useLiveStore();
  const [name, setName] = useState('');
  const [where, setWhere] = useState<'remote' | 'local'>('remote');
  const [url, setUrl] = useState('');
  const [command, setCommand] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // A server that runs no local command is not offered one [WB89]: the choice stays, disabled, with the reason.
  const localOffered = localApps === true;
  useEffect(() => {
    if (!localOffered) setWhere('remote');
  }, [localOffered]);

  const add = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    setBusy(true);
    try {
      const parts = command.split('\n').map((part) => part.trim()).filter((part) => part !== '');
      const body = where === 'remote' ? { name: name.trim(), url: url.trim() } : { name: name.trim(), command: parts };
      const app = await live.client.api.createApp({ body });
      onAdded(app);
      setName('');
      setUrl('');
      setCommand('');
    } catch (caught) {
      // A server that runs no local command says so on that field [AP2], in the person's words [WB92].
      setError(errorText(t, caught));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={(event) => void add(event)} className="space-y-3 rounded-xl border border-zinc-200 p-4 dark:border-zinc-800" aria-labelledby="add-app-title">
      <h2 id="add-app-title" className="text-lg font-semibold">{t('apps.admin.add')}</h2>
      {error && <p role="alert" className="text-sm text-red-600 dark:text-red-400">{error}</p>}
      <label className="block space-y-1 text-sm">
        <span>{t('apps.admin.name')}</span>
        <input className={field} value={name} onChange={(event) => setName(event.target.value)} maxLength={80} required />
      </label>
      <fieldset className="space-y-1">
        <legend className="text-sm">{t('apps.admin.where')}</legend>
        <div className="flex flex-wrap gap-4">
          {(['remote', 'local'] as const).map((option) => {
            const disabled = option === 'local' && !localOffered;
            return (
              <label key={option} className={`flex items-center gap-2 text-sm ${disabled ? 'text-zinc-500 dark:text-zinc-400' : ''}`}>
                <input
                  type="radio"
                  name="app-where"
                  value={option}
                  checked={where === option}
                  onChange={() => setWhere(option)}
                  disabled={disabled}
                  aria-describedby={disabled && localApps === false ? 'app-local-off' : undefined}
                  className="accent-indigo-600"
                />
                {t(`apps.admin.${option}`)}
              </label>
            );
          })}
        </div>
        {localApps === false && (
          <p id="app-local-off" className="text-xs text-zinc-600 dark:text-zinc-400" data-testid="app-local-off">{t('apps.admin.localOff')}</p>
        )}
      </fieldset>
      {where === 'remote' ? (
        <label className="block space-y-1 text-sm">
          <span>{t('apps.admin.url')}</span>
          <input className={field} type="url" inputMode="url" autoCapitalize="none" spellCheck={false} placeholder="https://" value={url} onChange={(event) => setUrl(event.target.value)} required />
        </label>
      ) : (
        <label className="block space-y-1 text-sm">
          <span>{t('apps.admin.command')}</span>
          <textarea className={`${field} font-mono`} rows={3} autoCapitalize="none" spellCheck={false} value={command} onChange={(event) => setCommand(event.target.value)} aria-describedby="app-local-hint" required />
          <span id="app-local-hint" className="block text-xs text-zinc-600 dark:text-zinc-400">{t('apps.admin.localHint')}</span>
        </label>
      )}
      <button type="submit" className={primary} disabled={busy}>{busy ? t('apps.admin.adding') : t('apps.admin.addButton')}</button>
    </form>
  );
}

const STATUS_BADGE: Record<AdminApp['status'], string> = {
  review: 'bg-amber-100 text-amber-900 dark:bg-amber-900/40 dark:text-amber-100',
  approved: 'bg-emerald-100 text-emerald-900 dark:bg-emerald-900/40 dark:text-emerald-100',
  rejected: 'bg-zinc-200 text-zinc-900 dark:bg-zinc-700 dark:text-zinc-100',
};

function AppEntry({ app, onChange, onRemoved, onStale }: { app: AdminApp; onChange: (app: AdminApp) => void; onRemoved: () => void; onStale: () => void }) {
  const { t, i18n } = useTranslation();
  const live = useLiveStore();
  const [open, setOpen] = useState(app.status === 'review');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [removing, setRemoving] = useState(false);
  const listing = app.listing;
  const returned = backInReview(app);
  const titleId = `app-${app.id}`;

  const run = async (work: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await work();
    } catch (caught) {
      setError(errorText(t, caught));
      // A listing that changed since it was read: read it again, to review what it is now.
      onStale();
    } finally {
      setBusy(false);
    }
  };
  const review = (decision: 'approve' | 'reject') =>
    run(async () => {
      if (!listing) return;
      onChange(await live.client.api.reviewApp({ params: { appId: app.id }, body: { decision, hash: listing.hash } }));
    });
  const refresh = () => run(async () => onChange(await live.client.api.refreshApp({ params: { appId: app.id } })));
  // An app behind OAuth is listed with the administrator's own authorisation [AP16]: off to its authorisation server and back here.
  const connect = () =>
    run(async () => {
      const { authorizationUrl } = await live.client.api.startAppAuthorization({ params: { appId: app.id }, body: { returnTo: '/settings/apps' } });
      if (authorizationUrl) window.location.assign(authorizationUrl);
      else onChange(await live.client.api.getAdminApp({ params: { appId: app.id } }));
    });
  const remove = () =>
    run(async () => {
      await live.client.api.deleteApp({ params: { appId: app.id } });
      setRemoving(false);
      onRemoved();
    });

  return (
    <article className="space-y-3 rounded-xl border border-zinc-200 p-4 dark:border-zinc-800" aria-labelledby={titleId} data-app-id={app.id}>
      <div className="flex flex-wrap items-center gap-2">
        <h2 id={titleId} className="text-lg font-semibold">{app.name}</h2>
        <span className={`rounded-full px-2 py-0.5 text-xs font-medium ${STATUS_BADGE[app.status]}`} data-testid="app-status">{t(`apps.admin.status.${app.status}`)}</span>
        <span className="min-w-0 flex-1 truncate font-mono text-xs text-zinc-600 dark:text-zinc-400">{app.url ?? app.command?.join(' ')}</span>
      </div>
      {returned && <p className="rounded-lg bg-amber-50 p-2 text-sm text-amber-900 dark:bg-amber-950 dark:text-amber-100" data-testid="back-in-review">{t('apps.admin.backInReview')}</p>}
      {app.oauth && <p className="text-sm text-zinc-700 dark:text-zinc-300" data-testid="app-oauth">{t('apps.admin.oauth')}</p>}
      {app.error && <p className="text-sm text-red-700 dark:text-red-400">{t('apps.admin.error', { error: app.error })}</p>}
      {error && <p role="alert" className="text-sm text-red-600 dark:text-red-400">{error}</p>}
      <div className="flex flex-wrap gap-2">
        {app.oauth && (
          <button type="button" className={outline} disabled={busy} onClick={() => void connect()}>{t('apps.admin.connect')}</button>
        )}
        <button type="button" className={outline} aria-expanded={open} aria-controls={`${titleId}-listing`} onClick={() => setOpen(!open)}>{open ? t('apps.admin.hide') : t('apps.admin.review')}</button>
        <button type="button" className={outline} disabled={busy} onClick={() => void refresh()}>{t('apps.admin.refresh')}</button>
        <button type="button" className={`${outline} text-red-700 dark:text-red-400`} disabled={busy} onClick={() => setRemoving(true)}>{t('apps.admin.remove')}</button>
      </div>
      {open && (
        <div id={`${titleId}-listing`} className="space-y-3" data-testid="app-listing">
          {!listing ? (
            <p className="text-sm text-zinc-600 dark:text-zinc-400">{t('apps.admin.notListed')}</p>
          ) : (
            <>
              <p className="text-sm">
                {listing.server ? t('apps.admin.server', { name: listing.server.name, version: listing.server.version }) : null}
                {listing.server && ' · '}
                {t(`apps.admin.protocol.${listing.protocolEra}`)}
                {' · '}
                {t('apps.admin.listedAt', { date: new Date(listing.listedAt).toLocaleString(i18n.language, { dateStyle: 'medium', timeStyle: 'short' }) })}
              </p>
              {listing.instructions && (
                <div>
                  <h3 className="text-sm font-semibold">{t('apps.admin.instructions')}</h3>
                  <p className="text-sm whitespace-pre-wrap text-zinc-700 dark:text-zinc-300">{listing.instructions}</p>
                </div>
              )}
              <div>
                <h3 className="text-sm font-semibold">{t('apps.admin.tools', { count: listing.tools.length })}</h3>
                <ul className="mt-1 space-y-2">
                  {listing.tools.map((tool) => <ToolReview key={tool.name} tool={tool} />)}
                </ul>
              </div>
              <div>
                <h3 className="text-sm font-semibold">{t('apps.admin.uiResources', { count: listing.uiResources.length })}</h3>
                {listing.uiResources.length === 0 ? (
                  <p className="text-sm text-zinc-600 dark:text-zinc-400">{t('apps.admin.noUiResources')}</p>
                ) : (
                  <ul className="mt-1 space-y-1 text-sm">
                    {listing.uiResources.map((resource) => (
                      <li key={resource.uri}>
                        <code className="text-xs">{resource.uri}</code>
                        {resource.name && <> · {resource.name}</>}
                        {resource.mimeType && <span className="text-zinc-600 dark:text-zinc-400"> · {resource.mimeType}</span>}
                      </li>
                    ))}
                  </ul>
                )}
              </div>
              <p className="text-xs break-all text-zinc-600 dark:text-zinc-400">
                {t('apps.admin.hash')}: <code data-testid="listing-hash">{listing.hash}</code>
              </p>
              <div className="flex flex-wrap gap-2">
                <button type="button" className={primary} disabled={busy || (app.status === 'approved' && app.approvedHash === listing.hash)} onClick={() => void review('approve')}>{t('apps.admin.approve')}</button>
                <button type="button" className={outline} disabled={busy || app.status === 'rejected'} onClick={() => void review('reject')}>{t('apps.admin.reject')}</button>
              </div>
            </>
          )}
        </div>
      )}
      {removing && (
        <ConfirmDialog
          title={t('apps.admin.removeTitle', { name: app.name })}
          text={t('apps.admin.removeText')}
          confirmLabel={t('apps.admin.remove')}
          danger
          busy={busy}
          error={error}
          onCancel={() => setRemoving(false)}
          onConfirm={() => void remove()}
        />
      )}
    </article>
  );
}

/** One tool for review: title and name, description, annotations, where it is seen, its inputs. */
function ToolReview({ tool }: { tool: AppTool }) {
  const { t } = useTranslation();
  const inputs = inputsOf(tool.inputSchema);
  const { annotations } = tool;
  const badges: string[] = [];
  if (annotations.readOnlyHint === true) badges.push(t('apps.admin.annotation.readOnly'));
  else badges.push(t('apps.admin.annotation.writes'));
  if (annotations.destructiveHint === true) badges.push(t('apps.admin.annotation.destructive'));
  if (annotations.idempotentHint === true) badges.push(t('apps.admin.annotation.idempotent'));
  if (annotations.openWorldHint === true) badges.push(t('apps.admin.annotation.openWorld'));
  if (!tool.visibility.includes('app')) badges.push(t('apps.admin.modelOnly'));
  if (!tool.visibility.includes('model')) badges.push(t('apps.admin.appOnly'));
  const title = tool.title ?? annotations.title ?? null;
  return (
    <li className="rounded-lg bg-zinc-50 p-3 dark:bg-zinc-900" data-tool={tool.name}>
      <p className="flex flex-wrap items-center gap-2 text-sm">
        <span className="font-medium">{title ?? tool.name}</span>
        {title && <code className="text-xs text-zinc-600 dark:text-zinc-400">{tool.name}</code>}
        {badges.map((badge) => (
          <span key={badge} className={`rounded-full px-2 py-0.5 text-xs ${badge === t('apps.admin.annotation.destructive') ? 'bg-red-100 text-red-900 dark:bg-red-900/40 dark:text-red-100' : 'bg-zinc-200 text-zinc-900 dark:bg-zinc-700 dark:text-zinc-100'}`}>{badge}</span>
        ))}
      </p>
      {tool.description && <p className="mt-1 text-sm whitespace-pre-wrap text-zinc-700 dark:text-zinc-300">{tool.description}</p>}
      {tool.uiResourceUri && <p className="mt-1 text-xs text-zinc-600 dark:text-zinc-400">{t('apps.admin.widget', { uri: tool.uiResourceUri })}</p>}
      {tool.outputSchema && <p className="mt-1 text-xs text-zinc-600 dark:text-zinc-400">{t('apps.admin.outputSchema')}</p>}
      <p className="mt-1 text-xs font-semibold text-zinc-700 dark:text-zinc-300">{t('apps.admin.inputs')}</p>
      {inputs.length === 0 ? (
        <p className="text-xs text-zinc-600 dark:text-zinc-400">{t('apps.admin.noInputs')}</p>
      ) : (
        <ul className="text-xs">
          {inputs.map((input) => (
            <li key={input.name}>
              <code>{input.name}</code>: <span className="text-zinc-700 dark:text-zinc-300">{input.type}</span>
              {input.required && <span className="text-zinc-600 dark:text-zinc-400"> ({t('apps.admin.required')})</span>}
              {input.description && <span className="text-zinc-600 dark:text-zinc-400"> — {input.description}</span>}
            </li>
          ))}
        </ul>
      )}
    </li>
  );
}
