import type { Message, Summary, UserSummary } from '@parley/protocol';
import { SaveSummaryRequestSchema, toStorableText } from '@parley/protocol';
import type { PromptContext } from './prompt-context.js';
import { estimateTokens, truncateToTokens } from './token-estimate.js';
import { renderMessage, speakersOf } from './transcript.js';

/** What a summarizer is asked: fold `transcript` into `previousSummary`, following `instructions`. */
export interface SummaryRequest {
  instructions: string;
  previousSummary: string | null;
  /** Messages, oldest first, one speaker-named paragraph each. */
  transcript: string;
}

/** Injected by the runtime (backed by the fast model); returns the new summary text. */
export type Summarizer = (request: SummaryRequest) => Promise<string>;

/** The messages to fold into the summary: sequence numbers after `afterSeq` and before `beforeSeq`. */
export interface SummaryRange {
  afterSeq: number;
  beforeSeq: number;
}

export const SUMMARY_LIMITS = {
  /**
   * Summarise only once this many sequence numbers lie between the summary and the kept window,
   * so a long conversation costs one summary per so many messages, not one per turn. (Sequence
   * numbers count every event, reactions included: a cheap, monotonic proxy for messages.)
   */
  minimumGap: 40,
  /** Tokens of transcript per summarizer call. */
  chunkTokens: 3000,
  /** Summarizer calls per summary: the work of one summary is bounded whatever the backlog. */
  maxChunks: 4,
  /** Longest summary kept (the protocol allows 20,000 characters). */
  maxCharacters: 8000,
} as const;

/**
 * Whether older messages have slid out of the prompt's window without being summarised, and if
 * so which. Null when the summary is current enough. See SPEC.md [CX9]. After a turn:
 *
 *   needsSummary({ summary: loaded.context.summary, firstKeptSeq: prompt.firstKeptSeq,
 *                  hasOlderMessages: loaded.hasOlderMessages || prompt.omittedMessages > 0 })
 */
export function needsSummary(input: {
  summary: Summary | null;
  /** `Prompt.firstKeptSeq`. */
  firstKeptSeq: number | null;
  /** Whether any message exists before the window (left out of the prompt, or never loaded). */
  hasOlderMessages: boolean;
  minimumGap?: number;
}): SummaryRange | null {
  if (input.firstKeptSeq === null || !input.hasOlderMessages) return null;
  const afterSeq = input.summary?.uptoSeq ?? 0;
  const beforeSeq = input.firstKeptSeq;
  if (beforeSeq - afterSeq - 1 < (input.minimumGap ?? SUMMARY_LIMITS.minimumGap)) return null;
  return { afterSeq, beforeSeq };
}

export function summaryInstructions(context: PromptContext, maxCharacters: number): string {
  const where = context.conversation.kind === 'assistant' ? 'a one-to-one chat between a person and their AI assistant' : 'a group chat in which an AI assistant takes part';
  const name = context.conversation.assistant?.name ?? 'Assistant';
  return [
    `You keep the running summary of ${where}. The assistant is called ${name}.`,
    'Merge the new messages into the previous summary (if any) and return only the new summary.',
    'Keep who said or asked what (by name), decisions, open questions, facts and figures, plans and dates, and requests made to the assistant.',
    'Write in the language the conversation uses. Report only what was said; add no advice and no opinions.',
    `Stay under ${maxCharacters} characters: drop small talk first, then the oldest details.`,
  ].join('\n');
}

export interface SummariseOptions {
  context: PromptContext;
  assistantUserId: string;
  /** The older messages, oldest first: those in `range` are summarised, the rest ignored. */
  messages: readonly Message[];
  /** The stored summary, folded in. */
  previous: Summary | null;
  range: SummaryRange;
  /** False when `messages` start later than the range (a loader stopped early): the summary then says that some were skipped. */
  complete?: boolean;
  summarizer: Summarizer;
  /** Accounts that wrote some of the messages but are not members any more. */
  people?: readonly UserSummary[];
  chunkTokens?: number;
  maxChunks?: number;
  maxCharacters?: number;
}

/**
 * Folds the messages of `range` into the previous summary, a chunk per summarizer call, and
 * returns the summary to store (null when there was nothing to add). Bounded: at most
 * `maxChunks` calls; a longer backlog keeps its newest chunks, and the summary says that some
 * messages in between were skipped. The summarizer's text is model output: it is cut to size and
 * checked against the protocol's schema before it is returned.
 */
export async function summarise(options: SummariseOptions): Promise<Summary | null> {
  const chunkTokens = options.chunkTokens ?? SUMMARY_LIMITS.chunkTokens;
  const maxChunks = options.maxChunks ?? SUMMARY_LIMITS.maxChunks;
  const maxCharacters = Math.min(options.maxCharacters ?? SUMMARY_LIMITS.maxCharacters, 20_000);
  const { range } = options;
  const afterSeq = Math.max(range.afterSeq, options.previous?.uptoSeq ?? 0);
  const selected = options.messages.filter((message) => message.seq > afterSeq && message.seq < range.beforeSeq);
  const speakers = speakersOf(options.context.members, options.people ?? [], options.assistantUserId);
  const assistantName = options.context.conversation.assistant?.name ?? 'Assistant';
  const earlier = new Map(options.messages.map((message) => [message.id, message]));

  const paragraphs: Array<{ seq: number; text: string }> = [];
  for (const message of selected) {
    // Always named in a summary transcript, the assistant included: the summary says who said what.
    const rendered = renderMessage(message, speakers, { named: true, earlier });
    if (!rendered) continue;
    const text = rendered.role === 'assistant' ? `${assistantName} (the assistant): ${rendered.content}` : rendered.content;
    paragraphs.push({ seq: message.seq, text: truncateToTokens(text, chunkTokens) });
  }
  if (paragraphs.length === 0) return null;

  const chunks: Array<typeof paragraphs> = [];
  let current: typeof paragraphs = [];
  let currentTokens = 0;
  for (const paragraph of paragraphs) {
    const cost = estimateTokens(paragraph.text) + 1;
    if (current.length > 0 && currentTokens + cost > chunkTokens) {
      chunks.push(current);
      current = [];
      currentTokens = 0;
    }
    current.push(paragraph);
    currentTokens += cost;
  }
  chunks.push(current);

  const skipped = chunks.length > maxChunks || options.complete === false;
  const instructions = summaryInstructions(options.context, maxCharacters);
  let text: string | null = options.previous?.text.trim() || null;
  if (skipped) {
    const note = '(Some messages after this point were too many to summarise and were skipped.)';
    text = text ? `${text}\n${note}` : note;
  }
  let uptoSeq = afterSeq;
  for (const chunk of chunks.slice(-maxChunks)) {
    const answer = await options.summarizer({ instructions, previousSummary: text, transcript: chunk.map((paragraph) => paragraph.text).join('\n\n') });
    const trimmed = answer.trim();
    if (!trimmed) throw new Error('the summarizer returned an empty summary');
    // Cut by UTF-16 units, the cut may halve a surrogate pair; the server refuses that, and a
    // model's U+0000, so both become U+FFFD [PB2].
    text = toStorableText(trimmed.length > maxCharacters ? `${trimmed.slice(0, maxCharacters - 1)}…` : trimmed);
    uptoSeq = chunk.at(-1)?.seq ?? uptoSeq;
  }
  // Everything before the window is covered now, events that are not messages included.
  uptoSeq = Math.max(uptoSeq, range.beforeSeq - 1);
  return SaveSummaryRequestSchema.parse({ text, uptoSeq });
}
