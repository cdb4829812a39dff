import type { UserSummary } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { type ConversationCandidate, fold, MAX_CONVERSATIONS, peopleOf, scoreOf, switcherResults } from './search.js';

const user = (id: string, username: string, displayName: string | null = null, kind: 'human' | 'bot' = 'human'): UserSummary => ({ id, username, displayName, avatarUrl: null, kind });
const conversation = (id: string, title: string, lastActivity: string, directWith: UserSummary | null = null): ConversationCandidate => ({
  id,
  kind: directWith ? 'direct' : 'group',
  title,
  also: directWith ? [directWith.username, ...(directWith.displayName ? [directWith.displayName] : [])] : [],
  lastActivity,
  directWith: directWith?.id ?? null,
});

describe('quick switcher search', () => {
  it('[WB62] folds case, accents and a leading @; a start beats a word start beats the inside', () => {
    expect(fold('  @Élodie ')).toBe('elodie');
    expect(scoreOf('elo', 'Élodie Martin')).toBe(0);
    expect(scoreOf('mar', 'Élodie Martin')).toBe(1);
    expect(scoreOf('rtin', 'Élodie Martin')).toBe(2);
    expect(scoreOf('zed', 'Élodie Martin')).toBeNull();
    expect(scoreOf('night', 'book_night')).toBe(1);
  });

  it('[WB62] conversations match by title, direct ones by the other person too; best match, then newest', () => {
    const bob = user('u-bob', 'bob', 'Robert Dupont');
    const list = [
      conversation('c1', 'Book club', '2026-12-01T10:00:00Z'),
      conversation('c2', 'Robert Dupont', '2026-12-02T10:00:00Z', bob),
      conversation('c3', 'The bookish', '2026-12-03T10:00:00Z'),
      conversation('c4', 'Hiking', '2026-12-04T10:00:00Z'),
    ];
    expect(switcherResults('book', list, []).conversations.map((item) => item.id)).toEqual(['c1', 'c3']);
    expect(switcherResults('@bob', list, [bob]).conversations.map((item) => item.id)).toEqual(['c2']);
    // The person has a direct conversation found already: not listed twice.
    expect(switcherResults('bob', list, [bob]).people).toEqual([]);
    expect(switcherResults('dupont', list, [bob]).conversations.map((item) => item.id)).toEqual(['c2']);
    expect(switcherResults('zzz', list, [bob])).toEqual({ conversations: [], people: [] });
  });

  it('[WB62] with no query: the newest conversations, at most a screenful, and no people', () => {
    const list = Array.from({ length: 12 }, (_, at) => conversation(`c${at}`, `Group ${at}`, `2026-12-${String(at + 1).padStart(2, '0')}T00:00:00Z`));
    const results = switcherResults('  ', list, [user('u1', 'alice')]);
    expect(results.conversations).toHaveLength(MAX_CONVERSATIONS);
    expect(results.conversations[0]?.id).toBe('c11');
    expect(results.people).toEqual([]);
  });

  it('[WB63] people are found by username or display name; each once, never oneself or a bot', () => {
    const me = user('u-me', 'me_myself', 'Me');
    const carol = user('u-carol', 'carol', 'Caroline Lévy');
    const dan = user('u-dan', 'dan_levy', null);
    const bot = user('u-bot', 'assistant', 'Assistant', 'bot');
    const people = peopleOf([[{ user: me }, { user: carol }, { user: bot }], [{ user: carol }, { user: dan }]], me.id);
    expect(people.map((person) => person.id)).toEqual(['u-carol', 'u-dan']);
    expect(switcherResults('levy', [], people).people.map((person) => person.id)).toEqual(['u-carol', 'u-dan']);
    expect(switcherResults('dan', [], people).people.map((person) => person.id)).toEqual(['u-dan']);
    expect(switcherResults('caro', [], people).people.map((person) => person.id)).toEqual(['u-carol']);
  });
});
