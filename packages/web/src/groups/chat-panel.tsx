import type { UserSummary } from '@parley/protocol';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ConversationApps } from '../apps/conversation-apps.js';
import type { ConversationEntry } from '../live/live.js';
import { nameOf } from '../live/names.js';
import { useLive } from '../live/use-live.js';
import { hasCard, PersonCard } from '../profile/person-card.js';
import { Avatar } from '../shell/avatar.js';
import { AssistantSettingsForm } from './assistant-settings.js';
import { NotificationLevelForm } from './group-panel.js';

/**
 * The panel of a direct conversation or an assistant chat [WB85]: the notification setting, as a
 * group has it; in a direct conversation, the other person (their card: block, unblock); in an
 * assistant chat, the assistant's settings and the apps switched on ([AP6] allows both kinds).
 */
export function ChatPanel({ entry, onClose }: { entry: ConversationEntry; onClose: () => void }) {
  const { t } = useTranslation();
  const { me } = useLive();
  const { conversation, members } = entry.view;
  const [error, setError] = useState<string | null>(null);
  const [person, setPerson] = useState<UserSummary | null>(null);
  const other = conversation.kind === 'direct' ? members.find((member) => member.userId !== me.id) : undefined;

  return (
    <aside aria-label={t('conversation.details')} className="flex h-full w-full flex-col overflow-y-auto border-l border-zinc-200 bg-white md:w-80 dark:border-zinc-800 dark:bg-zinc-950">
      <div className="flex items-center justify-between border-b border-zinc-200 px-4 py-3 dark:border-zinc-800">
        <h2 className="font-semibold">{t('conversation.details')}</h2>
        <button type="button" onClick={onClose} className="rounded-md px-2 py-1 hover:bg-zinc-100 dark:hover:bg-zinc-800" aria-label={t('common.close')}>✕</button>
      </div>
      <div className="space-y-5 p-4">
        {error && <p role="alert" className="text-sm text-red-600 dark:text-red-400">{error}</p>}
        {other && (
          <section className="space-y-2">
            <h3 className="text-xs font-semibold text-zinc-600 uppercase dark:text-zinc-400">{t('conversation.person')}</h3>
            <div className="flex items-center gap-2">
              <Avatar user={other.user} size="sm" />
              {hasCard(other.user, me.id) ? (
                <button type="button" onClick={() => setPerson(other.user)} className="min-w-0 flex-1 truncate rounded text-left text-sm hover:underline" data-person={other.user.username}>
                  {nameOf(other.user)} <span className="text-zinc-600 dark:text-zinc-400">@{other.user.username}</span>
                </button>
              ) : (
                <span className="min-w-0 flex-1 truncate text-sm">
                  {nameOf(other.user)} <span className="text-zinc-600 dark:text-zinc-400">@{other.user.username}</span>
                </span>
              )}
            </div>
          </section>
        )}
        <NotificationLevelForm entry={entry} onError={setError} />
        {conversation.kind === 'assistant' && conversation.assistant && <AssistantSettingsForm conversationId={conversation.id} settings={conversation.assistant} />}
        {conversation.kind === 'assistant' && <ConversationApps entry={entry} />}
      </div>
      {person && <PersonCard user={person} onClose={() => setPerson(null)} />}
    </aside>
  );
}
