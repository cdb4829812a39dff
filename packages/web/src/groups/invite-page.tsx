import type { InvitePreview } from '@parley/protocol';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { nameOf } from '../live/names.js';
import { useLive, useLiveStore } from '../live/use-live.js';
import { navigate } from '../router/router.js';
import { errorText, refreshMeOnRefusal } from '../shell/errors.js';

/** An invite link: the group's name and size, a warning about blocked members, then join and land in it [WB19]. */
export function InvitePage({ token, onOpenMenu }: { token: string; onOpenMenu: () => void }) {
  const { t } = useTranslation();
  const live = useLiveStore();
  const { me } = useLive();
  const [preview, setPreview] = useState<InvitePreview | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  // A teen's guardian may have changed the group-chats switch since this page loaded [WB82].
  useEffect(() => {
    if (me.ageBand === 'teen') live.client.api.getMe().then((fresh) => live.setMe(fresh), () => undefined);
  }, [live, me.ageBand]);
  useEffect(() => {
    live.client.api.previewInvite({ params: { token } }).then(setPreview, (caught: unknown) => setError(errorText(t, caught)));
  }, [live, token, t]);

  const join = async () => {
    if (!preview) return;
    if (preview.alreadyMember) return navigate({ name: 'conversation', conversationId: preview.conversationId }, { replace: true });
    setBusy(true);
    try {
      const view = await live.client.api.joinInvite({ params: { token }, body: { acknowledgeBlocked: preview.blockedMembers.length > 0 } });
      live.add(view, { countUnread: false });
      navigate({ name: 'conversation', conversationId: view.conversation.id }, { replace: true });
    } catch (caught) {
      setError(errorText(t, caught));
      refreshMeOnRefusal(live, caught);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="flex h-full flex-1 flex-col">
      <header className="flex items-center border-b border-zinc-200 px-3 py-2 md:hidden dark:border-zinc-800">
        <button type="button" onClick={onOpenMenu} className="rounded-md p-2 hover:bg-zinc-100 dark:hover:bg-zinc-800" aria-label={t('shell.openMenu')}>☰</button>
      </header>
      <div className="flex flex-1 items-center justify-center p-4">
        <div className="w-full max-w-sm rounded-2xl border border-zinc-200 p-6 text-center shadow-sm dark:border-zinc-800">
          {error ? (
            <p role="alert" className="text-red-600 dark:text-red-400">{error}</p>
          ) : !preview ? (
            <p className="text-zinc-600 dark:text-zinc-400">{t('common.loading')}</p>
          ) : (
            <>
              <p className="text-sm text-zinc-600 dark:text-zinc-400">{t('invite.invited')}</p>
              <h1 className="mt-1 text-xl font-semibold">{preview.title ?? t('sidebar.untitledGroup')}</h1>
              <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">{t('invite.size', { count: preview.memberCount, limit: preview.memberLimit })}</p>
              {preview.blockedMembers.length > 0 && (
                <p className="mt-3 rounded-lg bg-amber-50 p-2 text-sm text-amber-900 dark:bg-amber-950 dark:text-amber-200" role="alert">
                  {t('invite.blockedWarning', { names: preview.blockedMembers.map((user) => nameOf(user)).join(', ') })}
                </p>
              )}
              {!preview.alreadyMember && !me.groupChatsAllowed && (
                <p className="mt-3 rounded-lg bg-amber-50 p-2 text-sm text-amber-900 dark:bg-amber-950 dark:text-amber-200" role="status" data-testid="group-chats-off">
                  {t('family.blockedCreate')}
                </p>
              )}
              <button type="button" disabled={busy || (!preview.alreadyMember && !me.groupChatsAllowed)} onClick={() => void join()} className="mt-5 w-full rounded-lg bg-indigo-600 px-3 py-2 font-medium text-white hover:bg-indigo-500 disabled:opacity-60">
                {preview.alreadyMember ? t('invite.open') : t('invite.join')}
              </button>
            </>
          )}
        </div>
      </div>
    </section>
  );
}
