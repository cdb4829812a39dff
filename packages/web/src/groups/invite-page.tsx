import { type InvitePreview, ParleyError } from '@parley/protocol';
import { useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { nameOf } from '../live/names.js';
import { useLive, useLiveStore } from '../live/use-live.js';
import { navigate } from '../router/router.js';
import { useProfileStep } from '../profile/profile-step.js';
import { ConfirmDialog } from '../shell/dialog.js';
import { errorText, refreshMeOnRefusal } from '../shell/errors.js';

/**
 * An invite link: the group's name and size, a warning about blocked members, then join and land in
 * it [WB19]. The profile step comes first when it is due [WB52]; with someone blocked in the group,
 * Join asks once more in a dialog that names them [WB58].
 */
export function InvitePage({ token, onOpenMenu }: { token: string; onOpenMenu: () => void }) {
  const { t } = useTranslation();
  const live = useLiveStore();
  const { me } = useLive();
  const [preview, setPreview] = useState<InvitePreview | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const profileStep = useProfileStep();

  // A teen's guardian may have changed the group-chats switch since this page loaded [WB82].
  useEffect(() => {
    if (me.ageBand === 'teen') live.client.api.getMe().then((fresh) => live.setMe(fresh), () => undefined);
  }, [live, me.ageBand]);
  const load = useCallback(() => {
    live.client.api.previewInvite({ params: { token } }).then(setPreview, (caught: unknown) => setError(errorText(t, caught)));
  }, [live, token, t]);
  useEffect(load, [load]);

  const join = async (acknowledgeBlocked: boolean) => {
    setBusy(true);
    try {
      const view = await live.client.api.joinInvite({ params: { token }, body: { acknowledgeBlocked } });
      live.add(view, { countUnread: false });
      navigate({ name: 'conversation', conversationId: view.conversation.id }, { replace: true });
    } catch (caught) {
      // Someone blocked joined since the preview was read: read it again, so the warning names them.
      if (caught instanceof ParleyError && caught.code === 'BLOCKED_MEMBER_WARNING') load();
      else setError(errorText(t, caught));
      refreshMeOnRefusal(live, caught);
    } finally {
      setBusy(false);
      setConfirming(false);
    }
  };

  const start = () => {
    if (!preview) return;
    if (preview.alreadyMember) return navigate({ name: 'conversation', conversationId: preview.conversationId }, { replace: true });
    profileStep.guard(() => (preview.blockedMembers.length > 0 ? setConfirming(true) : void join(false)));
  };
  const blockedNames = preview ? preview.blockedMembers.map((user) => nameOf(user)).join(', ') : '';

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
                  {t('invite.blockedWarning', { names: blockedNames })}
                </p>
              )}
              {!preview.alreadyMember && !me.groupChatsAllowed && (
                <p className="mt-3 rounded-lg bg-amber-50 p-2 text-sm text-amber-900 dark:bg-amber-950 dark:text-amber-200" role="status" data-testid="group-chats-off">
                  {t('family.blockedCreate')}
                </p>
              )}
              <button type="button" disabled={busy || (!preview.alreadyMember && !me.groupChatsAllowed)} onClick={start} className="mt-5 w-full rounded-lg bg-indigo-600 px-3 py-2 font-medium text-white hover:bg-indigo-500 disabled:opacity-60">
                {preview.alreadyMember ? t('invite.open') : t('invite.join')}
              </button>
            </>
          )}
        </div>
      </div>
      {profileStep.step}
      {confirming && (
        <ConfirmDialog
          title={t('invite.blockedTitle')}
          text={t('invite.blockedConfirm', { names: blockedNames })}
          confirmLabel={t('invite.joinAnyway')}
          busy={busy}
          onConfirm={() => void join(true)}
          onCancel={() => setConfirming(false)}
        />
      )}
    </section>
  );
}
