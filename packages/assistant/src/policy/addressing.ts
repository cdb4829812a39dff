import { foldAccents, isWholeWordAt, nameSearchableText, normalizeName, normalizeText, occurrences } from './mentions.js';
import type { PolicyMember } from './types.js';

// Greeting words that may come before a vocative name (`Hey Bob, …`, `Salut Marie : …`). They
// only widen the name signal, never decide alone.
const VOCATIVE_GREETINGS = [
  'hey', 'hi', 'hello', 'yo', 'dear', 'ok', 'okay', 'so', 'and',
  'salut', 'coucou', 'bonjour', 'bonsoir', 'cher', 'chère', 'alors', 'et',
  'hola', 'oye', 'buenas', 'querido', 'querida', 'bueno', 'y',
  'hallo', 'moin', 'servus', 'lieber', 'liebe', 'na', 'und',
  'ciao', 'привет', 'مرحبا',
];
// Matched in text whose accents are folded, as names are (see nameSearchableText).
const GREETING_PREFIX = new RegExp(`^(?:${VOCATIVE_GREETINGS.map(foldAccents).join('|')})(?:\\s*,\\s*|\\s+)`, 'u');
// What ends a vocative: a comma, colon, exclamation or question mark, a dash, in any script.
const VOCATIVE_END = /^\s*[,:;!?¿¡،؟、，：；！？—–-]/u;
// What joins two names at the opening (`Bob and Ana, …`).
const CONJUNCTION = /^\s+(?:and|&|et|y|e|und|и|و)\s+/u;
const COMMA_BEFORE = /[,،，、]\s*$/u;
const CLOSING = /^\s*[?!.…。？！؟]*\s*$/u;

/** The names someone may be called by: username, display name, and its first word. */
export function namesOf(member: PolicyMember): string[] {
  const names = [member.username];
  const displayName = member.displayName?.trim();
  if (displayName) {
    names.push(displayName);
    const firstWord = displayName.split(/\s+/u)[0];
    if (firstWord && firstWord !== displayName && [...firstWord].length >= 2) names.push(firstWord);
  }
  return names;
}

/** Whether name-searchable text (`nameSearchableText`) calls this name with `@` anywhere, or as a vocative at its end (`…, Marie ?`). */
export function callsName(searchable: string, name: string): boolean {
  return occurrences(searchable, normalizeName(name)).some(
    ({ start, end }) =>
      // `isWholeWordAt` already refused an `@` glued to a word before it (an e-mail address).
      searchable.charAt(start - 1) === '@' ||
      (COMMA_BEFORE.test(searchable.slice(0, start)) && CLOSING.test(searchable.slice(end))),
  );
}

/** Someone who may be named at the opening: a member by their names, or one name. */
export type OpeningCandidate = { key: string; member: PolicyMember } | { key: string; name: string };

/**
 * The keys of the candidates named at the opening of name-searchable text as its addressees:
 * after an optional greeting, one name or several (`Bob, Ana: …`, `Bob and Ana, …`), the last
 * followed by punctuation.
 */
export function openingNames(searchable: string, people: readonly OpeningCandidate[]): string[] {
  const candidates = people
    .flatMap((person) => ('member' in person ? namesOf(person.member) : [person.name]).map((name) => ({ key: person.key, name: normalizeName(name) })))
    .filter((candidate) => candidate.name !== '')
    // Longest first, so `marie dupont` is read before `marie`.
    .sort((a, b) => b.name.length - a.name.length);
  let rest = searchable.trimStart().replace(GREETING_PREFIX, '');
  const found: string[] = [];
  let endedWithPunctuation = false;
  for (;;) {
    const body = rest.startsWith('@') ? rest.slice(1) : rest;
    let next: string | null = null;
    for (const { key, name } of candidates) {
      if (!body.startsWith(name) || !isWholeWordAt(body, 0, name.length)) continue;
      const tail = body.slice(name.length);
      const punctuation = VOCATIVE_END.exec(tail);
      const ending = punctuation ?? CONJUNCTION.exec(tail);
      if (!ending) continue;
      if (!found.includes(key)) found.push(key);
      endedWithPunctuation = punctuation !== null;
      next = tail.slice(ending[0].length).trimStart();
      break;
    }
    if (next === null) break;
    rest = next;
  }
  // `Bob and Ana are coming` names them but speaks to no one.
  return endedWithPunctuation ? found : [];
}

/** The members named at the opening of name-searchable text as its addressees (see `openingNames`). */
export function openingAddressees(searchable: string, members: readonly PolicyMember[]): PolicyMember[] {
  const keys = openingNames(searchable, members.map((member) => ({ key: member.userId, member })));
  return members.filter((member) => keys.includes(member.userId));
}

// An `@handle` at the opening (`@carol can you …`): a call to that account, member or not.
const OPENING_HANDLE = /^\s*@([a-z0-9_]{3,32})(?![a-z0-9_@])/u;

/** The handle of an `@`-mention that opens the text, lower-cased, or null. */
export function openingHandle(text: string): string | null {
  return OPENING_HANDLE.exec(normalizeText(text))?.[1] ?? null;
}

/**
 * The members (other than those in `excludedIds`) the text addresses by name or @mention [TT7].
 * `mentionedIds` are the ids the server resolved from `@username`.
 */
export function addressedMembers(
  text: string,
  members: readonly PolicyMember[],
  excludedIds: ReadonlySet<string>,
  mentionedIds: readonly string[] = [],
): PolicyMember[] {
  const searchable = nameSearchableText(text);
  const others = members.filter((member) => !excludedIds.has(member.userId));
  const opening = openingAddressees(searchable, others);
  return others.filter(
    (member) =>
      opening.includes(member) ||
      mentionedIds.includes(member.userId) ||
      namesOf(member).some((name) => callsName(searchable, name)),
  );
}
