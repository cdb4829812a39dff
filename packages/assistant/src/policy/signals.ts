import { findTerms, removeTerms, searchableText } from './mentions.js';

/*
 * Cheap signals ([TT10]–[TT14]). Structure first: question marks, `@everyone`, emoji-only text,
 * length. The word lists below are short and never decide alone: each is used only together
 * with another signal (a question mark, a short message).
 */

// `?`, Spanish `¿`, Arabic `؟`, full-width `？`, reversed `⸮`.
const QUESTION_MARK = /[?¿؟？⸮]/u;
const LETTER_OR_NUMBER = /[\p{L}\p{N}]/u;
const UNSPACED_LETTER = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u;
const GROUP_TOKEN = /(?<![\p{L}\p{M}\p{N}_.+-])@(?:all|everyone|everybody|here|channel|group|tous|todos|alle)(?![\p{L}\p{M}\p{N}_])/u;
const LAUGHTER = /^(?:(?:ha|he|hi|ja|je|ji|ka|xa|ха|хе){2,}h?|l+o+l+|x+d+|w{3,}|ｗ+|5{3,}|ㅋ{2,}|ㅎ{2,}|哈{2,}|笑)$/u;

export const THANKS_WORDS = [
  'thanks', 'thank you', 'thx', 'ty', 'cheers', 'much appreciated',
  'merci', 'merci beaucoup', 'mercii',
  'gracias', 'muchas gracias', 'mil gracias',
  'danke', 'danke schön', 'danke schon', 'vielen dank',
  'grazie', 'obrigado', 'obrigada',
  'спасибо', 'ありがとう', 'ありがとうございます', '谢谢', '謝謝', '감사합니다', '고마워', 'شكرا', 'شكراً', 'धन्यवाद',
];

export const GREETING_WORDS = [
  'hi', 'hello', 'hey', 'good morning', 'morning', 'good night', 'bye', 'see you', 'see ya',
  'bonjour', 'salut', 'coucou', 'bonsoir', 'bonne nuit', 'à plus', 'a plus', 'à demain',
  'hola', 'buenos días', 'buenas', 'buenas noches', 'adiós', 'hasta luego',
  'hallo', 'guten morgen', 'guten tag', 'moin', 'servus', 'tschüss', 'gute nacht',
  'ciao', 'привет', 'здравствуйте', 'пока', 'こんにちは', 'おはよう', 'こんばんは', '你好', '您好', '안녕', '안녕하세요',
  'مرحبا', 'السلام عليكم',
];

export const ACKNOWLEDGEMENT_WORDS = [
  'ok', 'okay', 'k', 'kk', 'yes', 'yep', 'yeah', 'no', 'nope', 'sure', 'cool', 'nice', 'great', 'perfect',
  'got it', 'lol', 'lmao', 'right', 'agreed', 'same', 'np', 'noted', 'done', '+1',
  'oui', 'ouais', 'non', "d'accord", 'dac', 'parfait', 'super', 'génial', 'mdr', 'ptdr', 'top', 'entendu', 'ça marche',
  'sí', 'si', 'vale', 'claro', 'genial', 'perfecto', 'jaja', 'de acuerdo', 'listo', 'bueno',
  'ja', 'jep', 'nein', 'genau', 'klar', 'prima', 'alles klar', 'gut', 'stimmt', 'passt',
  'да', 'нет', 'ок', 'хорошо', 'ладно', 'понял', 'はい', 'いいえ', 'うん', '了解', '好的', '好', '嗯', '네', '응', 'نعم', 'لا', 'حسنا',
];

export const GROUP_WORDS = [
  'anyone', 'anybody', 'everyone', 'everybody', 'someone', 'somebody', 'all of you', 'you all', "y'all", 'guys', 'folks',
  "quelqu'un", 'qqn', 'tout le monde', 'vous tous', 'les gars',
  'alguien', 'todo el mundo', 'todos ustedes', 'chicos',
  'jemand', 'ihr alle', 'leute',
  'кто-нибудь', 'кто-то', 'ребята', '誰か', 'みんな', '皆さん', '有人', '大家', 'أحد', 'الجميع', '누구',
];

export const HELP_WORDS = [
  'help', 'how do', 'how can', 'how to', 'can someone', 'could someone', 'recommend', 'suggest', 'suggestion', 'advice',
  'idea', 'ideas', 'explain', 'should we', 'which one',
  'aide', 'aidez', 'aider', 'comment', 'conseil', 'idée', 'idées', 'recommande', 'recommandez', 'expliquer', 'on devrait',
  'ayuda', 'ayudar', 'cómo', 'como', 'recomienda', 'recomendación', 'consejo', 'explicar', 'deberíamos',
  'hilfe', 'helfen', 'wie', 'empfehlen', 'empfehlung', 'tipp', 'idee', 'erklären', 'sollten wir',
  'помогите', 'помочь', 'посоветуйте', 'как', '教えて', '助けて', 'どうやって', 'おすすめ', '帮忙', '帮我', '怎么', '推荐', '建议',
  'مساعدة', 'كيف', 'اقتراح',
];

/** A question mark of any script, outside URLs. */
export function hasQuestionMark(text: string): boolean {
  return QUESTION_MARK.test(searchableText(text));
}

/**
 * How much a message says, in letters: each letter or digit counts one, and one of a script
 * written without spaces (where a single character often is a word) counts two.
 */
export function letterWeight(text: string): number {
  let weight = 0;
  for (const character of text) {
    if (UNSPACED_LETTER.test(character)) weight += 2;
    else if (LETTER_OR_NUMBER.test(character)) weight += 1;
  }
  return weight;
}

/** Enough to be a real question rather than a `really?` in passing [TT12], [TT13]. */
export function isSubstantial(text: string): boolean {
  return letterWeight(text) >= 8;
}

/** Words: runs between white space that hold a letter or digit. */
export function wordsOf(text: string): string[] {
  return text.split(/\s+/u).filter((word) => LETTER_OR_NUMBER.test(word));
}

/** `@everyone` and the like, or a group word such as `anyone`, `quelqu'un`, `誰か`. */
export function addressesGroup(text: string): { token: boolean; words: string[] } {
  const searchable = searchableText(text);
  return { token: GROUP_TOKEN.test(searchable), words: findTerms(searchable, GROUP_WORDS) };
}

export function helpWords(text: string): string[] {
  return findTerms(searchableText(text), HELP_WORDS);
}

export type Acknowledgement = {
  kind: 'emoji' | 'thanks' | 'greeting' | 'acknowledgement';
  /** Nothing but such words, emoji and punctuation (a greeting that names no one, a bare thanks). */
  pure: boolean;
};

/**
 * A message that only acknowledges [TT10]: emoji or punctuation alone, or a short message (at
 * most four words, no question mark) holding a thanks, greeting, acknowledgement or laughter.
 */
export function acknowledgementOf(text: string): Acknowledgement | null {
  const searchable = searchableText(text);
  if (searchable.trim() === '') return null;
  if (!LETTER_OR_NUMBER.test(searchable)) return { kind: 'emoji', pure: true };
  if (QUESTION_MARK.test(searchable) || wordsOf(searchable).length > 4) return null;
  // `ok, can you help` asks for something: the help word outweighs the `ok`.
  if (findTerms(searchable, HELP_WORDS).length > 0) return null;
  const thanks = findTerms(searchable, THANKS_WORDS);
  const greetings = findTerms(searchable, GREETING_WORDS);
  const acknowledgements = findTerms(searchable, ACKNOWLEDGEMENT_WORDS);
  const rest = wordsOf(removeTerms(searchable, [...thanks, ...greetings, ...acknowledgements, ...GROUP_WORDS]));
  const laughing = rest.filter((word) => LAUGHTER.test(word.replace(/[^\p{L}\p{N}]/gu, '')));
  const remaining = rest.length - laughing.length;
  if (thanks.length > 0) return { kind: 'thanks', pure: remaining === 0 };
  if (greetings.length > 0) return { kind: 'greeting', pure: remaining === 0 };
  if (acknowledgements.length > 0 || laughing.length > 0) return { kind: 'acknowledgement', pure: remaining === 0 };
  return null;
}
