import { type UserSummary, UsernameSchema } from '@parley/protocol';
import { type KeyboardEvent, useEffect, useId, useMemo, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { nameOf, titleOf } from '../live/names.js';
import { useLive, useLiveStore } from '../live/use-live.js';
import { navigate } from '../router/router.js';
import { Avatar } from '../shell/avatar.js';
import { errorText } from '../shell/errors.js';
import { type ConversationCandidate, fold, peopleOf, switcherResults } from './search.js';

type Option = { kind: 'conversation'; candidate: ConversationCandidate } | { kind: 'person'; person: UserSummary };

const KIND_ICON = { group: '#', direct: '@', assistant: '✦' } as const;

/**
 * The quick switcher [WB62]–[WB63]: a modal dialog with a combobox that finds conversations and
 * people; arrows move, Enter opens, Escape closes and gives the focus back. A person opens the
 * direct conversation with them, created if there is none. A username nobody in the account's
 * conversations has is looked up on the server (`getUserByUsername`).
 */
export function QuickSwitcher({ onClose }: { onClose: () => void }) {
  const { t } = useTranslation();
  const live = useLiveStore();
  const snapshot = useLive();
  const meId = snapshot.me.id;
  const [query, setQuery] = useState('');
  const [active, setActive] = useState(0);
  const [remote, setRemote] = useState<UserSummary | null>(null);
  const [error, setError] = useState<string | null>(null);
  const input = useRef<HTMLInputElement>(null);
  const listId = useId();
  const titleId = useId();

  const candidates = useMemo<ConversationCandidate[]>(
    () =>
      [...snapshot.conversations.values()].map((entry) => {
        const { view } = entry;
        const other = view.conversation.kind === 'direct' ? view.members.find((member) => member.userId !== meId && member.role !== 'assistant') : undefined;
        return {
          id: view.conversation.id,
          kind: view.conversation.kind,
          title: titleOf(t, view, meId),
          also: other ? [other.user.username, ...(other.user.displayName ? [other.user.displayName] : [])] : [],
          lastActivity: entry.lastActivity,
          directWith: other?.userId ?? null,
        };
      }),
    [snapshot.conversations, meId, t],
  );
  const people = useMemo(() => peopleOf([...snapshot.conversations.values()].map((entry) => entry.view.members), meId), [snapshot.conversations, meId]);

  // A well-formed username nobody known has: ask the server, a moment after typing stops.
  const wanted = fold(query);
  const lookUp = UsernameSchema.safeParse(wanted).success && wanted !== snapshot.me.username && !people.some((person) => person.username === wanted);
  useEffect(() => {
    setRemote(null);
    if (!lookUp) return;
    let current = true;
    const timer = setTimeout(() => {
      live.client.api.getUserByUsername({ params: { username: wanted } }).then(
        (user) => {
          if (current && user.kind !== 'bot') setRemote(user);
        },
        () => undefined,
      );
    }, 250);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [live, wanted, lookUp]);

  const results = useMemo(() => switcherResults(query, candidates, remote ? [...people, remote] : people), [query, candidates, people, remote]);
  const options: Option[] = [
    ...results.conversations.map((candidate): Option => ({ kind: 'conversation', candidate })),
    ...results.people.map((person): Option => ({ kind: 'person', person })),
  ];
  const index = Math.min(active, Math.max(0, options.length - 1));
  const optionId = (at: number) => `${listId}-${at}`;

  useEffect(() => setActive(0), [query]);
  useEffect(() => {
    const previous = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    input.current?.focus();
    return () => previous?.focus();
  }, []);
  useEffect(() => {
    document.getElementById(optionId(index))?.scrollIntoView({ block: 'nearest' });
  });

  const choose = async (option: Option | undefined) => {
    if (!option) return;
    setError(null);
    if (option.kind === 'conversation') {
      onClose();
      navigate({ name: 'conversation', conversationId: option.candidate.id });
      return;
    }
    const existing = candidates.find((candidate) => candidate.directWith === option.person.id);
    if (existing) {
      onClose();
      navigate({ name: 'conversation', conversationId: existing.id });
      return;
    }
    try {
      const view = await live.client.api.createConversation({ body: { kind: 'direct', username: option.person.username } });
      live.add(view);
      onClose();
      navigate({ name: 'conversation', conversationId: view.conversation.id });
    } catch (caught) {
      setError(errorText(t, caught));
    }
  };

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      onClose();
    } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      if (options.length === 0) return;
      const step = event.key === 'ArrowDown' ? 1 : -1;
      setActive((index + step + options.length) % options.length);
    } else if (event.key === 'Home' && options.length > 0 && event.ctrlKey) {
      event.preventDefault();
      setActive(0);
    } else if (event.key === 'End' && options.length > 0 && event.ctrlKey) {
      event.preventDefault();
      setActive(options.length - 1);
    } else if (event.key === 'Enter') {
      event.preventDefault();
      void choose(options[index]);
    } else if (event.key === 'Tab') {
      // The field is the dialog's one stop: the list is reached by the arrows.
      event.preventDefault();
    }
  };

  const row = (option: Option, at: number) => {
    const selected = at === index;
    const common = {
      id: optionId(at),
      role: 'option' as const,
      'aria-selected': selected,
      onMouseMove: () => setActive(at),
      onClick: () => void choose(option),
      className: `flex cursor-pointer items-center gap-3 rounded-lg px-3 py-2 ${selected ? 'bg-indigo-100 dark:bg-indigo-950' : ''}`,
    };
    if (option.kind === 'conversation') {
      const { candidate } = option;
      const entry = snapshot.conversations.get(candidate.id);
      const other = candidate.directWith ? entry?.view.members.find((member) => member.userId === candidate.directWith)?.user : undefined;
      return (
        <div key={`c-${candidate.id}`} {...common} data-conversation-id={candidate.id}>
          {other ? <Avatar user={other} size="sm" /> : <span aria-hidden="true" className="inline-flex h-7 w-7 shrink-0 items-center justify-center rounded-lg bg-zinc-200 text-sm font-semibold dark:bg-zinc-700">{KIND_ICON[candidate.kind]}</span>}
          <span className="min-w-0 flex-1 truncate text-sm font-medium">{candidate.title}</span>
          <span className="shrink-0 text-xs text-zinc-600 dark:text-zinc-400">{t(`switcher.kind.${candidate.kind}`)}</span>
        </div>
      );
    }
    const { person } = option;
    return (
      <div key={`p-${person.id}`} {...common} data-user-id={person.id}>
        <Avatar user={person} size="sm" />
        <span className="min-w-0 flex-1 truncate text-sm">
          <span className="font-medium">{nameOf(person)}</span> <span className="text-zinc-600 dark:text-zinc-400">@{person.username}</span>
        </span>
        <span className="shrink-0 text-xs text-zinc-600 dark:text-zinc-400">{t('switcher.message')}</span>
      </div>
    );
  };

  const conversationCount = results.conversations.length;
  return (
    <div className="fixed inset-0 z-50 flex items-start justify-center bg-black/40 p-4 pt-[12vh]" onClick={onClose} data-testid="switcher-backdrop">
      <div
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        onKeyDown={onKeyDown}
        onClick={(event) => event.stopPropagation()}
        className="flex max-h-[70vh] w-full max-w-lg flex-col overflow-hidden rounded-xl border border-zinc-200 bg-white shadow-2xl dark:border-zinc-700 dark:bg-zinc-900"
      >
        <h2 id={titleId} className="sr-only">{t('switcher.title')}</h2>
        <input
          ref={input}
          type="text"
          role="combobox"
          aria-expanded={options.length > 0}
          aria-controls={listId}
          aria-autocomplete="list"
          aria-activedescendant={options.length > 0 ? optionId(index) : undefined}
          aria-label={t('switcher.search')}
          placeholder={t('switcher.placeholder')}
          autoComplete="off"
          autoCapitalize="none"
          spellCheck={false}
          value={query}
          onChange={(event) => setQuery(event.target.value)}
          className="w-full border-b border-zinc-200 bg-transparent px-4 py-3 text-base outline-none dark:border-zinc-700"
        />
        {error && <p role="alert" className="px-4 pt-2 text-sm text-red-600 dark:text-red-400">{error}</p>}
        <div id={listId} role="listbox" aria-label={t('switcher.results')} className="min-h-0 flex-1 overflow-y-auto p-2">
          {results.conversations.length > 0 && (
            <div role="group" aria-labelledby={`${listId}-conversations`}>
              <div id={`${listId}-conversations`} className="px-3 pt-1 pb-1 text-xs font-semibold text-zinc-600 uppercase dark:text-zinc-400">
                {query.trim() === '' ? t('switcher.recent') : t('switcher.conversations')}
              </div>
              {results.conversations.map((candidate, at) => row({ kind: 'conversation', candidate }, at))}
            </div>
          )}
          {results.people.length > 0 && (
            <div role="group" aria-labelledby={`${listId}-people`}>
              <div id={`${listId}-people`} className="px-3 pt-2 pb-1 text-xs font-semibold text-zinc-600 uppercase dark:text-zinc-400">
                {t('switcher.people')}
              </div>
              {results.people.map((person, at) => row({ kind: 'person', person }, conversationCount + at))}
            </div>
          )}
        </div>
        {options.length === 0 && <p className="px-4 pb-4 text-sm text-zinc-600 dark:text-zinc-400" role="status">{t('switcher.nothing')}</p>}
        <p className="hidden border-t border-zinc-200 px-4 py-2 text-xs md:block text-zinc-600 dark:border-zinc-700 dark:text-zinc-400">{t('switcher.hint')}</p>
      </div>
    </div>
  );
}
