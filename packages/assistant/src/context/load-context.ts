import type { AssistantContext, Message, Summary, UserSummary } from '@parley/protocol';
import type { ParleyClient } from '@parley/sdk';
import { type PromptContext, toPromptContext } from './prompt-context.js';
import { type Summarizer, type SummaryRange, summarise } from './summary.js';
import { estimateTokens, TOKEN_ESTIMATE } from './token-estimate.js';

export const LOAD_LIMITS = {
  /** Messages in the first page: most turns need no more. */
  firstPageSize: 100,
  /** Later pages take the protocol's largest page. */
  pageSize: 200,
  /** Pages per turn: bounds the reads of one turn whatever the budget and the history. */
  maxPages: 5,
  /** Former members looked up by id per turn, so that their old messages still carry a name. */
  maxFormerMembers: 20,
  /** Messages read to refresh a summary. */
  maxSummaryMessages: 400,
} as const;

export interface LoadContextOptions {
  /** The prompt budget: pages are read until their messages would fill it. */
  budget: number;
  firstPageSize?: number;
  maxPages?: number;
  /** The assistant context, when the caller holds a current one: not read again. */
  context?: AssistantContext;
  /** The newest messages, when the caller keeps them current from the live events: they stand for the first page. */
  recent?: RecentMessages;
}

/** The newest messages of a conversation, oldest first, with no gap up to the newest. */
export interface RecentMessages {
  messages: readonly Message[];
  /** Whether older messages exist before the first one. */
  hasOlder: boolean;
}

export interface LoadedContext {
  context: PromptContext;
  /** The newest messages, oldest first. */
  messages: Message[];
  /** Whether the conversation has messages older than those read. */
  hasOlderMessages: boolean;
  /** Authors of the messages who are no longer members. */
  people: UserSummary[];
}

/** A generous guess of a message's share of the prompt, to know when enough pages are read. */
function pageEstimate(message: Message): number {
  if (message.deletedAt !== null) return 0;
  const nameAndMarkers = 12;
  return estimateTokens(message.text) + TOKEN_ESTIMATE.messageOverhead + nameAndMarkers + message.attachments.length * 12;
}

/**
 * What `buildPrompt` needs for a turn, read through the public API as any bot would: the
 * assistant context, and the newest pages of messages until they fill the budget (never the
 * whole history, so a turn costs the same at a hundred messages and at a million). See SPEC.md [CX10].
 */
export async function loadContext(client: ParleyClient, conversationId: string, options: LoadContextOptions): Promise<LoadedContext> {
  const params = { conversationId };
  const maxPages = options.maxPages ?? LOAD_LIMITS.maxPages;
  const recent = options.recent;
  const [context, first] = await Promise.all([
    options.context ?? client.api.getAssistantContext({ params }),
    recent
      ? { messages: [...recent.messages], nextBefore: recent.hasOlder ? (recent.messages[0]?.seq ?? null) : null }
      : client.api.listMessages({ params, query: { limit: options.firstPageSize ?? LOAD_LIMITS.firstPageSize } }),
  ]);
  const pages = [first.messages];
  let estimate = first.messages.reduce((sum, message) => sum + pageEstimate(message), 0);
  let before = first.nextBefore;
  while (before !== null && estimate < options.budget && pages.length < maxPages) {
    const page = await client.api.listMessages({ params, query: { before, limit: LOAD_LIMITS.pageSize } });
    pages.push(page.messages);
    estimate += page.messages.reduce((sum, message) => sum + pageEstimate(message), 0);
    before = page.nextBefore;
  }
  const messages = pages.reverse().flat();
  return {
    context: toPromptContext(context),
    messages,
    hasOlderMessages: before !== null,
    people: await formerMembers(client, context.members.map((member) => member.userId), messages),
  };
}

async function formerMembers(client: ParleyClient, memberIds: readonly string[], messages: readonly Message[]): Promise<UserSummary[]> {
  const known = new Set(memberIds);
  const unknown = [...new Set(messages.map((message) => message.authorId).filter((id) => !known.has(id)))];
  const found = await Promise.all(
    // Newest authors first: those are the ones most likely kept in the prompt.
    unknown
      .reverse()
      .slice(0, LOAD_LIMITS.maxFormerMembers)
      .map((userId) => client.api.getUser({ params: { userId } }).catch(() => null)),
  );
  return found.filter((user): user is UserSummary => user !== null);
}

/**
 * The messages of a summary range, oldest first, read backwards from the window in pages. Stops
 * at `maxMessages`: a backlog longer than that (a history never summarised) is summarised from
 * its newest part, and `complete` is false.
 */
export async function loadOlderMessages(
  client: ParleyClient,
  conversationId: string,
  range: SummaryRange,
  options: { maxMessages?: number } = {},
): Promise<{ messages: Message[]; complete: boolean }> {
  const maxMessages = options.maxMessages ?? LOAD_LIMITS.maxSummaryMessages;
  const pages: Message[][] = [];
  let count = 0;
  let before: number | null = range.beforeSeq;
  let complete = false;
  while (before !== null) {
    if (count >= maxMessages) break;
    const limit = Math.min(LOAD_LIMITS.pageSize, maxMessages - count);
    const page = await client.api.listMessages({ params: { conversationId }, query: { before, limit } });
    const inRange = page.messages.filter((message) => message.seq > range.afterSeq);
    pages.push(inRange);
    count += inRange.length;
    if (inRange.length < page.messages.length) {
      complete = true;
      break;
    }
    before = page.nextBefore;
  }
  if (before === null) complete = true;
  return { messages: pages.reverse().flat(), complete };
}

/**
 * Brings the stored summary up to the window: reads the range's messages, folds them in with the
 * summarizer and stores the result with `saveSummary`. Returns the stored summary, or null when
 * there was nothing to add.
 */
export async function updateSummary(
  client: ParleyClient,
  conversationId: string,
  options: {
    context: PromptContext;
    assistantUserId: string;
    range: SummaryRange;
    summarizer: Summarizer;
    people?: readonly UserSummary[];
    maxMessages?: number;
  },
): Promise<Summary | null> {
  const older = await loadOlderMessages(client, conversationId, options.range, options.maxMessages !== undefined ? { maxMessages: options.maxMessages } : {});
  const summary = await summarise({
    context: options.context,
    assistantUserId: options.assistantUserId,
    messages: older.messages,
    complete: older.complete,
    previous: options.context.summary,
    range: options.range,
    summarizer: options.summarizer,
    ...(options.people ? { people: options.people } : {}),
  });
  if (!summary) return null;
  return client.api.saveSummary({ params: { conversationId }, body: summary });
}
