import type { AssistantDecision, Message } from '@parley/protocol';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useLiveStore } from '../live/use-live.js';
import { Dialog } from '../shell/dialog.js';
import { errorText } from '../shell/errors.js';

/** What the dialog shows the decisions of: the message itself, or, for an answer, the message it answers. */
type Subject = { decisionsOf: string | null; answering: Message | null; model: string | null };

/**
 * "Why did the assistant answer, react or stay quiet?" for one message: the decisions recorded for
 * it (`listDecisions` with its `messageId`), each with its action, rule, reason, model and time; or
 * a clear "no decision recorded" [WB32]. Asked of one of the assistant's answers, it reads the
 * answer's turn (`getTurn`) and shows the message the answer replies to and the decisions about
 * that message [WB86]; an answer no message started says so.
 */
export function WhyDialog({ conversationId, message, find, onClose }: { conversationId: string; message: Message; find: (messageId: string) => Message | undefined; onClose: () => void }) {
  const { t, i18n } = useTranslation();
  const live = useLiveStore();
  const [decisions, setDecisions] = useState<AssistantDecision[] | null>(null);
  const [subject, setSubject] = useState<Subject | null>(null);
  const [error, setError] = useState<string | null>(null);
  const turnId = message.turn?.id ?? null;
  const messageId = message.id;

  useEffect(() => {
    let current = true;
    const load = async () => {
      let next: Subject = { decisionsOf: messageId, answering: null, model: null };
      if (turnId !== null) {
        const turn = await live.client.api.getTurn({ params: { conversationId, turnId } });
        next = { decisionsOf: turn.triggerMessageId, answering: turn.triggerMessageId === null ? null : (find(turn.triggerMessageId) ?? null), model: turn.model };
      }
      const list = next.decisionsOf === null ? [] : (await live.client.api.listDecisions({ params: { conversationId }, query: { messageId: next.decisionsOf } })).decisions;
      if (!current) return;
      setSubject(next);
      setDecisions(list);
    };
    load().catch((caught: unknown) => current && setError(errorText(t, caught)));
    return () => {
      current = false;
    };
    // `find` reads the list as it is now; the dialog asks once per message.
  }, [live, conversationId, messageId, turnId]);

  const when = (at: string) => new Date(at).toLocaleString(i18n.language, { dateStyle: 'medium', timeStyle: 'medium' });
  const term = 'text-xs font-semibold text-zinc-600 uppercase dark:text-zinc-400';
  // The rule that decided, explained in the reader's language; the recorded reason (the policy's or
  // the fast model's own words) follows it. A rule this client does not know shows the reason alone.
  const ruleExplained = (rule: string | null): string | null => (rule && i18n.exists(`why.rules.${rule}`) ? t(`why.rules.${rule}` as 'why.rules.TT1') : null);

  return (
    <Dialog title={t('why.title')} onClose={onClose} testId="why-dialog" wide>
      <div className="text-sm">
        {error ? (
          <p role="alert" className="text-red-600 dark:text-red-400">{error}</p>
        ) : decisions === null ? (
          <p className="text-zinc-600 dark:text-zinc-400">{t('common.loading')}</p>
        ) : (
          <>
            {turnId !== null && subject && (
              <div className="mb-4 space-y-1" data-testid="why-answer">
                {subject.decisionsOf === null ? (
                  <p>{t('why.noTrigger')}</p>
                ) : (
                  <>
                    <p className="text-xs font-semibold text-zinc-600 uppercase dark:text-zinc-400">{t('why.answering')}</p>
                    <blockquote className="line-clamp-3 border-l-2 border-zinc-300 pl-2 text-zinc-700 dark:border-zinc-600 dark:text-zinc-300">
                      {subject.answering ? subject.answering.text || t('why.attachmentsOnly') : t('why.olderMessage')}
                    </blockquote>
                  </>
                )}
                {subject.model && <p className="text-xs text-zinc-600 dark:text-zinc-400">{t('why.answerModel', { model: subject.model })}</p>}
              </div>
            )}
            {decisions.length === 0 ? (
              subject?.decisionsOf !== null && <p data-testid="no-decision">{t('why.none')}</p>
            ) : (
          <ol className="space-y-4">
            {decisions.map((decision) => (
              <li key={decision.id} data-decision-id={decision.id} className="space-y-2">
                <p className="font-semibold">{decision.action === 'react' && decision.emoji ? t('why.reactedWith', { emoji: decision.emoji }) : t(`why.action.${decision.action}`)}</p>
                <dl className="grid grid-cols-[auto_1fr] gap-x-3 gap-y-1">
                  <dt className={term}>{t('why.reason')}</dt>
                  <dd data-testid="why-rule-explained">{ruleExplained(decision.rule) ?? decision.reason}</dd>
                  <dt className={term}>{t('why.rule')}</dt>
                  <dd>{decision.rule ? <code>{decision.rule}</code> : t('why.noRule')}</dd>
                  {ruleExplained(decision.rule) !== null && (
                    <>
                      <dt className={term}>{t('why.details')}</dt>
                      {/* As the policy or the fast model recorded it, in the words it used. */}
                      <dd className="whitespace-pre-wrap text-zinc-600 dark:text-zinc-400">{decision.reason}</dd>
                    </>
                  )}
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
          </>
        )}
      </div>
    </Dialog>
  );
}
