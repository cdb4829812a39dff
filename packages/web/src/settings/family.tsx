import type { CreateGuardianLinkResponse, GuardianLink, GuardianLinkList } from '@parley/protocol';
import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { nameOf } from '../live/names.js';
import { useLive, useLiveStore } from '../live/use-live.js';
import { Avatar } from '../shell/avatar.js';
import { errorText } from '../shell/errors.js';

const field = 'w-full rounded-lg border border-zinc-300 bg-white px-3 py-2 text-sm dark:border-zinc-700 dark:bg-zinc-950';
const primary = 'shrink-0 rounded-lg bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-indigo-500 disabled:opacity-60';
const plain = 'rounded-md px-2 py-1 text-sm hover:bg-zinc-100 dark:hover:bg-zinc-800';

/**
 * Teen accounts and guardians [WB81], [WB82]. An adult links a teen by username and gets a
 * one-time code, which the teen enters in their own settings; once linked, the guardian switches
 * the teen's group chats on or off, or ends the link. A teen sees their guardian and what is
 * allowed, or enters the code.
 */
export function Family() {
  const { t } = useTranslation();
  const live = useLiveStore();
  const { me } = useLive();
  const [links, setLinks] = useState<GuardianLinkList | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    setLinks(await live.client.api.listGuardianLinks());
  }, [live]);
  useEffect(() => {
    load().catch((caught: unknown) => setError(errorText(t, caught)));
  }, [load]);

  return (
    <section className="space-y-3" aria-labelledby="family-title">
      <h2 id="family-title" className="text-lg font-semibold">{t('family.title')}</h2>
      {error && <p role="alert" className="text-sm text-red-600 dark:text-red-400">{error}</p>}
      {links === null ? (
        <p className="text-sm text-zinc-600 dark:text-zinc-400">{t('common.loading')}</p>
      ) : me.ageBand === 'teen' ? (
        <TeenSide link={links.guardian} onChanged={load} />
      ) : (
        <GuardianSide teens={links.teens} onChanged={load} />
      )}
    </section>
  );
}

function GuardianSide({ teens, onChanged }: { teens: GuardianLink[]; onChanged: () => Promise<void> }) {
  const { t, i18n } = useTranslation();
  const live = useLiveStore();
  const [username, setUsername] = useState('');
  const [issued, setIssued] = useState<CreateGuardianLinkResponse | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  // The switch moves at once; it goes back if the server refuses.
  const [switching, setSwitching] = useState<{ linkId: string; allowed: boolean } | null>(null);

  const attempt = async (key: string, work: () => Promise<unknown>) => {
    setError(null);
    setBusy(key);
    try {
      await work();
      await onChanged();
    } catch (caught) {
      setError(errorText(t, caught));
    } finally {
      setBusy(null);
    }
  };
  const link = (event: FormEvent) => {
    event.preventDefault();
    void attempt('link', async () => {
      setIssued(await live.client.api.createGuardianLink({ body: { teenUsername: username.trim().replace(/^@/, '') } }));
      setUsername('');
    });
  };
  const setGroupChats = (teen: GuardianLink, allowed: boolean) => {
    setSwitching({ linkId: teen.id, allowed });
    void attempt(teen.id, () => live.client.api.updateTeenControls({ params: { linkId: teen.id }, body: { groupChatsAllowed: allowed } })).finally(() => setSwitching(null));
  };
  const unlink = (teen: GuardianLink) => {
    const name = nameOf(teen.teen);
    if (!window.confirm(teen.status === 'pending' ? t('family.confirmCancel', { name }) : t('family.confirmUnlink', { name }))) return;
    void attempt(teen.id, async () => {
      await live.client.api.deleteGuardianLink({ params: { linkId: teen.id } });
      if (issued?.link.id === teen.id) setIssued(null);
    });
  };
  const until = (at: string) => new Date(at).toLocaleString(i18n.language, { dateStyle: 'medium', timeStyle: 'short' });

  return (
    <>
      <p className="text-sm text-zinc-600 dark:text-zinc-400">{t('family.guardianHint')}</p>
      {error && <p role="alert" className="text-sm text-red-600 dark:text-red-400">{error}</p>}
      {teens.length > 0 && (
        <ul className="divide-y divide-zinc-200 rounded-xl border border-zinc-200 dark:divide-zinc-800 dark:border-zinc-800" aria-label={t('family.teens')}>
          {teens.map((teen) => (
            <li key={teen.id} data-link-id={teen.id} className="flex flex-wrap items-center gap-3 p-3">
              <Avatar user={teen.teen} size="sm" />
              <div className="min-w-0 flex-1">
                <p className="truncate text-sm font-medium">{nameOf(teen.teen)} <span className="font-normal text-zinc-600 dark:text-zinc-400">@{teen.teen.username}</span></p>
                <p className="text-xs text-zinc-600 dark:text-zinc-400">{teen.status === 'pending' ? t('family.pending') : t('family.linked')}</p>
              </div>
              {teen.status === 'active' && (
                <label className="flex items-center gap-2 text-sm">
                  <input
                    type="checkbox"
                    role="switch"
                    className="h-4 w-4 accent-indigo-600"
                    checked={switching?.linkId === teen.id ? switching.allowed : teen.groupChatsAllowed}
                    onChange={(event) => setGroupChats(teen, event.target.checked)}
                  />
                  {t('family.groupChats')}
                </label>
              )}
              <button type="button" className={`${plain} text-red-700 dark:text-red-400`} disabled={busy === teen.id} onClick={() => unlink(teen)}>
                {teen.status === 'pending' ? t('family.cancel') : t('family.unlink')}
              </button>
            </li>
          ))}
        </ul>
      )}
      {issued && (
        <div className="rounded-xl border border-indigo-200 bg-indigo-50 p-3 text-sm dark:border-indigo-900 dark:bg-indigo-950" role="status">
          <p>{t('family.codeFor', { name: nameOf(issued.link.teen) })}</p>
          <p className="my-2 font-mono text-2xl tracking-widest select-all" data-testid="guardian-code">{issued.code}</p>
          <p className="text-xs text-zinc-700 dark:text-zinc-300">{t('family.codeUntil', { date: until(issued.expiresAt) })}</p>
        </div>
      )}
      <form onSubmit={link} className="flex gap-2">
        <input
          className={field}
          aria-label={t('family.teenUsername')}
          placeholder={t('family.teenUsername')}
          autoCapitalize="none"
          required
          value={username}
          onChange={(event) => setUsername(event.target.value)}
        />
        <button type="submit" className={primary} disabled={busy === 'link'}>{t('family.link')}</button>
      </form>
    </>
  );
}

function TeenSide({ link, onChanged }: { link: GuardianLink | null; onChanged: () => Promise<void> }) {
  const { t } = useTranslation();
  const live = useLiveStore();
  const [code, setCode] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const confirm = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    setBusy(true);
    try {
      await live.client.api.confirmGuardianLink({ body: { code: code.trim() } });
      setCode('');
      await onChanged();
      live.setMe(await live.client.api.getMe());
    } catch (caught) {
      setError(errorText(t, caught));
    } finally {
      setBusy(false);
    }
  };

  if (link && link.status === 'active') {
    return (
      <div className="flex items-center gap-3 rounded-xl border border-zinc-200 p-3 dark:border-zinc-800" data-testid="my-guardian">
        <Avatar user={link.guardian} size="sm" />
        <div className="min-w-0 flex-1 text-sm">
          <p>{t('family.yourGuardian', { name: nameOf(link.guardian) })}</p>
          <p className="text-zinc-600 dark:text-zinc-400">{link.groupChatsAllowed ? t('family.groupChatsOn') : t('family.groupChatsOff')}</p>
        </div>
      </div>
    );
  }
  return (
    <form onSubmit={(event) => void confirm(event)} className="space-y-2">
      <p className="text-sm text-zinc-600 dark:text-zinc-400" id="teen-code-hint">{t('family.teenHint')}</p>
      {error && <p role="alert" className="text-sm text-red-600 dark:text-red-400">{error}</p>}
      <div className="flex gap-2">
        <input
          className={`${field} font-mono`}
          aria-label={t('family.code')}
          aria-describedby="teen-code-hint"
          placeholder={t('family.code')}
          autoCapitalize="none"
          autoComplete="one-time-code"
          required
          maxLength={64}
          value={code}
          onChange={(event) => setCode(event.target.value)}
        />
        <button type="submit" className={primary} disabled={busy}>{t('family.confirm')}</button>
      </div>
    </form>
  );
}
