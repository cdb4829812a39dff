import type { AssistantDecision } from '@parley/protocol';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useLiveStore } from '../live/use-live.js';
import { Dialog } from '../shell/dialog.js';
import { errorText } from '../shell/errors.js';

/**
 * "Why did the assistant answer, react or stay quiet?" for one message: the decisions recorded for
 * it (`listDecisions` with its `messageId`), each with its action, rule, reason, model and time; or
 * a clear "no decision recorded" [WB32].
 */
export function WhyDialog({ conversationId, messageId, onClose }: { conversationId: string; messageId: string; onClose: () => void }) {
  const { t, i18n } = useTranslation();
  const live = useLiveStore();
  const [decisions, setDecisions] = useState<AssistantDecision[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let current = true;
    live.client.api.listDecisions({ params: { conversationId }, query: { messageId } }).then(
      (list) => current && setDecisions(list.decisions),
      (caught: unknown) => current && setError(errorText(t, caught)),
    );
    return () => {
      current = false;
    };
  }, [live, conversationId, messageId]);

  const when = (at: string) => new Date(at).toLocaleString(i18n.language, { dateStyle: 'medium', timeStyle: 'medium' });
  const term = 'text-xs font-semibold text-zinc-600 uppercase dark:text-zinc-400';

  return (
    <Dialog title={t('why.title')} onClose={onClose} testId="why-dialog" wide>
      <div className="text-sm">
        {error ? (
          <p role="alert" className="text-red-600 dark:text-red-400">{error}</p>
        ) : decisions === null ? (
          <p className="text-zinc-600 dark:text-zinc-400">{t('common.loading')}</p>
        ) : decisions.length === 0 ? (
          <p data-testid="no-decision">{t('why.none')}</p>
        ) : (
          <ol className="space-y-4">
            {decisions.map((decision) => (
              <li key={decision.id} data-decision-id={decision.id} className="space-y-2">
                <p className="font-semibold">{decision.action === 'react' && decision.emoji ? t('why.reactedWith', { emoji: decision.emoji }) : t(`why.action.${decision.action}`)}</p>
                <dl className="grid grid-cols-[auto_1fr] gap-x-3 gap-y-1">
                  <dt className={term}>{t('why.reason')}</dt>
                  <dd className="whitespace-pre-wrap">{decision.reason}</dd>
                  <dt className={term}>{t('why.rule')}</dt>
                  <dd>{decision.rule ? <code>{decision.rule}</code> : t('why.noRule')}</dd>
                  <dt className={term}>{t('why.model')}</dt>
                  <dd>{decision.model ?? t('why.noModel')}</dd>
                  <dt className={term}>{t('why.time')}</dt>
                  <dd>
                    <time dateTime={decision.createdAt}>{when(decision.createdAt)}</time>
                  </dd>
                </dl>
              </li>
            ))}
          </ol>
        )}
      </div>
    </Dialog>
  );
}
