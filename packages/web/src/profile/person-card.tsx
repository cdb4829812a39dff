import type { UserSummary } from '@parley/protocol';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { nameOf } from '../live/names.js';
import { useLive, useLiveStore } from '../live/use-live.js';
import { navigate } from '../router/router.js';
import { Avatar } from '../shell/avatar.js';
import { ConfirmDialog, Dialog } from '../shell/dialog.js';
import { errorText } from '../shell/errors.js';

const button = 'w-full rounded-lg px-3 py-2 text-sm font-medium';

/**
 * A person's card [WB56], from a message's author or a group's member list: their picture, display
 * name and @username; "Send a message" opens the direct conversation with them (the server returns
 * the one there is, or starts it); Block asks first in a dialog, Unblock does not. Never for
 * oneself nor for a bot (the callers do not offer it).
 */
export function PersonCard({ user, onClose }: { user: UserSummary; onClose: () => void }) {
  const { t } = useTranslation();
  const live = useLiveStore();
  const { blocksVersion } = useLive();
  const [blocked, setBlocked] = useState<boolean | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const name = nameOf(user);

  useEffect(() => {
    let current = true;
    live.client.api.listBlocks().then(
      (list) => current && setBlocked(list.blocked.some((entry) => entry.user.id === user.id)),
      (caught: unknown) => current && setError(errorText(t, caught)),
    );
    return () => {
      current = false;
    };
  }, [live, user.id, blocksVersion]);

  const attempt = async (work: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await work();
    } catch (caught) {
      setError(errorText(t, caught));
    } finally {
      setBusy(false);
    }
  };
  const message = () =>
    attempt(async () => {
      const view = await live.client.api.createConversation({ body: { kind: 'direct', username: user.username } });
      live.add(view);
      onClose();
      navigate({ name: 'conversation', conversationId: view.conversation.id });
    });
  const block = () =>
    attempt(async () => {
      await live.client.api.blockUser({ params: { userId: user.id } });
      setBlocked(true);
      setConfirming(false);
    });
  const unblock = () =>
    attempt(async () => {
      await live.client.api.unblockUser({ params: { userId: user.id } });
      setBlocked(false);
    });

  // Shown once the block state is known, so the control that takes the focus does not change under it.
  if (blocked === null && error === null) return null;
  return (
    <Dialog title={name} onClose={onClose} testId="person-card">
      <div className="flex flex-col items-center gap-1 text-center">
        <Avatar user={user} size="xl" />
        <p className="mt-2 text-lg font-semibold">{name}</p>
        <p className="text-sm text-zinc-600 dark:text-zinc-400">@{user.username}</p>
        {blocked && <p className="mt-1 rounded-full bg-zinc-100 px-2 py-0.5 text-xs text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300" data-testid="blocked-badge">{t('person.blocked')}</p>}
      </div>
      {error && !confirming && <p role="alert" className="mt-3 text-sm text-red-600 dark:text-red-400">{error}</p>}
      <div className="mt-4 space-y-2">
        <button type="button" data-autofocus disabled={busy || blocked === true} onClick={() => void message()} className={`${button} bg-indigo-600 text-white hover:bg-indigo-500 disabled:opacity-60`}>
          {t('person.message')}
        </button>
        {blocked === null ? null : blocked ? (
          <button type="button" disabled={busy} onClick={() => void unblock()} className={`${button} border border-zinc-300 hover:bg-zinc-100 disabled:opacity-60 dark:border-zinc-700 dark:hover:bg-zinc-800`}>
            {t('person.unblock')}
          </button>
        ) : (
          <button type="button" disabled={busy} onClick={() => setConfirming(true)} className={`${button} border border-red-300 text-red-700 hover:bg-red-50 disabled:opacity-60 dark:border-red-900 dark:text-red-400 dark:hover:bg-red-950`}>
            {t('person.block')}
          </button>
        )}
      </div>
      {confirming && (
        <ConfirmDialog
          title={t('person.blockTitle', { name })}
          text={t('person.blockConfirm', { name })}
          confirmLabel={t('person.block')}
          danger
          busy={busy}
          error={error}
          onConfirm={() => void block()}
          onCancel={() => setConfirming(false)}
        />
      )}
    </Dialog>
  );
}

/** Whether a person's card may open for `user`: another human, not oneself [WB56]. */
export function hasCard(user: UserSummary, meId: string): boolean {
  return user.kind === 'human' && user.id !== meId;
}
