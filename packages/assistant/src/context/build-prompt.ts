import type { Member, Message, UserSummary } from '@parley/protocol';
import { contentPolicyText } from './content-policy.js';
import { type PromptContext, personalDataOf } from './prompt-context.js';
import { estimateTokens, TOKEN_ESTIMATE, truncateToTokens } from './token-estimate.js';
import { type RenderedMessage, renderMessage, type Speakers, speakersOf } from './transcript.js';

export interface PromptMessage {
  role: 'user' | 'assistant';
  content: string;
}

export interface Prompt {
  system: string;
  /**
   * Oldest first. Consecutive messages may share a role (several people speak in a row); the
   * `ai` SDK's providers merge such runs where a provider needs alternating roles.
   */
  messages: PromptMessage[];
  /**
   * Estimate of the whole prompt with `estimateTokens`: at most the budget, unless the system
   * text alone exceeds it (a budget near the minimum with long settings); then no message fits.
   */
  estimatedTokens: number;
  /** Sequence number of the oldest message kept; null when no message is. */
  firstKeptSeq: number | null;
  /** Messages of the input left out to fit the budget, oldest ones (deleted messages are not counted). */
  omittedMessages: number;
}

export interface BuildPromptInput {
  context: PromptContext;
  /** The most recent messages, oldest first. */
  messages: readonly Message[];
  /** The assistant's own account: its messages become `assistant` turns. */
  assistantUserId: string;
  /** Tokens the prompt may take (system and messages), leaving the rest of the model's window to the answer. */
  budget: number;
  /** Accounts that wrote some of the messages but are not members any more, so they are still named. */
  people?: readonly UserSummary[];
}

export const PROMPT_LIMITS = {
  minimumBudget: 1024,
  /** At most these shares of the budget go to the personality and custom instructions (both are free text). */
  personalityShare: 0.15,
  instructionsShare: 0.2,
  /** At most this share of the budget goes to the stored summary of older messages. */
  summaryShare: 0.25,
  /** At most this share of the budget goes to the owner's memories (one-to-one chats). */
  memoriesShare: 0.25,
} as const;

/**
 * The prompt of one turn: system text and the conversation's recent messages, newest kept first
 * until the budget is spent. Pure: the same input gives the same prompt. Rules: SPEC.md [CX1]–[CX9].
 */
export function buildPrompt(input: BuildPromptInput): Prompt {
  const { context, budget } = input;
  if (!Number.isFinite(budget) || budget < PROMPT_LIMITS.minimumBudget) {
    throw new RangeError(`the prompt budget must be at least ${PROMPT_LIMITS.minimumBudget} tokens, got ${budget}`);
  }
  const speakers = speakersOf(context.members, input.people ?? [], input.assistantUserId);
  const system = systemText(context, speakers, budget);

  let remaining = budget - TOKEN_ESTIMATE.promptOverhead - estimateTokens(system);
  const earlier = new Map(input.messages.map((message) => [message.id, message]));
  const named = context.conversation.kind !== 'assistant';
  const rendered = input.messages
    .map((message) => renderMessage(message, speakers, { named, earlier }))
    .filter((message): message is RenderedMessage => message !== null);

  // [CX7] Newest first, and stop at the first message that does not fit: the window stays one
  // unbroken stretch of the conversation, and what came before is left to the summary.
  const kept: RenderedMessage[] = [];
  for (let index = rendered.length - 1; index >= 0; index -= 1) {
    const message = rendered[index];
    if (!message) continue;
    const cost = estimateTokens(message.content) + TOKEN_ESTIMATE.messageOverhead;
    if (cost <= remaining) {
      kept.push(message);
      remaining -= cost;
      continue;
    }
    // The newest message is what the turn answers: cut it rather than leave it out.
    const room = remaining - TOKEN_ESTIMATE.messageOverhead;
    if (kept.length === 0 && room > 0) {
      const content = truncateToTokens(message.content, room);
      kept.push({ ...message, content });
      remaining -= estimateTokens(content) + TOKEN_ESTIMATE.messageOverhead;
    }
    break;
  }
  kept.reverse();
  return {
    system,
    messages: kept.map(({ role, content }) => ({ role, content })),
    estimatedTokens: budget - remaining,
    firstKeptSeq: kept[0]?.seq ?? null,
    omittedMessages: rendered.length - kept.length,
  };
}

function memberLine(member: Member, speakers: Speakers): string {
  const label = speakers.label(member.userId);
  const handle = `@${member.user.username}`;
  const named = label === handle || label.includes(`(${handle})`) ? label : `${label} (${handle})`;
  return member.user.kind === 'bot' ? `${named} (a bot)` : named;
}

function systemText(context: PromptContext, speakers: Speakers, budget: number): string {
  const { conversation } = context;
  const name = conversation.assistant?.name ?? 'Assistant';
  const sections: string[] = [];
  // [CX4] Personal data only in a one-to-one chat, only its owner's, whatever the caller passed.
  const personal = personalDataOf(context);

  if (conversation.kind === 'assistant') {
    const owner = speakers.label(conversation.createdBy);
    sections.push(`You are ${name}, the personal AI assistant of ${owner}, in a one-to-one chat with them.`);
  } else {
    const title = conversation.title ? ` "${conversation.title.replace(/\s+/g, ' ')}"` : '';
    const people = context.members.filter((member) => member.userId !== speakers.selfId && member.role !== 'assistant');
    sections.push(
      [
        `You are ${name}, an AI assistant taking part in the group chat${title} as one of its members.`,
        people.length > 0 ? `People in this group: ${people.map((member) => memberLine(member, speakers)).join(', ')}.` : '',
        // [CX1] Speakers are named in their messages; the assistant's own are not.
        'Each message from a person starts with their name and a colon, so you know who said what. Your own earlier messages have no name; do not start your answers with a name.',
        'You know only what was said in this group: nothing of anyone\'s other conversations, and nothing said here is saved to anyone\'s memory.',
      ]
        .filter(Boolean)
        .join('\n'),
    );
  }
  // [CX2] The group's chosen personality.
  const personality = conversation.assistant?.personality.trim();
  if (personality) {
    const text = truncateToTokens(personality, Math.floor(budget * PROMPT_LIMITS.personalityShare));
    sections.push(`Your personality, as set for this conversation:\n${text}`);
  }
  // [CX3] The teen policy applies to everyone when any member is a teen.
  sections.push(`Content policy:\n${contentPolicyText(context.contentPolicy)}`);

  if (personal) {
    const owner = speakers.label(personal.userId);
    const instructions = personal.instructions.trim();
    if (instructions) {
      const text = truncateToTokens(instructions, Math.floor(budget * PROMPT_LIMITS.instructionsShare));
      sections.push(`Custom instructions from ${owner}:\n${text}`);
    }
    const memoryLines: string[] = [];
    let memoryTokens = 0;
    // The most recently updated memories first: those are the ones the person touched last.
    const memories = [...personal.memories].sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
    for (const memory of memories) {
      const line = `- ${memory.text.replace(/\s+/g, ' ').trim()}`;
      const cost = estimateTokens(line) + 1;
      if (memoryTokens + cost > budget * PROMPT_LIMITS.memoriesShare) break;
      memoryLines.push(line);
      memoryTokens += cost;
    }
    if (memoryLines.length > 0) sections.push(`What you remember about ${owner} (facts saved earlier):\n${memoryLines.join('\n')}`);
  }

  // [CX8] Older messages are carried by the stored summary.
  const summary = context.summary?.text.trim();
  if (summary) {
    const text = truncateToTokens(summary, Math.floor(budget * PROMPT_LIMITS.summaryShare));
    sections.push(`Summary of the earlier part of this conversation:\n${text}`);
  }
  return sections.join('\n\n');
}
