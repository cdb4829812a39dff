import { mentionedUsernames, withoutCode } from '@parley/protocol';
import { openingNames } from './addressing.js';
import { foldAccents, nameSearchableText, normalizeName, normalizeText, occurrences } from './mentions.js';
import type { PolicyMember } from './types.js';

/*
 * Whether a message calls the assistant by its name [TT4]: an `@`-mention, or a vocative at the
 * opening, at the end or set off by commas. Any other place is the name in passing, no call; quoted
 * text (blockquotes, code, quotation marks) is someone else's words.
 */

// Words that may come before a vocative at the opening (`hey Sage, …`, `merci Sage !`).
const OPENERS = [
  'hey', 'hi', 'hello', 'yo', 'dear', 'ok', 'okay', 'so', 'and', 'oh', 'please', 'thanks', 'thank you', 'thx',
  'salut', 'coucou', 'bonjour', 'bonsoir', 'cher', 'chère', 'alors', 'et', 'merci', 'dis', 'dites', 'eh',
  'hola', 'oye', 'gracias', 'hallo', 'danke', 'ciao',
];
// Words right before a vocative at the end (`thanks Sage`, `merci Sage !`, `bonne nuit Sage`).
const CLOSERS = [
  'thanks', 'thank you', 'thx', 'ty', 'cheers', 'bye', 'good night', 'night', 'hi', 'hello', 'hey', 'well done', 'good job', 'great job',
  'merci', 'merci beaucoup', 'bravo', 'salut', 'coucou', 'bonjour', 'bonsoir', 'bonne nuit', 'à plus', 'bien joué',
  'gracias', 'hola', 'danke', 'hallo', 'ciao',
];
const fold = (words: readonly string[]) => words.map((word) => foldAccents(normalizeText(word))).sort((a, b) => b.length - a.length);
const escape = (word: string) => word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const OPENER = new RegExp(`^(?:(?:${fold(OPENERS).map(escape).join('|')})(?:\\s*,\\s*|\\s+))*`, 'u');
const CLOSER_BEFORE = new RegExp(`(?:^|[\\s,!.])(?:${fold(CLOSERS).map(escape).join('|')})\\s*,?\\s*$`, 'u');

// What may follow the name at the opening for it to be a vocative without punctuation: a request
// (`Sage can you …`, `Sage tu peux …`, `Sage explique …`, `Sage why …`). Accents are folded.
const REQUEST_CUE = new RegExp(
  '^\\s+(?:' +
    [
      '(?:can|could|would|will|do|did|are|were|have|should|may|might)\\s+(?:you|u|ya)',
      'you', 'u', 'your', 'please', 'pls', 'plz',
      'tell', 'give', 'show', 'help', 'explain', 'write', 'summari[sz]e', 'translate', 'find', 'list', 'draft', 'remind',
      'make', 'check', 'look', 'suggest', 'recommend', 'stop', 'be',
      'what', "what's", 'whats', 'how', 'why', 'when', 'where', 'who', 'which', 'is it', 'are there', 'any idea',
      'tu', 'vous', 'toi', 'peux', 'pourrais', 'pouvez', 'pourriez', 'est-ce', "qu'est-ce", 'dis', 'dites', 'donne', 'donnez',
      'montre', 'aide', 'aidez', 'explique', 'expliquez', 'ecris', 'resume', 'traduis', 'trouve', 'rappelle', 'fais', 'propose',
      'arrete', 'tais-toi', 'comment', 'pourquoi', 'quand', 'qui', 'quel', 'quelle', 'quels', 'quelles', 'combien',
      "t'en", 'stp', 'svp', "s'il",
    ].join('|') +
    ")(?![\\p{L}\\p{N}_'-])",
  'u',
);
const VOCATIVE_END = /^\s*[,:;!?¿¡،؟、，：；！？—–-]/u;
const COMMA_BEFORE = /[,،，、]\s*$/u;
const COMMA_AFTER = /^\s*[,،，、]/u;
// The end of the sentence: the end of the text, or a sentence's closing punctuation (`, Sage? And …`).
const CLOSING = /^\s*(?:[?!.…。？！؟)]*\s*$|[?!.…。？！؟]+(?:\s|$))/u;
// The end of the sentence before a name: the text's start, or closing punctuation or a line break.
const SENTENCE_BREAK = /[.!?…。？！؟\n]/u;
const UNSPACED_START = /^[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u;

// Quoted text, someone else's words: paired quotation marks on one line, at most 500 characters.
const QUOTATIONS = /"[^"\n]{0,500}"|“[^”\n]{0,500}”|«[^»\n]{0,500}»|„[^“”\n]{0,500}[“”]|「[^」\n]{0,500}」|『[^』\n]{0,500}』/gu;
const BLOCKQUOTE_LINE = /^ {0,3}>.*$/gmu;

/** The text without what is quoted: code, blockquote lines and text in quotation marks, each blanked out. */
export function unquoted(text: string): string {
  return withoutCode(text)
    .replace(BLOCKQUOTE_LINE, (line) => ' '.repeat(line.length))
    .replace(QUOTATIONS, (quote) => ' '.repeat(quote.length));
}

export type CallInput = {
  text: string;
  /** The assistant's current name in this group. */
  name: string;
  /** Ids the server resolved from `@username` in the text. */
  mentions?: readonly string[];
  assistantUserId: string;
  /** The conversation's members (the assistant among them, when known). */
  members: readonly PolicyMember[];
};

/** How the text calls the assistant [TT4], in words for the decision's reason, or null when it does not. */
export function callOf({ text, name, mentions = [], assistantUserId, members }: CallInput): string | null {
  const bare = unquoted(text);
  const assistant = members.find((member) => member.userId === assistantUserId);
  if (mentions.includes(assistantUserId) && (!assistant || mentionedUsernames(bare).includes(assistant.username.toLowerCase()))) {
    return 'the message @mentions its account';
  }
  const wanted = normalizeName(name);
  if (wanted === '') return null;
  const searchable = nameSearchableText(bare);
  const otherUsernames = new Set(members.filter((member) => member.userId !== assistantUserId).map((member) => normalizeName(member.username)));

  for (const { start, end } of occurrences(searchable, wanted)) {
    const before = searchable.slice(0, start);
    const after = searchable.slice(end);
    if (searchable.charAt(start - 1) === '@') {
      const handle = /^[a-z0-9_]+/u.exec(searchable.slice(start))?.[0] ?? '';
      if (!otherUsernames.has(handle)) return `the message @mentions its name ${quote(name)}`;
      continue;
    }
    if (start === sentenceOpening(searchable, start)) {
      if (CLOSING.test(after) || VOCATIVE_END.test(after) || REQUEST_CUE.test(after) || UNSPACED_START.test(wanted)) {
        return `the message calls it ${quote(name)} at the opening`;
      }
    }
    if (COMMA_BEFORE.test(before) && (CLOSING.test(after) || COMMA_AFTER.test(after))) return `the message calls it ${quote(name)} between commas`;
    if (CLOSER_BEFORE.test(before) && CLOSING.test(after)) return `the message ends by calling it ${quote(name)}`;
  }
  // One of several addressees at the opening (`Bob and Sage, …`).
  const others = members.filter((member) => member.userId !== assistantUserId);
  const called = openingNames(searchable.slice(sentenceOpening(searchable, 0)), [...others.map((member) => ({ key: member.userId, member })), { key: assistantUserId, name }]);
  if (called.includes(assistantUserId)) return `the message opens by calling it ${quote(name)} among others`;
  return null;
}

/**
 * Where the first name of the sentence that holds `index` would start: after the sentence break
 * before it, greeting or thanks words and an `@`.
 */
function sentenceOpening(searchable: string, index: number): number {
  let sentenceStart = 0;
  for (let cursor = index - 1; cursor >= 0; cursor -= 1) {
    if (SENTENCE_BREAK.test(searchable.charAt(cursor))) {
      sentenceStart = cursor + 1;
      break;
    }
  }
  const sentence = searchable.slice(sentenceStart);
  const trimmed = sentence.trimStart();
  let offset = sentenceStart + sentence.length - trimmed.length;
  offset += OPENER.exec(trimmed)?.[0].length ?? 0;
  if (searchable.charAt(offset) === '@') offset += 1;
  return offset;
}

function quote(text: string): string {
  return `“${text}”`;
}
