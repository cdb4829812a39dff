import type { AppCall, UserSummary } from '@parley/protocol';
import { callState, type CallState, formatDuration, resultText } from './model.js';
import { lazy, memo, Suspense, useState } from 'react';
import type { TFunction } from 'i18next';
import { useTranslation } from 'react-i18next';
import { nameOf } from '../live/names.js';
import { useLiveStore } from '../live/use-live.js';
import { formatSize } from '../conversation/attachments.js';
import { errorText } from '../shell/errors.js';
import { useWidgetTool } from './widget-tool.js';

/** The widget and ext-apps' bridge load with the first card that has one, not with the page [WB74]. */
const CallWidget = lazy(() => import('./widget.js').then((module) => ({ default: module.CallWidget })));


const BADGE: Record<CallState, string> = {
  pending: 'bg-amber-100 text-amber-900 dark:bg-amber-900/40 dark:text-amber-100',
  authorization: 'bg-amber-100 text-amber-900 dark:bg-amber-900/40 dark:text-amber-100',
  running: 'bg-sky-100 text-sky-900 dark:bg-sky-900/40 dark:text-sky-100',
  done: 'bg-emerald-100 text-emerald-900 dark:bg-emerald-900/40 dark:text-emerald-100',
  failed: 'bg-red-100 text-red-900 dark:bg-red-900/40 dark:text-red-100',
  denied: 'bg-zinc-200 text-zinc-900 dark:bg-zinc-700 dark:text-zinc-100',
  expired: 'bg-zinc-200 text-zinc-900 dark:bg-zinc-700 dark:text-zinc-100',
};

const action = 'rounded-lg px-3 py-1.5 text-sm font-medium disabled:opacity-60';

/** Why a call ended early, by Parley's own prefix, in the person's language [WB92]; an app's error is its own words. */
const ENDED_EARLY = ['expired', 'cancelled', 'interrupted'] as const;
function callErrorText(t: TFunction, error: string): string {
  const prefix = ENDED_EARLY.find((word) => error.startsWith(`${word}:`));
  return prefix ? t(`apps.call.endedEarly.${prefix}`) : error;
}

/**
 * One tool call of an app in the timeline [WB70]–[WB71]: the app, the tool, its full arguments,
 * its status, who asked and who decided, the result's size and the duration. While it is pending
 * only the asker gets Approve once / Approve for this conversation / Deny; everyone else reads
 * whom it waits for. A call of an app that needs OAuth waits for the asker's authorisation: they
 * get "Connect to APP", which sends them to the app's authorisation server and back [WB88]. The app's output is untrusted: it is shown as text, never as markup.
 */
export const CallCard = memo(function CallCard({ call, users, meId }: { call: AppCall; users: ReadonlyMap<string, UserSummary>; meId: string }) {
  const { t, i18n } = useTranslation();
  const live = useLiveStore();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const state = callState(call);
  const asker = nameOf(users.get(call.askedBy));
  const decider = call.decidedBy ? nameOf(users.get(call.decidedBy)) : null;
  const args = JSON.stringify(call.arguments, null, 2);
  const output = resultText(call.result);
  // A tool with a widget shows it once the call runs, for every member [WB74].
  const widgetTool = useWidgetTool(call);
  const showWidget = widgetTool !== null && (state === 'running' || (state === 'done' && !call.isError));

  const decide = async (decision: 'approve-once' | 'approve-conversation' | 'deny') => {
    setBusy(true);
    setError(null);
    try {
      // The card follows the app-call-updated event that every member gets.
      await live.client.api.decideAppCall({ params: { conversationId: call.conversationId, callId: call.id }, body: { decision } });
    } catch (caught) {
      setError(errorText(t, caught));
    } finally {
      setBusy(false);
    }
  };

  const connect = async () => {
    setBusy(true);
    setError(null);
    try {
      const returnTo = `${window.location.pathname}${window.location.search}`;
      const { authorizationUrl } = await live.client.api.startAppAuthorization({ params: { appId: call.appId }, body: { returnTo } });
      // Null: tokens held already worked (or were refreshed) and the call runs; the card follows its events.
      if (authorizationUrl) window.location.assign(authorizationUrl);
      else setBusy(false);
    } catch (caught) {
      setError(errorText(t, caught));
      setBusy(false);
    }
  };

  let decided: string | null = null;
  if (call.approval === 'read-only') decided = t(state === 'authorization' ? 'apps.call.readOnlyOnceConnected' : 'apps.call.readOnly');
  else if (call.approval === 'conversation' && call.decidedBy === null) decided = t('apps.call.approvedEarlier');
  else if (decider && state === 'denied') decided = t('apps.call.deniedBy', { name: decider });
  else if (decider && state === 'expired') decided = t('apps.call.lateBy', { name: decider });
  else if (decider && call.approval) decided = t(call.approval === 'conversation' ? 'apps.call.approvedForConversationBy' : 'apps.call.approvedOnceBy', { name: decider });

  return (
    <div className="px-4 py-1.5">
      <article
        className="rounded-xl border border-zinc-300 bg-zinc-50 p-3 text-sm dark:border-zinc-700 dark:bg-zinc-900"
        aria-label={t('apps.call.label', { app: call.appName, tool: call.tool })}
        data-call-id={call.id}
        data-call-state={state}
      >
        <div className="flex flex-wrap items-center gap-2">
          <span aria-hidden="true">🧩</span>
          <span className="font-semibold">{call.appName}</span>
          <code className="rounded bg-zinc-200 px-1.5 py-0.5 text-xs dark:bg-zinc-800">{call.tool}</code>
          <span className={`ml-auto rounded-full px-2 py-0.5 text-xs font-medium ${BADGE[state]}`} data-testid="call-status">
            {t(`apps.status.${state}`)}
          </span>
        </div>
        <p className="mt-1 text-xs text-zinc-600 dark:text-zinc-400">
          {t('apps.call.askedBy', { name: asker })}
          {decided && <> · {decided}</>}
        </p>
        <details className="mt-2" open={state === 'pending'}>
          <summary className="cursor-pointer text-xs font-semibold text-zinc-700 dark:text-zinc-300">{t('apps.call.arguments')}</summary>
          <pre className="mt-1 max-h-64 overflow-auto rounded-lg bg-white p-2 text-xs whitespace-pre-wrap break-words dark:bg-zinc-950" tabIndex={0} aria-label={t('apps.call.arguments')} data-testid="call-arguments">
            {args}
          </pre>
        </details>
        {state === 'running' && call.progress && (
          <p className="mt-2 text-xs text-zinc-700 dark:text-zinc-300" data-testid="call-progress">
            {call.progress.total ? t('apps.call.progressOf', { progress: call.progress.progress, total: call.progress.total }) : t('apps.call.progress', { progress: call.progress.progress })}
            {call.progress.message && <> · {call.progress.message}</>}
          </p>
        )}
        {showWidget && (
          <Suspense fallback={null}>
            <CallWidget call={call} tool={widgetTool} />
          </Suspense>
        )}
        {(state === 'failed' || state === 'expired') && call.error && (
          <p className="mt-2 text-xs text-red-700 dark:text-red-400" data-testid="call-error" title={call.error}>{callErrorText(t, call.error)}</p>
        )}
        {state === 'done' && (
          <details className="mt-2">
            <summary className="cursor-pointer text-xs font-semibold text-zinc-700 dark:text-zinc-300">
              {call.isError ? t('apps.call.resultError') : t('apps.call.result')}
              {' · '}
              <span data-testid="call-summary">
                {t('apps.call.summary', { size: formatSize(call.resultBytes ?? 0, i18n.language), duration: formatDuration(call.durationMs ?? 0, i18n.language) })}
              </span>
            </summary>
            {/* Untrusted output of the app: React writes it as text, never as markup. */}
            <pre className="mt-1 max-h-64 overflow-auto rounded-lg bg-white p-2 text-xs whitespace-pre-wrap break-words dark:bg-zinc-950" tabIndex={0} aria-label={t('apps.call.result')} data-testid="call-result">
              {output}
            </pre>
          </details>
        )}
        {state === 'pending' &&
          (call.askedBy === meId ? (
            <div className="mt-3 flex flex-wrap gap-2" role="group" aria-label={t('apps.call.confirm')}>
              <button type="button" disabled={busy} onClick={() => void decide('approve-once')} className={`${action} bg-indigo-600 text-white hover:bg-indigo-500`}>
                {t('apps.call.approveOnce')}
              </button>
              <button type="button" disabled={busy} onClick={() => void decide('approve-conversation')} className={`${action} border border-indigo-600 text-indigo-700 hover:bg-indigo-50 dark:text-indigo-300 dark:hover:bg-indigo-950`}>
                {t('apps.call.approveConversation')}
              </button>
              <button type="button" disabled={busy} onClick={() => void decide('deny')} className={`${action} border border-zinc-300 hover:bg-zinc-100 dark:border-zinc-700 dark:hover:bg-zinc-800`}>
                {t('apps.call.deny')}
              </button>
            </div>
          ) : (
            <p className="mt-2 text-xs text-zinc-700 italic dark:text-zinc-300" data-testid="call-waiting">{t('apps.call.waitingFor', { name: asker })}</p>
          ))}
        {state === 'authorization' &&
          (call.askedBy === meId ? (
            <div className="mt-3">
              <p className="text-xs text-zinc-700 dark:text-zinc-300">{t('apps.call.connectHint', { app: call.appName })}</p>
              <button type="button" disabled={busy} onClick={() => void connect()} className={`${action} mt-2 bg-indigo-600 text-white hover:bg-indigo-500`}>
                {t('apps.call.connect', { app: call.appName })}
              </button>
            </div>
          ) : (
            <p className="mt-2 text-xs text-zinc-700 italic dark:text-zinc-300" data-testid="call-waiting">
              {t('apps.call.waitingForConnection', { name: asker, app: call.appName })}
            </p>
          ))}
        {error && <p role="alert" className="mt-2 text-xs text-red-700 dark:text-red-400">{error}</p>}
      </article>
    </div>
  );
});

