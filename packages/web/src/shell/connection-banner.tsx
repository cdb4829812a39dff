import { useTranslation } from 'react-i18next';
import { useLive, useLiveStore } from '../live/use-live.js';

/** Shown while the event stream is down after having been up; it resumes on its own, or at once on Reconnect [WB15]. */
export function ConnectionBanner() {
  const { t } = useTranslation();
  const live = useLiveStore();
  const { status, everConnected } = useLive();
  if (!everConnected || status === 'open') return null;
  return (
    <div role="status" data-testid="connection-banner" className="flex items-center justify-center gap-3 bg-amber-100 px-3 py-1.5 text-sm text-amber-900 dark:bg-amber-900/40 dark:text-amber-100">
      <span>{status === 'connecting' ? t('connection.reconnecting') : t('connection.lost')}</span>
      <button type="button" onClick={() => live.reconnect()} className="rounded border border-amber-400 px-2 py-0.5 font-medium dark:border-amber-700">
        {t('connection.reconnect')}
      </button>
    </div>
  );
}
