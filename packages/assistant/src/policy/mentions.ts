/**
 * Finding names and words in message text, whatever the language ([TT4], [TT7]): compared after
 * NFC normalisation and lower-casing, as whole words, never inside an e-mail address or a URL.
 * Names are also compared without accents (`foldAccents`): `Zoe` calls `Zoë`.
 *
 * Matching is a plain substring search with the boundaries checked by hand: a regular expression
 * per name with Unicode classes costs about a millisecond to compile, and the policy looks for
 * every member's names and a few hundred words in each message.
 */

// Scripts written without spaces between words: a name or word in them may touch its
// neighbours (`助手你好`), so no word boundary is asked for on that side.
const UNSPACED_SCRIPT = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u;
const WORD_CHARACTER = /[\p{L}\p{M}\p{N}_]/u;
const LETTER_OR_DIGIT = /[\p{L}\p{N}]/u;
// What may stand right before the `@` of an e-mail address.
const ADDRESS_CHARACTER = /[\p{L}\p{M}\p{N}_.+-]/u;
const URL_PATTERN = /(?:\b[a-z][a-z0-9+.-]*:\/\/|\bwww\.)\S+/giu;
const EMAIL_PATTERN = /[\p{L}\p{M}\p{N}._%+-]+@[\p{L}\p{M}\p{N}-]+(?:\.[\p{L}\p{M}\p{N}-]+)+/gu;

export type Span = { start: number; end: number };

/** NFC, lower case, typographic apostrophes made plain, so `Quelqu’un` is `quelqu'un`. */
export function normalizeText(text: string): string {
  return text.normalize('NFC').toLowerCase().replace(/[\u2018\u2019\u02bc\uff07]/g, "'");
}

// The combining diacritics of Latin, Greek and Cyrillic letters (é = e + U+0301). The marks of
// other scripts (Devanagari vowel signs, Arabic harakat …) spell different words: they stay.
const ACCENTS = /[\u0300-\u036f]/g;

/**
 * Text with the accents of Latin, Greek and Cyrillic letters taken off, for comparing names:
 * people type `Zoe` or `Leo` for `Zoë` or `Léo`. Words are not folded (`où` is not `ou`).
 */
export function foldAccents(text: string): string {
  return text.normalize('NFD').replace(ACCENTS, '').normalize('NFC');
}

/**
 * Normalised text with URLs and e-mail addresses blanked out (a name inside them is no
 * mention) and each run of white space made one space (a name with spaces matches any run).
 */
export function searchableText(text: string): string {
  return normalizeText(text).replace(URL_PATTERN, ' ').replace(EMAIL_PATTERN, ' ').replace(/\s+/gu, ' ');
}

/** A name or word as it is looked for in searchable text. */
export function normalizeTerm(term: string): string {
  return normalizeText(term).replace(/\s+/gu, ' ').trim();
}

function characterBefore(text: string, index: number): string {
  if (index <= 0) return '';
  const low = text.charCodeAt(index - 1);
  if (low >= 0xdc00 && low <= 0xdfff && index >= 2) {
    const high = text.charCodeAt(index - 2);
    if (high >= 0xd800 && high <= 0xdbff) return text.slice(index - 2, index);
  }
  return text.charAt(index - 1);
}

function characterAt(text: string, index: number): string {
  const codePoint = text.codePointAt(index);
  return codePoint === undefined ? '' : String.fromCodePoint(codePoint);
}

function needsBoundary(character: string): boolean {
  return WORD_CHARACTER.test(character) && !UNSPACED_SCRIPT.test(character);
}

/**
 * Whether `text[start, end)` stands as a whole word: not glued to a letter on a side that needs
 * a boundary (`Sagebrush`, `Sage-like`, `sage.com`), not the local part or the host of an
 * address (`sage@…`, `x@sage`).
 */
export function isWholeWordAt(text: string, start: number, end: number): boolean {
  if (end <= start) return false;
  const before = characterBefore(text, start);
  if (before === '@' && ADDRESS_CHARACTER.test(characterBefore(text, start - 1))) return false;
  if (needsBoundary(characterAt(text, start))) {
    if (WORD_CHARACTER.test(before)) return false;
    if ((before === '.' || before === '-') && LETTER_OR_DIGIT.test(characterBefore(text, start - 1))) return false;
  }
  const after = characterAt(text, end);
  if (after === '@') return false;
  if (needsBoundary(characterBefore(text, end))) {
    if (WORD_CHARACTER.test(after)) return false;
    if ((after === '.' || after === '-') && LETTER_OR_DIGIT.test(characterAt(text, end + 1))) return false;
  }
  return true;
}

/** Where searchable text holds `term` as a whole word. */
export function occurrences(searchable: string, term: string): Span[] {
  const needle = normalizeTerm(term);
  if (needle === '') return [];
  const found: Span[] = [];
  for (let start = searchable.indexOf(needle); start !== -1; start = searchable.indexOf(needle, start + 1)) {
    const end = start + needle.length;
    if (isWholeWordAt(searchable, start, end)) found.push({ start, end });
  }
  return found;
}

/** Whether searchable text (see `searchableText`) holds `term` as a whole word. */
export function containsTerm(searchable: string, term: string): boolean {
  return occurrences(searchable, term).length > 0;
}

/** Searchable text (see `searchableText`) for looking for names: accents folded too. */
export function nameSearchableText(text: string): string {
  return foldAccents(searchableText(text));
}

/** A name as it is looked for in `nameSearchableText`. */
export function normalizeName(name: string): string {
  return foldAccents(normalizeTerm(name));
}

/**
 * Whether `text` mentions `name` [TT4]: in any case, with or without accents, anywhere, as a
 * whole word or as `@name`, not inside a longer word, an e-mail address or a URL. The runtime
 * uses it to re-check messages when the assistant is renamed.
 */
export function mentionsName(text: string, name: string): boolean {
  return containsTerm(nameSearchableText(text), normalizeName(name));
}

/** Every term of `terms` found in searchable text. */
export function findTerms(searchable: string, terms: readonly string[]): string[] {
  return terms.filter((term) => containsTerm(searchable, term));
}

/** Searchable text with each of `terms` blanked out wherever it stands as a whole word. */
export function removeTerms(searchable: string, terms: readonly string[]): string {
  const blank = new Uint8Array(searchable.length);
  for (const term of terms) {
    for (const { start, end } of occurrences(searchable, term)) blank.fill(1, start, end);
  }
  let rest = '';
  for (let index = 0; index < searchable.length; index += 1) rest += blank[index] ? ' ' : searchable.charAt(index);
  return rest;
}
