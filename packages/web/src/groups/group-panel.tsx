import type { Invite, NotificationLevel, UserSummary } from '@parley/protocol';
import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { ConversationEntry } from '../live/live.js';
import { memberUser, nameOf } from '../live/names.js';
import { useLive, useLiveStore } from '../live/use-live.js';
import { navigate } from '../router/router.js';
import { hasCard, PersonCard } from '../profile/person-card.js';
import { Avatar } from '../shell/avatar.js';
import { errorText } from '../shell/errors.js';
import { AssistantSettingsForm } from './assistant-settings.js';
import { ConversationApps } from '../apps/conversation-apps.js';

const field = 'min-w-0 flex-1 rounded-lg border border-zinc-300 bg-white px-3 py-1.5 text-sm dark:border-zinc-700 dark:bg-zinc-950';
/** How long a new invite link works [WB83]. */
type Expiry = 'never' | 'hour' | 'day' | 'week';
const EXPIRY_SECONDS: Record<Expiry, number | null> = { never: null, hour: 3600, day: 86_400, week: 7 * 86_400 };
const EXPIRIES: Expiry[] = ['hour', 'day', 'week', 'never'];

const button = 'rounded-lg border border-zinc-300 px-3 py-1.5 text-sm hover:bg-zinc-100 dark:border-zinc-700 dark:hover:bg-zinc-800';

/** A group's panel: rename, the assistant's settings, members, add by username, invite links (create with expiry and use limit, copy, revoke), the apps switched on [WB16]–[WB18], [WB31], [WB72], [WB83]. */
export function GroupPanel({ entry, onClose }: { entry: ConversationEntry; onClose: () => void }) {
  const { t, i18n } = useTranslation();
  const live = useLiveStore();
  const { me } = useLive();
  const { conversation, members } = entry.view;
  const id = conversation.id;
  const [title, setTitle] = useState(conversation.title ?? '');
  const [username, setUsername] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [invites, setInvites] = useState<Invite[]>([]);
  const [created, setCreated] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);
  const [expiry, setExpiry] = useState<Expiry>('week');
  const [maxUses, setMaxUses] = useState('');
  const [person, setPerson] = useState<UserSummary | null>(null);

  useEffect(() => setTitle(conversation.title ?? ''), [conversation.title]);
  const loadInvites = useCallback(async () => {
    const list = await live.client.api.listInvites({ params: { conversationId: id } });
    setInvites(list.invites.filter((invite) => invite.revokedAt === null));
  }, [live, id]);
  useEffect(() => {
    void loadInvites().catch(() => undefined);
  }, [loadInvites]);

  const attempt = (work: () => Promise<unknown>) => async (event?: FormEvent) => {
    event?.preventDefault();
    setError(null);
    try {
      await work();
    } catch (caught) {
      setError(errorText(t, caught));
    }
  };
  const rename = attempt(async () => {
    if (title.trim() && title.trim() !== conversation.title) await live.client.api.updateConversation({ params: { conversationId: id }, body: { title: title.trim() } });
  });
  const add = attempt(async () => {
    await live.client.api.addMember({ params: { conversationId: id }, body: { username: username.replace(/^@/, '') } });
    setUsername('');
  });
  const createInvite = attempt(async () => {
    const uses = maxUses.trim() === '' ? undefined : Number(maxUses);
    const body = {
      ...(EXPIRY_SECONDS[expiry] !== null ? { expiresInSeconds: EXPIRY_SECONDS[expiry] } : {}),
      ...(uses !== undefined ? { maxUses: uses } : {}),
    };
    const invite = await live.client.api.createInvite({ params: { conversationId: id }, body });
    setCreated(invite.token ? `${location.origin}/invite/${invite.token}` : null);
    setCopied(false);
    await loadInvites();
  });
  const revoke = (inviteId: string) =>
    attempt(async () => {
      await live.client.api.revokeInvite({ params: { conversationId: id, inviteId } });
      if (invites.length <= 1) setCreated(null);
      await loadInvites();
    })();
  const copy = async () => {
    if (!created) return;
    await navigator.clipboard.writeText(created).then(() => setCopied(true), () => setCopied(false));
  };
  const leave = attempt(async () => {
    if (!window.confirm(t('group.confirmLeave'))) return;
    await live.client.api.leaveConversation({ params: { conversationId: id } });
    navigate('/');
  });
  const remove = (userId: string) => attempt(() => live.client.api.removeMember({ params: { conversationId: id, userId } }))();

  return (
    <aside aria-label={t('group.details')} className="flex h-full w-full flex-col overflow-y-auto border-l border-zinc-200 bg-white md:w-80 dark:border-zinc-800 dark:bg-zinc-950">
      <div className="flex items-center justify-between border-b border-zinc-200 px-4 py-3 dark:border-zinc-800">
        <h2 className="font-semibold">{t('group.details')}</h2>
        <button type="button" onClick={onClose} className="rounded-md px-2 py-1 hover:bg-zinc-100 dark:hover:bg-zinc-800" aria-label={t('common.close')}>✕</button>
      </div>
      <div className="space-y-5 p-4">
        {error && <p role="alert" className="text-sm text-red-600 dark:text-red-400">{error}</p>}
        <form onSubmit={rename} className="space-y-1">
          <label htmlFor="group-title" className="text-xs font-semibold text-zinc-600 dark:text-zinc-400 uppercase">{t('group.name')}</label>
          <div className="flex gap-2">
            <input id="group-title" className={field} value={title} onChange={(event) => setTitle(event.target.value)} placeholder={t('group.namePlaceholder')} />
            <button type="submit" className={button}>{t('group.rename')}</button>
          </div>
        </form>
        <NotificationLevelForm entry={entry} onError={setError} />
        {conversation.assistant && <AssistantSettingsForm conversationId={id} settings={conversation.assistant} />}
        <ConversationApps entry={entry} />
        <section className="space-y-2">
          <h3 className="text-xs font-semibold text-zinc-600 dark:text-zinc-400 uppercase">{t('group.members', { count: members.length })}</h3>
          <ul className="space-y-1">
            {members.map((member) => (
              <li key={member.userId} className="flex items-center gap-2">
                <Avatar user={member.user} size="sm" />
                {hasCard(member.user, me.id) ? (
                  // A person's card: message, block [WB56].
                  <button type="button" onClick={() => setPerson(member.user)} className="min-w-0 flex-1 truncate rounded text-left text-sm hover:underline" data-person={member.user.username}>
                    {nameOf(member.user)} <span className="text-zinc-600 dark:text-zinc-400">@{member.user.username}</span>
                  </button>
                ) : (
                  <span className="min-w-0 flex-1 truncate text-sm">
                    {nameOf(memberUser(member, conversation.assistant?.name))} <span className="text-zinc-600 dark:text-zinc-400">@{member.user.username}</span>
                  </span>
                )}
                {member.role !== 'member' && <span className="text-xs text-zinc-600 dark:text-zinc-400">{t(`group.role.${member.role}`)}</span>}
                {member.role === 'member' && member.userId !== me.id && (
                  <button type="button" onClick={() => void remove(member.userId)} className="text-xs text-red-700 dark:text-red-400 hover:underline">{t('group.remove')}</button>
                )}
              </li>
            ))}
          </ul>
          <form onSubmit={add} className="flex gap-2">
            <input className={field} aria-label={t('group.addByUsername')} placeholder={t('group.addByUsername')} autoCapitalize="none" value={username} onChange={(event) => setUsername(event.target.value)} required />
            <button type="submit" className={button}>{t('group.add')}</button>
          </form>
        </section>
        <section className="space-y-2">
          <h3 className="text-xs font-semibold text-zinc-600 dark:text-zinc-400 uppercase">{t('group.inviteLinks')}</h3>
          <form onSubmit={(event) => void createInvite(event)} className="space-y-2">
            <div className="flex gap-2">
              <label className="min-w-0 flex-1 text-xs text-zinc-600 dark:text-zinc-400">
                {t('group.inviteExpiry')}
                <select className={`${field} mt-1 w-full`} value={expiry} onChange={(event) => setExpiry(event.target.value as Expiry)}>
                  {EXPIRIES.map((choice) => <option key={choice} value={choice}>{t(`group.expiry.${choice}`)}</option>)}
                </select>
              </label>
              <label className="w-28 text-xs text-zinc-600 dark:text-zinc-400">
                {t('group.inviteMaxUses')}
                <input className={`${field} mt-1 w-full`} type="number" inputMode="numeric" min={1} max={10000} step={1} placeholder={t('group.noLimit')} value={maxUses} onChange={(event) => setMaxUses(event.target.value)} />
              </label>
            </div>
            <button type="submit" className="w-full rounded-lg bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-indigo-500">
              {t('group.createInvite')}
            </button>
          </form>
          {created && (
            <div className="flex gap-2">
              <input readOnly className={field} value={created} aria-label={t('group.inviteLink')} data-testid="invite-link" onFocus={(event) => event.target.select()} />
              <button type="button" onClick={() => void copy()} className={button}>{copied ? t('group.copied') : t('group.copy')}</button>
            </div>
          )}
          <ul className="space-y-1">
            {invites.map((invite) => (
              <li key={invite.id} data-invite-id={invite.id} className="flex items-center justify-between text-xs text-zinc-600 dark:text-zinc-400">
                <span>
                  {invite.maxUses === null ? t('group.inviteUses', { count: invite.uses }) : t('group.inviteUsesOf', { count: invite.uses, max: invite.maxUses })}
                  {' · '}
                  {invite.expiresAt === null
                    ? t('group.inviteNoExpiry')
                    : new Date(invite.expiresAt).getTime() <= Date.now()
                      ? t('group.inviteExpired')
                      : t('group.inviteExpires', { date: new Date(invite.expiresAt).toLocaleString(i18n.language, { dateStyle: 'medium', timeStyle: 'short' }) })}
                </span>
                <button type="button" onClick={() => void revoke(invite.id)} className="text-red-700 dark:text-red-400 hover:underline">{t('group.revoke')}</button>
              </li>
            ))}
          </ul>
        </section>
        <button type="button" onClick={() => void leave()} className="text-sm text-red-700 dark:text-red-400 hover:underline">{t('group.leave')}</button>
      </div>
      {person && <PersonCard user={person} onClose={() => setPerson(null)} />}
    </aside>
  );
}

const LEVELS: readonly NotificationLevel[] = ['all', 'mentions', 'muted'];

/**
 * The signed-in member's notification setting for this conversation [WB65]: all messages,
 * mentions only, or muted. Saved at once with `updateMySettings`; it follows the setting the
 * server holds, so a change made on another device shows here too.
 */
export function NotificationLevelForm({ entry, onError }: { entry: ConversationEntry; onError: (error: string | null) => void }) {
  const { t } = useTranslation();
  const live = useLiveStore();
  const id = entry.view.conversation.id;
  const level = entry.view.me.notifications;
  const [saving, setSaving] = useState<NotificationLevel | null>(null);
  const choose = async (next: NotificationLevel) => {
    if (next === level) return;
    onError(null);
    setSaving(next);
    try {
      await live.setNotifications(id, next);
    } catch (caught) {
      onError(errorText(t, caught));
    } finally {
      setSaving(null);
    }
  };
  const shown = saving ?? level;
  return (
    <fieldset className="space-y-1" data-testid="notification-level">
      <legend className="text-xs font-semibold text-zinc-600 uppercase dark:text-zinc-400">{t('notify.level.title')}</legend>
      <div className="flex flex-col gap-1">
        {LEVELS.map((option) => (
          <label key={option} className="flex items-center gap-2 text-sm">
            <input type="radio" name={`notifications-${id}`} value={option} checked={shown === option} disabled={saving !== null} onChange={() => void choose(option)} className="accent-indigo-600" />
            {t(`notify.level.${option}`)}
          </label>
        ))}
      </div>
    </fieldset>
  );
}
