import type { ModelChoice } from './config.js';

/**
 * "Auto" model choice: the strong model for hard turns, the fast one for light turns.
 *
 * A turn is hard when any of these holds (checked in this order; the first that holds is the reason):
 *   MC1 code: a fenced block, inline code spans, or lines that read like code or a stack trace
 *   MC2 math: TeX, math symbols, or an equation or calculation written out
 *   MC3 several questions: two or more question marks (Latin, full-width, Arabic, Greek) or a list of two or more items
 *   MC4 long: more than 400 characters, or more than 60 words
 *   MC5 an explicit request for depth or reasoning: "explain", "step by step", "in detail", "compare",
 *       "pros and cons", "why" … in English, French, Spanish, German, Italian and Portuguese
 *   MC6 attachments to read (files, images)
 * Otherwise the turn is light (MC0): greetings, thanks, a short single question.
 *
 * The signals are structural first (MC1-MC4 hold in any language); MC5 needs words, so it lists
 * them in several languages rather than English alone.
 */
export interface TurnToClassify {
  text: string;
  /** Files or images attached to the message the turn answers. */
  attachmentCount?: number;
}

export interface TurnClass {
  hard: boolean;
  /** The rule that decided, MC0 to MC6. */
  rule: string;
  reason: string;
}

export const LONG_TURN_CHARACTERS = 400;
export const LONG_TURN_WORDS = 60;

const CODE_PATTERNS: readonly RegExp[] = [
  /```/,
  /`[^`\n]+`[^`]*`[^`\n]+`/, // two inline code spans
  /^\s*(?:def|class|function|const|let|var|import|return|public|private|fn|func|package|#include|SELECT|INSERT|UPDATE|CREATE TABLE)\b.*[({:=;]/m,
  /[^\s;][;{]\s*$|^\s*\}/m, // a statement or block ending a line (not French spacing: "mot ;")
  /=>|::|\+\+|&&|\|\||!==|===|<\/\w+>/,
  /^\s*at \S+ \(.+:\d+:\d+\)/m, // a stack frame
  /\b\w+Error\b:|Traceback \(most recent call last\)/,
];

const MATH_PATTERNS: readonly RegExp[] = [
  /\$[^$\n]*[\\^_{}][^$\n]*\$/, // inline TeX, not prices
  /\\(?:frac|sqrt|sum|int|lim|cdot|times|alpha|beta|theta|infty)\b/,
  /[∫∑∏√∞≤≥≠≈∂∆±÷×]/,
  /\d\s*[+*^÷×]\s*\(?\d/, // 3+4, 12*7, 2^10
  /\d\s+[-/]\s+\(?\d/, // 10 - 3, 10 / 4 (but not dates or fractions like 1/2)
  /\b\d*[a-z]\s*\^\s*\d/i, // x^2
  /\d[a-z]\s*[-+]\s*\d+\s*=/i, // 3x + 2 = 11
];

// Question marks of several scripts: Latin and full-width ?, Arabic ؟, Greek ; (U+037E). A run
// such as "??" counts once; the Spanish opening ¿ is not counted, as it pairs with a closing ?.
const QUESTION_MARKS = /[?？؟\u037E]+/gu;
const LIST_ITEM = /^\s*(?:[-*•]|\d{1,2}[.)])\s+\S/gm;

/**
 * Words asking for depth, by language. A trailing `*` makes a prefix (expliqu* matches explique,
 * expliquer, expliquez). Matched on whole words, with letters of any script as word characters.
 */
const DEPTH_WORDS: Readonly<Record<string, readonly string[]>> = {
  en: ['explain*', 'step by step', 'step-by-step', 'in detail', 'detailed', 'in depth', 'compare', 'comparison', 'pros and cons', 'trade-off*', 'tradeoff*', 'analyse', 'analyze', 'derive', 'prove', 'why'],
  fr: ['expliqu*', 'étape par étape', 'en détail', 'détaillé*', 'en profondeur', 'compar*', 'avantages et inconvénients', 'analys*', 'démontr*', 'pourquoi'],
  es: ['explica*', 'explíca*', 'paso a paso', 'en detalle', 'detallad*', 'ventajas y desventajas', 'analiza*', 'demuestra*', 'por qué'],
  de: ['erklär*', 'schritt für schritt', 'ausführlich*', 'im detail', 'vergleich*', 'vor- und nachteile', 'analysier*', 'beweis*', 'warum'],
  it: ['spiega*', 'passo dopo passo', 'passo passo', 'in dettaglio', 'dettagliat*', 'confronta*', 'pro e contro', 'analizz*', 'dimostra*', 'perché'],
  pt: ['passo a passo', 'em detalhe', 'detalhad*', 'prós e contras', 'analis*', 'demonstr*', 'por que', 'porquê'],
};

const DEPTH_PATTERN = new RegExp(
  `(?<![\\p{L}\\p{N}_])(?:${Object.values(DEPTH_WORDS)
    .flat()
    .map((word) => (word.endsWith('*') ? `${escapeRegExp(word.slice(0, -1))}[\\p{L}\\p{M}-]*` : escapeRegExp(word)))
    .join('|')})(?![\\p{L}\\p{N}_])`,
  'iu',
);

/** Decides whether a turn needs the strong model. Pure: same text, same answer. */
export function classifyTurn(turn: TurnToClassify): TurnClass {
  const text = turn.text;
  if (CODE_PATTERNS.some((pattern) => pattern.test(text))) return { hard: true, rule: 'MC1', reason: 'the message contains code' };
  if (MATH_PATTERNS.some((pattern) => pattern.test(text))) return { hard: true, rule: 'MC2', reason: 'the message contains math' };
  const questions = text.match(QUESTION_MARKS)?.length ?? 0;
  const listItems = text.match(LIST_ITEM)?.length ?? 0;
  if (questions >= 2 || listItems >= 2) return { hard: true, rule: 'MC3', reason: 'the message asks several things' };
  const words = text.split(/\s+/u).filter((word) => word.length > 0).length;
  if ([...text].length > LONG_TURN_CHARACTERS || words > LONG_TURN_WORDS) return { hard: true, rule: 'MC4', reason: 'the message is long' };
  if (DEPTH_PATTERN.test(text)) return { hard: true, rule: 'MC5', reason: 'the message asks for an explanation or detail' };
  if ((turn.attachmentCount ?? 0) > 0) return { hard: true, rule: 'MC6', reason: 'the message has attachments to read' };
  return { hard: false, rule: 'MC0', reason: 'a light turn' };
}

/** Which model a turn gets under the configured choice. */
export function chooseModel(choice: ModelChoice, turn: { hard: boolean }): 'fast' | 'strong' {
  if (choice === 'auto') return turn.hard ? 'strong' : 'fast';
  return choice;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
