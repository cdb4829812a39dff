import type { ConversationView } from '@parley/protocol';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { nameOf, titleOf } from '../live/names.js';
import { useLiveStore } from '../live/use-live.js';
import { navigate } from '../router/router.js';
import { Avatar } from '../shell/avatar.js';
import { Dialog } from '../shell/dialog.js';
import { errorText, refreshMeOnRefusal } from '../shell/errors.js';

const field = 'w-full rounded-lg border border-zinc-300 bg-white px-3 py-2 text-sm dark:border-zinc-700 dark:bg-zinc-950';

/**
 * "Start a group" from a conversation [WB80]: a new group holding a copy of the messages so far,
 * with the people ticked here (the other members of this one, ticked at first) and any others by
 * username. The original conversation stays exactly as it was.
 */
export function ForkDialog({ view, meId, onClose }: { view: ConversationView; meId: string; onClose: () => void }) {
  const { t } = useTranslation();
  const live = useLiveStore();
  const others = view.members.filter((member) => member.userId !== meId && member.role !== 'assistant');
  const [title, setTitle] = useState(view.conversation.kind === 'group' ? (view.conversation.title ?? '') : '');
  const [picked, setPicked] = useState<Set<string>>(() => new Set(others.map((member) => member.user.username)));
  const [more, setMore] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const toggle = (username: string) =>
    setPicked((current) => {
      const next = new Set(current);
      if (next.has(username)) next.delete(username);
      else next.add(username);
      return next;
    });

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    setBusy(true);
    try {
      const extra = more.split(/[\s,]+/).map((name) => name.replace(/^@/, '')).filter((name) => name !== '');
      const usernames = [...new Set([...picked, ...extra])];
      const group = await live.client.api.forkConversation({
        params: { conversationId: view.conversation.id },
        body: { usernames, ...(title.trim() ? { title: title.trim() } : {}) },
      });
      live.add(group);
      onClose();
      navigate({ name: 'conversation', conversationId: group.conversation.id });
    } catch (caught) {
      setError(errorText(t, caught));
      refreshMeOnRefusal(live, caught);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog title={t('fork.title')} description={t('fork.hint', { name: titleOf(t, view, meId) })} onClose={onClose} testId="fork-dialog" wide>
      <form onSubmit={(event) => void submit(event)} className="space-y-4">
        <label className="block text-sm">
          <span className="mb-1 block text-zinc-600 dark:text-zinc-400">{t('group.name')}</span>
          <input data-autofocus className={field} value={title} maxLength={100} placeholder={t('group.namePlaceholder')} onChange={(event) => setTitle(event.target.value)} />
        </label>
        {others.length > 0 && (
          <fieldset className="space-y-1">
            <legend className="mb-1 text-sm text-zinc-600 dark:text-zinc-400">{t('fork.people')}</legend>
            {others.map((member) => (
              <label key={member.userId} className="flex items-center gap-2 rounded-lg px-1 py-1 text-sm hover:bg-zinc-50 dark:hover:bg-zinc-800">
                <input type="checkbox" className="h-4 w-4 accent-indigo-600" checked={picked.has(member.user.username)} onChange={() => toggle(member.user.username)} />
                <Avatar user={member.user} size="sm" />
                <span className="min-w-0 flex-1 truncate">{nameOf(member.user)} <span className="text-zinc-600 dark:text-zinc-400">@{member.user.username}</span></span>
              </label>
            ))}
          </fieldset>
        )}
        <label className="block text-sm">
          <span className="mb-1 block text-zinc-600 dark:text-zinc-400">{t('fork.more')}</span>
          <input className={field} value={more} autoCapitalize="none" placeholder={t('group.usernamesPlaceholder')} onChange={(event) => setMore(event.target.value)} />
        </label>
        {error && <p role="alert" className="text-sm text-red-600 dark:text-red-400">{error}</p>}
        <div className="flex justify-end gap-2">
          <button type="button" onClick={onClose} className="rounded-md px-3 py-1.5 text-sm hover:bg-zinc-100 dark:hover:bg-zinc-800">{t('common.cancel')}</button>
          <button type="submit" disabled={busy} className="rounded-md bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-indigo-500 disabled:opacity-60">{t('fork.create')}</button>
        </div>
      </form>
    </Dialog>
  );
}
