import type { ConversationKind, UserSummary } from '@parley/protocol';

/** A conversation as the quick switcher searches it. */
export interface ConversationCandidate {
  id: string;
  kind: ConversationKind;
  /** What the sidebar calls it. */
  title: string;
  /** Other words that find it: the usernames and names of the people in a direct conversation. */
  also: readonly string[];
  lastActivity: string;
  /** A direct conversation: the other person's id. */
  directWith: string | null;
}

export interface SwitcherResults {
  conversations: ConversationCandidate[];
  people: UserSummary[];
}

export const MAX_CONVERSATIONS = 8;
export const MAX_PEOPLE = 6;

/** Lower case, accents off ("Élodie" is found by "elo"), an `@` in front ignored. */
export function fold(text: string): string {
  return text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().trim().replace(/^@/, '');
}

/**
 * How well `query` (folded) finds `text`: 0 when the text starts with it, 1 when a word of it
 * does, 2 when it is inside; null when it is not there at all.
 */
export function scoreOf(query: string, text: string): number | null {
  const folded = fold(text);
  if (query === '') return 2;
  if (folded.startsWith(query)) return 0;
  if (folded.split(/[\s_.,@-]+/).some((word) => word.startsWith(query))) return 1;
  if (folded.includes(query)) return 2;
  return null;
}

function bestScore(query: string, texts: readonly string[]): number | null {
  let best: number | null = null;
  for (const text of texts) {
    const score = scoreOf(query, text);
    if (score !== null && (best === null || score < best)) best = score;
  }
  return best;
}

/**
 * What the quick switcher lists for a query [WB62]: conversations whose title (or, for a direct
 * conversation, the other person's name or username) matches, best match first and then newest
 * activity; and people (by display name or username) who share a conversation with the account,
 * besides those its matching direct conversations already show. With no query: the newest
 * conversations and no people.
 */
export function switcherResults(query: string, conversations: readonly ConversationCandidate[], people: readonly UserSummary[]): SwitcherResults {
  const q = fold(query);
  const found = conversations
    .map((candidate) => ({ candidate, score: bestScore(q, [candidate.title, ...candidate.also]) }))
    .filter((item): item is { candidate: ConversationCandidate; score: number } => item.score !== null)
    .sort((a, b) => a.score - b.score || b.candidate.lastActivity.localeCompare(a.candidate.lastActivity) || a.candidate.id.localeCompare(b.candidate.id))
    .slice(0, MAX_CONVERSATIONS)
    .map((item) => item.candidate);
  if (q === '') return { conversations: found, people: [] };
  const shown = new Set(found.flatMap((candidate) => (candidate.directWith ? [candidate.directWith] : [])));
  const matched = people
    .filter((person) => !shown.has(person.id))
    .map((person) => ({ person, score: bestScore(q, [person.username, ...(person.displayName ? [person.displayName] : [])]) }))
    .filter((item): item is { person: UserSummary; score: number } => item.score !== null)
    .sort((a, b) => a.score - b.score || a.person.username.localeCompare(b.person.username))
    .slice(0, MAX_PEOPLE)
    .map((item) => item.person);
  return { conversations: found, people: matched };
}

/**
 * The people of the account's conversations, once each: not the account itself, not bots (the
 * assistant is reached through its chats).
 */
export function peopleOf(memberLists: Iterable<readonly { user: UserSummary }[]>, meId: string): UserSummary[] {
  const byId = new Map<string, UserSummary>();
  for (const members of memberLists) {
    for (const { user } of members) {
      if (user.id !== meId && user.kind !== 'bot' && !byId.has(user.id)) byId.set(user.id, user);
    }
  }
  return [...byId.values()];
}
