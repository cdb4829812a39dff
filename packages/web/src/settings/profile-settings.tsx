import type { BlockList } from '@parley/protocol';
import { useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { nameOf } from '../live/names.js';
import { useLive, useLiveStore } from '../live/use-live.js';
import { ProfileForm } from '../profile/profile-form.js';
import { Avatar } from '../shell/avatar.js';
import { errorText } from '../shell/errors.js';

/** The profile, to edit later: the same form as the profile step [WB57]. */
export function ProfileSection() {
  const { t } = useTranslation();
  const { me } = useLive();
  return (
    <section className="space-y-3" aria-labelledby="profile-title">
      <h2 id="profile-title" className="text-lg font-semibold">{t('profile.title')}</h2>
      <ProfileForm me={me} saveLabel={t('profile.save')} onSaved={() => undefined} />
    </section>
  );
}

/** The accounts the person blocked, each with Unblock; a block or unblock anywhere (another tab) shows at once [WB57]. */
export function BlockedSection() {
  const { t, i18n } = useTranslation();
  const live = useLiveStore();
  const { blocksVersion } = useLive();
  const [blocked, setBlocked] = useState<BlockList['blocked'] | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => setBlocked((await live.client.api.listBlocks()).blocked), [live]);
  useEffect(() => {
    load().catch((caught: unknown) => setError(errorText(t, caught)));
  }, [load, blocksVersion]);

  const unblock = async (userId: string) => {
    setError(null);
    try {
      await live.client.api.unblockUser({ params: { userId } });
      await load();
    } catch (caught) {
      setError(errorText(t, caught));
    }
  };

  return (
    <section className="space-y-3" aria-labelledby="blocked-title">
      <h2 id="blocked-title" className="text-lg font-semibold">{t('settings.blocked')}</h2>
      <p className="text-sm text-zinc-600 dark:text-zinc-400">{t('settings.blockedHint')}</p>
      {error && <p role="alert" className="text-sm text-red-600 dark:text-red-400">{error}</p>}
      {blocked === null ? (
        <p className="text-sm text-zinc-600 dark:text-zinc-400">{t('common.loading')}</p>
      ) : blocked.length === 0 ? (
        <p className="text-sm text-zinc-600 dark:text-zinc-400" data-testid="no-blocked">{t('settings.noBlocked')}</p>
      ) : (
        <ul className="divide-y divide-zinc-200 rounded-xl border border-zinc-200 dark:divide-zinc-800 dark:border-zinc-800" aria-labelledby="blocked-title">
          {blocked.map(({ user, blockedAt }) => (
            <li key={user.id} data-blocked-id={user.id} className="flex items-center gap-3 p-3">
              <Avatar user={user} size="sm" />
              <div className="min-w-0 flex-1">
                <p className="truncate text-sm font-medium">{nameOf(user)} <span className="font-normal text-zinc-600 dark:text-zinc-400">@{user.username}</span></p>
                <p className="text-xs text-zinc-600 dark:text-zinc-400">
                  {t('settings.blockedSince')} <time dateTime={blockedAt}>{new Date(blockedAt).toLocaleDateString(i18n.language)}</time>
                </p>
              </div>
              <button type="button" onClick={() => void unblock(user.id)} className="rounded-md px-2 py-1 text-sm hover:bg-zinc-100 dark:hover:bg-zinc-800" aria-label={t('settings.unblockNamed', { name: nameOf(user) })}>
                {t('person.unblock')}
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
