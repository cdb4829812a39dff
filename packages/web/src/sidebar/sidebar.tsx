import type { ConversationKind } from '@parley/protocol';
import { type FormEvent, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { ConversationEntry } from '../live/live.js';
import { memberUser, nameOf, previewOf, titleOf } from '../live/names.js';
import { useLive, useLiveStore } from '../live/use-live.js';
import { navigate } from '../router/router.js';
import { Avatar } from '../shell/avatar.js';
import { errorText, refreshMeOnRefusal } from '../shell/errors.js';
import { Preferences } from '../shell/preferences.js';
import { useProfileStep } from '../profile/profile-step.js';
import { SECTION_ORDER, sectionsOf } from './sections.js';

/** Apple keyboards say ⌘ where others say Ctrl. */
const APPLE = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.userAgent);

const SECTION_TITLE: Record<ConversationKind, string> = {
  group: 'sidebar.groups',
  direct: 'sidebar.direct',
  assistant: 'sidebar.assistant',
};

/** Every conversation of the account, live: sections, order, unread counts and mention badges [WB6]–[WB7]. */
export function Sidebar({ activeId, settingsOpen, onSignOut, onNavigate, onFind }: { activeId: string | null; settingsOpen: boolean; onSignOut: () => void; onNavigate: () => void; onFind: () => void }) {
  const { t } = useTranslation();
  const live = useLiveStore();
  const snapshot = useLive();
  const sections = sectionsOf(snapshot.conversations.values());
  const [creating, setCreating] = useState<ConversationKind | null>(null);
  // The profile step comes before a first group, unless group chats are off (the form says why) [WB52].
  const profileStep = useProfileStep();
  const newGroup = () => {
    if (creating === 'group') return setCreating(null);
    if (!snapshot.me.groupChatsAllowed) return setCreating('group');
    profileStep.guard(() => setCreating('group'));
  };

  const open = (id: string) => {
    navigate({ name: 'conversation', conversationId: id });
    onNavigate();
  };

  const startAssistantChat = async () => {
    const view = await live.client.api.createConversation({ body: { kind: 'assistant' } });
    live.add(view);
    open(view.conversation.id);
  };

  return (
    <nav aria-label={t('sidebar.label')} className="flex h-full flex-col bg-zinc-50 dark:bg-zinc-900">
      <div className="flex items-center gap-2 border-b border-zinc-200 px-4 py-3 dark:border-zinc-800">
        <img src="/favicon.svg" alt="" className="h-7 w-7" />
        <span className="text-lg font-semibold">Parley</span>
      </div>
      <div className="flex gap-2 px-3 pt-3">
        <button type="button" onClick={newGroup} className="flex-1 rounded-lg bg-indigo-600 px-3 py-2 text-sm font-medium text-white hover:bg-indigo-500">
          {t('sidebar.newGroup')}
        </button>
        <button type="button" onClick={() => setCreating(creating === 'direct' ? null : 'direct')} className="rounded-lg border border-zinc-300 px-3 py-2 text-sm hover:bg-zinc-100 dark:border-zinc-700 dark:hover:bg-zinc-800" title={t('sidebar.newDirect')}>
          {t('sidebar.newDirectShort')}
        </button>
        <button type="button" onClick={() => void startAssistantChat()} className="rounded-lg border border-zinc-300 px-3 py-2 text-sm hover:bg-zinc-100 dark:border-zinc-700 dark:hover:bg-zinc-800" title={t('sidebar.newAssistant')} aria-label={t('sidebar.newAssistant')}>
          ✦
        </button>
      </div>
      <div className="px-3 pt-2">
        <button
          type="button"
          onClick={onFind}
          title={t('switcher.openHint')}
          aria-keyshortcuts="Control+K Meta+K"
          className="flex w-full items-center gap-2 rounded-lg border border-zinc-300 bg-white px-3 py-1.5 text-left text-sm text-zinc-600 hover:bg-zinc-100 dark:border-zinc-700 dark:bg-zinc-950 dark:text-zinc-400 dark:hover:bg-zinc-800"
        >
          <span aria-hidden="true">⌕</span>
          <span className="flex-1">{t('switcher.open')}</span>
          <kbd className="rounded border border-zinc-300 px-1 font-sans text-xs dark:border-zinc-700">{APPLE ? '⌘K' : 'Ctrl K'}</kbd>
        </button>
      </div>
      {profileStep.step}
      {creating && <CreateForm kind={creating} onDone={(id) => { setCreating(null); if (id) open(id); }} />}
      <div className="min-h-0 flex-1 overflow-y-auto px-2 py-2">
        {snapshot.conversations.size === 0 && <p className="px-2 py-6 text-center text-sm text-zinc-600 dark:text-zinc-400">{t('sidebar.empty')}</p>}
        {SECTION_ORDER.map((kind) =>
          sections[kind].length === 0 ? null : (
            <section key={kind} aria-label={t(SECTION_TITLE[kind])} className="mb-3">
              <h2 className="px-2 pb-1 text-xs font-semibold tracking-wide text-zinc-600 dark:text-zinc-400 uppercase dark:text-zinc-400">{t(SECTION_TITLE[kind])}</h2>
              <ul>
                {sections[kind].map((entry) => (
                  <Row key={entry.view.conversation.id} entry={entry} active={entry.view.conversation.id === activeId} onOpen={open} />
                ))}
              </ul>
            </section>
          ),
        )}
      </div>
      <div className="space-y-2 border-t border-zinc-200 p-3 dark:border-zinc-800">
        {/* The buttons move under the name as one when both do not fit beside it (longer words in French). */}
        <div className="flex flex-wrap items-center gap-x-2 gap-y-1">
          <Avatar user={snapshot.me} size="sm" />
          <div className="min-w-0 flex-1 basis-24">
            <div className="truncate text-sm font-medium">{nameOf(snapshot.me)}</div>
            <div className="truncate text-xs text-zinc-600 dark:text-zinc-400">@{snapshot.me.username}</div>
          </div>
          <div className="flex shrink-0 items-center gap-2">
          <button
            type="button"
            onClick={() => {
              navigate('/settings');
              onNavigate();
            }}
            aria-current={settingsOpen ? 'page' : undefined}
            className={`rounded-md px-2 py-1 text-sm text-zinc-600 hover:bg-zinc-200 dark:text-zinc-300 dark:hover:bg-zinc-800 ${settingsOpen ? 'bg-indigo-100 dark:bg-indigo-950' : ''}`}
          >
            {t('settings.open')}
          </button>
          <button type="button" onClick={onSignOut} className="rounded-md px-2 py-1 text-sm text-zinc-600 hover:bg-zinc-200 dark:text-zinc-300 dark:hover:bg-zinc-800">
            {t('auth.signOut')}
          </button>
          </div>
        </div>
        <Preferences />
      </div>
    </nav>
  );
}

function Row({ entry, active, onOpen }: { entry: ConversationEntry; active: boolean; onOpen: (id: string) => void }) {
  const { t } = useTranslation();
  const { me } = useLive();
  const { view } = entry;
  const title = titleOf(t, view, me.id);
  const last = view.lastMessage;
  // The assistant goes by the name this conversation gave it, as in the message list.
  const authorMember = last ? view.members.find((member) => member.userId === last.authorId) : undefined;
  const author = authorMember ? memberUser(authorMember, view.conversation.assistant?.name) : undefined;
  const preview = !last ? t('sidebar.noMessages') : last.deletedAt ? t('message.deleted') : `${last.authorId === me.id ? t('sidebar.you') : nameOf(author)}: ${previewOf(last.text)}`;
  const other = view.conversation.kind === 'direct' ? view.members.find((member) => member.userId !== me.id)?.user : undefined;
  return (
    <li>
      <button
        type="button"
        onClick={() => onOpen(view.conversation.id)}
        aria-current={active ? 'page' : undefined}
        data-conversation-id={view.conversation.id}
        className={`flex w-full items-center gap-3 rounded-lg px-2 py-2 text-left ${active ? 'bg-indigo-100 dark:bg-indigo-950' : 'hover:bg-zinc-200/70 dark:hover:bg-zinc-800'}`}
      >
        {view.conversation.kind === 'group' ? (
          <span aria-hidden="true" className="inline-flex h-9 w-9 shrink-0 items-center justify-center rounded-lg bg-zinc-300 text-sm font-semibold dark:bg-zinc-700">#</span>
        ) : view.conversation.kind === 'assistant' ? (
          <Avatar label="✦" user={{ id: 'assistant', username: 'assistant', displayName: null, avatarUrl: null, kind: 'bot' }} />
        ) : (
          <Avatar user={other} />
        )}
        <span className="min-w-0 flex-1">
          <span className={`block truncate text-sm ${entry.unread > 0 ? 'font-semibold' : 'font-medium'}`}>{title}</span>
          <span className="block truncate text-xs text-zinc-600 dark:text-zinc-400">{preview}</span>
        </span>
        {entry.mentions > 0 && (
          <span className="rounded-full bg-rose-600 px-1.5 py-0.5 text-xs font-semibold text-white" aria-label={t('sidebar.mentions', { count: entry.mentions })} data-badge="mentions">
            @{entry.mentions}
          </span>
        )}
        {entry.unread > 0 && (
          <span className="min-w-5 rounded-full bg-indigo-600 px-1.5 py-0.5 text-center text-xs font-semibold text-white" aria-label={t('sidebar.unread', { count: entry.unread })} data-badge="unread">
            {entry.unread}
          </span>
        )}
      </button>
    </li>
  );
}

/**
 * New group (a name and optional usernames) or new direct message (a username). A teen whose
 * guardian switched group chats off is told why instead of being offered a form that must fail [WB82].
 */
function CreateForm({ kind, onDone }: { kind: ConversationKind; onDone: (id: string | null) => void }) {
  const { t } = useTranslation();
  const live = useLiveStore();
  const { me } = useLive();
  // The guardian may have changed the switch since this page loaded.
  useEffect(() => {
    if (kind === 'group' && me.ageBand === 'teen') live.client.api.getMe().then((fresh) => live.setMe(fresh), () => undefined);
  }, [kind, me.ageBand, live]);
  const [title, setTitle] = useState('');
  const [usernames, setUsernames] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    try {
      const names = usernames.split(/[\s,]+/).map((name) => name.replace(/^@/, '')).filter((name) => name !== '');
      const view =
        kind === 'direct'
          ? await live.client.api.createConversation({ body: { kind: 'direct', username: names[0] ?? '' } })
          : await live.client.api.createConversation({ body: { kind: 'group', usernames: names, ...(title.trim() ? { title: title.trim() } : {}) } });
      live.add(view);
      onDone(view.conversation.id);
    } catch (caught) {
      setError(errorText(t, caught));
      refreshMeOnRefusal(live, caught);
    }
  };
  const field = 'w-full rounded-lg border border-zinc-300 bg-white px-3 py-2 text-sm dark:border-zinc-700 dark:bg-zinc-950';
  if (kind === 'group' && !me.groupChatsAllowed) {
    return (
      <div className="mx-3 mt-3 space-y-2 rounded-xl border border-amber-200 bg-amber-50 p-3 text-sm text-amber-900 dark:border-amber-900 dark:bg-amber-950 dark:text-amber-100" role="status" data-testid="group-chats-off">
        <p>{t('family.blockedCreate')}</p>
        <div className="flex justify-end">
          <button type="button" onClick={() => onDone(null)} className="rounded-md px-3 py-1.5 hover:bg-amber-100 dark:hover:bg-amber-900">{t('common.close')}</button>
        </div>
      </div>
    );
  }
  return (
    <form onSubmit={submit} className="mx-3 mt-3 space-y-2 rounded-xl border border-zinc-200 bg-white p-3 dark:border-zinc-800 dark:bg-zinc-950" aria-label={kind === 'group' ? t('sidebar.newGroup') : t('sidebar.newDirect')}>
      {kind === 'group' && <input className={field} name="title" placeholder={t('group.namePlaceholder')} value={title} onChange={(event) => setTitle(event.target.value)} autoFocus />}
      <input
        className={field}
        name="usernames"
        placeholder={kind === 'group' ? t('group.usernamesPlaceholder') : t('sidebar.usernamePlaceholder')}
        required={kind === 'direct'}
        autoCapitalize="none"
        value={usernames}
        onChange={(event) => setUsernames(event.target.value)}
        autoFocus={kind === 'direct'}
      />
      {error && <p role="alert" className="text-xs text-red-600 dark:text-red-400">{error}</p>}
      <div className="flex justify-end gap-2">
        <button type="button" onClick={() => onDone(null)} className="rounded-md px-3 py-1.5 text-sm hover:bg-zinc-100 dark:hover:bg-zinc-800">{t('common.cancel')}</button>
        <button type="submit" className="rounded-md bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-indigo-500">{t('common.create')}</button>
      </div>
    </form>
  );
}
