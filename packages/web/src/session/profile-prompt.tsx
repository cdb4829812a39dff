import type { Me } from '@parley/protocol';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useLiveStore } from '../live/use-live.js';
import { errorText } from '../shell/errors.js';

/** Asked once of an account without a display name (made through the API): groups need one. */
export function ProfilePrompt({ onSaved }: { onSaved: (me: Me) => void }) {
  const { t } = useTranslation();
  const live = useLiveStore();
  const [displayName, setDisplayName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const save = async (event: FormEvent) => {
    event.preventDefault();
    try {
      onSaved(await live.client.api.updateMe({ body: { displayName } }));
    } catch (caught) {
      setError(errorText(t, caught));
    }
  };
  return (
    <form onSubmit={save} className="flex flex-wrap items-center justify-center gap-2 bg-indigo-50 px-3 py-2 text-sm dark:bg-indigo-950" aria-label={t('profile.title')}>
      <span>{t('profile.ask')}</span>
      <input aria-label={t('auth.displayName')} required value={displayName} onChange={(event) => setDisplayName(event.target.value)} className="rounded-md border border-zinc-300 bg-white px-2 py-1 dark:border-zinc-700 dark:bg-zinc-900" />
      <button type="submit" className="rounded-md bg-indigo-600 px-3 py-1 font-medium text-white">{t('common.save')}</button>
      {error && <span role="alert" className="text-red-700 dark:text-red-400">{error}</span>}
    </form>
  );
}
