import type { Memory } from '@parley/protocol';
import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useLive, useLiveStore } from '../live/use-live.js';
import { NotificationSettings } from '../notify/desktop.js';
import { navigate } from '../router/router.js';
import { errorText } from '../shell/errors.js';
import { Family } from './family.js';
import { BlockedSection, ProfileSection } from './profile-settings.js';

const field = 'w-full rounded-lg border border-zinc-300 bg-white px-3 py-2 text-sm dark:border-zinc-700 dark:bg-zinc-950';
const primary = 'rounded-lg bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-indigo-500 disabled:opacity-60';
const plain = 'rounded-md px-2 py-1 text-sm hover:bg-zinc-100 dark:hover:bg-zinc-800';

/**
 * The person's settings: their custom instructions for the assistant and the memories it keeps of
 * them (see, edit, delete, add), both used only in their one-to-one assistant chats [WB33]; their
 * profile and the accounts they blocked [WB57]; the family links of teen accounts and guardians [WB81].
 */
export function SettingsPage({ onOpenMenu }: { onOpenMenu: () => void }) {
  const { t } = useTranslation();
  return (
    <section className="flex min-w-0 flex-1 flex-col" aria-labelledby="settings-title">
      <header className="flex items-center gap-2 border-b border-zinc-200 px-3 py-2 dark:border-zinc-800">
        <button type="button" onClick={onOpenMenu} className="rounded-md p-2 hover:bg-zinc-100 md:hidden dark:hover:bg-zinc-800" aria-label={t('shell.openMenu')}>☰</button>
        <h1 id="settings-title" className="min-w-0 flex-1 truncate font-semibold">{t('settings.title')}</h1>
        <button type="button" onClick={() => navigate('/')} className={plain}>{t('settings.back')}</button>
      </header>
      <div className="min-h-0 flex-1 overflow-y-auto">
        <div className="mx-auto max-w-2xl space-y-8 p-4">
          <ProfileSection />
          <Instructions />
          <Memories />
          <NotificationSettings />
          <BlockedSection />
          <Family />
          <AppsLink />
        </div>
      </div>
    </section>
  );
}

/** For administrators: the way to the directory of apps [WB73]. */
function AppsLink() {
  const { t } = useTranslation();
  const { me } = useLive();
  if (!me.admin) return null;
  return (
    <section className="space-y-2" aria-labelledby="apps-link-title">
      <h2 id="apps-link-title" className="text-lg font-semibold">{t('apps.admin.title')}</h2>
      <p className="text-sm text-zinc-600 dark:text-zinc-400">{t('apps.admin.openHint')}</p>
      <a href="/settings/apps" onClick={(event) => { event.preventDefault(); navigate('/settings/apps'); }} className={`${primary} inline-block`}>{t('apps.admin.open')}</a>
    </section>
  );
}

function Instructions() {
  const { t } = useTranslation();
  const live = useLiveStore();
  const [text, setText] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [saving, setSaving] = useState(false);

  useEffect(() => {
    live.client.api.getInstructions().then(
      (instructions) => setText(instructions.text),
      (caught: unknown) => setError(errorText(t, caught)),
    );
  }, [live]);

  const save = async (event: FormEvent) => {
    event.preventDefault();
    if (text === null) return;
    setError(null);
    setSaved(false);
    setSaving(true);
    try {
      const stored = await live.client.api.updateInstructions({ body: { text } });
      setText(stored.text);
      setSaved(true);
    } catch (caught) {
      setError(errorText(t, caught));
    } finally {
      setSaving(false);
    }
  };

  return (
    <form onSubmit={(event) => void save(event)} className="space-y-2" aria-labelledby="instructions-title">
      <h2 id="instructions-title" className="text-lg font-semibold">{t('settings.instructions')}</h2>
      <p id="instructions-hint" className="text-sm text-zinc-600 dark:text-zinc-400">{t('settings.instructionsHint')}</p>
      {error && <p role="alert" className="text-sm text-red-600 dark:text-red-400">{error}</p>}
      <textarea
        id="instructions"
        className={field}
        rows={6}
        maxLength={4000}
        aria-labelledby="instructions-title"
        aria-describedby="instructions-hint"
        disabled={text === null}
        value={text ?? ''}
        onChange={(event) => {
          setSaved(false);
          setText(event.target.value);
        }}
      />
      <div className="flex items-center gap-3">
        <button type="submit" className={primary} disabled={text === null || saving}>{t('settings.saveInstructions')}</button>
        <span role="status" className="text-sm text-emerald-700 dark:text-emerald-400">{saved ? t('settings.saved') : ''}</span>
      </div>
    </form>
  );
}

function Memories() {
  const { t, i18n } = useTranslation();
  const live = useLiveStore();
  const [memories, setMemories] = useState<Memory[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [draft, setDraft] = useState('');
  const [editing, setEditing] = useState<{ id: string; text: string } | null>(null);

  const load = useCallback(async () => {
    const list = await live.client.api.listMemories();
    setMemories(list.memories);
  }, [live]);
  useEffect(() => {
    load().catch((caught: unknown) => setError(errorText(t, caught)));
  }, [load]);

  const attempt = (work: () => Promise<unknown>) => async (event?: FormEvent) => {
    event?.preventDefault();
    setError(null);
    try {
      await work();
      await load();
    } catch (caught) {
      setError(errorText(t, caught));
    }
  };
  const add = attempt(async () => {
    await live.client.api.createMemory({ body: { text: draft } });
    setDraft('');
  });
  const saveEdit = attempt(async () => {
    if (!editing) return;
    await live.client.api.updateMemory({ params: { memoryId: editing.id }, body: { text: editing.text } });
    setEditing(null);
  });
  const remove = (memory: Memory) => attempt(() => live.client.api.deleteMemory({ params: { memoryId: memory.id } }))();
  const date = (at: string) => new Date(at).toLocaleDateString(i18n.language);

  return (
    <section className="space-y-3" aria-labelledby="memories-title">
      <h2 id="memories-title" className="text-lg font-semibold">{t('settings.memories')}</h2>
      <p className="text-sm text-zinc-600 dark:text-zinc-400">{t('settings.memoriesHint')}</p>
      {error && <p role="alert" className="text-sm text-red-600 dark:text-red-400">{error}</p>}
      {memories === null ? (
        <p className="text-sm text-zinc-600 dark:text-zinc-400">{t('common.loading')}</p>
      ) : memories.length === 0 ? (
        <p className="text-sm text-zinc-600 dark:text-zinc-400" data-testid="no-memories">{t('settings.noMemories')}</p>
      ) : (
        <ul className="divide-y divide-zinc-200 rounded-xl border border-zinc-200 dark:divide-zinc-800 dark:border-zinc-800" aria-labelledby="memories-title">
          {memories.map((memory) => (
            <li key={memory.id} data-memory-id={memory.id} className="p-3">
              {editing?.id === memory.id ? (
                <form onSubmit={(event) => void saveEdit(event)} className="space-y-2">
                  <textarea
                    aria-label={t('settings.editMemory')}
                    className={field}
                    rows={2}
                    maxLength={1000}
                    required
                    autoFocus
                    value={editing.text}
                    onChange={(event) => setEditing({ id: memory.id, text: event.target.value })}
                    onKeyDown={(event) => {
                      if (event.key === 'Escape') {
                        event.preventDefault();
                        setEditing(null);
                      }
                    }}
                  />
                  <div className="flex gap-2">
                    <button type="submit" className={primary}>{t('common.save')}</button>
                    <button type="button" className={plain} onClick={() => setEditing(null)}>{t('common.cancel')}</button>
                  </div>
                </form>
              ) : (
                <div className="flex items-start gap-3">
                  <div className="min-w-0 flex-1">
                    <p className="text-sm whitespace-pre-wrap">{memory.text}</p>
                    <p className="text-xs text-zinc-600 dark:text-zinc-400">
                      {memory.source === 'assistant' ? t('settings.fromAssistant') : t('settings.fromYou')} · <time dateTime={memory.updatedAt}>{date(memory.updatedAt)}</time>
                    </p>
                  </div>
                  <button type="button" className={plain} onClick={() => setEditing({ id: memory.id, text: memory.text })} aria-label={t('settings.editNamed', { text: memory.text })}>
                    {t('settings.edit')}
                  </button>
                  <button type="button" className={`${plain} text-red-700 dark:text-red-400`} onClick={() => void remove(memory)} aria-label={t('settings.deleteMemory', { text: memory.text })}>
                    {t('settings.delete')}
                  </button>
                </div>
              )}
            </li>
          ))}
        </ul>
      )}
      <form onSubmit={(event) => void add(event)} className="flex gap-2">
        <input className={field} aria-label={t('settings.newMemory')} placeholder={t('settings.newMemory')} maxLength={1000} required value={draft} onChange={(event) => setDraft(event.target.value)} />
        <button type="submit" className={`${primary} shrink-0`}>{t('settings.add')}</button>
      </form>
    </section>
  );
}
