import type { AssistantSettings } from '@parley/protocol';
import { type FormEvent, useEffect, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useLiveStore } from '../live/use-live.js';
import { errorText } from '../shell/errors.js';

const field = 'w-full rounded-lg border border-zinc-300 bg-white px-3 py-1.5 text-sm dark:border-zinc-700 dark:bg-zinc-950';
const label = 'text-xs font-semibold text-zinc-600 uppercase dark:text-zinc-400';

/**
 * The assistant's seat in a group: its name, personality, response mode and talkativeness, saved
 * through `updateConversation`. The form follows the settings as the server holds them, so a change
 * saved by another member shows here live (the `conversation-updated` event) [WB31].
 */
export function AssistantSettingsForm({ conversationId, settings }: { conversationId: string; settings: AssistantSettings }) {
  const { t } = useTranslation();
  const live = useLiveStore();
  const ids = useId();
  const [draft, setDraft] = useState<AssistantSettings>(settings);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [saving, setSaving] = useState(false);

  useEffect(() => {
    setDraft(settings);
  }, [settings.name, settings.personality, settings.mode, settings.talkativeness]);

  const change = (patch: Partial<AssistantSettings>) => {
    setSaved(false);
    setDraft((current) => ({ ...current, ...patch }));
  };
  const save = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    setSaved(false);
    setSaving(true);
    try {
      await live.client.api.updateConversation({
        params: { conversationId },
        body: { assistant: { name: draft.name.trim(), personality: draft.personality, mode: draft.mode, talkativeness: draft.talkativeness } },
      });
      setSaved(true);
    } catch (caught) {
      setError(errorText(t, caught));
    } finally {
      setSaving(false);
    }
  };
  const percent = Math.round(draft.talkativeness * 100);

  return (
    <form onSubmit={(event) => void save(event)} className="space-y-3" aria-labelledby={`${ids}-title`} data-testid="assistant-settings">
      <h3 id={`${ids}-title`} className={label}>{t('assistantSettings.title')}</h3>
      {error && <p role="alert" className="text-sm text-red-600 dark:text-red-400">{error}</p>}
      <div className="space-y-1">
        <label htmlFor={`${ids}-name`} className="text-sm font-medium">{t('assistantSettings.name')}</label>
        <input id={`${ids}-name`} className={field} value={draft.name} maxLength={40} required onChange={(event) => change({ name: event.target.value })} />
      </div>
      <div className="space-y-1">
        <label htmlFor={`${ids}-personality`} className="text-sm font-medium">{t('assistantSettings.personality')}</label>
        <textarea
          id={`${ids}-personality`}
          className={field}
          rows={3}
          maxLength={2000}
          aria-describedby={`${ids}-personality-hint`}
          value={draft.personality}
          onChange={(event) => change({ personality: event.target.value })}
        />
        <p id={`${ids}-personality-hint`} className="text-xs text-zinc-600 dark:text-zinc-400">{t('assistantSettings.personalityHint')}</p>
      </div>
      <fieldset className="space-y-1">
        <legend className="text-sm font-medium">{t('assistantSettings.mode')}</legend>
        {(['auto', 'mentions'] as const).map((mode) => (
          <label key={mode} className="flex items-start gap-2 text-sm">
            <input type="radio" name={`${ids}-mode`} value={mode} checked={draft.mode === mode} onChange={() => change({ mode })} className="mt-1" />
            <span>{t(`assistantSettings.${mode}`)}</span>
          </label>
        ))}
      </fieldset>
      <div className="space-y-1">
        <label htmlFor={`${ids}-talkativeness`} className="text-sm font-medium">{t('assistantSettings.talkativeness')}</label>
        <input
          id={`${ids}-talkativeness`}
          type="range"
          min={0}
          max={100}
          step={5}
          value={percent}
          aria-valuetext={`${percent}%`}
          onChange={(event) => change({ talkativeness: Number(event.target.value) / 100 })}
          className="w-full accent-indigo-600"
        />
        <div className="flex justify-between text-xs text-zinc-600 dark:text-zinc-400" aria-hidden="true">
          <span>{t('assistantSettings.quiet')}</span>
          <span>{percent}%</span>
          <span>{t('assistantSettings.chatty')}</span>
        </div>
      </div>
      <div className="flex items-center gap-3">
        <button type="submit" disabled={saving} className="rounded-lg bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-indigo-500 disabled:opacity-60">
          {t('assistantSettings.save')}
        </button>
        <span role="status" className="text-sm text-emerald-700 dark:text-emerald-400">{saved ? t('assistantSettings.saved') : ''}</span>
      </div>
    </form>
  );
}
